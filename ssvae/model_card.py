"""model_card.md, the page an export writes beside its graphs, and the words it shares with their metadata:
the data, the labels used, the commands that made the model and each precision's test accuracy."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ssvae.config import PATH_FIELDS, Config
from ssvae.settings import python_only_changes, train_command
from ssvae.runtime import OPSET, graph_file

if TYPE_CHECKING:  # annotations only: the card's words need no torch
    from ssvae.api import Run
    from ssvae.onnx_export import ExportReport


def data_name(config: Config) -> str:
    """The training data as the metadata and the model card name them: a file's or folder's name (not its
    path, which would spell out a home folder), or the built-in data set's."""
    return Path(config.data).name if config.data else config.dataset


def preprocessing(config: Config) -> str:
    """What the graphs' inputs must be, in words, for the model card and apps."""
    scale = ("inputs, uint8 too, are used as the numbers they are" if config.uint8_divisor == 1 else
             "uint8 inputs are divided by 255; float inputs are used as given")
    resized = "" if config.image_size is None else (
        "; image files of another size are resized to {}x{} (bilinear, as Pillow's resize) by ssvae's readers, "
        "which an app resizes itself".format(*config.image_size))
    return scale + (" and must lie in [0, 1]; no binarisation" if config.likelihood == "bernoulli" else
                    " (the graph standardises them)") + resized


TENSOR_MEANINGS = {  # by (role, name) or name, as the card's table says them; {x} and {z}: what q and p are given
    ("encoder", "y"): "one-hot class, in class_names' order; a row of zeros means the classifier's class",
    ("decoder", "y"): "class, in class_names' order: one-hot, or a mixture of classes that sums to 1",
    "x": "the inputs, prepared as above",
    "z": "latent code: draws of N(0, I) generate new examples",
    "probabilities": "q(y|x): each class's probability, in class_names' order",
    "z_mean": "mean of q(z|{x})",
    "z_logvar": "log-variance of q(z|{x})",
    "x_mean": "mean of p(x|{z}), shaped like the inputs, in their units",
    "x_logits": "logits of p(x|{z}), Bernoulli per input value",
    "x_logvar": "log-variance of p(x|{z}), in the inputs' units",
}
METADATA_READERS = ("`get_modelmeta().custom_metadata_map` in Python, `ModelMetadata.CustomMetadataMap` in C#, "
                    "`OrtSession.getMetadata().getCustomMetadata()` in Java, `Ort::Session::GetModelMetadata()` in C++")


def meaning(role: str, name: str, conditional: bool) -> str:
    """What input or output ``name`` of graph ``role`` is, for a model whose graphs take the class or not."""
    text = TENSOR_MEANINGS.get((role, name), TENSOR_MEANINGS.get(name, ""))
    return text.format(x="x,y" if conditional else "x", z="y,z" if conditional else "z")


def layout_text(info: Mapping[str, Any], builtin: bool) -> str:
    """How an app lays its inputs out and what they must look like, from the metadata ``info``: columns by name,
    images as the data set's (a ``builtin`` set's polarity said, which nothing can check), or rows by position."""
    shape = tuple(info["input_shape"])
    if info.get("input_columns"):
        columns = f"Each row's values in the order of `input_columns`: {', '.join(info['input_columns'])}."
        return columns + "".join(
            f" Column `{column}` of categories comes as its one-hot columns "
            f"{', '.join(f'`{column}={value}`' for value in known)}: 1 for the row's category, 0 for the others, NaN "
            f"in each where it is missing, which the graphs read as 0s; the decoder's `x_mean` there is each "
            f"category's probability (`categories`)." for column, known in info.get("categories", {}).items())
    if len(shape) != 3:
        return f"Each row's {math.prod(shape)} values in the order the training data had them."
    size = f"{shape[0]} x {shape[1]} x {shape[2]} (channels, height, width)"
    if builtin:
        return (f"Images of {size} as in {info['dataset']}: a bright object on a black (0) background, centred in "
                f"the frame; invert dark-on-light images first (255 - x of uint8), or most classes come out wrong.")
    return (f"Images of {size}, as the training images were: the same polarity (bright on dark or dark on "
            f"light), framing and size.")


