// Drive the demo in headless Chromium (Debian's package) with playwright-core and print what the page shows.
//   node test/drive.mjs URL SAMPLE_INDEX SCREENSHOT.png [INPUTS.json]
// Prints one JSON object: top class, probabilities, page load to first prediction (ms), whether moving a
// latent slider changed the generated image or row (null where the model has none) and the decoder's output
// then (its x_mean, and a table's row as the page shows it, a line a column), whether the Generate panel offers
// a class to draw, for a table the probabilities once the form's first number is emptied and its first column
// of categories set to its last category (or what the page says instead), and with INPUTS.json
// ({"inputs": [[...], ...]}, flat rows in the model's units, null for a missing input) the class the page's
// classifier gives each of them.
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
  await page.waitForTimeout(200);
  const top = await page.textContent("#top-class");
  const probabilities = JSON.parse(await page.getAttribute("#bars", "data-probabilities"));
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
    await page.waitForTimeout(200);
    const text = await page.getAttribute("#bars", "data-probabilities");
    edited = text === null ? await page.textContent("#top-class") : JSON.parse(text);
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  const batch = inputsPath
    ? await page.evaluate((inputs) => window.ssvaeDemo.predict(inputs), JSON.parse(readFileSync(inputsPath)).inputs)
    : null;
  console.log(JSON.stringify({ top, probabilities, loadToFirstPrediction, changed, generated, classChoice, edited,
                               errors, batch }));
} finally {
  await browser.close();
}
