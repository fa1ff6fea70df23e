"""How far an export's int8 and float16 copies drift from its float32 graphs.

For every precision a model folder holds, on the inputs of --data (by default the test split of the model's
built-in data set; a model of data of one's own needs --data): the share of inputs given the same class as float32, and the largest difference from
float32 of the encoder's z mean (in posterior standard deviations: how far a difference matters), of the
decoder's mean (in each input's spreads, the largest over inputs) and of the anomaly score (nats; the median
and the largest). A table's columns far from zero for their spread are where float16 loses most; with no
--model, the script makes such a table (a year near 2010 that varies by 3, a latitude near 51.5 that varies
by 0.05, a price near 250 that varies by 80; three classes that shift each), trains and exports a model of
it and compares on all its rows (``--set FIELD=VALUE`` changes any Config field of its training). Prints a
table and appends it to BENCHMARKS.md.

    python -m tools.bench_precision
    python -m tools.bench_precision --set epochs=1 --set hidden=[32]
    python -m tools.bench_precision --model models/digits-m2
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

import ssvae
from ssvae import runtime
from ssvae.inference import model_inputs
from tools.bench_accuracy import add_set_option, set_changes
from tools.benchlog import benchmarks_option, cpu_model, publish

COLUMNS = {"year": (2010.0, 3.0), "latitude": (51.5, 0.05), "price": (250.0, 80.0)}  # name: (centre, spread)


def write_table(path: Path, rows: int = 3000, seed: int = 0) -> None:
    """A CSV of COLUMNS and a label, each class moving every column by half its spread."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, rows)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*COLUMNS, "label"])
        for k in range(rows):
            out.writerow([f"{centre + spread * (rng.standard_normal() + 0.5 * label[k]):.4f}"
                          for centre, spread in COLUMNS.values()] + [f"class{label[k]}"])


def make_model(folder: Path, changes: dict[str, object]) -> tuple[Path, Path]:
    """Train, with the Config ``changes``, and export (with int8 and float16 copies) a model of the table; its
    folder and the table."""
    table = folder / "table.csv"
    write_table(table)
    run = ssvae.train(data=str(table), progress=False, out=folder / "run",
                      **{"labels": 100, "epochs": 10, "seed": 0, **changes})
    ssvae.export(run, folder / "model", quantize=True, fp16=True)
    return folder / "model", table


def drift(reference: runtime.ExportedModel, copy: runtime.ExportedModel, x: np.ndarray) -> list[str]:
    """The table's cells for one copy against float32 on inputs ``x``."""
    same = (copy.classify(x).argmax(-1) == reference.classify(x).argmax(-1)).mean()
    cells = [f"{100 * same:.2f} %"]
    if reference.generative:
        _, z_ref, logvar = reference.encode(x)
        _, z_copy, _ = copy.encode(x)
        y = reference.classify(x).argmax(-1) if reference.conditional else None
        decoded = copy.decode(z_ref, y) - reference.decode(z_ref, y)
        spread = x.reshape(len(x), -1).std(0)
        scores = np.abs(copy.score(x) - reference.score(x))
        cells += [f"{(np.abs(z_copy - z_ref) / np.exp(0.5 * logvar)).max():.3g}",
                  f"{(np.abs(decoded.reshape(len(x), -1)).max(0) / np.where(spread > 0, spread, 1)).max():.3g}",
                  f"{np.median(scores):.3g} / {scores.max():.3g}"]
    return cells + ["–"] * (4 - len(cells))  # a classifier alone has no z, decoder or score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a model folder written by ssvae export (default: make one of a table)")
    parser.add_argument("--data", help="inputs to compare on (default: the model's test split)")
    parser.add_argument("--data-dir")
    add_set_option(parser)
    benchmarks_option(parser)
    args = parser.parse_args()
    if args.model and args.set:
        parser.error("--set changes the training of the model made of a table: leave it out with --model")
    changes = set_changes(args.set)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, data = (Path(args.model), args.data) if args.model else make_model(Path(tmp), changes)
        reference = runtime.load(model_dir, device="cpu", threads=1)
        x = np.asarray(model_inputs(reference, data=data, dataset=None if data else reference.info["dataset"],
                                    data_dir=args.data_dir).x, dtype=np.float32)
        rows = [f"| {precision} | " + " | ".join(drift(reference, runtime.load(model_dir, device="cpu", threads=1,
                                                                              precision=precision), x)) + " |"
                for precision in runtime.held_precisions(model_dir)[1:]]
    settings = "".join(f", {item}" for item in args.set if not item.startswith("labels="))  # as given
    name = Path(args.model).name if args.model else \
        f"a table of {', '.join(COLUMNS)} (m2, {changes.get('labels', 100)} labels{settings})"
    table = ["| precision | same class as float32 | largest z mean difference (posterior sds) "
             "| largest decoder mean difference (input spreads) | score difference, median / largest (nats) |",
             "|---|---|---|---|---|", *rows]
    publish(Path(args.benchmarks), f"int8 and float16 copies against float32, {name}, {len(x):,} inputs, "
                                   f"CPU {cpu_model()}, one thread, onnxruntime {ort.__version__}", table)


if __name__ == "__main__":
    main()
