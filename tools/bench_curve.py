"""Test accuracy as one run trains: how many epochs a setting needs, and how much the last ones move it.

Trains one ssvae run (the preset, a recipe, or any Config setting) and evaluates the network on the run's
test set every few epochs through `ssvae.train`'s ``on_epoch`` hook: the weights as they stand after that
epoch (their average with ``ema``, before its batch-norm statistics are taken anew at the end). The test
accuracy is only read: the run keeps the weights it would keep without this script, whose test accuracy
(as `ssvae evaluate` gives it) is the table's last row. Prints the table and appends it to BENCHMARKS.md.

    python -m tools.bench_curve --dataset digits --every 50
    python -m tools.bench_curve --dataset fashion-mnist --data-dir ../shared/datasets/fashion-mnist \\
        --seed 0 --every 5 --out runs/fashion-200
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

import ssvae
from ssvae.config import Config
from ssvae.settings import config_for
from ssvae.training import accuracy, resolve_device
from tools.bench_accuracy import add_set_option, run_data, set_changes
from tools.benchlog import benchmarks_option, device_name, publish


def curve(config: Config, every: int, out: Path | None = None) -> tuple[list[dict], float]:
    """Train ``config``; return a row each ``every`` epochs of the classifier's stage (and at its last
    epoch): epoch, loss, seconds of training so far and test accuracy; and the kept weights' test accuracy."""
    _, partition = run_data(config)
    test = partition.labelled_test
    rows: list[dict] = []
    seconds = 0.0

    def measure(record: dict, network: nn.Module) -> None:
        nonlocal seconds
        seconds += record["seconds"]
        epoch = record["epoch"]
        if record["stage"] == "m1" or (epoch % every and epoch != config.epochs):
            return
        device = next(network.parameters()).device
        x, y = torch.as_tensor(test.x, device=device), torch.as_tensor(test.y, device=device)
        rows.append({"epoch": epoch, "loss": record["loss"], "seconds": seconds,
                     "test_accuracy": accuracy(network, x, y)})

    run = ssvae.train(config, out=out, progress=False, on_epoch=measure)
    return rows, ssvae.evaluate(run)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir")
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="m2")
    parser.add_argument("--recipe", help="a named recipe of ssvae.settings.RECIPES, as `ssvae train --recipe`")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs")
    parser.add_argument("--every", type=int, default=10, help="epochs between two evaluations")
    add_set_option(parser)
    parser.add_argument("--out", type=Path, help="write the run there, as `ssvae train --out` does")
    benchmarks_option(parser)
    args = parser.parse_args()
    if args.every < 1:
        parser.error(f"--every must be 1 or more epochs, got {args.every}")
    changes = {"epochs": args.epochs} if args.epochs else {}
    changes.update(set_changes(args.set))
    config = config_for(args.dataset, data_dir=args.data_dir, recipe=args.recipe, labels=args.labels,
                        seed=args.seed, model=args.model, **changes)
    start = time.perf_counter()
    rows, kept = curve(config, args.every, args.out)
    table = ["| epoch | loss | train s | test accuracy % |", "|---|---|---|---|",
             *(f"| {r['epoch']} | {r['loss']:.4g} | {r['seconds']:.0f} | {100 * r['test_accuracy']:.2f} |"
               for r in rows),
             f"| kept weights (`ssvae evaluate`) | | {time.perf_counter() - start:.0f} in all | {100 * kept:.2f} |"]
    settings = (f"recipe {args.recipe}, " if args.recipe else "") + f"{config.epochs} epochs" + \
        "".join(f", {item}" for item in args.set)
    device = device_name(resolve_device(config.device), config.threads)
    publish(Path(args.benchmarks), f"Test accuracy as {args.model} trains, {args.dataset}, {args.labels} labels, "
                                   f"seed {args.seed}, {settings}, {device}", table)


if __name__ == "__main__":
    main()
