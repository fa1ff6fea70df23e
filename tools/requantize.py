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
from ssvae.files import uninterrupted, write_atomic
from ssvae.runtime import MODEL_CARD, ExportedModel, graph_file


def training_inputs(model: ExportedModel, data_dir: str | None) -> np.ndarray:
    """Up to 2,000 of the training inputs of ``model``'s data set, as its graphs take them."""
    inputs = model_inputs(model, dataset=model.info["dataset"], split="train", data_dir=data_dir)
    return model.prepare(calibration_rows(np.asarray(inputs.x)))


def held_out_examples(model: ExportedModel, data_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The labelled test split of ``model``'s data set, as `ssvae evaluate` reads it: inputs as its graphs take
    them, and labels."""
    test = builtin_labelled(model, model.info["dataset"], "test", data_dir)
    return model.prepare(test.x), test.y


def with_int8_row(card: str, row: str) -> str:
    """``card`` with its int8 row replaced by ``row`` (SystemExit without one)."""
    int8_row = re.compile(r"^\| int8 \| .*$", re.MULTILINE)
    if not int8_row.search(card):
        raise SystemExit("the model card has no int8 row: export the model with --quantize int8")
    return int8_row.sub(row, card, count=1)


def int8_copies(model: ExportedModel, graphs: dict[str, bytes], data_dir: str | None) -> tuple[dict[str, bytes], str]:
    """int8 copies of float32 ``graphs`` (role -> bytes) of ``model``'s data set, calibrated on its training
    inputs, and the card's row of their test accuracy and agreement with float32."""
    int8 = quantize_int8(graphs, training_inputs(model, data_dir))
    x, y = held_out_examples(model, data_dir)
    classes = predicted_classes(int8["classifier"], x)
    accuracy = float((classes == y).mean())
    agreement = float((classes == predicted_classes(graphs["classifier"], x)).mean())
    return int8, card_row("int8", accuracy, agreement)


def requantize(model_dir: Path, data_dir: str | None) -> str:
    """Rewrite ``model_dir``'s int8 graphs and its card's int8 row; return the row."""
    model = runtime.load(model_dir, device="cpu")
    graphs = {role: (model_dir / graph_file(role)).read_bytes() for role in model.sessions}
    int8, row = int8_copies(model, graphs, data_dir)
    files: dict[str, bytes | str] = {graph_file(role, "int8"): data for role, data in int8.items()}
    files[MODEL_CARD] = with_int8_row((model_dir / MODEL_CARD).read_text(), row)
    write_files(model_dir, files)
    return row


def write_files(model_dir: Path, files: dict[str, bytes | str]) -> None:
    """Write ``files`` (name -> contents) into ``model_dir``, each whole (Ctrl-C waits for the last), and check
    that the folder loads, its int8 copies too."""
    with uninterrupted():
        for name, data in files.items():
            write_atomic(model_dir / name, data)
    runtime.load(model_dir, device="cpu", precision="int8")


def model_folder_arguments(doc: str) -> argparse.Namespace:
    """The arguments of `python -m tools.requantize` and `tools.refresh_model` (whose module ``doc`` says what it
    does): a model folder, and where its data set's files are."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path, help="a model folder with float32 and int8 graphs")
    parser.add_argument("--data-dir", help="where the data set's files are (Fashion-MNIST's raw files)")
    return parser.parse_args()


def main() -> None:
    args = model_folder_arguments(__doc__)
    print(f"{args.model_dir}: {requantize(args.model_dir, args.data_dir)}")


if __name__ == "__main__":
    main()
