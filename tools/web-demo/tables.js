// The demo's view of a model of a table: a form of the model's columns (a number each, or a choice among a
// column of categories, which sets its one-hot inputs) and the decoder's row, a value a column.

// The form's fields in the model's column order: a column of numbers (its input's index), or a column of
// categories (the index of its first one-hot input, "island=Biscoe", and its categories, in model.json's order)
function fields(meta) {
  const names = meta.input_columns?.length ? meta.input_columns  // none for rows of an .npz or .npy: x0, x1, ...
    : Array.from({ length: meta.input_shape[0] }, (_, i) => `x${i}`);
  const oneHot = new Map(); // an input column's name -> [its column of categories, its category's position]
  for (const [name, known] of Object.entries(meta.categories ?? {})) {
    known.forEach((value, k) => oneHot.set(`${name}=${value}`, [name, k]));
  }
  return names.flatMap((column, index) => {
    if (!oneHot.has(column)) return [{ name: column, index }];
    const [name, k] = oneHot.get(column);
    return k === 0 ? [{ name, index, values: meta.categories[name] }] : [];
  });
}

// To the nearest whole number, a half to the even one, as numpy's rint
const rint = (value) => (Math.abs(value % 1) === 0.5 ? 2 * Math.round(value / 2) : Math.round(value));

// A generated input as the page shows it: one whose every training value was a whole number (a count, a year) as
// `ssvae generate` writes it, rounded and held within the values it took; another to four significant digits
function shown(meta, value, index) {
  if (!meta.whole_inputs?.includes(index)) return String(Number(value.toPrecision(4)));
  const { low, high } = meta.training_range;
  return String(Math.min(high[index], Math.max(low[index], rint(value))));
}

function control(field, fillsMissing) {
  if (!field.values) {
    const element = document.createElement("input");
    Object.assign(element, { type: "number", step: "any", placeholder: fillsMissing ? "missing" : "" });
    return element;
  }
  const element = document.createElement("select");
  if (fillsMissing) element.append(new Option("(missing)", ""));
  element.append(...field.values.map((value, k) => new Option(value, k)));
  return element;
}

// meta: model.json; input and generated: the elements to fill; changed: called when a value changes
export function tableView({ meta, input, generated, changed }) {
  const fillsMissing = meta.fills_missing === true; // its graphs take NaN for a missing input
  const form = fields(meta).map((field) => ({ ...field, element: control(field, fillsMissing) }));
  for (const { name, element } of form) element.dataset.column = name; // for scripts and tests
  const rows = document.createElement("div");
  rows.id = "row";
  rows.append(...form.map(({ name, element }) => {
    const label = document.createElement("label");
    label.append(Object.assign(document.createElement("span"), { textContent: name }), element);
    element.oninput = changed;
    return label;
  }));
  input.append(rows);
  const table = document.createElement("table");
  table.id = "generated-row";
  generated.append(table);

  function read() {
    // the model's input row, or what keeps the form from being one
    const x = new Float32Array(meta.input_shape[0]);
    for (const { name, index, values, element } of form) {
      if (element.validity.badInput) return `${name}: not a number`;
      if (element.value === "" && !fillsMissing) return `fill in ${name}: this model takes no missing values`;
      if (element.value === "") {
        x.fill(NaN, index, index + (values?.length ?? 1));
      } else if (values) {
        x.fill(0, index, index + values.length);
        x[index + Number(element.value)] = 1;
      } else {
        x[index] = Number(element.value);
        if (!Number.isFinite(x[index])) return `${name}: too large for float32, the model's numbers`;
        const [low, high] = meta.input_range ?? [-Infinity, Infinity];
        if (x[index] < low || x[index] > high) return `${name}: outside the model's input range [${low}, ${high}]`;
      }
    }
    return x;
  }

  return {
    hint: `Type a row's values${fillsMissing ? " (an empty one is missing: the model fills it in)" : ""}, or pick a `
          + "row of the data:",
    show(values) {
      // a row of samples.json: null for a missing input
      for (const { index, values: known, element } of form) {
        const own = known ? values.slice(index, index + known.length) : [values[index]];
        element.value = own[0] === null ? "" : known ? String(own.indexOf(1)) : String(own[0]);
      }
    },
    clear() { for (const { element } of form) element.value = ""; },
    read,
    showGenerated(mean) {
      // a number a column, and a column of categories' most likely one with its probability
      table.replaceChildren(...form.map(({ name, index, values }) => {
        const p = values ? Array.from(mean.subarray(index, index + values.length)) : null;
        const k = p && p.indexOf(Math.max(...p));
        const row = document.createElement("tr");
        for (const text of [name, p ? `${values[k]} (${Math.round(100 * p[k])} %)` : shown(meta, mean[index], index)]) {
          row.append(Object.assign(document.createElement("td"), { textContent: text }));
        }
        return row;
      }));
    },
  };
}
