"""The training loop: Adam over each stage of a model, labelled and unlabelled examples in every step.

The data live on the training device as tensors and batches are indexed there; loss terms are summed on
the device and read once an epoch. Knows nothing of files: each epoch's record goes to ``on_epoch``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.lr_scheduler import LRScheduler

from ssvae.augment import STRONG, WEAK, augment
from ssvae.averaging import WeightAverage, has_batch_norm, recompute_batch_norm, weight_average
from ssvae.config import Config, ConfigError, both_spellings
from ssvae.errors import RunError, TrainingError, user_stacklevel
from ssvae.data import Partition
from ssvae.models import Model, Stage
from ssvae.objectives import LossWeights
from ssvae.progress import bar as progress_bar, log_line, redrawable

EpochRecord = dict[str, float | int | str | None]
LossFunction = Callable[..., dict[str, Tensor]]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when a GPU is there, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name} was asked for but no CUDA GPU is visible: use "
                          f"{both_spellings('device', 'auto')}")
    return torch.device(name)


def training_device(config: Config, resume: Checkpoint | None) -> torch.device:
    """``config.device``, resolved; a resumed run goes on on the kind of device its checkpoint was written on,
    the only one whose batch order and noise it can continue (``auto`` would pick a GPU that appeared since)."""
    if resume is not None and resume.device == "cuda" and not torch.cuda.is_available():
        raise RunError("the checkpoint was written by training on a CUDA GPU and none is visible here: resume it "
                       "on a machine with one, or train the run again")
    device = resolve_device(config.device)
    return device if resume is None or device.type == resume.device else torch.device(resume.device)


@contextmanager
def denormals_flushed() -> Iterator[None]:
    """Count float32 numbers below the normal range (about 1e-38) as zero on the CPU while training.

    They appear as M2 trains (over epochs 21-30 of the Fashion-MNIST preset an epoch on one thread of the
    Intel Xeon of BENCHMARKS.md took 52.2 s instead of 17.6 s, `tools/bench_denormals.py`), and each one sends
    the CPU down a slow microcode path. The setting belongs to a thread: the calling thread has it until the
    block ends, when it goes back to what it was, and torch's worker threads copy it when they start, so
    `ssvae.train` enters the block before any parallel torch work; worker threads started inside keep it.
    Such numbers are 1e38 times smaller than the terms they are added to."""
    before = _flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def _flushing_denormals() -> bool:
    """Whether this thread counts float32 numbers below the normal range as zero now: 1e-39 times 1 is 0."""
    return torch.tensor([1e-39], dtype=torch.float32).mul(1.0).item() == 0.0


@contextmanager
def float32_default() -> Iterator[None]:
    """torch's default dtype float32 until the block ends, then the caller's again: ssvae's networks and data
    are float32, and under a default of float64 (a notebook that also runs gpytorch, say) its networks would
    be built in float64, which neither its data nor a run's weights fit. The default is the process's: as
    with the thread count, other threads see it while a training runs."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


