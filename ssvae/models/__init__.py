"""The models, each built from a `Config`: M1 (VAE), M2, M1+M2, ADGM and the baselines without a generative
model (supervised, fixmatch)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ssvae.config import Config
from ssvae.consistency import Consistency
from ssvae.models.adgm import ADGM
from ssvae.models.base import Model, Stage
from ssvae.models.m2 import M2
from ssvae.models.stacked import M1M2
from ssvae.models.supervised import Supervised
from ssvae.models.networks import classifier_network, mlp
from ssvae.models.vae import M1


def _classifier(config: Config) -> nn.Module:
    """q(y|x) on the inputs themselves, as the config describes it."""
    return classifier_network(config.classifier, config.input_shape, config.classifier_hidden,
                              config.classifier_channels, config.n_classes)


def _consistency(config: Config) -> Consistency | None:
    """The state of consistency training, for a config that trains with it."""
    if config.consistency == 0:
        return None
    return Consistency(config.n_classes, config.consistency_threshold, adaptive=config.adaptive_threshold)


def build_model(config: Config) -> Model:
    """The networks a config describes, freshly initialised."""
    input_dim = math.prod(config.input_shape)
    k = config.n_classes
    categories = config.category_spans
    if config.model in ("supervised", "fixmatch"):
        return Supervised(input_dim, _classifier(config), config.likelihood == "gaussian", _consistency(config),
                          categories)
    if config.model == "adgm":
        return ADGM(input_dim, k, config.latent_dim, config.aux_dim, config.hidden, config.classifier_hidden,
                    config.likelihood, categories)
    if config.model == "m2":
        return M2(input_dim, k, config.latent_dim, config.hidden, _classifier(config), config.likelihood,
                  config.vat_epsilon, _consistency(config), categories)
    m1 = M1(input_dim, k, config.m1_latent_dim, config.m1_hidden, config.classifier_hidden, config.likelihood,
            categories)
    if config.model == "m1":
        return m1
    classifier = mlp((config.m1_latent_dim, *config.classifier_hidden, k))  # q(y|z1), on M1's codes
    m2 = M2(config.m1_latent_dim, k, config.latent_dim, config.hidden, classifier, "gaussian", config.vat_epsilon)
    return M1M2(m1, m2, sample_features=config.m1_features == "sample")


def model_to_load(config: Config) -> Model:
    """The networks of ``config`` for weights that a file then gives them: in float32 whatever torch's default
    dtype (cast, not by setting the default, which other threads share), and drawn from a forked random
    stream, so that loading a run leaves the caller's random draws as they were."""
    with torch.random.fork_rng(devices=[]):
        return build_model(config).float()


__all__ = ["Model", "Stage", "ADGM", "M1", "M2", "M1M2", "Supervised", "build_model", "model_to_load"]
