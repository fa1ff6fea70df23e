// A table's records as the inputs of an ssvae model: objects keyed by the model's column names (model.json's
// input_columns, a column of categories by its own name; spaces around a key aside, other keys ignored), a number
// or its text for a column of numbers, a category's text for a column of categories, read as `ssvae predict`
// reads a CSV's cells. A gap (null, NaN, or a text predict reads as missing: "", NA, nan, ...) is NaN, which the
// graphs of a model that fills_missing fill; a category the model never trained on is a gap too, which the
// caller warns of. classify.mjs and score.mjs read .json files of records with it, and the browser demo
// (tools/web-demo) its form. It imports nothing.

export const MISSING = new Set(["", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "<NA>", "#N/A"]);
const NOT_A_NUMBER = /^[+-]?nan$/i; // Python's float() reads NAN and -nan too: a gap
// A number as Python's float() reads a cell's text, 1_000 and 1e-3 among them; not inf (which predict refuses)
// nor digits of other scripts (which predict reads)
const DIGITS = String.raw`\d(?:_?\d)*`;
const NUMBER = new RegExp(String.raw`^[+-]?(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:e[+-]?${DIGITS})?$`, "i");

// The model's columns in its order: a column of numbers (its input's index), or a column of categories (the
// index of its first one-hot input, "island=Biscoe", and its categories in model.json's order). Rows of an .npz
// or .npy have no names (input_columns is empty): x0, x1, ..., as `ssvae generate` names them.
export function tableFields(meta) {
  const names = meta.input_columns?.length ? meta.input_columns
    : Array.from({ length: meta.input_shape[0] }, (_, i) => `x${i}`);
  const oneHot = new Map(); // an input column's name -> [its column of categories, its category's position]
  for (const [name, known] of Object.entries(meta.categories ?? {})) {
    known.forEach((value, k) => oneHot.set(`${name}=${value}`, [name, k]));
  }
  return names.flatMap((column, index) => {
    if (!oneHot.has(column)) return [{ name: column, index }];
    const [name, k] = oneHot.get(column);
    return k === 0 ? [{ name, index, values: meta.categories[name], lookup: categoryLookup(meta.categories[name]) }]
      : [];
  });
}

function categoryLookup(known) {
  // a category's text -> its position, as ssvae reads it: True and False too where the model knows TRUE or true
  const lookup = new Map(known.map((name, k) => [name, k]));
  known.forEach((name, k) => {
    const capitalised = name.charAt(0).toUpperCase() + name.slice(1).toLowerCase();
    if (["true", "false"].includes(name.toLowerCase()) && !lookup.has(capitalised)) lookup.set(capitalised, k);
  });
  return lookup;
}

function isGap(value, numeric) {
  // null, NaN or a text ssvae reads as missing; for a column of numbers, a text Python's float() reads as nan too
  if (value === null || Number.isNaN(value)) return true;
  const text = typeof value === "string" ? value.trim() : null;
  return MISSING.has(text) || (numeric && NOT_A_NUMBER.test(text));
}

// A value of a column of categories as the text of a CSV's cell: JSON's true as True, 2.0 as 2
const categoryText = (value) => (typeof value === "boolean" ? (value ? "True" : "False") : String(value).trim());

function number(value, name) {
  // a column of numbers' value: a number, or a sentence that says why it is none
  if (typeof value === "number") return value;
  const text = String(value).trim();
  return NUMBER.test(text) ? Number(text.replaceAll("_", "")) : `'${name}' is not a number: ${JSON.stringify(value)}`;
}

function ownValues(record) {
  // a record's values by its keys without spaces around them, as a CSV's header is read; a key twice so is an
  // Error, as a header that names a column twice
  const own = new Map();
  for (const [key, value] of Object.entries(record)) {
    if (own.has(key.trim())) throw new Error(`'${key.trim()}' is a key twice, spaces around aside: keep one`);
    own.set(key.trim(), value);
  }
  return own;
}

// A record's id, as `ssvae predict` writes a CSV row's: its "id" (null: empty), else its place; or an Error
export function recordId(record, place) {
  const own = ownValues(record);
  const id = own.has("id") ? own.get("id") : place;
  if (typeof id === "object" && id !== null) {
    throw new Error(`its id is ${JSON.stringify(id)}: give a text or a number`);
  }
  return id === null ? "" : String(id);
}

// One record as the model's inputs, written into x from offset; a sentence that names the column which keeps it
// from being one, or null. unknown: a Map to which a category the model never trained on is added (column ->
// its first such value), read as a gap.
export function fillRow(meta, fields, record, x, offset, unknown) {
  let own;
  try {
    own = ownValues(record);
  } catch (error) {
    return error.message;
  }
  for (const field of fields) {
    if (!own.has(field.name)) return `no '${field.name}' in it: give every column the model takes`;
    const problem = fillValue(meta, field, own.get(field.name), x, offset + field.index, unknown);
    if (problem) return problem;
  }
  return null;
}

function fillValue(meta, { name, values, lookup }, value, x, at, unknown) {
  // one column's value written into x at `at` (a column of categories': its one-hot inputs from there), or a
  // sentence that says why it cannot be
  if (typeof value === "object" && value !== null) {
    return `'${name}' is ${JSON.stringify(value)}: give a number, a text, or null for a gap`;
  }
  if (isGap(value, !values)) {
    if (meta.fills_missing !== true) return `'${name}' is missing, and this model fills no gaps: give it a value`;
    x.fill(NaN, at, at + (values?.length ?? 1));
  } else if (values) {
    const k = lookup.get(categoryText(value)) ?? -1;
    x.fill(k < 0 ? NaN : 0, at, at + values.length);
    if (k >= 0) x[at + k] = 1;
    else if (!unknown.has(name)) unknown.set(name, String(value));
  } else {
    const v = number(value, name);
    if (typeof v === "string") return v;
    x[at] = v;
    const [low, high] = meta.input_range ?? [-Infinity, Infinity];
    if (!Number.isFinite(x[at])) return `'${name}' is ${value}: too large for float32, the model's numbers`;
    if (x[at] < low || x[at] > high) return `'${name}' is ${value}, outside the model's range [${low}, ${high}]`;
  }
  return null;
}
