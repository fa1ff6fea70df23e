// The anomaly score of `ssvae score` (its defaults: seed 0, one sample), step by step as the README's "Anomaly
// scores in other languages" gives them, with the noise model.json holds (score_noise): score.mjs and the
// browser demo (tools/web-demo) import it. It imports nothing: either onnxruntime package runs it.

export const SCORED_ROWS = 256; // inputs a batch: the encoder and decoder run once a class on each batch

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

// The anomaly scores of a batch x (an ort.Tensor of `rows` inputs in the model's units) with graphs.encoder and
// graphs.decoder: every class's bound b_k, then -sum_k q_k (b_k - log q_k), or -b_1 for m1; ort: the
// onnxruntime package that made the sessions (onnxruntime-node, or onnxruntime-web in the browser demo)
export async function negativeBounds(ort, graphs, meta, x, rows) {
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