def _cell(text: str) -> str:
    """``text`` in a Markdown table's cell: its bars (q(y|x)) escaped, not read as the cell's end."""
    return text.replace("|", "\\|")


def usage_lines(info: Mapping[str, Any], interfaces: Mapping[str, list[tuple[str, str, str]]],
                builtin: bool) -> list[str]:
    """The card's "Using the graphs" section: inputs (of a ``builtin`` data set or not), what the graphs leave
    to the app, each input and output (role -> (``input`` or ``output``, name, shape)), and where the metadata
    is, in any language onnxruntime serves."""
    conditional = bool(info.get("conditional"))
    rows = [f"| {graph_file(role)} | {kind} | {name} | {shape} | {_cell(meaning(role, name, conditional))} |"
            for role, values in interfaces.items() for kind, name, shape in values]
    return [
        "## Using the graphs",
        "",
        f"Inputs: {info['preprocessing']}. {layout_text(info, builtin)}",
        "The graphs take NaN for a missing input and fill it with that input's training mean (`fills_missing`); "
        "they check nothing else: an app refuses inf before running them; `ssvae.runtime` and the examples in "
        "`tools/examples` do." if info.get("fills_missing") else
        "The graphs check nothing: an app refuses inputs that are not finite, or outside `input_range` where it is "
        "given, before running them (a NaN gives NaN probabilities in the float32 graphs, and in the int8 ones a "
        "class as if the input were real); `ssvae.runtime` and the examples in `tools/examples` do.",
        *(["", "| graph | | name | shape | meaning |", "|---|---|---|---|---|", *rows] if rows else []),
        "",
        f"Every graph holds the `ssvae.*` metadata, each value JSON text ({METADATA_READERS}); `model.json` "
        "repeats it for apps that cannot read it (onnxruntime-web, -node).",
        "Load the folder with `ssvae.runtime.load(MODEL_DIR)` (numpy and onnxruntime only).",
    ]


def export_command(run_dir: str | Path | None, out: str | Path, opset: int, quantize: bool, fp16: bool) -> str:
    """The `ssvae export` command line of these arguments, for the model card (RUN_DIR for a run never saved)."""
    return shlex.join(["ssvae", "export", str(run_dir or "RUN_DIR"), "--out", str(out)]
                      + (["--quantize", "int8"] if quantize else []) + (["--fp16"] if fp16 else [])
                      + (["--opset", str(opset)] if opset != OPSET else []))


def shown_path(path: str | None) -> str | None:
    """A path the run recorded absolute, as the model card shows it: relative to the folder the export runs in
    where it lies below it (``data/mine.csv``), so that a shared card does not spell out a home folder."""
    if path is None or not Path(path).is_relative_to(Path.cwd()):
        return path
    return str(Path(path).relative_to(Path.cwd()))


def shown_config(config: Config) -> Config:
    """``config`` with its paths as a card or `ssvae info` shows them (`shown_path`)."""
    return config.replace(**{name: shown_path(getattr(config, name)) for name in PATH_FIELDS})


def float16_note(config: Config) -> str:
    """The card's word on its float16 row: measured on CPU, and the command that measures it on a GPU."""
    if config.data or config.test_data:
        data = "--data FILE"
    else:
        data = f"--dataset {config.dataset}" + (" --data-dir DIR" if config.dataset != "digits" else "")
    return ("The float16 row is onnxruntime's on CPU, which rounds the weights to float16 but computes most "
            f"operations in float32; a GPU computes in float16: `ssvae evaluate MODEL_DIR {data} --precision "
            "float16 --device cuda` measures it there.")


