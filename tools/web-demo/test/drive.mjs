// Drive the demo in headless Chromium (Debian's package) with playwright-core and print what the page shows.
//   node test/drive.mjs URL SAMPLE_INDEX SCREENSHOT.png [--inputs INPUTS.json] [--edits EDITS.json]
// Prints one JSON object:
//   top, probabilities, score, scoreLine: the class, probabilities and anomaly score (null where the page shows
//     none; scoreLine the line that says it) the page shows for its input SAMPLE_INDEX, or problem: the line
//     that says why it shows none
//   loadToFirstPrediction: milliseconds from opening the page to its first prediction
//   changed: whether moving the latent slider z0 changed the generated image or row (null where none is shown);
//     generated: the decoder's x_mean then, and a table's generated row as shown, a line a column
//   classChoice: whether the Generate panel offers a class to draw
//   edits: with EDITS.json (a list of edits of the form of a table, each a list of [column, value]: a number's
//     text, or a category's name, "" or "(missing)" for a gap), what the page shows once each is made to the
//     row SAMPLE_INDEX: { probabilities, score, scoreLine }, or { problem } where it classifies nothing
//   scribble: for images, the score and its line once a cross is drawn with the mouse on the cleared canvas
//   batch, batchScores: with INPUTS.json ({"inputs": [[...], ...]}, flat rows in the model's units, null for a
//     missing input), the class the page's classifier gives each of them, and their scores where it scores
//   errors: the page's uncaught errors
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { positionals, values: options } = parseArgs({
  allowPositionals: true, options: { inputs: { type: "string" }, edits: { type: "string" } },
});
const [url, sampleIndex, screenshot] = positionals;

async function shownInput(page) {
  // what the page shows of its input: its probabilities, score and score line, or the problem it names
  const problem = await page.textContent("#problem");
  if (problem) return { problem };
  const score = await page.getAttribute("#score", "data-score");
  return { probabilities: JSON.parse(await page.getAttribute("#bars", "data-probabilities")),
           score: score === null ? null : Number(score), scoreLine: await page.textContent("#score") };
}

async function pickSample(page, index) {
  // the page's input SAMPLE_INDEX, shown afresh even where it is picked already
  await page.$eval("#sample", (select, i) => { select.value = i; select.dispatchEvent(new Event("change")); },
                   String(index));
  await page.waitForSelector("#status[data-settled=true]");
}

async function edit(page, pairs) {
  // a table's form with each [column, value] of pairs set, and what the page shows then
  for (const [column, value] of pairs) {
    const field = page.locator(`#row [data-column=${JSON.stringify(column)}]`);
    if (await field.evaluate((element) => element.tagName === "SELECT")) {
      await field.selectOption({ label: value === "" ? "(missing)" : value });
    } else {
      await field.fill(value);
    }
  }
  await page.waitForSelector("#status[data-settled=true]");
  return shownInput(page);
}

async function generatedShown(page) {
  // the generated image's pixels, or the generated row's text
  return page.evaluate(() => {
    const c = document.querySelector("canvas#generated");
    if (!c) return Array.from(document.querySelectorAll("#generated-row tr"), (row) => row.innerText);
    return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0));
  });
}

async function moveSlider(page) {
  // whether z0 at 2.5 changes the generated input, and the decoder's output then
  const before = await generatedShown(page);
  await page.fill("#z0", "2.5");
  await page.dispatchEvent("#z0", "input");
  await page.waitForSelector("#status[data-settled=true]");
  const after = await generatedShown(page);
  const values = await page.evaluate(() => window.ssvaeDemo.generated());
  return { changed: before.some((v, i) => v !== after[i]),
           generated: { values, row: typeof after[0] === "string" ? after : null } };
}

async function scribble(page) {
  // an image's score and its line once a cross is drawn on the cleared canvas
  await page.click("#clear");
  const box = await page.locator("canvas#draw").boundingBox();
  for (const [x0, y0, x1, y1] of [[0.1, 0.1, 0.9, 0.9], [0.9, 0.1, 0.1, 0.9]]) {
    await page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
    await page.mouse.down();
    await page.mouse.move(box.x + x1 * box.width, box.y + y1 * box.height, { steps: 20 });
    await page.mouse.up();
  }
  await page.waitForSelector("#status[data-settled=true]");
  const { score, scoreLine } = await shownInput(page);
  return { score, line: scoreLine };
}

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
  await pickSample(page, sampleIndex);
  const top = await page.textContent("#top-class");
  const { probabilities = null, score = null, scoreLine = null, problem = null } = await shownInput(page);
  const classChoice = await page.isVisible("#gen-class");
  const { changed, generated } = await page.isVisible("#generate") ? await moveSlider(page)
    : { changed: null, generated: null };
  const edits = [];
  for (const pairs of options.edits ? JSON.parse(readFileSync(options.edits)) : []) {
    await pickSample(page, sampleIndex);
    edits.push(await edit(page, pairs));
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  const drawn = (await page.$("canvas#draw")) && score !== null ? await scribble(page) : null;
  const inputs = options.inputs ? JSON.parse(readFileSync(options.inputs)).inputs : null;
  const batch = inputs && await page.evaluate((rows) => window.ssvaeDemo.predict(rows), inputs);
  const batchScores = inputs && score !== null ? await page.evaluate((rows) => window.ssvaeDemo.score(rows), inputs)
    : null;
  console.log(JSON.stringify({ top, probabilities, score, scoreLine, problem, loadToFirstPrediction, changed,
                               generated, classChoice, edits, scribble: drawn, errors, batch, batchScores }));
} finally {
  await browser.close();
}
