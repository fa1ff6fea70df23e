"""Training speed of M2 on Fashion-MNIST (100 labels), against a straightforward implementation of the same
model and objective run in the same script, and against the FLOP floor of the device.

    python -m tools.bench_train --data-dir ../shared/datasets/fashion-mnist
    python -m tools.bench_train --data-dir DIR --pool 60000        # a whole epoch (slow on a CPU)
    python -m tools.bench_train --data-dir DIR --batch-sizes 100 500 1000   # ssvae's rows at larger batches
    python -m tools.bench_train --data-dir DIR --time-limit 270   # publishes within 270 s (fewer passes, rows)

Every implementation makes ``--repeats`` passes over an unlabelled pool of ``--pool`` examples (100 a step,
or each of ``--batch-sizes`` for ssvae's rows; 100 labelled examples a step drawn from the 100 labels), in
rounds that run each implementation once, so that a slow spell of a shared machine falls on all of them; the
median pass, scaled to the 60,000 images, is the figure. Under `--time-limit` the rounds stop early (at least
one is made), a row not yet warmed up when half the time is gone is left out, and so is a `--compile` row
whose compiler fails: each with the reason in the table.

- ssvae: `ssvae.training` as `ssvae train` runs it: data on the device, the encoder's x-part computed once
  per example and broadcast over the K classes, every class decoded in one batched call, loss terms summed on
  the device and read once an epoch, fused Adam.
- ssvae under `--precision bfloat16` (autocast), `--compile` (torch.compile) and both: each warmed up on a few
  steps first, so that compiling is not timed (`ssvae train` pays it once, in its first steps).
- baseline: what the peers do: a DataLoader over the pool, a cycled DataLoader for the labels, networks fed
  [x, onehot(y)] and called once per class in a Python loop, `.item()` every step, plain Adam, float32.

FLOPs of one step (multiply-adds x 2; one hidden layer of H units, input D, latent Z, classifier hidden C,
K classes, B_l labelled and B_u unlabelled examples):

    classifier  (B_l + B_u) (D C + C K)
    encoder     (B_l + B_u) D H + (B_l + B_u K) 2 Z H          (x-part once, class part a bias per class)
    decoder     (B_l + B_u K) (Z H + H D')                      (D' = D for Bernoulli logits)
    classes     2 (B_l + K) K H                                 (one-hot rows times the class weights)
    forward     2 x (classifier + encoder + decoder + classes)
    step        3 x forward - 2 x ((B_l + B_u) D (C + H) + classes)

The backward pass costs twice the forward (a gradient for each layer's input and one for its weights) but
for the layers fed by data or one-hot rows, whose inputs need no gradient. tests/test_bench.py checks the
formula against torch's own FLOP counter.

The baseline does more arithmetic (its encoder's first layer runs K times); the table counts both against
ssvae's formula, the useful work. The device's matmul rate is measured here with a 2048 x 2048 product, in
float32 and in bfloat16, in the same rounds as the passes; each row's share is of the rate of its own precision.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ssvae.config import Config
from ssvae.settings import config_for
from ssvae.data import Partition, Source, choose_split, load_source
from ssvae.models import Model, build_model
from ssvae.objectives import LossWeights
from ssvae.training import (CompiledLoss, DeviceData, StageRun, classification_weight, resolve_device, run_epoch,
                             steps_per_epoch)
from tools.benchlog import benchmarks_option, device_name, publish
from tools.timing import timed, timed_rounds


def step_flops(d: int, h: int, c: int, z: int, k: int, b_l: int, b_u: int) -> float:
    """FLOPs of one training step of M2 (forward and backward), as the module docstring derives them."""
    classifier = (b_l + b_u) * (d * c + c * k)
    encoder = (b_l + b_u) * d * h + (b_l + b_u * k) * 2 * z * h
    decoder = (b_l + b_u * k) * (z * h + h * d)
    classes = 2 * (b_l + k) * k * h
    no_input_gradient = (b_l + b_u) * d * (c + h) + classes
    return 3 * 2 * (classifier + encoder + decoder + classes) - 2 * no_input_gradient


def pass_flops(config: Config, examples: int) -> float:
    """FLOPs of M2 (one hidden layer) under ``config`` over ``examples`` unlabelled examples, last step short."""
    full, rest = divmod(examples, config.batch_size)
    return sum(steps * step_flops(math.prod(config.input_shape), config.hidden[0], config.classifier_hidden[0],
                                  config.latent_dim, config.n_classes, config.labelled_batch_size, b_u)
               for b_u, steps in ((config.batch_size, full), (rest, 1)) if b_u)


def matmul_pass(device: torch.device, dtype: torch.dtype = torch.float32, n: int = 2048,
                seconds: float = 0.25) -> tuple[Callable[[], float], float]:
    """A timed batch of n x n matrix products on ``device``, and its FLOPs. After warm-up products the batch
    doubles until it lasts ``seconds``, so that a GPU's clock ramp and the timer's overhead do not count; timed
    in the same rounds as the training passes, the rate it gives meets the same spells of a shared machine."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    repeats = 1

    def products() -> None:
        for _ in range(repeats):
            a @ b

    run = timed(products, device)
    while run() < seconds:
        repeats *= 2
    return run, repeats * 2 * n**3


