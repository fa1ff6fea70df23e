// Drive the demo in headless Chromium (Debian's package) with playwright-core and print what the page shows.
//   node test/drive.mjs URL SAMPLE_INDEX SCREENSHOT.png [IMAGES.json]
// Prints one JSON object: top class, probabilities, page load to first prediction (ms), whether moving a
// latent slider changed the generated image (null where the model has none), whether the Generate panel offers
// a class to draw, and with IMAGES.json ({"images": [[...], ...]}, in [0, 1]) the class the page's classifier
// gives each of them.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, sampleIndex, screenshot, imagesPath] = process.argv.slice(2);
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
  const pixels = () => page.evaluate(() => {
    const c = document.querySelector("#generated");
    return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0));
  });
  let changed = null; // a classifier alone has no Generate panel
  const classChoice = await page.isVisible("#gen-class");
  if (await page.isVisible("#generate")) {
    const before = await pixels();
    await page.fill("#z0", "2.5");
    await page.dispatchEvent("#z0", "input");
    await page.waitForTimeout(300);
    const after = await pixels();
    changed = before.some((v, i) => v !== after[i]);
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  const batch = imagesPath
    ? await page.evaluate((images) => window.ssvaeDemo.predict(images), JSON.parse(readFileSync(imagesPath)).images)
    : null;
  console.log(JSON.stringify({ top, probabilities, loadToFirstPrediction, changed, classChoice, errors, batch }));
} finally {
  await browser.close();
}
