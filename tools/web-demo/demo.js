// The ssvae browser demo: classify an input with classifier.onnx, score it (`ssvae score`'s anomaly score, with
// encoder.onnx and decoder.onnx), and show the input decoder.onnx generates for a class and a few latent
// coordinates.
// onnxruntime-web runs them, offline, in WebAssembly. The input is an image (images.js: drawn or chosen) or a
// table's row (tables.js: a form of the model's columns).
import * as ort from "./vendor/ort.wasm.bundle.min.mjs";
import { imageView } from "./images.js";
import { SCORED_ROWS, negativeBounds } from "./scoring.mjs";
import { tableView } from "./tables.js";

ort.env.wasm.wasmPaths = new URL("vendor/", location.href).href; // beside the page, not the module
ort.env.wasm.numThreads = 1; // a plain localhost page is not cross-origin isolated: no wasm threads
const SLIDERS = 4;
const $ = (id) => document.getElementById(id);

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response.json();
}

async function optionalSession(role) {
  // encoder.onnx or decoder.onnx where the model has one and the folder holds it: an app that only labels data
  // may ship classifier.onnx and model.json alone, whose graphs still list the others; the page then only
  // classifies
  if (!meta.graphs[role]) return null;
  const response = await fetch(`model/${role}.onnx`);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`model/${role}.onnx: ${response.status} ${response.statusText}`);
  return ort.InferenceSession.create(new Uint8Array(await response.arrayBuffer()));
}

let meta, samples, classifier, encoder, decoder;
try {
  meta = await fetchJson("model/model.json");
  samples = await fetchJson("samples.json");
  classifier = await ort.InferenceSession.create("model/classifier.onnx");
  decoder = await optionalSession("decoder");
  encoder = Array.isArray(meta.score_noise) && decoder ? await optionalSession("encoder") : null;
} catch (error) {
  $("status").textContent = `could not load the model: ${error.message}`;
  throw error;
}

// The sessions' work, one piece at a time, in the order asked: a classification or generation is asked for again
// only once the one waiting has begun, as it reads the latest state (typing or sliding piles up no backlog). The
// status line's data-settled is "true" once all are done.
let tasks = Promise.resolve();
const waiting = new Set();
function afterTasks(work) {
  const done = tasks.then(work);
  tasks = done.catch(() => {});
  return done;
}
function inTurn(task) {
  if (waiting.has(task)) return tasks;
  waiting.add(task);
  $("status").dataset.settled = "false";
  return afterTasks(async () => {
    waiting.delete(task);
    try {
      await task();
    } catch (error) {
      $("status").textContent = `error: ${error.message}`;
    } finally {
      $("status").dataset.settled = String(waiting.size === 0); // before the next task begins
    }
  });
}
const update = () => inTurn(classify);
const regenerate = () => inTurn(generate);

const makeView = meta.input_shape.length === 3 ? imageView : tableView;
const view = makeView({ meta, samples, input: $("input-view"), generated: $("generated-view"), changed: update });
$("hint").textContent = view.hint;
let generated = null; // the decoder's last output, for window.ssvaeDemo

// samples.json's inputs as float32, a missing input (null) as NaN, which the graphs of a table model fill
const asInputs = (rows) => Float32Array.from(rows.flat(), (v) => v ?? NaN);

async function probabilities(x, n) {
  return (await classifier.run({ x: new ort.Tensor("float32", x, [n, ...meta.input_shape]) })).probabilities.data;
}

function showProblem(text) {
  // what keeps the page from classifying the input, in place of its class, probabilities and score
  $("problem").textContent = text;
  $("problem").hidden = !text;
  $("predicted").hidden = $("bars").hidden = Boolean(text);
  $("score").hidden = Boolean(text) || !encoder; // a classifier alone (supervised, fixmatch) scores nothing
}

function showProbabilities(p) {
  const top = p.indexOf(Math.max(...p));
  $("top-class").textContent = meta.class_names[top];
  $("bars").dataset.probabilities = JSON.stringify(Array.from(p));
  $("bars").replaceChildren(...meta.class_names.map((name, k) => {
    const row = document.createElement("div");
    row.className = k === top ? "bar top" : "bar";
    const share = `<div style="width:${Math.round(200 * p[k])}px"></div><span>${(100 * p[k]).toFixed(1)} %</span>`;
    row.innerHTML = `<span></span>${share}`;
    row.firstChild.textContent = name;
    return row;
  }));
}

function fewTested(n) {
  // how rare a score above the 99th percentile of n test examples is, where n are too few for "1 in 100": an
  // example like them lies above it with probability (0.01 n + 0.99) / (n + 1) (ssvae.model_card.above_q99)
  if (!(n < 195)) return "";
  const times = Math.round((n + 1) / (0.01 * n + 0.99));
  return `: from ${n} test examples, an example like them lies above it about 1 time in ${times}`;
}