@contextmanager
def threads_set(threads: int | None) -> Iterator[None]:
    """Compute with ``threads`` CPU threads (None: as before) until the block ends, then go back to the
    caller's count. A seed repeats a run exactly only on the same count: another one sums in another order."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads or before)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def check_precision(precision: str, device: torch.device) -> None:
    """bfloat16 needs a GPU that computes in it (Ampere or newer); every CPU does, if slowly without AVX-512."""
    if precision == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"{torch.cuda.get_device_name(device)} has no bfloat16 arithmetic (it needs compute "
                          f"capability 8.0 or newer): use {both_spellings('precision', 'float32')}")


@dataclass
class DeviceData:
    """The partition's arrays as tensors on one device. Without unlabelled examples (``--labels all``), ``x_u``
    holds the labelled inputs, so that an epoch is still a pass over the training inputs."""

    x_l: Tensor
    y_l: Tensor
    x_u: Tensor
    x_val: Tensor | None
    y_val: Tensor | None

    @classmethod
    def from_partition(cls, partition: Partition, device: torch.device) -> DeviceData:
        def put(array: np.ndarray) -> Tensor:
            return torch.as_tensor(array, device=device)

        unlabelled = partition.unlabelled if len(partition.unlabelled) else partition.labelled
        val = partition.validation
        return cls(put(partition.labelled.x), put(partition.labelled.y), put(unlabelled.x),
                   put(val.x) if val is not None else None, put(val.y) if val is not None else None)

    def training_images(self, unlabelled: bool) -> Tensor:
        """The clean training inputs: the labelled ones and, with ``unlabelled``, the unlabelled pool too."""
        return torch.cat([self.x_l, self.x_u]) if unlabelled else self.x_l


@torch.no_grad()
def predict_logits(model: Model, x: Tensor, batch_size: int = 4096) -> Tensor:
    """q(y|x)'s logits for every row of ``x``, in chunks; puts ``model`` in eval mode (batch norm's running
    statistics, no dropout), which the training loop undoes at the next epoch."""
    model.eval()
    return torch.cat([model.classify(chunk) for chunk in x.split(batch_size)])


def accuracy(model: Model, x: Tensor, y: Tensor) -> float:
    """The share of ``x`` that ``model`` classifies as ``y`` (one host read), exact: 48 of 100 is 0.48."""
    return (predict_logits(model, x).argmax(-1) == y).sum().item() / len(y)


def _batches(data: DeviceData, module: Model, config: Config,
             generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor | None]]:
    """One epoch of (labelled indices, unlabelled indices or None): a pass over the unlabelled pool, with a
    fresh draw of labelled examples each step. A model that ignores unlabelled data takes the same number of
    steps, so baselines get the same optimisation budget."""
    device = data.x_l.device
    unlabelled = torch.randperm(len(data.x_u), generator=generator, device=device).split(config.batch_size)
    labelled = torch.randint(len(data.x_l), (len(unlabelled), config.labelled_batch_size), generator=generator,
                             device=device)
    yield from zip(labelled, unlabelled if module.uses_unlabelled else [None] * len(unlabelled))


def steps_per_epoch(data: DeviceData, config: Config) -> int:
    """Optimiser steps in one epoch: one per batch of the unlabelled pool (see `_batches`)."""
    return math.ceil(len(data.x_u) / config.batch_size)


def parameter_groups(stage: Stage, weight_decay: float) -> list[dict[str, Any]]:
    """The stage's parameters as Adam's groups: the weight matrices and kernels of q(y|x) (every parameter of
    more than one dimension under a module named ``classifier``) with decoupled ``weight_decay``, all else
    without. The decay keeps the classifier's logits from growing without bound on the few labels, as FixMatch's
    does (Sohn et al. 2020); biases and batch-norm scales are left alone, and so is the generative model.
    Without decay, one group, as in the checkpoints written before this setting."""
    parameters = list(stage.parameters)
    if not weight_decay:
        return [{"params": parameters}]
    classifier = {id(p) for name, p in stage.module.named_parameters()
                  if "classifier" in name.split(".") and p.dim() > 1}
    decayed = [p for p in parameters if id(p) in classifier]
    rest = [p for p in parameters if id(p) not in classifier]
    return [{"params": decayed, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def learning_rate_schedule(optimizer: torch.optim.Optimizer, config: Config,
                           total_steps: int) -> LRScheduler | None:
    """The schedule of ``config.lr_schedule`` over a stage's ``total_steps``, stepped after every step.
    "one-cycle" (Smith 2018) warms up over the first tenth, so that the early steps, far from any solution,
    are small, then decays along a cosine; like Smith's, it moves Adam's beta1 the other way (0.95 down to
    0.85 at the peak rate and back up). "cosine" only decays."""
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total_steps)
    if config.lr_schedule == "one-cycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=total_steps, pct_start=0.1)
    return None


class CompiledLoss:
    """``module.loss`` through torch.compile. Where the compiler cannot work (no C++ compiler, no Triton, an
    unsupported platform) the first call fails; training then warns once and goes on with the eager loss."""

    def __init__(self, module: Model):
        self.eager: LossFunction = module.loss
        self.function: LossFunction = torch.compile(module.loss)
        self.tried = False
        self.kl, self.kl_value = torch.zeros(()), None  # the KL weight as a tensor, and its value

    def kl_tensor(self, kl: float, device: torch.device) -> Tensor:
        """``kl`` as a 0-d tensor on ``device``, made again only when its value changes (once an epoch of KL
        warm-up). ``torch.full`` fills it on the device; ``torch.tensor`` would copy it from the host and so
        wait for a GPU to finish its queued steps."""
        if self.kl_value != kl or self.kl.device != device:
            self.kl, self.kl_value = torch.full((), kl, device=device), kl
        return self.kl

    def __call__(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights,
                 **kwargs: Any) -> dict[str, Tensor]:
        # the KL weight changes every epoch of KL warm-up: as a tensor it is an input of the compiled graph,
        # where as a float it would be a constant in it, and each new value would compile the loss again
        weights = dataclasses.replace(weights, kl=self.kl_tensor(weights.kl, x_l.device))
        if self.tried:
            return self.function(x_l, y_l, x_u, weights, **kwargs)
        self.tried = True
        try:
            return self.function(x_l, y_l, x_u, weights, **kwargs)
        except Exception as error:  # the compiler's failures have no common type
            warnings.warn(f"torch.compile is unavailable here ({type(error).__name__}: {str(error)[:200]}); "
                          f"training goes on without it", RuntimeWarning, stacklevel=user_stacklevel())
            self.function = self.eager
            return self.eager(x_l, y_l, x_u, weights, **kwargs)


def stage_loss(module: Model, config: Config) -> LossFunction:
    """The loss a stage trains: ``module.loss``, compiled when ``config.compile`` asks."""
    return CompiledLoss(module) if config.compile else module.loss


@dataclass
class Checkpoint:
    """Everything training needs to go on exactly where it stopped: after ``epoch`` epochs of ``stage``."""

    stage: int
    epoch: int
    model: dict[str, Tensor]
    optimizer: dict[str, Any]  # torch's state_dict of the stage's Adam
    scheduler: dict | None
    generator: Tensor  # state of the batch order's generator
    torch_rng: Tensor  # state of torch's CPU generator (the noise of a run on the CPU)
    best_val: float
    best_model: dict[str, Tensor] | None
    average: dict[str, Tensor] | None = None  # state of the stage's weight average (``config.ema``)
    cuda_rng: Tensor | None = None  # state of the GPU's generator (the noise and views of a run on a GPU)
    plan: tuple[tuple[str, int], ...] | None = None  # the run's stages (name, epochs); None in older checkpoints
    config: Config | None = None  # the run's settings; None in older checkpoints
    split: str | None = None  # the labels it trained on (`Split.digest`), which a run folder adds; None in older ones

    @property
    def device(self) -> str:
        """The kind of device that wrote it: its generators' states are that device's and no other's."""
        return "cuda" if self.cuda_rng is not None else "cpu"


