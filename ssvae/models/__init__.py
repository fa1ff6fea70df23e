"""The models, each built from a `Config`: M1 (VAE), M2, M1+M2, ADGM and the supervised baseline."""

from __future__ import annotations

import math

from ssvae.config import Config
from ssvae.models.adgm import ADGM
from ssvae.models.base import Model, Stage
from ssvae.models.m2 import M2
from ssvae.models.stacked import M1M2
from ssvae.models.supervised import Supervised
from ssvae.models.vae import M1


def build_model(config: Config) -> Model:
    """The networks a config describes, freshly initialised."""
    input_dim = math.prod(config.input_shape)
    k = config.n_classes
    if config.model == "supervised":
        return Supervised(input_dim, k, config.classifier_hidden, standardise=config.likelihood == "gaussian")
    if config.model == "adgm":
        return ADGM(input_dim, k, config.latent_dim, config.aux_dim, config.hidden, config.classifier_hidden,
                    config.likelihood)
    if config.model == "m2":
        return M2(input_dim, k, config.latent_dim, config.hidden, config.classifier_hidden, config.likelihood,
                  config.vat_epsilon)
    m1 = M1(input_dim, k, config.m1_latent_dim, config.m1_hidden, config.classifier_hidden, config.likelihood)
    if config.model == "m1":
        return m1
    m2 = M2(config.m1_latent_dim, k, config.latent_dim, config.hidden, config.classifier_hidden, "gaussian",
            config.vat_epsilon)
    return M1M2(m1, m2, sample_features=config.m1_features == "sample")


__all__ = ["Model", "Stage", "ADGM", "M1", "M2", "M1M2", "Supervised", "build_model"]
