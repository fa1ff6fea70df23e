// Drive the demo in headless Chromium (Debian's package) with playwright-core and print what the page shows.
//   node test/drive.mjs URL SAMPLE_INDEX SCREENSHOT.png [INPUTS.json]
// Prints one JSON object: top class, probabilities, anomaly score (null where the page shows none) and its
// line, page load to first prediction (ms), whether moving a latent slider changed the generated image or row
// (null where the model has none) and the decoder's output then (its x_mean, and a table's row as the page
// shows it, a line a column), whether the Generate panel offers a class to draw, for a table the probabilities
// and score once the form's first number is emptied and its first column of categories set to its last
// category (or what the page says instead), for images the score and its line once a cross is drawn on the
// cleared canvas, and with INPUTS.json ({"inputs": [[...], ...]}, flat rows in the
// model's units, null for a missing input) the class the page's classifier gives each of them.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, sampleIndex, screenshot, inputsPath] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 960, height: 720 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const start = Date.now();
  await page.goto(url);
  await page.waitForSelector("#status[data-ready=true]", { timeout: 60000 });
  const loadToFirstPrediction = Date.now() - start;
  await page.selectOption("#sample", String(sampleIndex));
  await page.waitForFunction((i) => document.querySelector("#sample").value === i, String(sampleIndex));
  const settled = () => page.waitForSelector("#status[data-settled=true]"); // the page's classifications done
  await settled();
  const top = await page.textContent("#top-class");
  const probabilities = JSON.parse(await page.getAttribute("#bars", "data-probabilities"));
  const scoreShown = async () => { // the score the page shows, as a number
    const text = await page.getAttribute("#score", "data-score");
    return text === null ? null : Number(text);
  };
  const score = await scoreShown();
  const scoreLine = await page.textContent("#score");
  const shown = () => page.evaluate(() => { // the generated image's pixels, or the generated row's text
    const c = document.querySelector("canvas#generated");
    if (!c) return Array.from(document.querySelectorAll("#generated-row tr"), (row) => row.innerText);
    return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0));
  });
  let changed = null; // a classifier alone has no Generate panel
  let generated = null;
  const classChoice = await page.isVisible("#gen-class");
  if (await page.isVisible("#generate")) {
    const before = await shown();
    await page.fill("#z0", "2.5");
    await page.dispatchEvent("#z0", "input");
    await page.waitForTimeout(300);
    const after = await shown();
    changed = before.some((v, i) => v !== after[i]);
    const values = JSON.parse(await page.getAttribute("#generated-view", "data-values"));
    generated = { values, row: typeof after[0] === "string" ? after : null };
  }
  let edited = null; // a table's form, edited
  if (await page.$("#row")) {
    const number = page.locator("#row input").first();
    if (await number.count()) await number.fill("");
    const choice = page.locator("#row select").first();
    if (await choice.count()) {
      const options = await choice.locator("option").evaluateAll((all) => all.map((o) => o.value));
      await choice.selectOption(options.at(-1));
    }
    await settled();
    const text = await page.getAttribute("#bars", "data-probabilities");
    edited = text === null ? await page.textContent("#top-class")
      : { probabilities: JSON.parse(text), score: await scoreShown() };
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  let scribble = null; // an image's score once a cross is drawn with the mouse
  const canvas = await page.$("canvas#draw");
  if (canvas && score !== null) {
    await page.click("#clear");
    const box = await canvas.boundingBox();
    for (const [x0, y0, x1, y1] of [[0.1, 0.1, 0.9, 0.9], [0.9, 0.1, 0.1, 0.9]]) {
      await page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
      await page.mouse.down();
      await page.mouse.move(box.x + x1 * box.width, box.y + y1 * box.height, { steps: 20 });
      await page.mouse.up();
    }
    await settled();
    scribble = { score: await scoreShown(), line: await page.textContent("#score") };
  }
  const batch = inputsPath
    ? await page.evaluate((inputs) => window.ssvaeDemo.predict(inputs), JSON.parse(readFileSync(inputsPath)).inputs)
    : null;
  console.log(JSON.stringify({ top, probabilities, score, scoreLine, loadToFirstPrediction, changed, generated,
                               classChoice, edited, scribble, errors, batch }));
} finally {
  await browser.close();
}
