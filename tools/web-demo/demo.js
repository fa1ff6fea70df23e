// The ssvae browser demo: classify a drawn or chosen image with classifier.onnx, and draw decoder.onnx's
// image for a class and a few latent coordinates. onnxruntime-web runs both, offline, in WebAssembly.
import * as ort from "./vendor/ort.wasm.bundle.min.mjs";

ort.env.wasm.wasmPaths = new URL("vendor/", location.href).href; // beside the page, not the module
ort.env.wasm.numThreads = 1; // a plain localhost page is not cross-origin isolated: no wasm threads
const SLIDERS = 4;
const $ = (id) => document.getElementById(id);

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response.json();
}

async function decoderSession() {
  // decoder.onnx where the model has one and the folder holds it: an app that only labels data may ship
  // classifier.onnx and model.json alone, whose graphs still list the decoder; the page then only classifies
  if (!meta.graphs.decoder) return null;
  const response = await fetch("model/decoder.onnx");
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`model/decoder.onnx: ${response.status} ${response.statusText}`);
  return ort.InferenceSession.create(new Uint8Array(await response.arrayBuffer()));
}

let meta, samples, classifier, decoder;
try {
  meta = await fetchJson("model/model.json");
  samples = await fetchJson("samples.json");
  classifier = await ort.InferenceSession.create("model/classifier.onnx");
  decoder = await decoderSession();
} catch (error) {
  $("status").textContent = `could not load the model: ${error.message}`;
  throw error;
}
const [channels, height, width] = meta.input_shape;
const [low, high] = samples.range; // the values shown black and white: the model's input range
const pixels = new Float32Array(channels * height * width).fill(low); // the model's input, in its units

function paint(canvas, values) {
  // values: channels x height x width, from low (black) to high (white), scaled up to the canvas
  const small = new ImageData(width, height);
  const scale = 255 / Math.max(high - low, 1e-12);
  for (let i = 0; i < height * width; i++) {
    for (let c = 0; c < 3; c++) small.data[4 * i + c] = scale * (values[(channels === 3 ? c : 0) * height * width + i] - low);
    small.data[4 * i + 3] = 255;
  }
  const buffer = new OffscreenCanvas(width, height);
  buffer.getContext("2d").putImageData(small, 0, 0);
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  context.drawImage(buffer, 0, 0, canvas.width, canvas.height);
}

async function classify() {
  const x = new ort.Tensor("float32", pixels, [1, ...meta.input_shape]);
  const p = (await classifier.run({ x })).probabilities.data;
  const top = p.indexOf(Math.max(...p));
  $("top-class").textContent = meta.class_names[top];
  $("bars").dataset.probabilities = JSON.stringify(Array.from(p));
  $("bars").replaceChildren(...meta.class_names.map((name, k) => {
    const row = document.createElement("div");
    row.className = k === top ? "bar top" : "bar";
    row.innerHTML = `<span></span><div style="width:${Math.round(200 * p[k])}px"></div><span>${(100 * p[k]).toFixed(1)} %</span>`;
    row.firstChild.textContent = name;
    return row;
  }));
}

function showSample(index) {
  pixels.set(samples.images[index]);
  paint($("draw"), pixels);
  return classify();
}

function drawAt(event) {
  // a soft round brush on the model's grid: each pixel near the pointer brightens
  const box = $("draw").getBoundingClientRect();
  const px = ((event.clientX - box.left) / box.width) * width;
  const py = ((event.clientY - box.top) / box.height) * height;
  const radius = Math.max(0.8, width / 14);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const d = Math.hypot(x + 0.5 - px, y + 0.5 - py);
    const ink = Math.max(0, 1 - d / (radius + 0.5));
    for (let c = 0; c < channels; c++) {
      const i = c * height * width + y * width + x;
      pixels[i] = Math.min(high, pixels[i] + ink * (high - low));
    }
  }
  paint($("draw"), pixels);
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
  paint($("generated"), (await decoder.run(feeds)).x_mean.data);
}

$("model-name").textContent = `${meta.model} on ${meta.dataset} (${meta.labels_seen} labels)`;
$("sample").replaceChildren(...samples.captions.map((caption, i) => new Option(caption, i)));
$("sample").onchange = () => showSample(Number($("sample").value));
$("clear").onclick = () => { pixels.fill(low); paint($("draw"), pixels); classify(); };
let drawing = false;
$("draw").onpointerdown = (e) => { drawing = true; drawAt(e); };
$("draw").onpointermove = (e) => { if (drawing) drawAt(e); };
window.onpointerup = () => { if (drawing) { drawing = false; classify(); } };
$("generate").hidden = !decoder; // a classifier alone (supervised, fixmatch) has nothing to generate
$("gen-class").replaceChildren(...meta.class_names.map((name, k) => new Option(name, k)));
$("gen-class").closest("label").hidden = !meta.conditional; // an m1 decoder takes no class
$("gen-class").onchange = generate;
for (let k = 0; k < (decoder ? Math.min(SLIDERS, meta.latent_dim) : 0); k++) {
  const label = document.createElement("label");
  label.innerHTML = `z<sub>${k}</sub> <input id="z${k}" type="range" min="-3" max="3" step="0.05" value="0">`;
  $("sliders").append(label);
  label.querySelector("input").oninput = generate;
}
await showSample(0);
await generate();
$("status").textContent = `ready: onnxruntime-web ${ort.env.versions.web}, first prediction after ${Math.round(performance.now())} ms`;
$("status").dataset.ready = "true";

// For tests and scripts: the page's own classifier on many images at once (flat, in the model's units).
window.ssvaeDemo = {
  async predict(images) {
    const x = new ort.Tensor("float32", Float32Array.from(images.flat()), [images.length, ...meta.input_shape]);
    const p = (await classifier.run({ x })).probabilities.data;
    const k = meta.class_names.length;
    return images.map((_, i) => {
      const row = Array.from(p.subarray(i * k, (i + 1) * k));
      return meta.class_names[row.indexOf(Math.max(...row))];
    });
  },
};
