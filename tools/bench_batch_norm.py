"""Test accuracy of finished runs with batch-norm statistics taken from different images.

When training with a weight average (``--ema``) ends, ssvae takes the average's batch-norm statistics anew over
the clean training images (`ssvae.averaging.recompute_batch_norm`). For runs written by `ssvae train --out` or
`tools/bench_accuracy.py --keep`, this compares the statistics saved with the run, those of the clean training
images, and those of weak views of them (the shifted, and for shift-flip mirrored, images training sees). Runs
trained before ssvae recomputed the statistics (commit 1c39735 and earlier) show what recomputing gains; for
later runs the saved statistics are the clean images' already.

    python -m tools.bench_batch_norm runs/fashion-seed0 runs/fashion-seed1 runs/fashion-seed2
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

import ssvae
from ssvae.augment import WEAK, augment
from ssvae.averaging import recompute_batch_norm
from ssvae.training import DeviceData
from tools.benchlog import benchmarks_option, device_name, publish

SOURCES = ("saved", "clean images", "weak views")


def accuracies(run_dir: Path) -> dict[str, float]:
    """Test accuracy of the run in ``run_dir`` with the statistics of each of `SOURCES`."""
    run = ssvae.load(run_dir)
    images = DeviceData.from_partition(run.partition(), torch.device("cpu")).training_images(
        run.model.uses_unlabelled)
    result = {"saved": ssvae.evaluate(run)["accuracy"]}
    recompute_batch_norm(run.model, images)
    result["clean images"] = ssvae.evaluate(run)["accuracy"]
    torch.manual_seed(0)
    recompute_batch_norm(run.model, augment(images, WEAK, run.config.flips))
    result["weak views"] = ssvae.evaluate(run)["accuracy"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories")
    benchmarks_option(parser)
    args = parser.parse_args()
    rows, columns = [], {source: [] for source in SOURCES}
    for run_dir in args.runs:
        result = accuracies(run_dir)
        for source in SOURCES:
            columns[source].append(result[source])
        rows.append(f"| {run_dir.name} | " + " | ".join(f"{100 * result[s]:.2f}" for s in SOURCES) + " |")
        print(f"  {run_dir}: " + ", ".join(f"{s} {100 * result[s]:.2f} %" for s in SOURCES), flush=True)
    if len(args.runs) > 1:
        rows.append("| mean ± std | " + " | ".join(f"{100 * statistics.mean(columns[s]):.2f} ± "
                                                  f"{100 * statistics.stdev(columns[s]):.2f}" for s in SOURCES) + " |")
    table = ["| run | " + " | ".join(f"test accuracy %, statistics {s}" for s in SOURCES) + " |",
             "|---" * (len(SOURCES) + 1) + "|", *rows]
    publish(Path(args.benchmarks), f"Batch-norm statistics of finished runs, {device_name('cpu')}", table)


if __name__ == "__main__":
    main()
