"""What denormal numbers cost M2's training on a CPU: ssvae's Bernoulli likelihood, whose gradient never turns
denormal (`ssvae.objectives.bernoulli_log_likelihood`), against torch's binary cross-entropy, in one run.

    python -m tools.bench_denormals --data-dir ../shared/datasets/fashion-mnist --epochs 30

Trains M2 on Fashion-MNIST with 100 labels (the preset; ``--set FIELD=VALUE`` changes any Config field) and
alternates epoch by epoch: odd epochs with ssvae's likelihood, even ones with
``-binary_cross_entropy_with_logits``, the same function but for a floor on softplus's argument below -87.
Neighbouring epochs do the same work on nearly the same weights, so within a window of epochs the ratio of
their times is what denormal gradients cost at that point of training. Prints the median epoch of each kind
per window and appends the table to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ssvae import objectives
from ssvae.config import config_for
from ssvae.data import choose_split, load_source
from ssvae.models import build_model
from ssvae.training import EpochRecord, fit
from tools.bench_accuracy import parse_setting
from tools.benchlog import device_name, publish


def cross_entropy_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    """The Bernoulli log-likelihood as the peers write it; its gradient sigmoid(l) turns denormal below -87."""
    return -F.binary_cross_entropy_with_logits(logits, x.expand(logits.shape), reduction="none").sum(-1)


def window_rows(seconds: dict[int, float], window: int) -> list[str]:
    """Table rows: per ``window`` epochs, the median odd (ssvae's) and even (baseline) epoch and their ratio."""
    rows = []
    for first in range(1, max(seconds) + 1, window):
        epochs = [e for e in seconds if first <= e < first + window]
        ours = [seconds[e] for e in epochs if e % 2 == 1]
        plain = [seconds[e] for e in epochs if e % 2 == 0]
        if ours and plain:
            fast, slow = statistics.median(ours), statistics.median(plain)
            rows.append(f"| {first}-{max(epochs)} | {fast:.1f} | {slow:.1f} | {slow / fast:.2f}x |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--window", type=int, default=10, help="epochs a row of the table covers")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any Config field, e.g. --set batch_size=500 (JSON value)")
    parser.add_argument("--benchmarks", default="BENCHMARKS.md")
    args = parser.parse_args()
    source = load_source("fashion-mnist", None, args.data_dir)
    config = config_for("fashion-mnist", data_dir=args.data_dir, labels=100, epochs=args.epochs, device="cpu",
                        input_shape=source.train.input_shape, class_names=source.train.class_names,
                        likelihood="bernoulli", **dict(parse_setting(item) for item in args.set))
    partition = choose_split(source, config.labels, config.val_labels, config.test_fraction, config.split_seed,
                             config.seed).apply(source)
    torch.manual_seed(config.seed)
    ours, seconds = objectives.bernoulli_log_likelihood, {}

    def alternate(record: EpochRecord) -> None:
        seconds[len(seconds) + 1] = float(record["seconds"])  # counted over the run, across a model's stages
        # the next epoch takes the other likelihood (`log_likelihood` looks the name up at each call)
        objectives.bernoulli_log_likelihood = cross_entropy_likelihood if len(seconds) % 2 else ours

    try:
        fit(build_model(config), partition, config, on_epoch=alternate)
    finally:
        objectives.bernoulli_log_likelihood = ours
    table = ["| epochs | s an epoch, ssvae's likelihood | s an epoch, binary cross-entropy | cost of denormals |",
             "|---|---|---|---|", *window_rows(seconds, args.window)]
    settings = "".join(f", {item}" for item in args.set)
    publish(Path(args.benchmarks), f"Denormal gradients, Fashion-MNIST M2, 100 labels{settings}, median epoch per "
                                   f"window of {args.window}, {device_name()}", table)


if __name__ == "__main__":
    main()
