"""ADGM: M2 with an auxiliary latent variable a (Maaløe et al. 2016, "Auxiliary Deep Generative Models").

    inference   q(a|x) q(y|a,x) q(z|a,y,x)          generative   p(z) p(y) p(x|y,z) p(a|x,y,z)

The classifier sees x and a sample of a, which makes q(y|a,x) a richer (mixture) distribution than M2's q(y|x).
The bound gains the auxiliary terms log p(a|x,y,z) - log q(a|x), estimated with the same sample of a;
unlabelled data enumerate y for that sample. At test time the classifier uses the mean of q(a|x).
In the code, as in every model, ``a`` names the prepared inputs; the auxiliary variable is ``aux``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ssvae.models.base import Model
from ssvae.models.networks import ConditionedMLP, DiagonalGaussian, eye_like, mlp
from ssvae.objectives import (LossWeights, classification_loss, gaussian_kl, gaussian_log_density, labelled_bound,
                              likelihood_size, reparameterize, semi_supervised_loss,
                              unlabelled_bound)


class ADGM(Model):
    """M2 with the auxiliary variable a: q(a|x), q(y|a,x), q(z|a,x,y), p(x|y,z) and p(a|x,y,z)."""

    def __init__(self, input_dim: int, n_classes: int, latent_dim: int, aux_dim: int, hidden: tuple[int, ...],
                 classifier_hidden: tuple[int, ...], likelihood: str, categories: tuple[tuple[int, int], ...] = ()):
        super().__init__(input_dim, standardise=likelihood == "gaussian", categories=categories)
        self.n_classes = n_classes
        self.likelihood = likelihood
        out_dim = likelihood_size(input_dim, likelihood)
        self.aux_encoder = DiagonalGaussian(mlp((input_dim, *hidden, 2 * aux_dim)))
        self.classifier = mlp((input_dim + aux_dim, *classifier_hidden, n_classes))
        self.encoder = DiagonalGaussian(ConditionedMLP(input_dim + aux_dim, n_classes, hidden, 2 * latent_dim))
        self.decoder = ConditionedMLP(latent_dim, n_classes, tuple(reversed(hidden)), out_dim)
        self.aux_decoder = DiagonalGaussian(ConditionedMLP(input_dim + latent_dim, n_classes, hidden, 2 * aux_dim))

    def auxiliary(self, a: Tensor, sample: bool = True) -> tuple[Tensor, Tensor]:
        """A draw of the auxiliary variable (its mean when ``sample`` is False) and log q(aux|x) of it."""
        mu, logvar = self.aux_encoder(a)
        aux = reparameterize(mu, logvar) if sample else mu
        return aux, gaussian_log_density(aux, mu, logvar)

    def bound(self, a: Tensor, aux: Tensor, y_onehot: Tensor, kl_weight: float | Tensor = 1.0,
              observed: Tensor | None = None) -> Tensor:
        """L(x, y) given the auxiliary draw, without -log q(a|x), of the inputs ``observed`` (`Model.observed`);
        with ``a`` and ``aux`` (B, 1, ·) and ``y = eye(K)`` it is (B, K), every class."""
        mu, logvar = self.encoder(torch.cat([a, aux], -1), y_onehot)
        z = reparameterize(mu, logvar)
        log_px = self.log_px(a, self.decoder(z, y_onehot), observed)
        xz = torch.cat([a.expand(z.shape[:-1] + a.shape[-1:]), z], -1)
        log_pa = gaussian_log_density(aux, *self.aux_decoder(xz, y_onehot))
        return labelled_bound(log_px + kl_weight * log_pa, gaussian_kl(mu, logvar), self.n_classes, kl_weight)

    def unlabelled(self, a: Tensor, kl_weight: float | Tensor = 1.0, observed: Tensor | None = None) -> Tensor:
        aux, log_qa = self.auxiliary(a)
        per_class = self.bound(a[:, None, :], aux[:, None, :], eye_like(self.n_classes, a), kl_weight, observed)
        return unlabelled_bound(per_class, self.classifier(torch.cat([a, aux], -1))) - kl_weight * log_qa

    def classify(self, x: Tensor) -> Tensor:
        a = self.prepare(x)
        return self.classifier(torch.cat([a, self.auxiliary(a, sample=False)[0]], -1))

    def encode(self, x: Tensor, y_onehot: Tensor | None) -> tuple[Tensor, Tensor]:
        """q(z|x,y) at the mean of q(aux|x), as ``classify`` uses it."""
        a = self.prepare(x)
        return self.encoder(torch.cat([a, self.auxiliary(a, sample=False)[0]], -1), y_onehot)

    def decode(self, z: Tensor, y_onehot: Tensor | None) -> Tensor:
        return self.decoder(z, y_onehot)

    def prepared_elbo(self, a: Tensor, observed: Tensor | None = None) -> Tensor:
        return self.unlabelled(a, observed=observed)

    def loss(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights) -> dict[str, Tensor]:
        a_l, a_u = self.prepare(x_l), self.prepare(x_u)
        aux, log_qa = self.auxiliary(a_l)
        onehot = F.one_hot(y_l, self.n_classes).to(a_l.dtype)
        bound_l = self.bound(a_l, aux, onehot, weights.kl, self.observed(x_l)) - weights.kl * log_qa
        class_loss = classification_loss(self.classifier(torch.cat([a_l, aux], -1)), y_l)
        return semi_supervised_loss(bound_l, self.unlabelled(a_u, weights.kl, self.observed(x_u)), class_loss,
                                    weights)
