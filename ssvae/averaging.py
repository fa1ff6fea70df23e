"""An exponential moving average of a network's weights (Polyak averaging), the model FixMatch evaluates, and
the batch-norm statistics that such an average needs to be taken anew.

torch's ``AveragedModel``, given the same averaging function, does the same arithmetic but copies its step
count from the host to the device at every update, which makes the host wait for a GPU to finish the step;
this one keeps that count in Python, so an update only queues work on the device.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import update_bn


def warmed_up_decay(decay: float, updates: int) -> float:
    """The decay of the update after ``updates`` earlier ones: ``decay``, held down to (1 + n) / (10 + n)
    while that is smaller (TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``), so that the
    average of a short run does not still carry its random initial weights (0.999 ** 400 is 0.67)."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


class WeightAverage:
    """``module``'s weights and batch-norm statistics averaged over the training steps with ``decay``: the
    first update copies them, each later one moves the average ``1 - d`` of the way to them, with d the
    `warmed_up_decay`."""

    def __init__(self, module: nn.Module, decay: float):
        self.module = copy.deepcopy(module)
        self.decay = decay
        self.updates = 0

    def _tensors(self, module: nn.Module) -> list[Tensor]:
        return [t.detach() for t in itertools.chain(module.parameters(), module.buffers())]

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """One step of the average towards ``module``'s current tensors (integer buffers are copied)."""
        pairs = list(zip(self._tensors(self.module), self._tensors(module), strict=True))
        floats = [(mine, theirs) for mine, theirs in pairs if mine.is_floating_point()]
        if self.updates and floats:
            weight = 1.0 - warmed_up_decay(self.decay, self.updates)
            torch._foreach_lerp_([m for m, _ in floats], [t for _, t in floats], weight)
        for mine, theirs in pairs:
            if not (self.updates and mine.is_floating_point()):
                mine.copy_(theirs)
        self.updates += 1

    def state_dict(self) -> dict[str, Tensor]:
        """The averaged tensors as ``module.<name>`` and the update count as ``n_averaged`` (the names of torch's
        ``AveragedModel``, so checkpoints written with it still resume)."""
        state = {f"module.{name}": t for name, t in self.module.state_dict().items()}
        return {**state, "n_averaged": torch.tensor(self.updates)}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.module.load_state_dict({name[len("module."):]: t for name, t in state.items() if name != "n_averaged"})
        self.updates = int(state["n_averaged"])


@torch.no_grad()
def recompute_batch_norm(model: nn.Module, x: Tensor, batch_size: int = 1024) -> None:
    """Replace the batch-norm statistics of ``model`` (called on inputs, it classifies them) by those of its
    own weights over ``x``, each batch of ``batch_size`` counting alike (torch's ``update_bn``). An average's
    statistics are averages of what other weights saw in training batches of distorted views; the test
    images are clean. Nothing happens for a model without batch norm."""
    update_bn(x.split(batch_size), model)


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def weight_average(module: nn.Module, decay: float) -> WeightAverage | None:
    """A `WeightAverage` of ``module``, or None when ``decay`` is 0 (averaging off)."""
    return WeightAverage(module, decay) if decay > 0 else None
