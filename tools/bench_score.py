"""How much an exported model's anomaly scores depend on the noise they draw, and what `--samples` buys.

`ssvae score` draws z once per class (the ELBO) unless given `--samples S` (the importance-weighted bound with S
draws). For the model's test images, each scored under several seeds, this prints per setting:
  - the spread of one image's score over the seeds (sample standard deviation, nats; mean and largest over
    images: over 5 seeds the plain standard deviation gave 0.87 nats where 40 seeds give 1.09);
  - how many of the ten highest scores under seed 0 stay among the ten highest under another seed (mean);
  - ROC AUC separating the test images from as many uniform-noise images (seed 0);
  - seconds per image, and that as a ratio to the ELBO's, measured in the same run.
Appends the table to BENCHMARKS.md.

    python -m tools.bench_score --model models/digits-m2
    python -m tools.bench_score --model models/fashion-mnist-m2 --data-dir ../shared/datasets/fashion-mnist --n 1000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from sklearn.metrics import roc_auc_score

from ssvae import runtime
from ssvae.inference import model_inputs
from tools.benchlog import benchmarks_option, cpu_model, publish


def top(scores: np.ndarray, k: int = 10) -> set[int]:
    return set(np.argsort(-scores, kind="stable")[:k].tolist())


def measure(model: runtime.ExportedModel, x: np.ndarray, noise: np.ndarray, samples: int | None,
            seeds: int) -> dict[str, float]:
    """The spread, top-ten agreement, ROC AUC and seconds per image of one setting of ``samples``."""
    start = time.perf_counter()
    runs = np.stack([model.score(x, samples=samples, seed=seed) for seed in range(seeds)])
    seconds = (time.perf_counter() - start) / (seeds * len(x))
    spread = runs.std(0, ddof=1)  # the sample standard deviation: the plain one runs low over a few seeds
    kept = np.mean([len(top(runs[0]) & top(run)) for run in runs[1:]])
    auc = roc_auc_score(np.r_[np.zeros(len(x)), np.ones(len(noise))], np.r_[runs[0], model.score(noise, samples, 0)])
    return {"mean": float(spread.mean()), "max": float(spread.max()), "kept": float(kept), "auc": float(auc),
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder written by ssvae export")
    parser.add_argument("--data-dir")
    parser.add_argument("--n", type=int, default=450, help="test images to score")
    parser.add_argument("--seeds", type=int, default=20, help="seeds each image is scored under (at least 2)")
    parser.add_argument("--samples", type=int, nargs="+", default=[8, 64], help="--samples settings to compare")
    benchmarks_option(parser)
    args = parser.parse_args()
    if args.seeds < 2:
        parser.error("--seeds must be at least 2: a score's spread between seeds needs two")
    model = runtime.load(args.model, device="cpu", threads=1)
    x = model.prepare(model_inputs(model, dataset=model.info["dataset"], data_dir=args.data_dir).x[: args.n])
    noise = np.random.default_rng(0).random(x.shape, dtype=np.float32)
    results = {samples: measure(model, x, noise, samples, args.seeds) for samples in [None, *args.samples]}
    elbo = results[None]["seconds"]
    rows = [f"| {'ELBO (default)' if samples is None else f'--samples {samples}'} | {r['mean']:.3f} | {r['max']:.2f} "
            f"| {r['kept']:.1f} of 10 | {r['auc']:.4f} | {1e3 * r['seconds']:.2f} ms | {r['seconds'] / elbo:.1f}x |"
            for samples, r in results.items()]
    table = ["| score | spread over seeds, mean (nats) | largest | top ten kept | ROC AUC vs noise "
             "| per image | vs ELBO |", "|---|---|---|---|---|---|---|", *rows]
    meta = model.info
    publish(Path(args.benchmarks), f"Anomaly scores and their noise, {Path(args.model).name} ({meta['dataset']} "
                                   f"{meta['model']}), {len(x):,} test images x {args.seeds} seeds, CPU {cpu_model()}, "
                                   f"one thread, onnxruntime {ort.__version__}", table)


if __name__ == "__main__":
    main()
