// Anomaly scores of inputs with an ssvae export in Node.js: the steps of the README's "Anomaly scores in other
// languages", with the noise model.json holds (score_noise), so that they are `ssvae score`'s scores (its
// defaults: seed 0, one sample) and the model's test_scores hold as thresholds.
//
//   node score.mjs ../../../models/digits-m2 inputs.npy
//
// Inputs as classify.mjs takes them. Prints one CSV line an input, in their order: id,score,entropy (nats;
// a higher score: less like the training data; a higher entropy: a classifier less sure of its class).
import ort from "onnxruntime-node";
import { InputError, batch, loadGraph, readInputs, readModel, runCommand } from "./ssvae.mjs";

const ROWS = 256; // inputs a batch: the encoder and decoder run once a class on each batch

function oneHotInputs(meta, size) {
  // which inputs are the one-hot columns of a column of categories (model.json's categories: "colour" with
  // "red" is input column "colour=red"), whose x_mean is that category's probability
  const oneHot = new Uint8Array(size);
  for (const [column, known] of Object.entries(meta.categories ?? {})) {
    for (const value of known) oneHot[meta.input_columns.indexOf(`${column}=${value}`)] = 1;
  }
  return oneHot;
}

function logLikelihood(meta, x, mean, second, row, size, oneHot) {
  // log p(x|y,z) of one row: Bernoulli of logits `second`, or Gaussian of mean and log-variance `second`, but
  // x log p for a one-hot input (p its category's probability); a missing input (NaN, for a model that
  // fills_missing) is left out
  let sum = 0;
  for (let i = row * size; i < (row + 1) * size; i++) {
    const l = second[i];
    if (Number.isNaN(x[i])) continue;
    if (oneHot[i - row * size]) sum += x[i] * Math.log(Math.max(mean[i], 1e-30));
    else sum += meta.likelihood === "bernoulli" ? x[i] * l - Math.max(l, 0) - Math.log1p(Math.exp(-Math.abs(l)))
      : -(Math.log(2 * Math.PI) + l + (x[i] - mean[i]) ** 2 / Math.exp(l)) / 2;
  }
  return sum;
}

async function scoreBatch(graphs, meta, x, rows) {
  // the scores of one batch: every class's bound b_k, then -sum_k q_k (b_k - log q_k), or -b_1 for m1
  const k = meta.conditional ? meta.class_names.length : 1;
  const size = meta.input_shape.reduce((a, b) => a * b, 1);
  const latent = meta.latent_dim;
  const oneHot = oneHotInputs(meta, size);
  const bounds = Array.from({ length: k }, () => new Float64Array(rows));
  let q;
  for (let c = 0; c < k; c++) {
    const y = new Float32Array(rows * k);
    for (let i = 0; i < rows; i++) y[i * k + c] = 1;
    const classFeed = meta.conditional ? { y: new ort.Tensor("float32", y, [rows, k]) } : {};
    const { probabilities, z_mean: mu, z_logvar: logvar } = await graphs.encoder.run({ x, ...classFeed });
    q = probabilities.data;
    const z = new Float32Array(rows * latent);
    const kl = new Float64Array(rows);
    for (let i = 0; i < rows * latent; i++) {
      const [m, v] = [mu.data[i], logvar.data[i]];
      z[i] = m + Math.exp(v / 2) * meta.score_noise[c][i % latent];
      kl[Math.floor(i / latent)] += (m * m + Math.exp(v) - 1 - v) / 2;
    }
    const zFeed = new ort.Tensor("float32", z, [rows, latent]);
    const { x_mean: mean, ...rest } = await graphs.decoder.run({ z: zFeed, ...classFeed });
    const second = (rest.x_logits ?? rest.x_logvar).data;
    for (let i = 0; i < rows; i++) {
      bounds[c][i] = logLikelihood(meta, x.data, mean.data, second, i, size, oneHot) - kl[i] - Math.log(k);
    }
  }
  return Array.from({ length: rows }, (_, i) => {
    let score = -bounds[0][i];
    if (meta.conditional) {
      score = 0;
      for (let c = 0; c < k; c++) {
        const p = Math.max(q[i * k + c], 1e-30);
        score -= p * (bounds[c][i] - Math.log(p));
      }
    }
    return Number.isNaN(score) ? Infinity : score;
  });
}

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
  if (!Array.isArray(meta.score_noise)) {
    throw new InputError(`${modelDir}: model.json holds no score_noise (a classifier alone, or an export before ` +
      "ssvae wrote it): export the run again with 'ssvae export'");
  }
  const inputs = readInputs(inputPath, meta);
  const graphs = {};
  for (const role of ["classifier", "encoder", "decoder"]) graphs[role] = await loadGraph(modelDir, role);
  const lines = [];
  for (let start = 0; start < inputs.n; start += ROWS) {
    const rows = Math.min(ROWS, inputs.n - start);
    const x = batch(inputs, meta, start, rows);
    const scores = await scoreBatch(graphs, meta, x, rows);
    const { probabilities } = await graphs.classifier.run({ x });
    const h = entropies(probabilities.data, rows, meta.class_names.length);
    scores.forEach((s, i) => lines.push(`${start + i},${g6(s)},${g6(h[i])}`));
  }
  return lines;
}

await runCommand("usage: node score.mjs MODEL_DIR INPUTS.npy", 2, score);
