// The demo's view of a model of a table: a form of the model's columns (a number each, or a choice among a
// column of categories), read as a record by records.mjs as Node's examples read theirs, and the decoder's
// row, a value a column.
import { fillRow, tableFields } from "./records.mjs";

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
  element.append(...field.values.map((value) => new Option(value, value))); // the text as it is, spaces and all
  return element;
}

// meta: model.json; input and generated: the elements to fill; changed: called when a value changes
export function tableView({ meta, input, generated, changed }) {
  const fillsMissing = meta.fills_missing === true; // its graphs take NaN for a missing input
  const fields = tableFields(meta);
  const form = fields.map((field) => ({ ...field, element: control(field, fillsMissing) }));
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
    const bad = form.find(({ element }) => element.validity.badInput); // a number field's text that is none
    if (bad) return `'${bad.name}' is not a number`;
    const x = new Float32Array(meta.input_shape[0]);
    const record = Object.fromEntries(form.map(({ name, element }) => [name, element.value]));
    const unknown = new Map();
    const problem = fillRow(meta, fields, record, x, 0, unknown);
    return problem ?? (unknown.size ? `'${[...unknown.keys()][0]}' holds a category the model does not know` : x);
  }

  return {
    hint: `Type a row's values${fillsMissing ? " (an empty one is missing: the model fills it in)" : ""}, or pick a `
          + "row of the data:",
    show(values) {
      // a row of samples.json: null for a missing input
      for (const { index, values: known, element } of form) {
        const own = known ? values.slice(index, index + known.length) : [values[index]];
        element.value = own[0] === null ? "" : known ? known[own.indexOf(1)] : String(own[0]);
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
