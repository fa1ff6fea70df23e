// ssvae.mjs: an ssvae export in Node.js with onnxruntime-node, for classify.mjs and score.mjs and for apps to
// copy: read model.json, and .npy inputs or a .json array of a table's records (records.mjs), and prepare the
// inputs as the graphs take them. A problem with a model folder or the inputs is an InputError, whose message
// is one line that says what to change.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import "./telemetry.mjs"; // before onnxruntime-node loads
import ort from "onnxruntime-node";
import { fillRow, recordId, tableFields } from "./records.mjs";

export class InputError extends Error {}

const FORMAT = 1; // of model.json and the graphs, as ssvae.runtime's FORMAT_VERSION

export function readNpy(path, divisor) {
  let bytes;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const problem = { EISDIR: "a folder", ENOENT: "no such file" }[error.code] ?? "cannot be read";
    throw new InputError(`${path}: ${problem}: pass an .npy file (numpy.save)`);
  }
  if (bytes.toString("latin1", 0, 6) !== "\x93NUMPY") throw new InputError(`${path}: not an .npy file: save the array with numpy.save`);
  const major = bytes[6];
  const start = major === 1 ? 10 : 12;
  const cutShort = new InputError(`${path}: its .npy header is cut short or damaged: save the array again with numpy.save`);
  if (bytes.length < start) throw cutShort;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  if (bytes.length < start + headerLength) throw cutShort;
  const header = bytes.toString("latin1", start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1].split(",").filter((s) => s.trim()).map(Number);
  if (!descr || !shape) throw cutShort;
  if (/'fortran_order':\s*True/.test(header)) throw new InputError(`${path}: save it in C order (np.ascontiguousarray)`);
  const data = bytes.subarray(start + headerLength);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = { "|u1": 1, "<f4": 4, "<f8": 8 }[descr];
  if (itemSize && data.length < count * itemSize) {
    throw new InputError(`${path}: holds ${data.length} bytes of data where shape (${shape}) needs ${count * itemSize}: the file is cut short; save it again`);
  }
  const copy = new Uint8Array(data).buffer;  // aligned for the typed array views
  if (descr === "|u1") {
    const levels = new Uint8Array(copy, 0, count);
    warnOfFewLevels(levels, divisor);
    return { shape, values: Float32Array.from(levels, (v) => v / divisor) };
  }
  if (descr === "<f4") return { shape, values: new Float32Array(copy, 0, count) };
  if (descr === "<f8") return { shape, values: Float32Array.from(new Float64Array(copy, 0, count)) };
  const advice = /^[<>|][iu]/.test(descr) ? `x.astype("uint8") for images 0..255, or x.astype("float32") for numbers in the model's range` : `x.astype("float32")`;
  throw new InputError(`${path}: dtype ${descr} is not uint8, float32 or float64: save ${advice}`);
}

function warnOfFewLevels(levels, divisor) {
  // uint8 inputs below 64 are grey levels 0..L (sklearn's digits, 0/1 masks) more likely than 8-bit images
  const top = levels.reduce((a, b) => Math.max(a, b), 0);
  if (divisor === 255 && top > 0 && top < 64) {
    console.error("warning: uint8 inputs that stay below 64 are divided by 255 as 8-bit images are, and read as " +
      "nearly black images: if they are images of grey levels 0..L (such as sklearn's digits, 0..16), save them " +
      "as floats x / L");
  }
}

function channelFirst(values, n, pixels, channels) {
  // (N, H, W, C) to the graphs' (N, C, H, W)
  const out = new Float32Array(values.length);
  for (let i = 0; i < n; i++) for (let p = 0; p < pixels; p++) for (let c = 0; c < channels; c++) {
    out[(i * channels + c) * pixels + p] = values[(i * pixels + p) * channels + c];
  }
  return out;
}

