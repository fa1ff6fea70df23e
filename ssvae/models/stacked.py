"""M1+M2: M1 is trained first on every input; M2 then learns on M1's latent codes (samples or means of
q(z1|x), as the config says), standardised as a table's columns are. The M1 stage stays frozen while M2
trains."""

from __future__ import annotations

import torch
from torch import Tensor

from ssvae.models.base import Model, Stage
from ssvae.models.m2 import M2
from ssvae.models.vae import M1
from ssvae.objectives import LossWeights, reparameterize, split_gaussian


class M1M2(Model):
    """M1 and the M2 that models its codes, trained one after the other (`stages`), used as one model."""

    def __init__(self, m1: M1, m2: M2, sample_features: bool):
        super().__init__(0, standardise=m1.standardise, categories=m1.categories)
        self.m1, self.m2 = m1, m2
        self.sample_features = sample_features
        self.likelihood = m1.likelihood

    def fit_standardisation(self, x: Tensor) -> None:
        self.m1.fit_standardisation(x)

    def fit_code_standardisation(self, x: Tensor) -> None:
        """M2 models M1's codes with a Gaussian likelihood, whose variance floor and adversarial step are sized
        for standardised inputs: their statistics come from the codes M2 is fed (samples or means of q(z1|x)),
        once M1 is trained. Fitted on means, M2 fed samples would see a unit M1 left at its prior (means near
        0, noise of spread 1) magnified many times over: on Fashion-MNIST its loss was NaN within an epoch."""
        codes = [self.features(batch, self.sample_features) for batch in x.split(4096)]
        self.m2.fit_standardisation(torch.cat(codes))

    def standardisation(self) -> tuple[Tensor, Tensor]:
        return self.m1.standardisation()

    def features(self, x: Tensor, sample: bool) -> Tensor:
        with torch.no_grad():
            mu, logvar = self.m1.encode(x)
            return reparameterize(mu, logvar) if sample else mu

    def classify(self, x: Tensor) -> Tensor:
        return self.m2.classify(self.features(x, sample=False))

    def encode(self, x: Tensor, y_onehot: Tensor | None) -> tuple[Tensor, Tensor]:
        """q(z2|z1,y) at the mean z1 of q(z1|x): raw inputs in, M2's latent out."""
        return self.m2.encode(self.features(x, sample=False), y_onehot)

    def decode(self, z: Tensor, y_onehot: Tensor | None) -> Tensor:
        """p(x|y,z2) with z1 at the mean of p(z1|y,z2): M2's latent in, M1's likelihood of x out."""
        mean = split_gaussian(self.m2.decode(z, y_onehot))[0]  # of standardised codes
        shift, scale = self.m2.standardisation()
        return self.m1.decode(mean * scale + shift)

    def elbo(self, x: Tensor) -> Tensor:
        """M1's bound on log p(x): the generative model of the inputs themselves."""
        return self.m1.elbo(x)

    def loss(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights) -> dict[str, Tensor]:
        f_l = self.features(x_l, self.sample_features)
        f_u = self.features(x_u, self.sample_features)
        return self.m2.loss(f_l, y_l, f_u, weights)

    def stages(self, epochs: int, m1_epochs: int) -> list[Stage]:
        return [Stage("m1", self.m1, list(self.m1.parameters()), m1_epochs),
                Stage("m2", self, list(self.m2.parameters()), epochs, self.fit_code_standardisation)]