async function showScore(x) {
  // the input's anomaly score against the 99th percentile of the model's test examples' (scored alike); a
  // row with gaps is scored on the values it holds, a bound on their density that no whole row's compares with
  const tensor = new ort.Tensor("float32", x, [1, ...meta.input_shape]);
  const [score] = await negativeBounds(ort, { encoder, decoder }, meta, tensor, 1);
  const q99 = meta.test_scores?.quantiles["0.99"]; // none for an export whose data were gone
  const where = score > q99 ? "above" : "below";
  const against = q99 === undefined ? "" : `, ${where} the 99th percentile of the test examples' (${q99.toFixed(2)})`
    + fewTested(meta.test_scores?.n);
  $("score").textContent = x.some(Number.isNaN)
    ? `Anomaly score of the values it holds: ${score.toFixed(2)} nats (compare it with rows of the same gaps)`
    : `Anomaly score: ${score.toFixed(2)} nats${against}`;
  $("score").dataset.score = String(score);
}

async function classify() {
  const x = view.read(); // the model's input, or a sentence that says what it lacks
  if (typeof x === "string") return showProblem(x);
  const p = await probabilities(x, 1).catch((error) => error);
  if (p instanceof Error) return showProblem(`error: ${p.message}`);
  if (!p.every(Number.isFinite)) {
    return showProblem("too far from the training data: the model's float32 arithmetic overflows on it");
  }
  showProblem("");
  showProbabilities(p);
  if (encoder) await showScore(x);
}

async function generate() {
  if (!decoder) return;
  const z = new Float32Array(meta.latent_dim);
  for (let k = 0; k < Math.min(SLIDERS, meta.latent_dim); k++) z[k] = Number($(`z${k}`).value);
  const feeds = { z: new ort.Tensor("float32", z, [1, meta.latent_dim]) };
  if (meta.conditional) {
    const y = new Float32Array(meta.class_names.length);
    y[Number($("gen-class").value)] = 1;
    feeds.y = new ort.Tensor("float32", y, [1, y.length]);
  }
  generated = (await decoder.run(feeds)).x_mean.data;
  view.showGenerated(generated);
}

$("model-name").textContent = `${meta.model} on ${meta.dataset} (${meta.labels_seen} labels)`;
$("sample").replaceChildren(...samples.captions.map((caption, i) => new Option(caption, i)));
$("sample").onchange = () => { view.show(samples.inputs[Number($("sample").value)]); return update(); };
$("clear").onclick = () => { view.clear(); return update(); };
$("generate").hidden = !decoder; // a classifier alone has nothing to generate
$("gen-class").replaceChildren(...meta.class_names.map((name, k) => new Option(name, k)));
$("gen-class").closest("label").hidden = !meta.conditional; // an m1 decoder takes no class
$("gen-class").onchange = regenerate;
for (let k = 0; k < (decoder ? Math.min(SLIDERS, meta.latent_dim) : 0); k++) {
  const label = document.createElement("label");
  label.innerHTML = `z<sub>${k}</sub> <input id="z${k}" type="range" min="-3" max="3" step="0.05" value="0">`;
  $("sliders").append(label);
  label.querySelector("input").oninput = regenerate;
}
view.show(samples.inputs[0]);
await update();
await regenerate();
const loaded = Math.round(performance.now());
$("status").textContent = `ready: onnxruntime-web ${ort.env.versions.web}, first prediction after ${loaded} ms`;
$("status").dataset.ready = "true";

// For tests and scripts: the page's own classes and anomaly scores of many inputs at once (flat rows in the
// model's units, as samples.json holds them: null for a missing input), in turn with the page's own work, and
// the decoder's output the Generate panel shows.
window.ssvaeDemo = {
  predict: (inputs) => afterTasks(async () => {
    const p = await probabilities(asInputs(inputs), inputs.length);
    const k = meta.class_names.length;
    return inputs.map((_, i) => {
      const row = Array.from(p.subarray(i * k, (i + 1) * k));
      return meta.class_names[row.indexOf(Math.max(...row))];
    });
  }),
  score: (inputs) => afterTasks(async () => {
    const scores = [];
    for (let start = 0; start < inputs.length; start += SCORED_ROWS) {
      const rows = inputs.slice(start, start + SCORED_ROWS);
      const x = new ort.Tensor("float32", asInputs(rows), [rows.length, ...meta.input_shape]);
      scores.push(...await negativeBounds(ort, { encoder, decoder }, meta, x, rows.length));
    }
    return scores;
  }),
  generated: () => (generated === null ? null : Array.from(generated)),
};
