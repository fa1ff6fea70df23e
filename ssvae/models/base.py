"""What every model offers the trainer and the evaluator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ssvae.objectives import LossWeights, log_likelihood


@dataclass
class Stage:
    """One phase of training: ``module.loss`` is minimised over ``parameters`` for ``epochs``. ``fit`` is
    called with the clean training inputs as the stage starts, before its first step, for statistics that
    only the stages before it can give (M2's of M1's codes); a stage resumed part-way has them in its
    weights already."""

    name: str
    module: "Model"
    parameters: list[nn.Parameter]
    epochs: int
    fit: Callable[[Tensor], None] | None = None


class Model(nn.Module):
    """Inputs arrive as (B, *input_shape) floats; ``prepare`` flattens them and, for Gaussian data
    (``standardise``), standardises them with statistics fitted once on the training inputs (kept as buffers,
    so they travel with the weights), and fills a missing input (NaN, a table's gap) with 0, its training
    mean: the networks see that, and ``observed`` tells the likelihood to leave it out. Inputs in [0, 1] are
    used as they are, and hold no gaps (`ssvae.data.dataset.check_inputs`)."""

    uses_unlabelled = True
    generative = True  # has an encoder q(z|x,...) and a decoder p(x|z,...)
    conditional = True  # its encoder and decoder take the class y (M1's do not)
    likelihood = "bernoulli"  # of p(x|...), set by each generative model

    def __init__(self, input_dim: int, standardise: bool = False, categories: tuple[tuple[int, int], ...] = ()):
        super().__init__()
        self.standardise = standardise
        self.categories = categories  # (start, end) of each column of categories' one-hot inputs
        self.register_buffer("input_shift", torch.zeros(input_dim))
        self.register_buffer("input_scale", torch.ones(input_dim))

    def fit_standardisation(self, x: Tensor) -> None:
        """Zero mean and unit variance per input. An input whose spread is within float32's rounding of its
        size (a constant) keeps scale 1, as in scikit-learn's StandardScaler, so that unseen values there stay
        finite; the test is relative, so inputs measured in large units (all values tiny) are scaled too.
        Computed in float64: the squares of values beyond about 1e19 overflow float32. Missing inputs (NaN) are
        left out; an input seen in fewer than two rows is taken as a constant. One-hot inputs (``categories``)
        stay 0 and 1, a gap all 0s, as their categorical likelihood takes them."""
        flat = x.flatten(1).double()
        seen = ~flat.isnan()
        count = seen.sum(0)
        mean = flat.nansum(0) / count.clamp_min(1)
        spread = (flat - mean).where(seen, 0.0)
        std = (spread.pow(2).sum(0) / (count - 1).clamp_min(1)).sqrt()
        constant = (std <= 1e-6 * flat.abs().where(seen, 0.0).amax(0)) | (count < 2)
        self.input_shift.copy_(mean)
        self.input_scale.copy_(torch.where(constant, torch.ones_like(std), std))
        for start, end in self.categories:
            self.input_shift[start:end], self.input_scale[start:end] = 0.0, 1.0

    def prepare(self, x: Tensor) -> Tensor:
        """Flattened inputs, standardised with their gaps filled where ``standardise``, else as they are."""
        flat = x.flatten(1)
        if not self.standardise:
            return flat
        a = (flat - self.input_shift) / self.input_scale
        return a.masked_fill(a.isnan(), 0.0)

    def observed(self, x: Tensor) -> Tensor | None:
        """Which of the flattened inputs ``x`` a row holds (False: missing, NaN), for a model that takes gaps
        (``standardise``); None for one that does not, whose inputs are all observed."""
        return ~x.flatten(1).isnan() if self.standardise else None

    def log_px(self, a: Tensor, params: Tensor, observed: Tensor | None) -> Tensor:
        """log p(a | params) of prepared inputs ``a`` (those ``observed``) in this model's likelihood, its
        one-hot inputs' categorical (`ssvae.objectives.log_likelihood`)."""
        return log_likelihood(a, params, self.likelihood, observed, self.categories)

    def standardisation(self) -> tuple[Tensor, Tensor]:
        """(shift, scale) that ``prepare`` applies to flattened inputs; decoders work in that space."""
        return self.input_shift, self.input_scale

    def loss(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights,
             strong_u: Tensor | None = None) -> dict[str, Tensor]:
        """The training objective on a labelled and an unlabelled batch: ``loss`` plus terms to log.
        ``strong_u``: a strong view of each image of ``x_u``, given where ``weights.consistency`` > 0 (the
        models that train by consistency take it)."""
        raise NotImplementedError

    def classify(self, x: Tensor) -> Tensor:
        """Class logits of q(y|x)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Calling a model classifies: the pass whose batch-norm statistics `recompute_batch_norm` takes."""
        return self.classify(x)

    def encode(self, x: Tensor, y_onehot: Tensor | None) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x,y) for inputs (B, *input_shape); ``y_onehot`` is None for M1."""
        raise NotImplementedError

    def decode(self, z: Tensor, y_onehot: Tensor | None) -> Tensor:
        """Parameters of p(x|y,z) over prepared inputs: logits (bernoulli) or mean ‖ log-variance."""
        raise NotImplementedError

    def elbo(self, x: Tensor) -> Tensor | None:
        """A lower bound on log p(x) per example (one sample), or None for a model without one: the bound on
        the prepared inputs less the log-determinant of standardising them, so a density of x itself (of its
        observed inputs, where some are missing)."""
        observed = self.observed(x)
        bound = self.prepared_elbo(self.prepare(x), observed)
        if bound is None or observed is None:
            return bound
        return bound - (self.input_scale.log() * observed).sum(-1)

    def prepared_elbo(self, a: Tensor, observed: Tensor | None = None) -> Tensor | None:
        """The bound on log p(a) of prepared inputs ``a`` (one sample; of those ``observed``, see
        `ssvae.objectives.log_likelihood`), or None for a model without one."""
        return None

    def stages(self, epochs: int, m1_epochs: int) -> list[Stage]:
        return [Stage("train", self, list(self.parameters()), epochs)]
