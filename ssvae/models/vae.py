"""M1: a VAE x -> z -> x, with a classifier on the posterior mean trained from the labels (the paper's M1
plus a classifier on its features; gradients of the classifier do not reach the VAE).

Its bound is the mean over each step's labelled and unlabelled batches together; as labelled examples are
drawn every step, the few labelled images weigh more than their share of the data, as in M2's objective
(`ssvae.objectives`). The bound over the unlabelled batch alone was measured and did worse (BENCHMARKS.md)."""

from __future__ import annotations

import torch
from torch import Tensor

from ssvae.models.base import Model
from ssvae.models.networks import DiagonalGaussian, mlp
from ssvae.objectives import LossWeights, classification_loss, gaussian_kl, likelihood_size, reparameterize


class M1(Model):
    """The unconditional VAE: on its own a model of x with a classifier on its codes, and M1+M2's first stage."""

    conditional = False

    def __init__(self, input_dim: int, n_classes: int, latent_dim: int, hidden: tuple[int, ...],
                 classifier_hidden: tuple[int, ...], likelihood: str, categories: tuple[tuple[int, int], ...] = ()):
        super().__init__(input_dim, standardise=likelihood == "gaussian", categories=categories)
        self.likelihood = likelihood
        out_dim = likelihood_size(input_dim, likelihood)
        self.encoder = DiagonalGaussian(mlp((input_dim, *hidden, 2 * latent_dim)))
        self.decoder = mlp((latent_dim, *reversed(hidden), out_dim))
        self.classifier = mlp((latent_dim, *classifier_hidden, n_classes))

    def encode(self, x: Tensor, y_onehot: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.encoder(self.prepare(x))

    def decode(self, z: Tensor, y_onehot: Tensor | None = None) -> Tensor:
        return self.decoder(z)

    def bound(self, a: Tensor, kl_weight: float | Tensor = 1.0, observed: Tensor | None = None) -> Tensor:
        """ELBO of prepared inputs ``a`` (of those ``observed``, `Model.observed`)."""
        return self._bound(a, *self.encoder(a), kl_weight, observed)

    def _bound(self, a: Tensor, mu: Tensor, logvar: Tensor, kl_weight: float | Tensor,
               observed: Tensor | None) -> Tensor:
        log_px = self.log_px(a, self.decoder(reparameterize(mu, logvar)), observed)
        return log_px - kl_weight * gaussian_kl(mu, logvar)

    def prepared_elbo(self, a: Tensor, observed: Tensor | None = None) -> Tensor:
        return self.bound(a, observed=observed)

    def classify(self, x: Tensor) -> Tensor:
        return self.classifier(self.encode(x)[0])

    def loss(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights) -> dict[str, Tensor]:
        """The bound over the labelled and unlabelled batches together (its column in metrics.csv is
        unlabelled_bound), and the classifier's loss on the labelled rows' posterior means, encoded once."""
        x = x_l if x_u is None else torch.cat([x_l, x_u])
        a = self.prepare(x)
        mu, logvar = self.encoder(a)
        bound = self._bound(a, mu, logvar, weights.kl, self.observed(x)).mean()
        ce = classification_loss(self.classifier(mu[: len(x_l)].detach()), y_l).mean()
        return {"loss": -bound + ce, "unlabelled_bound": bound, "classification": ce}
