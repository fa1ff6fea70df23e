// Anomaly scores of inputs with an ssvae export in Node.js: the steps of the README's "Anomaly scores in other
// languages", with the noise model.json holds (score_noise), so that they are `ssvae score`'s scores (its
// defaults: seed 0, one sample) and the model's test_scores hold as thresholds.
//
//   node score.mjs ../../../models/digits-m2 inputs.npy
//
// Inputs as classify.mjs takes them (an .npy, or a table's records in a .json). Prints one CSV line an input,
// in their order: id,score,entropy (nats; a higher score: less like the training data; a higher entropy: a
// classifier less sure of its class).
import "./telemetry.mjs"; // before onnxruntime-node loads
import ort from "onnxruntime-node";
import { SCORED_ROWS, negativeBounds } from "./scoring.mjs";
import { InputError, batch, csvField, loadGraph, readInputs, readModel, runCommand } from "./ssvae.mjs";

const GENERATIVE_MODELS = ["m2", "adgm", "m1+m2", "m1"]; // exported with an encoder and a decoder beside the classifier

function entropies(probabilities, rows, k) {
  // -sum_k q_k log q_k of each row of the classifier's probabilities, as `ssvae score` writes it: log K (as unsure
  // as can be) where they come out NaN, for an input that overflows float32 inside the model
  return Array.from({ length: rows }, (_, i) => {
    let h = 0;
    for (let c = 0; c < k; c++) {
      const p = probabilities[i * k + c];
      h -= p * Math.log(Math.max(p, 1e-30));
    }
    return Number.isFinite(h) ? h : Math.log(k);
  });
}

function g6(v) {
  // v as Python's f"{v:.6g}" writes it, as `ssvae score` does: 6 significant digits without trailing zeros,
  // in exponent form (two digits or more) below 1e-4 or from 1e6 on (a tie at the 7th digit, rare in float64
  // sums, rounds up where Python rounds to even)
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
  const trim = (text) => (text.includes(".") ? text.replace(/\.?0+$/, "") : text);
  const [mantissa, e] = v.toExponential(5).split("e").map((part, i) => (i ? Number(part) : trim(part)));
  if (e >= -4 && e < 6) return trim(v.toFixed(5 - e));
  return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

async function score(modelDir, inputPath) {
  const meta = readModel(modelDir);
  if (!GENERATIVE_MODELS.includes(meta.model)) {
    throw new InputError(`${modelDir} has no encoder and decoder (${meta.model} model): scores need a generative ` +
      `model (${GENERATIVE_MODELS.slice(0, -1).join(", ")} or ${GENERATIVE_MODELS.at(-1)})`);
  }
  if (!Array.isArray(meta.score_noise)) {
    throw new InputError(`${modelDir}: model.json holds no score_noise (a classifier alone, or an export before ` +
      "ssvae wrote it): export the run again with 'ssvae export'");
  }
  const inputs = readInputs(inputPath, meta);
  const graphs = {};
  for (const role of ["classifier", "encoder", "decoder"]) graphs[role] = await loadGraph(modelDir, role);
  const lines = [];
  for (let start = 0; start < inputs.n; start += SCORED_ROWS) {
    const rows = Math.min(SCORED_ROWS, inputs.n - start);
    const x = batch(inputs, meta, start, rows);
    const scores = await negativeBounds(ort, graphs, meta, x, rows);
    const { probabilities } = await graphs.classifier.run({ x });
    const h = entropies(probabilities.data, rows, meta.class_names.length);
    const id = (i) => (inputs.ids ? csvField(inputs.ids[start + i]) : start + i); // a record's id, or the place
    scores.forEach((s, i) => lines.push(`${id(i)},${g6(s)},${g6(h[i])}`));
  }
  return lines;
}

await runCommand("usage: node score.mjs MODEL_DIR INPUTS.npy", 2, score);
