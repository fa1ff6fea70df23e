// Classify inputs with an ssvae export in Node.js, using onnxruntime-node from npm.
//
//   npm ci --ignore-scripts               (once, in this folder)
//   node classify.mjs ../../../models/digits-m2 inputs.npy
//
// inputs.npy: an array (N, ...) of uint8 0..255 or floats (float32 or float64) in [0, 1], saved with
// numpy.save; colour images channel-first (N, 3, H, W) or channel-last (N, H, W, 3). For a model of a table,
// rows.json too: an array of records keyed by its column names, [{"island": "Biscoe", "bill_length_mm": 39.1,
// ...}, ...], null or "NA" for a gap (records.mjs).
// Prints one CSV line an input: id,predicted class,confidence (as tools/examples/classify_with_onnxruntime.py).
// A problem with the inputs (rows that overflow float32 inside the model among them) is one line on stderr and
// exit status 1; uint8 inputs of a few grey levels (0..16) get a warning there. ssvae.mjs reads the model and
// the inputs.
import { InputError, batch, csvField, loadGraph, readInputs, readModel, runCommand } from "./ssvae.mjs";

async function classify(modelDir, inputPath) {
  const meta = readModel(modelDir);
  const inputs = readInputs(inputPath, meta);
  const session = await loadGraph(modelDir, "classifier");
  const k = meta.class_names.length;
  const lines = [];
  for (let start = 0; start < inputs.n; start += 1024) {
    const rows = Math.min(1024, inputs.n - start);
    const { probabilities } = await session.run({ x: batch(inputs, meta, start, rows) });
    for (let i = 0; i < rows; i++) {
      const p = probabilities.data.subarray(i * k, (i + 1) * k);
      if (!p.every(Number.isFinite)) { // finite inputs so far from the training data that float32 overflows
        throw new InputError("inputs overflow float32 inside the model (numbers far too large for it) " +
          `(first in row ${start + i}): clean or drop those rows`);
      }
      let best = 0;
      for (let c = 1; c < k; c++) if (p[c] > p[best]) best = c;
      const id = inputs.ids ? csvField(inputs.ids[start + i]) : start + i; // a record's id, or the row's place
      lines.push(`${id},${csvField(meta.class_names[best])},${p[best].toFixed(6)}`);
    }
  }
  return lines;
}

await runCommand("usage: node classify.mjs MODEL_DIR INPUTS.npy", 2, classify);
