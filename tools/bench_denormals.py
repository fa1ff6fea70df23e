"""What denormal numbers cost an M2 training run on a CPU, and so what `ssvae.training.denormals_flushed` saves.

    python -m tools.bench_denormals --data-dir ../shared/datasets/fashion-mnist --epochs 30
    python -m tools.bench_denormals --data-dir DIR --epochs 30 --set batch_size=500

Trains M2 on Fashion-MNIST with 100 labels (the preset; ``--set FIELD=VALUE`` changes any Config field) and
alternates epoch by epoch: odd epochs with denormals flushed to zero, as `ssvae train` runs, even epochs
without. Neighbouring epochs do the same work on nearly the same weights, so within a window of epochs the
ratio of their times is what denormals cost at that point of training. Prints the median epoch of each kind
per window and appends the table to BENCHMARKS.md. It runs torch on one thread: the setting belongs to a
thread, and torch's worker threads keep the one they started with, so only one thread follows the switch.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
from torch import nn

from ssvae.data import load_source
from ssvae.models import build_model
from ssvae.training import EpochRecord, denormals_flushed, fit
from tools.bench_accuracy import add_set_option, run_data, set_changes
from tools.bench_train import fashion_config
from tools.benchlog import benchmarks_option, device_name, publish


def window_rows(seconds: dict[int, float], window: int) -> list[str]:
    """Table rows: per ``window`` epochs, the median flushed (odd) and plain (even) epoch and their ratio."""
    rows = []
    for first in range(1, max(seconds) + 1, window):
        epochs = [e for e in seconds if first <= e < first + window]
        flushed = [seconds[e] for e in epochs if e % 2 == 1]
        plain = [seconds[e] for e in epochs if e % 2 == 0]
        if flushed and plain:
            fast, slow = statistics.median(flushed), statistics.median(plain)
            rows.append(f"| {first}-{max(epochs)} | {fast:.1f} | {slow:.1f} | {slow / fast:.2f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--window", type=int, default=10, help="epochs a row of the table covers")
    add_set_option(parser)
    benchmarks_option(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    source = load_source("fashion-mnist", None, args.data_dir)
    config = fashion_config(source, args.data_dir, epochs=args.epochs, device="cpu",
                            **set_changes(args.set))
    _, partition = run_data(config)
    torch.manual_seed(config.seed)
    seconds: dict[int, float] = {}

    def alternate(record: EpochRecord, _network: nn.Module) -> None:
        seconds[len(seconds) + 1] = float(record["seconds"])  # counted over the run, across a model's stages
        torch.set_flush_denormal(len(seconds) % 2 == 0)  # the next epoch takes the other setting

    with denormals_flushed():  # the first epoch flushed, as in `ssvae.train`
        fit(build_model(config), partition, config, on_epoch=alternate)
    table = ["| epochs | s an epoch, denormals flushed | s an epoch, not flushed | cost of denormals |",
             "|---|---|---|---|", *window_rows(seconds, args.window)]
    settings = "".join(f", {item}" for item in args.set)
    publish(Path(args.benchmarks), f"Denormals, Fashion-MNIST M2, 100 labels{settings}, median epoch per window of "
                                   f"{args.window}, {device_name('cpu', 1)}", table)


if __name__ == "__main__":
    main()