class NaiveM2(nn.Module):
    """M2 as the peers write it: concatenated inputs, one network call per class."""

    def __init__(self, d: int, k: int, z: int, h: int, c: int):
        super().__init__()
        self.k = k
        self.classifier = nn.Sequential(nn.Linear(d, c), nn.Softplus(), nn.Linear(c, k))
        self.encoder = nn.Sequential(nn.Linear(d + k, h), nn.Softplus(), nn.Linear(h, 2 * z))
        self.decoder = nn.Sequential(nn.Linear(z + k, h), nn.Softplus(), nn.Linear(h, d))

    def bound(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.encoder(torch.cat([x, y], 1)).chunk(2, 1)
        zs = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.decoder(torch.cat([zs, y], 1))
        log_px = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
        return log_px - kl - math.log(self.k)

    def loss(self, x_l, y_l, x_u, alpha_weight: float) -> torch.Tensor:
        labelled = self.bound(x_l, F.one_hot(y_l, self.k).float())
        log_q = F.log_softmax(self.classifier(x_u), 1)
        per_class = torch.stack([self.bound(x_u, F.one_hot(torch.full_like(y_l[:1].expand(len(x_u)), k), self.k)
                                            .float()) for k in range(self.k)], 1)
        unlabelled = (log_q.exp() * (per_class - log_q)).sum(1)
        ce = F.cross_entropy(self.classifier(x_l), y_l)
        return -labelled.mean() - unlabelled.mean() + alpha_weight * ce


def endless(loader: torch.utils.data.DataLoader) -> Iterator:
    """``loader``'s batches over and over, each pass shuffled and collated anew (`itertools.cycle` would replay
    the first pass's stored batches, sparing the baseline work the peers' loops do)."""
    while True:
        yield from loader


def naive_pass(partition: Partition, config: Config, device: torch.device,
               warmup_steps: int = 3) -> Callable[[], float]:
    """A timed pass of the straightforward M2 over the pool, after ``warmup_steps`` untimed steps."""
    d, k = math.prod(config.input_shape), config.n_classes
    model = NaiveM2(d, k, config.latent_dim, config.hidden[0], config.classifier_hidden[0]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    flat = lambda data: torch.as_tensor(data.x.reshape(len(data), -1))  # noqa: E731
    pool = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(flat(partition.unlabelled)),
                                       batch_size=config.batch_size, shuffle=True)
    labelled = endless(torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(flat(partition.labelled), torch.as_tensor(partition.labelled.y)),
        batch_size=config.labelled_batch_size, shuffle=True))
    weight = classification_weight(partition, config.alpha)

    def step(x_u: torch.Tensor) -> None:
        x_l, y_l = next(labelled)
        loss = model.loss(x_l.to(device), y_l.to(device), x_u.to(device), weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()  # the per-step log line every peer prints

    def one_pass() -> None:
        for (x_u,) in pool:
            step(x_u)

    for (x_u,) in itertools.islice(pool, warmup_steps):
        step(x_u)
    return timed(one_pass, device)


def ssvae_pass(partition: Partition, config: Config, device: torch.device, warmup_steps: int = 3,
               adjust: Callable[[Model], None] = lambda model: None) -> Callable[[], float]:
    """A timed pass of `ssvae.training` over the pool, after ``warmup_steps`` untimed steps (and one of the
    pool's short last batch, if it has one); ``adjust``
    changes the model before it trains (as `tools.bench_layout` does)."""
    torch.manual_seed(0)
    model = build_model(config).to(device)
    adjust(model)
    data = DeviceData.from_partition(partition, device)
    run = StageRun.start(0, model.stages(config.epochs, config.m1_epochs)[0], steps_per_epoch(data, config), config)
    generator = torch.Generator(device=device).manual_seed(0)
    weights = LossWeights(1.0, classification_weight(partition, config.alpha), config.vat, config.consistency)
    # the pool's short last batch too, so that torch.compile meets both batch shapes before the timed passes
    short = len(data.x_u) % config.batch_size
    warmup = DeviceData(data.x_l, data.y_l, data.x_u[: warmup_steps * config.batch_size + short], None, None)
    run_epoch(run, warmup, config, weights, generator)
    if isinstance(run.loss, CompiledLoss) and run.loss.function is run.loss.eager:
        raise RuntimeError("torch.compile is unavailable here (the warning above says why)")
    return timed(lambda: run_epoch(run, data, config, weights, generator), device)


VARIANTS = {"": {}, ", --precision bfloat16": {"precision": "bfloat16"}, ", --compile": {"compile": True},
            ", --precision bfloat16 --compile": {"precision": "bfloat16", "compile": True}}


def ssvae_rows(config: Config, batch_sizes: list[int]) -> dict[str, Config]:
    """The ssvae rows of the table, named, with the config each trains: every variant at every batch size
    (a batch size other than the preset's is named in the row, with the learning rate left as it is)."""
    rows = {}
    for batch_size in batch_sizes:
        size = "" if batch_size == config.batch_size else f", batch {batch_size}"
        for name, changes in VARIANTS.items():
            rows[f"ssvae M2{size}{name}"] = config.replace(batch_size=batch_size, **changes)
    return rows


# the paper's M2 (MLP classifier, no augmentation), the model the baseline implements; the time of the
# preset's consistency training (its views and the classifier's extra passes) is in bench_accuracy's table
PAPER_M2 = dict(classifier="mlp", augment="none", consistency=0.0, ema=0.0)


def fashion_config(source: Source, data_dir: str | None, **changes: object) -> Config:
    """Fashion-MNIST's preset with 100 labels and ``changes``, its image shape, class names and Bernoulli pixels
    taken from ``source`` (as `ssvae.train` takes them), so that a model can be built before a run."""
    return config_for("fashion-mnist", data_dir=data_dir, labels=100, input_shape=source.train.input_shape,
                      class_names=source.train.class_names, likelihood="bernoulli", **changes)


def pool_partition(source: Source, pool: int) -> Partition:
    """Fashion-MNIST's 100-label split (seed 0) with the first ``pool`` unlabelled examples as the pool."""
    partition = choose_split(source, 100, 0, 0.25, 0, 0).apply(source)
    examples = partition.unlabelled.subset(np.arange(min(pool, len(partition.unlabelled))))
    return Partition(partition.labelled, examples, None, partition.test)


def epoch_seconds(seconds: float) -> str:
    """A GPU's fraction of a second to three places (the 0.25 s aim), a CPU's tens of seconds to one."""
    return f"{seconds:.3f}" if seconds < 1 else f"{seconds:.1f}"


def warm_up_rows(passes: dict[str, Callable[[], float]], partition: Partition, configs: dict[str, Config],
                 device: torch.device, deadline: float) -> tuple[dict[str, str], bool]:
    """Add the timed pass of each ssvae row to ``passes``, the rows without torch.compile first (its warm-up
    compiles, which can take minutes); returns the rows left out and why, and whether an interrupt cut the
    warm-up short: none is warmed up past ``deadline`` (a `time.monotonic` value), and a compiled row whose
    compiler fails is reported rather than fatal."""
    left_out: dict[str, str] = {}
    interrupted = False
    for name, config in sorted(configs.items(), key=lambda item: item[1].compile):
        if time.monotonic() > deadline:
            left_out[name] = "no time left to warm it up (--time-limit)"
            continue
        if interrupted:
            left_out[name] = "interrupted before its warm-up (Ctrl-C, or timeout -s INT)"
            continue
        try:
            passes[name] = ssvae_pass(partition, config, device)
        except KeyboardInterrupt:  # a compile that outlasts the step's limit: time the rows warmed up already
            left_out[name] = "interrupted while warming up (Ctrl-C, or timeout -s INT)"
            interrupted = True
        except Exception as error:  # the compiler's failures have no common type
            if not config.compile:
                raise
            message = " ".join(str(error).split()).replace("|", "/")  # one line, and no table column
            left_out[name] = f"{type(error).__name__}: {message[:120]}"
    return left_out, interrupted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--pool", type=int, default=10_000, help="unlabelled examples a timed pass covers")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes of each implementation (median)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[Config.batch_size],
                        help="unlabelled examples a step of ssvae's rows, one set of rows each (the baseline "
                             "keeps the default, as the peers do)")
    parser.add_argument("--device", default="auto")
    benchmarks_option(parser)
    parser.add_argument("--time-limit", type=float, default=math.inf,
                        help="seconds for the whole bench: rows not warmed up in its first half are left out, "
                             "and no round starts that would end past it (fewer passes, said in the title)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    start = time.monotonic()
    device = resolve_device(args.device)
    source = load_source("fashion-mnist", None, args.data_dir)
    config = fashion_config(source, args.data_dir, **PAPER_M2)
    partition = pool_partition(source, args.pool)
    pool = partition.unlabelled
    naive_name = "straightforward M2 (per-class loop, DataLoader)"
    rows = ssvae_rows(config, args.batch_sizes)
    configs = {**rows, naive_name: config}
    passes = {naive_name: naive_pass(partition, config, device)}
    products = {precision: matmul_pass(device, getattr(torch, precision)) for precision in ("float32", "bfloat16")}
    passes.update({f"matmul {precision}": run for precision, (run, _) in products.items()})
    left_out, interrupted = warm_up_rows(passes, partition, rows, device, start + args.time_limit / 2)
    times = timed_rounds(passes, 1 if interrupted else args.repeats, deadline=start + args.time_limit)
    seconds = {name: statistics.median(each) for name, each in times.items()}
    peak = {precision: flops / seconds.pop(f"matmul {precision}") for precision, (_, flops) in products.items()}
    scale = 60_000 / len(pool)
    table = ["| implementation | s an epoch (60,000 images) | examples/s | useful GFLOP/s | share of matmul rate "
             "| speed-up over straightforward |", "|---|---|---|---|---|---|"]
    for name in [name for name in configs if name in seconds]:
        secs = seconds[name]
        flops, rate = pass_flops(configs[name], len(pool)), peak[configs[name].precision]
        table.append(f"| {name} | {epoch_seconds(secs * scale)} | {len(pool) / secs:,.0f} | {flops / secs / 1e9:.1f} "
                     f"| {100 * flops / secs / rate:.0f} % | {seconds[naive_name] / secs:.2f}x |")
    table += [f"| {name} | not measured: {why} | | | | |" for name, why in left_out.items()]
    for precision, rate in peak.items():
        table.append(f"| device matmul rate (2048², {precision}) | | | {rate / 1e9:.0f} | 100 % | |")
    rounds = len(times[naive_name])
    cut = f" (of {args.repeats} asked: stopped by --time-limit or an interrupt)" if rounds < args.repeats else ""
    title = (f"Training speed, Fashion-MNIST M2 (latent {config.latent_dim}, hidden {config.hidden[0]}), "
             f"median of {rounds} pass{'es' if rounds > 1 else ''}{cut} over {len(pool):,} unlabelled examples "
             f"scaled to 60,000, {device_name(device)}")
    publish(Path(args.benchmarks), title, table)


if __name__ == "__main__":
    main()