def _snapshot(state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {name: t.detach().clone() for name, t in state.items()}


@contextmanager
def _fitting(what: str) -> Iterator[None]:
    """Restoring ``what`` from a checkpoint: torch's errors for state that does not fit it (a damaged or
    edited file) as one RunError."""
    try:
        yield
    except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as error:
        raise RunError(f"the checkpoint does not fit {what} ({type(error).__name__}: {str(error)[:200]}): restore "
                       f"it as training wrote it, or train the run again") from error


def _check_state(module: nn.Module, state: dict[str, Tensor]) -> None:
    """A ValueError where ``state`` is not one of ``module``'s: other tensors, or of other shapes or types."""
    own = module.state_dict()
    if set(state) != set(own):
        raise ValueError(f"best weights of other tensors ({', '.join(sorted(set(state) ^ set(own))[:3])})")
    for name, tensor in own.items():
        if state[name].shape != tensor.shape or state[name].dtype != tensor.dtype:
            raise ValueError(f"best weights' {name} of shape {tuple(state[name].shape)} and type "
                             f"{state[name].dtype}, for {tuple(tensor.shape)} and {tensor.dtype}")


def _check_moments(optimizer: torch.optim.Optimizer, saved: dict[int, dict[str, Tensor]]) -> None:
    """A ValueError where ``saved`` Adam state does not fit the optimiser's parameters: the fused Adam walks a
    moment by its parameter's size, and would read and write past the end of a smaller one."""
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    for index, state in saved.items():
        for key, value in state.items():
            want = () if key == "step" else parameters[index].shape if 0 <= index < len(parameters) else None
            if not (torch.is_tensor(value) and value.is_floating_point() and value.shape == want):
                raise ValueError(f"optimiser state {index}.{key} of shape {tuple(getattr(value, 'shape', ()))}, "
                                 f"for a parameter of shape {None if want is None else tuple(want)}")


def _moments_in_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give each loaded Adam moment its parameter's memory layout. A checkpoint stores tensors contiguous, and
    the fused Adam pairs a parameter's elements with its moments' in memory order: a channels-last kernel
    (the conv classifier's) would otherwise take other weights' moments, and a resumed run drift away from
    the uninterrupted one."""
    for parameter, state in optimizer.state.items():
        for key, value in state.items():
            if torch.is_tensor(value) and value.shape == parameter.shape:
                state[key] = torch.empty_like(parameter).copy_(value)


@dataclass
class StageRun:
    """One stage's training state besides the model's weights: what a `Checkpoint` keeps of the stage."""

    number: int  # the stage's position among `active_stages`
    stage: Stage
    optimizer: torch.optim.Optimizer
    schedule: LRScheduler | None
    average: WeightAverage | None
    loss: LossFunction
    best_val: float = -math.inf  # the best validation accuracy so far (last stage only)
    best_state: dict[str, Tensor] | None = None  # the weights that reached it
    first_epoch: int = 1

    @classmethod
    def start(cls, number: int, stage: Stage, steps_per_epoch: int, config: Config,
              resume: Checkpoint | None = None) -> StageRun:
        """A stage's Adam, learning-rate schedule, weight average and loss; restored from ``resume``, a
        checkpoint taken in this stage, when given."""
        optimizer = torch.optim.Adam(parameter_groups(stage, config.weight_decay), lr=config.lr, fused=True,
                                     decoupled_weight_decay=True)
        run = cls(number, stage, optimizer, learning_rate_schedule(optimizer, config, stage.epochs * steps_per_epoch),
                  weight_average(stage.module, config.ema), stage_loss(stage.module, config))
        if resume is not None:
            with _fitting("the stage's optimiser, schedule, weight average and best weights"):
                _check_moments(optimizer, resume.optimizer["state"])
                if resume.best_model is not None:  # loaded only at the stage's end: checked now, not then
                    _check_state(stage.module, resume.best_model)
                optimizer.load_state_dict(resume.optimizer)
                _moments_in_parameter_layout(optimizer)
                if run.average is not None:
                    run.average.load_state_dict(resume.average)
                if run.schedule is not None and resume.scheduler is not None:
                    run.schedule.load_state_dict(resume.scheduler)
            run.best_val, run.best_state, run.first_epoch = resume.best_val, resume.best_model, resume.epoch + 1
        return run

    def evaluated(self, data: DeviceData) -> nn.Module:
        """What is evaluated and kept: the stage's own network, or its weight average. An average's batch-norm
        statistics are averages of what other weights saw in distorted training batches, so it is evaluated
        as it is kept (`fit`): in a copy whose statistics are taken anew from the clean training images."""
        if self.average is None:
            return self.stage.module
        if not has_batch_norm(self.average.module):
            return self.average.module
        network = copy.deepcopy(self.average.module)
        recompute_batch_norm(network, data.training_images(self.stage.module.uses_unlabelled))
        return network

    def checkpoint(self, epoch: int, model: Model, generator: torch.Generator, device: torch.device,
                   plan: tuple[tuple[str, int], ...], config: Config) -> Checkpoint:
        return Checkpoint(
            self.number, epoch, _snapshot(model.state_dict()), copy.deepcopy(self.optimizer.state_dict()),
            self.schedule.state_dict() if self.schedule is not None else None, generator.get_state(),
            torch.get_rng_state(), self.best_val, self.best_state,
            _snapshot(self.average.state_dict()) if self.average is not None else None,
            torch.cuda.get_rng_state(device) if device.type == "cuda" else None, plan, config)

    def finish(self) -> None:
        """Leave the stage's network with the weights to keep: the best validation epoch's, else the average's,
        else the last step's."""
        if self.average is not None:
            self.stage.module.load_state_dict(self.average.module.state_dict())
        if self.best_state is not None:
            self.stage.module.load_state_dict(self.best_state)


def run_epoch(run: StageRun, data: DeviceData, config: Config, weights: LossWeights,
              generator: torch.Generator) -> tuple[dict[str, float], int]:
    """One pass of ``run``'s stage; returns the mean of each loss term and how many steps had a NaN or infinite
    loss. Those steps are skipped on the device (fused Adam's ``found_inf``), so no sync is needed per step.
    The schedule and the weight average follow every step. Under ``config.precision`` bfloat16 the loss runs
    under autocast: matmuls and convolutions in bfloat16, the weights, their gradients and Adam in float32.
    Consistency training's strong views are drawn from the images themselves, not from their weak views
    (FixMatch)."""
    module, optimizer = run.stage.module, run.optimizer
    autocast = torch.autocast(data.x_l.device.type, torch.bfloat16, enabled=config.precision == "bfloat16")
    module.train()
    sums: dict[str, Tensor] = {}
    skipped = torch.zeros((), device=data.x_l.device)
    steps = 0
    for idx_l, idx_u in _batches(data, module, config, generator):
        x_l = data.x_l[idx_l]
        x_u = data.x_u[idx_u] if idx_u is not None else None
        strong = {"strong_u": augment(x_u, STRONG, config.flips)} if weights.consistency > 0 else {}
        if config.augment != "none":
            x_l = augment(x_l, WEAK, config.flips)
            x_u = augment(x_u, WEAK, config.flips) if x_u is not None else None
        with autocast:
            terms = run.loss(x_l, data.y_l[idx_l], x_u, weights, **strong)
        bad = (~torch.isfinite(terms["loss"])).float()
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.found_inf = bad  # read by the fused Adam step: a bad step changes nothing
        optimizer.step()
        if run.schedule is not None:
            run.schedule.step()
        if run.average is not None:
            run.average.update(module)
        skipped += bad
        for name, value in terms.items():
            sums[name] = sums.get(name, 0.0) + value.detach()
        steps += 1
    return {name: _logged((value / steps).item()) for name, value in sums.items()}, int(skipped.item())


def _logged(value: float) -> float:
    """A float32 result as the shortest decimal that reads back as it: metrics.csv shows 0.48, not the
    0.47999998927116394 of its float64 copy, and loses nothing that was computed."""
    return float(str(np.float32(value)))


def active_stages(model: Model, config: Config) -> list[Stage]:
    """The stages ``model`` trains under ``config``: those with at least one epoch (M1+M2 without M1 epochs
    trains M2 alone). `Checkpoint.stage` counts these."""
    return [stage for stage in model.stages(config.epochs, config.m1_epochs) if stage.epochs > 0]


def stage_plan(stages: list[Stage]) -> tuple[tuple[str, int], ...]:
    """The stages' names and epochs: what a checkpoint records of the run it belongs to."""
    return tuple((stage.name, stage.epochs) for stage in stages)


def classification_weight(partition: Partition, alpha: float) -> float:
    """The weight of -log q(y|x) on the labelled examples: alpha * N_total / N_labelled, the paper's factor
    applied to batch means (`ssvae.objectives` says how this alpha relates to the paper's)."""
    return alpha * (len(partition.labelled) + len(partition.unlabelled)) / len(partition.labelled)


def labelled_bound_weight(partition: Partition, labelled_bound: str) -> float:
    """The weight of the labelled bound's batch mean against the unlabelled one's: 1 ("batch"), or each
    labelled example weighing as much as an unlabelled one ("share": N_labelled / N_unlabelled; 1 where every
    example is labelled, whose bounds then both terms average)."""
    if labelled_bound == "batch" or not len(partition.unlabelled):
        return 1.0
    return len(partition.labelled) / len(partition.unlabelled)


def _train_epoch(run: StageRun, epoch: int, data: DeviceData, config: Config, class_weight: float,
                 labelled_weight: float, generator: torch.Generator,
                 keep_best: bool) -> tuple[EpochRecord, nn.Module]:
    """One epoch of ``run``, its record and the network evaluated (`StageRun.evaluated`); with ``keep_best``,
    remembers the best validation weights."""
    start = time.perf_counter()
    kl_weight = min(1.0, epoch / config.kl_warmup_epochs) if config.kl_warmup_epochs else 1.0
    weights = LossWeights(kl_weight, class_weight, config.vat, config.consistency, labelled_weight)
    terms, skipped = run_epoch(run, data, config, weights, generator)
    if skipped or not _finite(run.stage.module):
        what = (f"the loss was NaN or infinite in {skipped} step(s); those steps were not applied" if skipped else
                "a step with a finite loss had NaN or infinite gradients, which made the weights so")
        raise TrainingError(
            f"{run.stage.name} epoch {epoch}: {what} and training stopped (a checkpoint of an earlier epoch, if one "
            f"was written, is intact). {_nan_cause(config)}")
    evaluated = run.evaluated(data)
    record: EpochRecord = {"stage": run.stage.name, "epoch": epoch, **terms, "kl_weight": kl_weight,
                           "train_accuracy": accuracy(evaluated, data.x_l, data.y_l)}
    if data.x_val is not None:
        record["val_accuracy"] = accuracy(evaluated, data.x_val, data.y_val)
        if keep_best and record["val_accuracy"] > run.best_val:
            run.best_val, run.best_state = record["val_accuracy"], _snapshot(evaluated.state_dict())
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record, evaluated


def _finite(module: nn.Module) -> bool:
    """Whether every weight of ``module`` is finite: one sync an epoch. A step is skipped by its loss alone
    (checking every gradient each step would cost a pass over the weights a step), so NaN gradients under a
    finite loss reach the weights, and this check keeps them out of the run's last checkpoint."""
    return bool(torch.stack([weight.isfinite().all() for weight in module.parameters()]).all())


def _nan_cause(config: Config) -> str:
    """What most likely made a loss NaN under ``config``, and what to try. The inputs are not a cause: their
    range is checked against the likelihood, and a Gaussian's are standardised, before training starts."""
    cause = f"Likely cause: a learning rate too high for these data (try {both_spellings('lr', config.lr / 10)})"
    if config.precision != "float32":
        return f"{cause}, or {config.precision}'s coarse rounding (try {both_spellings('precision', 'float32')})"
    return cause


def _restore(resume: Checkpoint, model: Model, generator: torch.Generator, device: torch.device) -> None:
    """The weights and random streams of a checkpoint, so that the run goes on as if never stopped."""
    with _fitting("the model and its random generators"):
        model.load_state_dict(resume.model)
        generator.set_state(resume.generator.to(generator.get_state().device))
        torch.set_rng_state(resume.torch_rng)
        if device.type == "cuda" and resume.cuda_rng is not None:
            torch.cuda.set_rng_state(resume.cuda_rng, device)


def _show_epoch(bar: Any, record: EpochRecord, epochs: int, progress: bool) -> None:
    """An epoch's loss and accuracies on the bar, or, where no bar can be drawn (a log), as a line."""
    bar.set_postfix(loss=f"{record['loss']:.3g}", train_acc=f"{record['train_accuracy']:.3f}",
                    **({"val_acc": f"{record['val_accuracy']:.3f}"} if "val_accuracy" in record else {}))
    if progress and not redrawable():
        log_line(epoch_line(record, epochs))


def kept_epoch(history: list[EpochRecord], stage: Stage) -> EpochRecord | None:
    """The record of the epoch whose weights `fit` kept by validation accuracy: the first best of ``stage``, the
    last stage; None when ``history`` lacks some of the stage's epochs or their validation accuracy."""
    records = [r for r in history if r.get("stage") == stage.name and r.get("val_accuracy") is not None]
    return max(records, key=lambda r: r["val_accuracy"]) if len(records) == stage.epochs else None


def epoch_line(record: EpochRecord, epochs: int) -> str:
    """An epoch's record as one line of a log, where no progress bar can be drawn."""
    validation = f", validation accuracy {record['val_accuracy']:.4f}" if "val_accuracy" in record else ""
    loss = f"{record['loss']:#.4g}".rstrip(".")  # four figures, 45.00 too; 1491, not "1491."
    return (f"{record['stage']} epoch {record['epoch']}/{epochs}: loss {loss}, train accuracy "
            f"{record['train_accuracy']:.4f}{validation} ({record['seconds']:.1f} s)")


EpochHook = Callable[[EpochRecord, nn.Module], None]
"""Called after every epoch with its record (a row of metrics.csv) and the network the epoch trained (M1 in
M1+M2's first stage), or its weight average with ``ema`` (batch-norm statistics taken anew, as
`StageRun.evaluated` says): to follow a run, e.g. its accuracy on data of one's
own. Reading the network (`ssvae.training.accuracy`) leaves the run as it would be without the hook."""


def fit(model: Model, partition: Partition, config: Config, progress: bool = True,
        on_epoch: EpochHook | None = None,
        on_checkpoint: Callable[[Checkpoint], None] | None = None,
        resume: Checkpoint | None = None) -> None:
    """Train ``model`` in place. With validation labels, the weights of the best validation epoch of the
    last stage are kept; otherwise those of the last epoch (or their average). Kept weights of an average
    (``config.ema``) get their batch-norm statistics anew from the clean training images (the unlabelled ones
    too, for models that learn from them).
    ``on_epoch`` gets each epoch's record and the network that the stage evaluates (its weight average where
    ``config.ema``; a copy where that has batch norm): to read, e.g. with `accuracy` (the next epoch puts the
    stage's network in training mode again).
    ``on_checkpoint`` gets a `Checkpoint` every ``config.checkpoint_every`` epochs and at each stage's end;
    ``resume`` continues from one, ending where an uninterrupted run would. ``progress``: a bar on a terminal
    or in a notebook, elsewhere (a log) a line an epoch (`ssvae.progress`)."""
    device = training_device(config, resume)
    check_precision(config.precision, device)
    model.to(device)
    data = DeviceData.from_partition(partition, device)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    if resume is None and model.standardise:  # label-free statistics: of every training input, as the
        model.fit_standardisation(data.training_images(unlabelled=True))  # benchmarks' scikit-learn baselines scale
    if resume is not None:
        _restore(resume, model, generator, device)
    class_weight = classification_weight(partition, config.alpha)
    labelled_weight = labelled_bound_weight(partition, config.labelled_bound)
    stages = active_stages(model, config)
    first_stage = resume.stage if resume is not None else 0
    for number in range(first_stage, len(stages)):
        stage = stages[number]
        resumed = resume if number == first_stage else None
        if resumed is None and stage.fit is not None:
            stage.fit(data.training_images(unlabelled=True))
        run = StageRun.start(number, stage, steps_per_epoch(data, config), config, resumed)
        bar = progress_bar(range(run.first_epoch, stage.epochs + 1), progress, desc=stage.name, unit="epoch",
                           dynamic_ncols=True, leave=True, initial=run.first_epoch - 1, total=stage.epochs)
        for epoch in bar:
            record, evaluated = _train_epoch(run, epoch, data, config, class_weight, labelled_weight, generator,
                                             keep_best=number == len(stages) - 1)
            _show_epoch(bar, record, stage.epochs, progress)
            if on_epoch is not None:
                on_epoch(record, evaluated)
            if on_checkpoint is not None and (epoch % config.checkpoint_every == 0 or epoch == stage.epochs):
                on_checkpoint(run.checkpoint(epoch, model, generator, device, stage_plan(stages), config))
        run.finish()
    if config.ema:
        recompute_batch_norm(model, data.training_images(model.uses_unlabelled))
    model.eval()