def _python_only_text(config: Config) -> str:
    """The card's word on settings that its `ssvae train` line cannot give (`python_only_changes`)."""
    changes = python_only_changes(config)
    return (f", and in Python {', '.join(f'{name}={value!r}' for name, value in changes.items())} (no option of "
            f"`ssvae train` sets {'them' if len(changes) > 1 else 'it'})" if changes else "")


def card_row(precision: str, accuracy: float | None, agreement: float) -> str:
    """The model card's row of one precision: its classifier graph, test accuracy (None: not measured, the
    run's data were missing or changed) and agreement with float32."""
    shown = "not measured" if accuracy is None else f"{100 * accuracy:.2f} %"
    return f"| {precision} | {graph_file('classifier', precision)} | {shown} | {100 * agreement:.2f} % |"


def difference_text(report: ExportReport) -> str:
    """The line that says how far onnxruntime's outputs are from torch's, graph by graph: `ssvae export`
    prints it and the card keeps it."""
    return "onnxruntime vs torch, largest absolute difference: " + ", ".join(
        f"{role} {d:.1e}" for role, d in report.max_difference.items())


def scores_text(summary: dict[str, Any]) -> str:
    """The test examples' anomaly scores in short (`score_summary`), as the model card says them."""
    return (f"Anomaly scores (`ssvae score`, seed {summary['seed']}, one sample) of the {summary['n']} test examples: "
            f"{quantiles_text(summary)} (`test_scores` in model.json): {rarity_text(summary['n'])}."
            + _entropy_text(summary))


def confidence_text(summary: dict[str, Any]) -> str:
    """The test examples' predictions by confidence (`confidence_summary`), as the model card says them."""
    return (f"Predictions of the {summary['n']} test examples by confidence (`test_confidence` in model.json), what "
            f"a threshold on `ssvae predict`'s confidence keeps, with the share of them right: {levels_text(summary)}.")


def levels_text(summary: dict[str, Any]) -> str:
    """The test examples' predictions by confidence (`confidence_summary`) in words."""
    return by_confidence_text({row["confidence"]: row["n"] for row in summary["levels"]}, summary["levels"])


FEW_TESTED = 100  # test examples below which a share is told as a count: "3 of 5 right", not "60.00 %"


def by_confidence_text(counts: dict[float, int], levels: list[dict[str, Any]] | None) -> str:
    """How many predictions reach each confidence (``counts``) and, in brackets where known, the share of the
    test examples as confident whose class was right (``levels``, as `confidence_summary` gives them): "none
    as confident" where none was, and for fewer than `FEW_TESTED`, how many of how many, so that 0.00 % of
    one example does not read as a measurement."""
    tested = {row["confidence"]: row for row in levels or ()}

    def share(level: float) -> str:
        if level not in tested:
            return ""
        n, right = tested[level]["n"], tested[level]["accuracy"]
        if right is None:
            return " (none as confident)"
        return f" ({round(right * n)} of {n} right)" if n < FEW_TESTED else f" ({100 * right:.2f} %)"

    return ", ".join(f"{n} at least {level:g}{share(level)}" for level, n in counts.items())


def above_q99(n: int) -> float:
    """How often an example like ``n`` test examples lies above their 99th percentile (numpy's, interpolated):
    it sits (n - 1) * 0.99 of the way up their order, and a new example (exchangeable with them) lies above
    the one at place k, from 0, with probability (n - k) / (n + 1), and between two places in proportion:
    1.2 % for 450, 4.8 % for 25."""
    return (0.01 * n + 0.99) / (n + 1)


FEW_FOR_Q99 = 195  # test examples below which that is above 1.5 %, and "about 1 in 100" would mislead


