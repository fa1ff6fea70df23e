"""The command line's reports as a terminal shows them: the line `ssvae train` ends with, `ssvae evaluate`'s
report, and `ssvae info`'s of a model or of a run. Text alone: the figures come from `ssvae.report`,
`ssvae.api.describe_run` and `ExportedModel.describe`."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any, Sequence

from ssvae.model_card import by_confidence_text, entropies_text, levels_text, quantiles_text

# the metadata `ssvae info` shows first, in this order; the rest follow alphabetically
INFO_ORDER = ("model", "dataset", "test_data", "class_names", "input_shape", "input_columns", "categories",
              "input_range", "preprocessing", "likelihood", "latent_dim", "conditional", "labels_seen",
              "test_accuracy", "test_confidence", "test_scores", "precisions")


def count(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural where ``n`` is not 1: "1 image", "3 images"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def gain_text(points: float) -> str:
    """What the unlabelled data did to the accuracy, in words that read right either way."""
    return f"add {points:+.2f} points" if points >= 0 else f"cost {-points:.2f} points"


def trained_line(done: str, report: dict, categories: Sequence[str] = ()) -> str:
    """The line `ssvae train` ends with: what it did, the test accuracy (None: a run that held out no test set),
    the epoch kept by validation, and the columns read as ``categories``, where a table has some (a column of
    text, such as notes, that was no input is then seen at once)."""
    kept, of = report["kept_epoch"], f" of {Path(report['test_data']).name}" if report["test_data"] else ""
    tested = (f"test accuracy {report['accuracy']:.4f} on {report['n_test']} examples{of}" if report["accuracy"]
              is not None else "test accuracy not measured (--test-fraction 0: no test set held out)")
    return (f"{done}  |  {tested}  |  labels seen {report['labels_seen']}"
            + (f"  |  kept epoch {_kept_text(kept)}" if kept else "")
            + (f"  |  categories {', '.join(categories)}" if categories else ""))


def evaluation_text(report: dict) -> str:
    """`ssvae evaluate`'s report as text: a run's, or an exported model's (with its graphs' precision, and no
    test ELBO)."""
    names = report["class_names"]
    rows = _confusion_row_names(names)
    width = max(6, *(columns(n) for n in names))
    row_width = max(width, *(columns(n) for n in rows))
    elbo, graphs = report["test_elbo"], report.get("precision")
    recalls = [_share_text(report["per_class"][n], "no test example") for n in names]
    precisions = [_share_text(report["per_class_precision"][n], "never predicted") for n in names]
    recall_width = max(6, *map(len, recalls))
    lines = [
        f"model          {report['model']}",
        *([f"graphs         {graphs} (exported)"] if graphs else []),
        f"labels seen    {report['labels_seen']}",
        f"test examples  {report['n_test']}" + (f" ({Path(report['test_data']).name})" if report["test_data"] else ""),
        f"test accuracy  {report['accuracy']:.4f}",
        *([f"baseline       {report['baseline_accuracy']:.4f} (supervised on the same labels: the unlabelled data "
           f"{gain_text(100 * (report['accuracy'] - report['baseline_accuracy']))})"]
          if "baseline_accuracy" in report else []),
        *([] if graphs else [f"test ELBO      {elbo:.2f} nats an example" if elbo is not None else
                              "test ELBO      - (no generative model)"]),
        *([f"kept epoch     {_kept_text(report['kept_epoch'])}"] if report["kept_epoch"] else []),
        "",
        f"{'class':<{width}}  {'recall':<{recall_width}}  precision",
        *(f"{_padded(n, width)}  {r:<{recall_width}}  {p}" for n, r, p in zip(names, recalls, precisions)),
        "",
        "confusion (rows: true class, columns: predicted)",
        " " * row_width + " " + " ".join(f"{k:>5}" for k in range(len(names))),
        *(f"{_padded(n, row_width)} " + " ".join(f"{c:>5}" for c in row) for n, row in zip(rows, report["confusion"])),
        *_confidence_lines(report),
    ]
    return "\n".join(lines)


def _confidence_lines(report: dict) -> list[str]:
    """How many predictions are at least so confident, and how right they are: what a threshold on
    ``predict``'s confidence keeps. No lines for a report without them."""
    levels, total = report.get("by_confidence"), report["n_test"]
    if not levels:
        return []
    width = max(len("examples"), len(f"{total} of {total}"))
    return ["", f"{'confidence':<10}  {'examples':<{width}}  accuracy",
            *(f"{'>= ' + str(row['confidence']):<10}  {str(row['n']) + ' of ' + str(total):<{width}}  "
              f"{_share_text(row['accuracy'], '-')}" for row in levels)]


def confident_text(confident: dict[float, int], reference: dict | None) -> str:
    """How many predictions reach each confidence (`Predictions.confident`) and, where the model measured it
    (``reference``: its ``test_confidence``), the share of its test examples as confident that were right:
    `ssvae predict`'s word on how far its labels can be trusted."""
    if reference is None:
        return f"by confidence: {by_confidence_text(confident, None)}"
    return (f"by confidence, with the share of the model's test examples as confident that were right: "
            f"{by_confidence_text(confident, reference['levels'])}")


