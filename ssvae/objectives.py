"""The semi-supervised VAE objective (Kingma et al. 2014), written once and shared by every model.

Conventions: every function returns one value per example (the batch axes are kept); sums run over the
event dimensions (pixels, latent units) only. Bounds are ELBOs, to be maximised; the training loss is the
negated mean over the batch.

    L(x, y) = E_q(z|x,y)[log p(x|y,z)] + log p(y) - KL(q(z|x,y) || p(z))      labelled bound
    U(x)    = sum_y q(y|x) L(x, y) + H(q(y|x))                                unlabelled bound, enumerated
    J       = -v * mean L(x_l, y_l) - mean U(x_u) + w * mean(-log q(y_l|x_l)),  w = alpha * N_total / N_labelled

Means, not the paper's sums over the data set: each step averages its labelled batch and its unlabelled batch
apart, and labelled examples are drawn afresh every step. With v = 1 (``labelled_bound`` "batch", the built-in
presets') one labelled example's bound weighs N_unlabelled / N_labelled times an unlabelled one's over an
epoch: up to a constant factor, J is the paper's objective with its labelled bounds scaled up by that ratio
and its weight c * N (the paper's alpha = 0.1 N) at c = this alpha * N_unlabelled / N_labelled; the presets
were tuned this way. With v = N_labelled / N_unlabelled ("share", a table's preset) every example weighs
alike, as in the paper's sums: the generative model cannot fit a few labelled rows at the others' expense.

Two optional regularisers of q(y|x), each added as w * (its weight) * (its mean), spread the few labels along
the data manifold the unlabelled examples trace:
- virtual adversarial training (Miyato et al. 2018): KL(q(y|x) || q(y|x + r_adv)) over both batches, so that
  q(y|x) changes little along the direction its own prediction is most sensitive to;
- consistency (FixMatch, Sohn et al. 2020): where q(y|x) is confident on a weak view of an unlabelled image,
  -log q(that class | a strong view), so that its predictions hold under large changes of the image
  (`ssvae.augment` draws the views; `ssvae.consistency` keeps the distribution alignment that chooses the
  confident ones).

Every function computes in float32: under bfloat16 autocast (``--precision bfloat16``) the networks' outputs
arrive in bfloat16 and are cast up first (`widen`: a no-op for float32 and float64 inputs), so sums over
hundreds of pixels and the log-probabilities keep at least float32's precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

LOG_2PI = math.log(2.0 * math.pi)
# a decoder variance (of standardised inputs) cannot shrink below e^-6.9, about 0.001: stops the density running
# to infinity, and a column that is nearly always one value from costing 10^4 to 10^7 nats where it is not (at
# e^-10 such columns of a table turned a third of the runs NaN; docs/results.md)
GAUSSIAN_LOGVAR_MIN = -6.9


@dataclass(frozen=True)
class LossWeights:
    kl: float | Tensor = 1.0  # KL warm-up factor in [0, 1]; a 0-d tensor in a compiled loss (`CompiledLoss`)
    classification: float = 1.0  # alpha * N_total / N_labelled
    adversarial: float = 0.0  # virtual adversarial term, as a multiple of the classification weight (0: off)
    consistency: float = 0.0  # consistency term, as a multiple of the classification weight (0: off)
    labelled: float = 1.0  # v, the labelled bound's weight: 1, or N_labelled / N_unlabelled (`labelled_bound_weight`)


def widen(t: Tensor) -> Tensor:
    """``t`` in float32 if it is in a narrower float type (bfloat16 under autocast), else unchanged."""
    return t.to(torch.promote_types(t.dtype, torch.float32))


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), analytic, summed over the last axis."""
    mu, logvar = widen(mu), widen(logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """A sample z = mu + sigma * eps that gradients flow through to mu and logvar."""
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def split_gaussian(params: Tensor) -> tuple[Tensor, Tensor]:
    """A Gaussian decoder's output: mean, then log-variance (bounded below), along the last axis."""
    mean, logvar = params.chunk(2, dim=-1)
    return mean, logvar.clamp(min=GAUSSIAN_LOGVAR_MIN)


def gaussian_log_density(x: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(x; mean, diag(exp(logvar))), summed over the last axis."""
    return _gaussian_terms(x, mean, logvar).sum(-1)


def _gaussian_terms(x: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(x; mean, exp(logvar)) of each unit."""
    x, mean, logvar = widen(x), widen(mean), widen(logvar)
    return -0.5 * (LOG_2PI + logvar + (x - mean).pow(2) / logvar.exp())


def _category_terms(x: Tensor, logits: Tensor, terms: Tensor, categories: tuple[tuple[int, int], ...]) -> Tensor:
    """``terms`` with those of each span of one-hot inputs in ``categories`` replaced by x log softmax(logits):
    summed over a span, the log-probability of the row's category. A Gaussian density there would grow without
    bound as the decoder learnt 0 and 1 exactly, and its classes would follow the categories, not the data."""
    return replace_spans(terms, categories, lambda start, end: widen(x[..., start:end]) * F.log_softmax(
        widen(logits[..., start:end]), -1))


def category_probabilities(mean: Tensor, categories: tuple[tuple[int, int], ...]) -> Tensor:
    """A Gaussian decoder's means with each span of one-hot inputs' logits as its categories' probabilities."""
    return replace_spans(mean, categories, lambda start, end: torch.softmax(mean[..., start:end], -1))


def replace_spans(values: Tensor, spans: tuple[tuple[int, int], ...], part: Callable[[int, int], Tensor]) -> Tensor:
    """``values`` with each (start, end) of ``spans`` along the last axis replaced by part(start, end)."""
    if not spans:
        return values
    pieces, end = [], 0
    for start, stop in spans:
        pieces += [values[..., end:start], part(start, stop)]
        end = stop
    return torch.cat([*pieces, values[..., end:]], -1)


def likelihood_size(input_dim: int, likelihood: str) -> int:
    """How many numbers a decoder outputs for ``input_dim`` inputs: logits, or mean and log-variance."""
    return input_dim if likelihood == "bernoulli" else 2 * input_dim


def log_likelihood(x: Tensor, params: Tensor, likelihood: str, observed: Tensor | None = None,
                   categories: tuple[tuple[int, int], ...] = ()) -> Tensor:
    """log p(x | params), summed over the last axis; ``params`` are logits (bernoulli) or mean ‖ logvar.
    ``observed`` (booleans shaped as ``x`` without the axes ``params`` adds before the last): the inputs a
    row holds, the others (missing from a table) left out of the sum, so that it is the density of the
    observed inputs with the missing ones integrated out; None: every input observed.
    ``categories``: the (start, end) of each column of categories' one-hot inputs, which a Gaussian model
    gives a categorical likelihood, its means there the logits (`_category_terms`).
    The Bernoulli term of a grey value in (0, 1) is a cross-entropy, not a normalised density (the continuous
    Bernoulli's normaliser is left out), so it bounds no true log-likelihood of grey images."""
    params = widen(params)
    x = widen(x).expand(params.shape[:-1] + x.shape[-1:])
    if likelihood == "bernoulli":
        terms = -F.binary_cross_entropy_with_logits(params, x, reduction="none")
    else:
        mean, logvar = split_gaussian(params)
        terms = _category_terms(x, mean, _gaussian_terms(x, mean, logvar), categories)
    if observed is not None:
        terms = terms * observed.reshape(observed.shape[:1] + (1,) * (terms.dim() - observed.dim())
                                         + observed.shape[1:])
    return terms.sum(-1)


def labelled_bound(log_px: Tensor, kl: Tensor, n_classes: int, kl_weight: float | Tensor = 1.0) -> Tensor:
    """L(x, y) with a uniform prior p(y) = 1/K; ``kl_weight`` < 1 during KL warm-up."""
    return log_px - kl_weight * kl - math.log(n_classes)


def unlabelled_bound(bound_per_class: Tensor, logits: Tensor) -> Tensor:
    """U(x) = sum_y q(y|x) L(x, y) + H(q(y|x)), exactly over all classes; both inputs are (B, K)."""
    log_q = F.log_softmax(widen(logits), dim=-1)
    return (log_q.exp() * (bound_per_class - log_q)).sum(-1)


def classification_loss(logits: Tensor, y: Tensor) -> Tensor:
    """-log q(y|x) per example."""
    return F.cross_entropy(widen(logits), y, reduction="none")


def _unit(d: Tensor) -> Tensor:
    """Each row of ``d`` scaled to L2 norm 1 over its last axis."""
    return d / d.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def virtual_adversarial_loss(classify: Callable[[Tensor], Tensor], a: Tensor, epsilon: float,
                             xi: float = 1e-3) -> Tensor:
    """KL(q(y|a) || q(y|a + r)) per example, where r (L2 norm ``epsilon``) is the direction that changes q(y|a)
    most, found by one power-iteration step from a random direction of length ``xi``. The clean prediction is
    the fixed target: gradients reach the classifier through the perturbed one only. The target and the
    search run in float32 even under bfloat16 autocast, whose rounding of ``a + d`` would erase a probe of
    length ``xi`` and leave a random direction."""
    with torch.autocast(a.device.type, enabled=False):
        a = widen(a)
        with torch.no_grad():
            target = F.log_softmax(classify(a), dim=-1)
        d = (xi * _unit(torch.randn_like(a))).requires_grad_(True)
        divergence = F.kl_div(F.log_softmax(classify(a + d), dim=-1), target, log_target=True, reduction="sum")
        (grad,) = torch.autograd.grad(divergence, d)
    r = epsilon * _unit(grad)
    return F.kl_div(F.log_softmax(widen(classify(a + r)), dim=-1), target, log_target=True, reduction="none").sum(-1)


def aligned_distribution(probs: Tensor, target: Tensor, predicted: Tensor) -> Tensor:
    """Distribution alignment: each row of ``probs`` scaled class by class by ``target / predicted`` (the
    class frequencies wanted and those the classifier gives) and renormalised to sum to 1."""
    scaled = probs * (target / predicted)
    return scaled / scaled.sum(-1, keepdim=True)


def consistency_loss(weak_probs: Tensor, strong_logits: Tensor, threshold: float | Tensor) -> Tensor:
    """Per example: -log q(y_hat | strong view) where the weak view's largest probability reaches
    ``threshold``, else 0; y_hat is the weak view's most probable class, a fixed target (no gradient).
    ``threshold`` is one number, or one per class (a tensor of shape (classes,)), that of y_hat applying."""
    confidence, pseudo_label = weak_probs.detach().max(-1)
    strong_logits = widen(strong_logits)
    if isinstance(threshold, Tensor):
        threshold = threshold[pseudo_label]
    mask = (confidence >= threshold).to(strong_logits.dtype)
    return mask * F.cross_entropy(strong_logits, pseudo_label, reduction="none")


def semi_supervised_loss(bound_labelled: Tensor, bound_unlabelled: Tensor, class_loss: Tensor,
                         weights: LossWeights, regularisers: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
    """J: the objective M2 minimises, with its terms for logging. ``regularisers`` maps the name of a
    `LossWeights` field ("adversarial", "consistency") to that term per example, for the terms that are on."""
    terms = {
        "labelled_bound": bound_labelled.mean(),
        "unlabelled_bound": bound_unlabelled.mean(),
        "classification": class_loss.mean(),
    }
    classifier_loss = terms["classification"]
    for name, values in (regularisers or {}).items():
        terms[name] = values.mean()
        classifier_loss = classifier_loss + getattr(weights, name) * terms[name]
    terms["loss"] = (-weights.labelled * terms["labelled_bound"] - terms["unlabelled_bound"]
                     + weights.classification * classifier_loss)
    return terms
