"""The training loop: Adam over each stage of a model, labelled and unlabelled examples in every step.

The data live on the training device as tensors and batches are indexed there; loss terms are summed on
the device and read once an epoch. Knows nothing of files: each epoch's record goes to ``on_epoch``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ssvae.config import Config, ConfigError
from ssvae.data import Partition
from ssvae.models import Model, Stage
from ssvae.objectives import LossWeights

EpochRecord = dict[str, float | int | str | None]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when a GPU is there, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was asked for but no CUDA GPU is visible: use --device cpu or auto")
    return torch.device(name)


@dataclass
class DeviceData:
    """The partition's arrays as tensors on one device."""

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


@torch.no_grad()
def predict_logits(model: Model, x: Tensor, batch_size: int = 4096) -> Tensor:
    model.eval()
    return torch.cat([model.classify(chunk) for chunk in x.split(batch_size)])


def accuracy(model: Model, x: Tensor, y: Tensor) -> float:
    return (predict_logits(model, x).argmax(-1) == y).float().mean().item()


def _batches(data: DeviceData, module: Model, config: Config, generator: torch.Generator):
    """One epoch of (labelled indices, unlabelled indices or None): a pass over the unlabelled pool, with a
    fresh draw of labelled examples each step. A model that ignores unlabelled data takes the same number of
    steps, so baselines get the same optimisation budget."""
    device = data.x_l.device
    unlabelled = torch.randperm(len(data.x_u), generator=generator, device=device).split(config.batch_size)
    labelled = torch.randint(len(data.x_l), (len(unlabelled), config.labelled_batch_size), generator=generator,
                             device=device)
    yield from zip(labelled, unlabelled if module.uses_unlabelled else [None] * len(unlabelled))


def _run_epoch(stage: Stage, optimizer: torch.optim.Optimizer, data: DeviceData, config: Config,
               weights: LossWeights, generator: torch.Generator) -> dict[str, float]:
    stage.module.train()
    sums: dict[str, Tensor] = {}
    steps = 0
    for idx_l, idx_u in _batches(data, stage.module, config, generator):
        x_u = data.x_u[idx_u] if idx_u is not None else None
        terms = stage.module.loss(data.x_l[idx_l], data.y_l[idx_l], x_u, weights)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.step()
        for name, value in terms.items():
            sums[name] = sums.get(name, 0.0) + value.detach()
        steps += 1
    return {name: (value / steps).item() for name, value in sums.items()}


def fit(model: Model, partition: Partition, config: Config, progress: bool = True,
        on_epoch: Callable[[EpochRecord], None] | None = None) -> list[EpochRecord]:
    """Train ``model`` in place and return every epoch's record. With validation labels, the weights of the
    best validation epoch of the last stage are kept; otherwise those of the last epoch."""
    device = resolve_device(config.device)
    model.to(device)
    data = DeviceData.from_partition(partition, device)
    if model.standardise:
        model.fit_standardisation(torch.cat([data.x_l, data.x_u]))
    generator = torch.Generator(device=device).manual_seed(config.seed)
    n_total = len(partition.labelled) + len(partition.unlabelled)
    class_weight = config.alpha * n_total / len(partition.labelled)
    history: list[EpochRecord] = []
    stages = [s for s in model.stages(config.epochs, config.m1_epochs) if s.epochs > 0]
    for stage_number, stage in enumerate(stages):
        optimizer = torch.optim.Adam(stage.parameters, lr=config.lr)
        schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, stage.epochs)
                    if config.lr_schedule == "cosine" else None)
        best_val, best_state = -math.inf, None
        last_stage = stage_number == len(stages) - 1
        bar = tqdm(range(1, stage.epochs + 1), desc=f"{stage.name}", unit="epoch", disable=not progress,
                   dynamic_ncols=True, leave=True)
        for epoch in bar:
            start = time.perf_counter()
            kl_weight = min(1.0, epoch / config.kl_warmup_epochs) if config.kl_warmup_epochs else 1.0
            terms = _run_epoch(stage, optimizer, data, config, LossWeights(kl_weight, class_weight), generator)
            record: EpochRecord = {"stage": stage.name, "epoch": epoch, **terms, "kl_weight": kl_weight,
                                   "train_accuracy": accuracy(stage.module, data.x_l, data.y_l)}
            if data.x_val is not None:
                record["val_accuracy"] = accuracy(stage.module, data.x_val, data.y_val)
                if last_stage and record["val_accuracy"] > best_val:
                    best_val, best_state = record["val_accuracy"], copy.deepcopy(model.state_dict())
            if schedule is not None:
                schedule.step()
            record["seconds"] = time.perf_counter() - start
            history.append(record)
            bar.set_postfix(loss=f"{terms['loss']:.3g}", acc=f"{record['train_accuracy']:.3f}")
            if on_epoch is not None:
                on_epoch(record)
        if best_state is not None:
            model.load_state_dict(best_state)
    model.eval()
    return history
