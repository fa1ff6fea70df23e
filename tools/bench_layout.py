"""Training speed of the convolutional classifier in the channels-last layout (as ssvae runs it) against the
plain (channels-first) layout, on the Fashion-MNIST consistency recipe, in float32 and bfloat16.

    python -m tools.bench_layout --data-dir ../shared/datasets/fashion-mnist
    python -m tools.bench_layout --data-dir DIR --pool 12800 --repeats 5

Each row trains the recipe (conv 32,64,128 classifier, shift-flip views, consistency 1, EMA, batch 128 + 64
labelled) over an unlabelled pool of ``--pool`` examples from the same seed in both layouts, in rounds that run
each once (a slow spell of a shared machine falls on both); the median pass, scaled to 60,000 images, is the
figure. The layout changes no number (tests/test_networks.py), only the speed of the convolution, pooling and
batch normalisation kernels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ssvae.data import load_source
from ssvae.models import Model
from ssvae.training import resolve_device
from tools.bench_train import fashion_config, pool_partition, ssvae_pass
from tools.benchlog import benchmarks_option, device_name, publish
from tools.timing import median_seconds

RECIPE = dict(classifier="conv", augment="shift-flip", consistency=1.0, lr_schedule="one-cycle", ema=0.999,
              batch_size=128, labelled_batch_size=64)


def plain_layout(model: Model) -> None:
    """Run ``model``'s conv classifier in the channels-first layout, torch's default."""
    model.classifier.use_layout(torch.contiguous_format)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--pool", type=int, default=6400, help="unlabelled examples a timed pass covers")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each layout (median)")
    parser.add_argument("--device", default="auto")
    benchmarks_option(parser)
    args = parser.parse_args()
    device = resolve_device(args.device)
    source = load_source("fashion-mnist", None, args.data_dir)
    partition = pool_partition(source, args.pool)
    scale = 60_000 / len(partition.unlabelled)
    table = ["| precision | s an epoch, channels-last | s an epoch, plain layout | speed-up |", "|---|---|---|---|"]
    for precision in ("float32", "bfloat16"):
        config = fashion_config(source, args.data_dir, precision=precision, **RECIPE)
        seconds = median_seconds({"channels-last": ssvae_pass(partition, config, device),
                                  "plain": ssvae_pass(partition, config, device, adjust=plain_layout)},
                                 args.repeats)
        table.append(f"| {precision} | {seconds['channels-last'] * scale:.1f} | {seconds['plain'] * scale:.1f} "
                     f"| {seconds['plain'] / seconds['channels-last']:.2f}x |")
    title = (f"Conv classifier layout, Fashion-MNIST consistency recipe, median of {args.repeats} passes over "
             f"{len(partition.unlabelled):,} unlabelled examples scaled to 60,000, {device_name(device)}")
    publish(Path(args.benchmarks), title, table)


if __name__ == "__main__":
    main()
