"""A shipped model folder's int8 graphs made again from its float32 graphs by `ssvae.precisions.quantize_int8`
(static int8, calibrated on up to 2,000 of its data set's training inputs), and its model card's int8 row
measured again on its test split: for folders exported before the int8 copies were calibrated, without the
run that made them.

    python -m tools.requantize models/fashion-mnist-m2 --data-dir DIR
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from ssvae import runtime
from ssvae.inference import builtin_labelled, model_inputs
from ssvae.model_card import card_row
from ssvae.precisions import calibration_rows, predicted_classes, quantize_int8
from ssvae.runtime import ExportedModel, graph_file


def training_inputs(model: ExportedModel, data_dir: str | None) -> np.ndarray:
    """Up to 2,000 of the training inputs of ``model``'s data set, as its graphs take them."""
    inputs = model_inputs(model, dataset=model.info["dataset"], split="train", data_dir=data_dir)
    return model.prepare(calibration_rows(np.asarray(inputs.x)))


def held_out_examples(model: ExportedModel, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The labelled test split of ``model``'s data set, as `ssvae evaluate` reads it: inputs as its graphs take
    them, and labels."""
    test = builtin_labelled(model, model.info["dataset"], "test", data_dir)
    return model.prepare(test.x), test.y


def with_int8_row(card: str, accuracy: float, agreement: float) -> str:
    """``card`` with its int8 row replaced by one of ``accuracy`` and ``agreement`` (SystemExit without one)."""
    row = re.compile(r"^\| int8 \| .*$", re.MULTILINE)
    if not row.search(card):
        raise SystemExit("the model card has no int8 row: export the model with --quantize int8")
    return row.sub(card_row("int8", accuracy, agreement), card, count=1)


def requantize(model_dir: Path, data_dir: str | None) -> str:
    """Rewrite ``model_dir``'s int8 graphs and its card's int8 row; return the row."""
    model = runtime.load(model_dir, device="cpu")
    graphs = {role: (model_dir / graph_file(role)).read_bytes() for role in model.sessions}
    int8 = quantize_int8(graphs, training_inputs(model, data_dir))
    x, y = held_out_examples(model, data_dir)
    classes = predicted_classes(int8["classifier"], x)
    accuracy = float((classes == y).mean())
    agreement = float((classes == predicted_classes(graphs["classifier"], x)).mean())
    card = model_dir / "model_card.md"
    updated = with_int8_row(card.read_text(), accuracy, agreement)
    for role, data in int8.items():
        (model_dir / graph_file(role, "int8")).write_bytes(data)
    card.write_text(updated)
    runtime.load(model_dir, device="cpu", precision="int8")  # the folder's checks pass on the new copies
    return card_row("int8", accuracy, agreement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path, help="a model folder with float32 and int8 graphs")
    parser.add_argument("--data-dir", help="where the data set's files are (Fashion-MNIST's raw files)")
    args = parser.parse_args()
    print(f"{args.model_dir}: {requantize(args.model_dir, args.data_dir)}")


if __name__ == "__main__":
    main()