def rarity_text(n: int) -> str:
    """How rare a score above the 99th percentile of ``n`` test examples is, in words (`above_q99`)."""
    if n >= FEW_FOR_Q99:
        return "a score measured with the same seed and samples above the 99th is as rare as about 1 in 100 of them"
    return (f"{n} are few for a 99th percentile: an example like them lies above it about 1 time in "
            f"{round(1 / above_q99(n))}, not 1 in 100")


def quantiles_text(summary: dict[str, Any]) -> str:
    """The quantiles and highest of the test examples' scores (`score_summary`) in words, in nats."""
    q = summary["quantiles"]
    return (f"median {q['0.5']:.2f}, 90th percentile {q['0.9']:.2f}, 95th {q['0.95']:.2f}, 99th {q['0.99']:.2f}, "
            f"highest {summary['max']:.2f} nats")


def entropies_text(summary: dict[str, Any]) -> str:
    """The median, 99th percentile and highest of the test examples' entropies (`score_summary`'s ``entropy``)."""
    q = summary["quantiles"]
    return f"median {q['0.5']:.3f}, 99th percentile {q['0.99']:.3f}, highest {summary['max']:.3f} nats"


def _entropy_text(summary: dict[str, Any]) -> str:
    """The test examples' entropies in short, where the summary holds them (an export before did not)."""
    if "entropy" not in summary:
        return ""
    return (f" Their classifier's entropies (`ssvae score`'s and `predict`'s `entropy`): "
            f"{entropies_text(summary['entropy'])}; an entropy above the 99th flags some inputs that the score "
            f"misses (`tools/bench_anomalies.py` in the ssvae repository measures which).")


def unmeasured_text(report: ExportReport) -> str:
    """Why the card has no test accuracy, and what the graphs were checked on instead."""
    if not report.held_out:
        return ("Test accuracy: not measured, as no test set was held out (`--test-fraction 0`); the graphs were "
                "checked on the run's training inputs. `ssvae evaluate MODEL_DIR --data FILE` measures it on labelled "
                "data of your own.")
    return ("Test accuracy: not measured, as the run's data were missing or changed when it was exported; the "
            "graphs were checked on stand-in inputs.")


def model_card(run: Run, report: ExportReport, command: str) -> str:
    """model_card.md: the data, the labels used, the commands that made the model and the graphs' accuracy."""
    c = run.config
    data = data_name(c)
    shown = shown_config(c)
    rows = [card_row(p, a, report.agreement[p]) for p, a in report.accuracy.items()]
    lines = [
        f"# ssvae model: {c.model} on {data}",
        "",
        f"- Data: {data}; inputs of shape {tuple(c.input_shape)}"
        + (f" (columns {', '.join(c.input_columns)}, read by name)" if c.input_columns else "")
        + (f", {c.likelihood} likelihood; " if run.model.generative else "; ") +
        f"classes: {', '.join(c.class_names)}.",
        f"- Labels used in training: {run.split.labels_seen} ({len(run.split.validation)} of them for validation); "
        f"the other training examples were used without labels.",
        f"- Trained with: `{train_command(shown)}`" + _python_only_text(c),
        f"- Exported with: `{command}`",
        f"- {difference_text(report)}",
        *([] if report.test_confidence is None else [f"- {confidence_text(report.test_confidence)}"]),
        *([] if report.test_scores is None else [f"- {scores_text(report.test_scores)}"]),
        *([] if report.accuracy.get("float32") is not None else [f"- {unmeasured_text(report)}"]),
        "",
        "| precision | classifier | test accuracy | same class as float32 |",
        "|---|---|---|---|",
        *rows,
        *(["", float16_note(c)] if "float16" in report.accuracy else []),
        "",
        *usage_lines({"preprocessing": preprocessing(c), "input_shape": c.input_shape, "input_columns": c.input_columns,
                      "categories": c.categories, "fills_missing": c.fills_missing, "dataset": data_name(c),
                      "conditional": c.model != "m1"},
                     report.interfaces, not c.data),
        "",
    ]
    return "\n".join(lines)
