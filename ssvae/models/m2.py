"""M2: classifier q(y|x), encoder q(z|x,y), decoder p(x|y,z); unlabelled data enumerate every class.

Two optional regularisers of q(y|x) (see `ssvae.objectives`): virtual adversarial training
(``LossWeights.adversarial`` > 0) keeps it steady under the input perturbation of length ``vat_epsilon`` that
would change it most; consistency (``LossWeights.consistency`` > 0, image inputs; `ssvae.consistency`) asks it
to classify a strong random view of each unlabelled image as it confidently classifies the image itself."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssvae.consistency import Consistency
from ssvae.models.base import Model
from ssvae.models.networks import (ConditionedMLP, DiagonalGaussian, classify_together, eye_like,
                                   running_statistics_kept)
from ssvae.objectives import (LossWeights, classification_loss, gaussian_kl, labelled_bound,
                              likelihood_size, reparameterize, semi_supervised_loss,
                              unlabelled_bound, virtual_adversarial_loss)


class M2(Model):
    """``classifier`` maps prepared inputs to class logits (`ssvae.models.networks.classifier_network`);
    ``consistency``: the state of consistency training, for a model trained with it (else None)."""

    def __init__(self, input_dim: int, n_classes: int, latent_dim: int, hidden: tuple[int, ...],
                 classifier: nn.Module, likelihood: str, vat_epsilon: float,
                 consistency: Consistency | None = None, categories: tuple[tuple[int, int], ...] = ()):
        super().__init__(input_dim, standardise=likelihood == "gaussian", categories=categories)
        self.n_classes = n_classes
        self.vat_epsilon = vat_epsilon
        self.likelihood = likelihood
        out_dim = likelihood_size(input_dim, likelihood)
        self.classifier = classifier
        self.consistency = consistency
        self.encoder = DiagonalGaussian(ConditionedMLP(input_dim, n_classes, hidden, 2 * latent_dim))
        self.decoder = ConditionedMLP(latent_dim, n_classes, tuple(reversed(hidden)), out_dim)

    def bound(self, a: Tensor, y_onehot: Tensor, kl_weight: float | Tensor = 1.0,
              observed: Tensor | None = None) -> Tensor:
        """L(x, y) for prepared inputs ``a`` (of those ``observed``, `Model.observed`); with ``a`` (B, 1, D) and
        ``y = eye(K)`` it is (B, K), every class."""
        mu, logvar = self.encoder(a, y_onehot)
        log_px = self.log_px(a, self.decoder(reparameterize(mu, logvar), y_onehot), observed)
        return labelled_bound(log_px, gaussian_kl(mu, logvar), self.n_classes, kl_weight)

    def unlabelled(self, a: Tensor, kl_weight: float | Tensor = 1.0, logits: Tensor | None = None,
                   observed: Tensor | None = None) -> Tensor:
        """U(x) for prepared inputs ``a`` (B, D); ``logits`` of q(y|x) when already computed."""
        per_class = self.bound(a[:, None, :], eye_like(self.n_classes, a), kl_weight, observed)
        return unlabelled_bound(per_class, self.classifier(a) if logits is None else logits)

    def classify(self, x: Tensor) -> Tensor:
        return self.classifier(self.prepare(x))

    def encode(self, x: Tensor, y_onehot: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.encoder(self.prepare(x), y_onehot)

    def decode(self, z: Tensor, y_onehot: Tensor | None) -> Tensor:
        return self.decoder(z, y_onehot)

    def prepared_elbo(self, a: Tensor, observed: Tensor | None = None) -> Tensor:
        return self.unlabelled(a, observed=observed)

    def loss(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights,
             strong_u: Tensor | None = None) -> dict[str, Tensor]:
        """``strong_u``: a strong view of each image of ``x_u`` (`ssvae.augment.STRONG`), needed when
        ``weights.consistency`` > 0."""
        a_l, a_u = self.prepare(x_l), self.prepare(x_u)
        views = [a_l, a_u]
        if weights.consistency > 0:
            if self.consistency is None or strong_u is None:
                raise ValueError("consistency training needs an M2 built with a Consistency and strong views")
            views.append(self.prepare(strong_u))
        logits_l, logits_u, *strong = classify_together(self.classifier, views)
        bound_l = self.bound(a_l, F.one_hot(y_l, self.n_classes).to(a_l.dtype), weights.kl, self.observed(x_l))
        bound_u = self.unlabelled(a_u, weights.kl, logits_u, self.observed(x_u))
        regularisers = {}
        if weights.adversarial > 0:
            with running_statistics_kept(self.classifier):  # its three passes are probes, not batches
                regularisers["adversarial"] = virtual_adversarial_loss(self.classifier, torch.cat([a_l, a_u]),
                                                                       self.vat_epsilon)
        if weights.consistency > 0:
            regularisers["consistency"] = self.consistency.loss(logits_u, strong[0], y_l)
        return semi_supervised_loss(bound_l, bound_u, classification_loss(logits_l, y_l), weights, regularisers)
