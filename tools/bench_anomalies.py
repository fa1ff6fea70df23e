"""Which foreign inputs an exported model's anomaly score flags, and what predict's entropy adds.

The model's test images are split in two halves at random: thresholds are set on the first, false alarms and
ROC AUC are measured on the second. Foreign inputs, each as many as --n: uniform noise, all-black images, the
second half's images inverted, upside down, shifted right by a seventh of their width, and blended in pairs,
and images of the other built-in data set resized to the model's (sklearn's digits framed as MNIST's, 20x20 in
a 28x28 field, for a 28x28 model; Fashion-MNIST for the 8x8 digits model, with --data-dir). The rules, with
thresholds at percentiles of the first half:
  - score above the 99th percentile (`ssvae score` counts these against the model's test_scores);
  - score above the 99th percentile of the inputs of the same predicted class;
  - entropy of q(y|x) (score's and predict's `entropy` column) above its 99th percentile (counted too);
  - either above its 99th percentile (`ssvae score`'s "above either": up to 2 % of the test images);
  - either above its 99.5th percentile (about 1 %, as each rule alone).
Prints the share of each set each rule flags and the ROC AUC of score and entropy against the second half;
appends the table to BENCHMARKS.md.

    python -m tools.bench_anomalies --model models/fashion-mnist-m2 --data-dir ../shared/datasets/fashion-mnist
    python -m tools.bench_anomalies --model models/digits-m2 --data-dir ../shared/datasets/fashion-mnist --n 100
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np
import onnxruntime as ort
from PIL import Image
from sklearn.metrics import roc_auc_score

from ssvae import runtime
from ssvae.data.sources import load_source
from ssvae.inference import model_inputs
from tools.benchlog import benchmarks_option, cpu_model, publish

Rule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (scores, entropies, classes) -> flagged


def resized(images: np.ndarray, size: int, field: int | None = None) -> np.ndarray:
    """(N, 1, H, W) images in [0, 1] resized to ``size`` pixels square (bilinear), centred in a black square of
    ``field`` pixels where given."""
    field = field or size
    out = np.zeros((len(images), 1, field, field), np.float32)
    start = (field - size) // 2
    for i, image in enumerate(images[:, 0]):
        small = Image.fromarray(image.astype(np.float32), mode="F").resize((size, size), Image.Resampling.BILINEAR)
        out[i, 0, start:start + size, start:start + size] = np.clip(np.asarray(small), 0.0, 1.0)
    return out


def other_data_set(model: runtime.ExportedModel, data_dir: str | None, n: int) -> tuple[str, np.ndarray] | None:
    """Images of the other built-in data set at the model's size; None where none can be had (the 8x8 model
    without --data-dir, or a model of another shape)."""
    if model.input_shape == (1, 28, 28):
        return "sklearn's digits, framed as MNIST", resized(load_source("digits").train.x[:n], 20, 28)
    if model.input_shape == (1, 8, 8) and data_dir is not None:
        return "Fashion-MNIST, resized", resized(load_source("fashion-mnist", data_dir=data_dir).test.x[:n], 8)
    return None


def foreign_inputs(model: runtime.ExportedModel, x: np.ndarray, data_dir: str | None,
                   n: int) -> dict[str, np.ndarray]:
    """The foreign input sets of the module's docstring, ``n`` of each, made from ``x`` (held-out images)."""
    rng = np.random.default_rng(0)
    shift = max(1, model.input_shape[-1] // 7)
    sets = {"uniform noise": rng.random((n, *model.input_shape), dtype=np.float32),
            "all black": np.zeros((n, *model.input_shape), np.float32),
            "inverted": 1.0 - x[:n],
            "upside down": x[:n, :, ::-1].copy(),
            f"shifted {shift} px right": np.roll(x[:n], shift, axis=-1),
            "two blended": 0.5 * (x[:n] + x[n:2 * n])}
    other = other_data_set(model, data_dir, n)
    if other is not None:
        sets[other[0]] = other[1]
    return sets


def rules(scores: np.ndarray, entropies: np.ndarray, classes: np.ndarray, k: int) -> dict[str, Rule]:
    """Each rule of the module's docstring, its thresholds set on the first half's ``scores``, ``entropies``
    and predicted ``classes`` (`k` classes)."""
    q99, h99 = np.quantile(scores, 0.99), np.quantile(entropies, 0.99)
    per_class = np.array([np.quantile(scores[classes == c], 0.99) if (classes == c).any() else np.inf
                          for c in range(k)])
    q995, h995 = np.quantile(scores, 0.995), np.quantile(entropies, 0.995)
    return {"score": lambda s, h, c: s > q99,
            "score, by class": lambda s, h, c: s > per_class[c],
            "entropy": lambda s, h, c: h > h99,
            "either": lambda s, h, c: (s > q99) | (h > h99),
            "either at 99.5th": lambda s, h, c: (s > q995) | (h > h995)}


def measured(model: runtime.ExportedModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The score (seed 0, one sample: `ssvae score`'s defaults), the entropy and predicted class of each input."""
    p = model.classify(x)
    return model.score(x), runtime.entropy(p), p.argmax(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder written by ssvae export (image inputs)")
    parser.add_argument("--data-dir", help="where the Fashion-MNIST files are")
    parser.add_argument("--n", type=int, help="inputs in each foreign set (default: 500, or a quarter of the "
                                                "model's test images where fewer)")
    benchmarks_option(parser)
    args = parser.parse_args()
    model = runtime.load(args.model, device="cpu")
    dataset = model.info["dataset"]  # --data-dir is for the other data set where the model's is sklearn's digits
    own_dir = None if dataset == "digits" else args.data_dir
    test = model.prepare(model_inputs(model, dataset=dataset, data_dir=own_dir).x)
    test = test[np.random.default_rng(0).permutation(len(test))]
    first, second = test[:len(test) // 2], test[len(test) // 2:]
    n = min(500, len(second) // 2) if args.n is None else args.n
    if not 0 < n <= len(second) // 2:
        parser.error(f"--n takes 1 to {len(second) // 2} for this model: the blends pair 2n of its "
                     f"{len(second)} held-out test images")
    flags = rules(*measured(model, first), model.n_classes)
    held = measured(model, second)
    rows = [table_row("test images, second half (false alarms)", held, flags)]
    for name, inputs in foreign_inputs(model, second, args.data_dir, n).items():
        got = measured(model, inputs)
        truth = np.r_[np.zeros(len(second)), np.ones(len(inputs))]
        rows.append(table_row(name, got, flags, [roc_auc_score(truth, np.r_[held[i], got[i]]) for i in (0, 1)]))
    table = ["| inputs | n | " + " | ".join(f"flagged: {name}" for name in flags)
             + " | ROC AUC: score | ROC AUC: entropy |", "|---|---" + "|---" * (len(flags) + 2) + "|", *rows]
    meta = model.info
    publish(Path(args.benchmarks), f"Foreign inputs flagged, {Path(args.model).name} ({meta['dataset']} "
                                   f"{meta['model']}): thresholds set on {len(first):,} test images (rules: "
                                   f"tools/bench_anomalies.py); CPU {cpu_model()}, onnxruntime {ort.__version__}",
            table)


def table_row(name: str, measures: tuple[np.ndarray, ...], flags: dict[str, Rule],
              aucs: list[float] | None = None) -> str:
    """One row of the table: the inputs' name and count, the share each rule flags, and the ROC AUCs."""
    shares = " | ".join(f"{100 * rule(*measures).mean():.1f} %" for rule in flags.values())
    shown = "- | -" if aucs is None else " | ".join(f"{auc:.3f}" for auc in aucs)
    return f"| {name} | {len(measures[0]):,} | {shares} | {shown} |"


if __name__ == "__main__":
    main()