def model_info_text(description: dict) -> str:
    """`ssvae info` of a model folder (`ExportedModel.describe`): its metadata, then each graph's inputs and
    outputs."""
    shown = {key: value for key, value in {**description["metadata"], "precisions": description["precisions"]}.items()
             if value not in ([], {})}  # an image model's input_columns, a model's categories without text: no line
    if shown.get("test_fraction") == 0 and shown.get("test_accuracy") is None:
        shown["test_accuracy"] = "not measured: no test set held out (test_fraction 0)"
    meta = dict(sorted(shown.items(), key=lambda item: _info_rank(item[0])))
    width = max(len(k) for k in meta)
    lines = [f"{description['model_dir']}", *(f"  {k:<{width}}  {_info_value(k, v)}" for k, v in meta.items()),
             ""]
    for graph in description["graphs"].values():
        lines.append(f"{graph['file']}")
        for kind in ("inputs", "outputs"):
            lines += [f"  {kind[:-1]:<6} {io['name']:<14} {io['type']:<14} [{', '.join(map(str, io['shape']))}]"
                      for io in graph[kind]]
    return "\n".join(lines)


def run_info_text(run_dir: str, run: dict) -> str:
    """`ssvae info` of a run folder (`ssvae.api.describe_run`): how far it has trained, on what, and the
    command that trains it again."""
    state = run["state"]
    if (at := run["checkpoint"]) is not None:
        stage = f" of stage {at['stage']}" if len(run["epochs"]) > 1 else ""
        state += f": its checkpoint is after epoch {at['epoch']} of {at['epochs']}{stage}"
        state += f" ('ssvae train --resume {run_dir}' goes on from it)" if run["state"] == "unfinished" else ""
    last = run["last_epoch"]
    rows = {"state": state, "model": run["model"], "data": run["data"], "labels_seen": run["labels_seen"],
            "class_names": plain(run["class_names"]),
            "epochs": ", ".join(f"{name} {run['recorded'][name]} of {epochs}" for name, epochs in run["epochs"].items())
            + " recorded in metrics.csv",
            "last_epoch": "-" if last is None else f"{last['stage']} {last['epoch']}: loss {last['loss']:g}, train "
                          f"accuracy {last['train_accuracy']:.4f}" + ("" if last.get("val_accuracy") is None else
                                                                      f", validation {last['val_accuracy']:.4f}"),
            **({"test": run["test"]} if "test" in run else {}),
            "command": run["command"],
            **({"problems": "; ".join(run["problems"])} if run["problems"] else {})}
    width = max(map(len, rows))
    return "\n".join([f"{run_dir} (a training run)", *(f"  {k:<{width}}  {v}" for k, v in rows.items())])


def _info_value(key: str, value: Any) -> str:
    """A metadata value as `ssvae info` shows it: the test examples' predictions by confidence and scores in
    words (``--json`` has them all), any other `plain`."""
    if key == "test_accuracy" and isinstance(value, float):
        return f"{value:.4f}"  # as every other command shows an accuracy: 0.6000, not 0.6
    if key == "training_range" and isinstance(value, dict):
        return (f"the least and greatest value of each of the {len(value['low'])} inputs in training (--json has "
                f"them), to flag inputs far outside them")
    if key == "categories" and isinstance(value, dict):
        return "; ".join(f"{column}: {plain(known)}" for column, known in value.items())
    if key == "fills_missing" and isinstance(value, bool):
        return ("yes: a missing input (NaN, an empty CSV cell) is filled with its training mean" if value else
                "no: a missing input (NaN) is refused")
    if key == "whole_inputs" and isinstance(value, list):
        return (f"inputs {plain(value)} (0 first) held whole numbers alone in training, as generate writes them"
                if value else "none: no input held whole numbers alone in training")
    if key == "test_confidence" and isinstance(value, dict):
        return f"{value['n']} test examples by confidence, with the share of them right: {levels_text(value)}"
    if key != "test_scores" or not isinstance(value, dict):
        return plain(value)
    text = f"{value['n']} test examples (seed {value['seed']}, one sample): {quantiles_text(value)}"
    return text + (f"; entropies {entropies_text(value['entropy'])}" if "entropy" in value else "")


def plain(value: Any) -> str:
    """A metadata value as `ssvae info` shows it: a list's items joined (each in JSON's quotes where one holds
    a comma, so that the items stay apart), None (no input range) as "-", a table as JSON."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, list):
        return ", ".join(json.dumps(v, ensure_ascii=False) if "," in str(v) else str(v) for v in value)
    return "-" if value is None else str(value)


def columns(text: str) -> int:
    """The terminal columns ``text`` takes: two a wide character (Chinese, Japanese, Korean), one the others."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _padded(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns, so that a table's columns line up."""
    return text + " " * (width - columns(text))


def _info_rank(key: str) -> tuple[int, str]:
    """Metadata in INFO_ORDER first, then the rest alphabetically."""
    return (INFO_ORDER.index(key) if key in INFO_ORDER else len(INFO_ORDER), key)


def _share_text(share: float | None, none: str) -> str:
    return none if share is None else f"{share:.4f}"


def _kept_text(kept: dict) -> str:
    return f"{kept['epoch']} of {kept['epochs']} (the best validation accuracy, {kept['val_accuracy']:.4f})"


def _confusion_row_names(names: list[str]) -> list[str]:
    """The confusion matrix's row labels: the class names, each after its column's number unless the names are
    those numbers already ("0".."9"), so that a column can be told by its row."""
    if names == [str(k) for k in range(len(names))]:
        return names
    return [f"{k} {name}" for k, name in enumerate(names)]


__all__ = ["confident_text", "count", "evaluation_text", "gain_text", "model_info_text", "plain", "run_info_text",
           "trained_line"]