export function csvField(text) {
  // quoted where a comma, quote or line break would split it
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function checkRange(values, [low, high] = [-Infinity, Infinity], gaps = false) {
  // finite values in [low, high]; NaN, a missing input, too where the model fills gaps (fills_missing)
  for (const v of values) {
    if (gaps && Number.isNaN(v)) continue;
    if (!Number.isFinite(v)) {
      throw new InputError(gaps ? "inputs must hold no inf: drop or mend the rows with inf"
        : "inputs must be finite: drop or mend the rows with NaN or inf");
    }
    if (v < low || v > high) {
      throw new InputError(`inputs must be within [${low}, ${high}], as the model was trained: pass uint8 images 0..255 or floats scaled to that range`);
    }
  }
}

function checkOneHot(values, n, meta) {
  // each column of categories as its one-hot inputs, as ssvae.runtime takes them: values in [0, 1] that sum to 1
  // (one 1 among 0s, or probabilities), or 0s or NaN in them all (a missing category); an array, unlike a
  // record's text, could hold a 7 or two 1s there
  const size = meta.input_shape.reduce((a, b) => a * b, 1);
  for (const { name, index, values: known } of tableFields(meta).filter((field) => field.values)) {
    for (let row = 0; row < n; row++) {
      const block = Array.from(values.subarray(row * size + index, row * size + index + known.length));
      const total = block.reduce((a, b) => a + b, 0);
      const sound = block.every((v) => v >= 0 && v <= 1) && (Math.abs(total - 1) < 1e-3 || total === 0);
      if (!sound && !block.every(Number.isNaN)) {
        throw new InputError(`row ${row}: the one-hot inputs of '${name}' hold other than a category: give each ` +
          "row a 1 in its category's column and 0 in the others, or 0s or NaN in them all for a missing category");
      }
    }
  }
}

function layout(shape, inputShape) {
  // "first" (N, C, H, W), or a grey (N, H, W), or flat rows; "last": images channel-last (N, H, W, C)
  const [channels, ...pixels] = inputShape;
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const rest = shape.slice(1);
  if (same(rest, inputShape)) return "first";
  if (inputShape.length === 3 && same(rest, [...pixels, channels])) return "last";
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (same(rest, [size]) || (channels === 1 && same(rest, pixels))) return "first";
  const one = same(shape, inputShape) || same(shape, [size]) || (channels === 1 && same(shape, pixels)) ? "; save a single example with a batch axis (x[None])" : "";
  throw new InputError(`inputs of shape (${shape.join(", ")}) do not fit the model: it takes (N, ${inputShape.join(", ")}), channel-last images or flat rows of ${size} numbers${one}`);
}

function missingClassifier(modelDir) {
  // why a folder without classifier.onnx cannot be used: other precisions' graphs alone (export --quantize int8,
  // then the float32 files removed), or no export at all
  const isFolder = statSync(modelDir, { throwIfNoEntry: false })?.isDirectory();
  const held = isFolder ? readdirSync(modelDir).filter((f) => /^classifier\..+\.onnx$/.test(f)).sort() : [];
  if (!held.length) return `${modelDir}: no classifier.onnx in it: pass a folder written by 'ssvae export'`;
  return `${modelDir}: no classifier.onnx in it, only ${held.join(", ")}: this example loads the float32 graphs ` +
    "(classifier.onnx); ship them too, or change the file names in your copy of it";
}

export function readModel(modelDir) {
  // model.json: the graphs' metadata, which onnxruntime-node does not read
  if (!existsSync(join(modelDir, "classifier.onnx"))) throw new InputError(missingClassifier(modelDir));
  if (!existsSync(join(modelDir, "model.json"))) {
    throw new InputError(`${modelDir}: no model.json in it (exports before ssvae wrote one): export the run again with 'ssvae export'`);
  }
  let meta;
  try {
    meta = JSON.parse(readFileSync(join(modelDir, "model.json"), "utf8"));
  } catch (error) {
    throw new InputError(`${join(modelDir, "model.json")}: not readable JSON (${error.message}): export the run again with 'ssvae export'`);
  }
  const format = `${join(modelDir, "model.json")}: model format ${meta?.format ?? "missing"}, but this example reads ` +
    `format ${FORMAT}: use the examples of the ssvae that exported it, or export the run again`;
  if (typeof meta?.format === "number" && meta.format !== FORMAT) throw new InputError(format); // before its keys
  if (!Array.isArray(meta?.input_shape) || !Array.isArray(meta.class_names) || typeof meta.uint8_divisor !== "number") {
    throw new InputError(`${join(modelDir, "model.json")}: no input_shape, class_names or uint8_divisor in it: export the run again with 'ssvae export'`);
  }
  if (meta.format !== FORMAT) throw new InputError(format);
  return meta;
}

export function readRecords(path, meta) {
  // the records of a .json file (an array of objects keyed by the model's column names) as the graphs take them,
  // and their ids (a record's "id", else its place); a category the model never trained on is read as missing,
  // with a warning, as `ssvae predict` does
  if (meta.input_shape.length !== 1) {
    throw new InputError(`${path}: records are a table's rows, and the model takes images: pass an .npy of them`);
  }
  const columns = "input_columns" in meta ? meta.input_columns  // none: an export of a CSV run too old to name them
    : (String(meta.dataset).toLowerCase().endsWith(".csv") ? null : []);
  if (columns === null) {
    throw new InputError(`${path}: this model was trained on a CSV before ssvae kept its column names, so records ` +
      "cannot be read by name: train it again, or pass an .npy of the columns in the training CSV's order");
  }
  let records;
  try {
    records = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new InputError(`${path}: not readable JSON (${error.message.split("\n")[0]}): write an array of records`);
  }
  const fields = tableFields(meta);
  const isRecord = (r) => r !== null && typeof r === "object" && !Array.isArray(r);
  if (!Array.isArray(records) || !records.length || !records.every(isRecord)) {
    const example = `[{"${fields[0].name}": ...}, ...]`;
    throw new InputError(`${path}: holds no array of records: write objects keyed by the model's column names, ${example}`);
  }
  const size = meta.input_shape[0];
  const values = new Float32Array(records.length * size);
  const unknown = new Map();
  records.forEach((record, i) => {
    const problem = fillRow(meta, fields, record, values, i * size, unknown);
    if (problem) throw new InputError(`${path}: record ${i}: ${problem}`);
  });
  for (const [name, value] of unknown) {
    const known = fields.find((field) => field.name === name).values.join(", ");
    console.error(`warning: ${path}: '${name}' holds categories the model never trained on ` +
      `(first ${JSON.stringify(value)}; it knows ${known}): read as missing`);
  }
  const ids = records.map((record, i) => {
    try {
      return recordId(record, i);
    } catch (error) {
      throw new InputError(`${path}: record ${i}: ${error.message}`);
    }
  });
  return { n: records.length, values, ids };
}

export function readInputs(path, meta) {
  // the inputs of an .npy (or a .json of records: readRecords) as the graphs take them: n rows of float32
  // (N, ...input_shape), checked for range (NaN: a missing input, taken by a model that fills_missing)
  if (path.toLowerCase().endsWith(".json")) return readRecords(path, meta);
  const { shape, values: read } = readNpy(path, meta.uint8_divisor); // uint8 / divisor: model.json's preprocessing
  const order = layout(shape, meta.input_shape);
  checkRange(read, meta.input_range ?? undefined, meta.fills_missing === true);
  checkOneHot(read, shape[0], meta);
  const [channels, height, width] = meta.input_shape;
  return { n: shape[0], values: order === "last" ? channelFirst(read, shape[0], height * width, channels) : read };
}

export async function loadGraph(modelDir, role) {
  // one graph of the folder as an onnxruntime session
  return ort.InferenceSession.create(join(modelDir, `${role}.onnx`)).catch((error) => {
    throw new InputError(`${join(modelDir, `${role}.onnx`)}: onnxruntime cannot load it (${error.message.split("\n")[0]}): export the model again with 'ssvae export'`);
  });
}

export function batch(inputs, meta, start, rows) {
  // rows start.. of the inputs as the graphs' x
  const size = meta.input_shape.reduce((a, b) => a * b, 1);
  return new ort.Tensor("float32", inputs.values.subarray(start * size, (start + rows) * size), [rows, ...meta.input_shape]);
}

export async function runCommand(usage, argc, work) {
  // run work(...arguments) as a command: a wrong count of arguments or an InputError is one line on stderr and
  // status 1; CSV lines of the result on stdout
  try {
    if (process.argv.length !== argc + 2) throw new InputError(usage);
    const lines = await work(...process.argv.slice(2));
    if (lines.length) console.log(lines.join("\n"));
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
