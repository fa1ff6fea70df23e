"""Building blocks: plain MLPs, a small convolutional classifier for images, and an MLP conditioned on a class
that evaluates every class at once."""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Softplus(nn.Module):
    """log(1 + e^x), the paper's activation. In an ONNX export it is written relu(x) + log1p(exp(-|x|)), the
    same function: onnxruntime's own Softplus kernel is about 5x slower on CPU than those vectorised ops."""

    def forward(self, x: Tensor) -> Tensor:
        if torch.onnx.is_in_onnx_export():
            return torch.relu(x) + torch.log1p(torch.exp(-torch.abs(x)))
        return F.softplus(x)


def classify_together(classifier: nn.Module, views: list[Tensor]) -> list[Tensor]:
    """The classifier's logits of each batch in ``views``, from one call: batch normalisation then takes its
    statistics over every view at once, labelled, unlabelled and augmented alike."""
    return list(classifier(torch.cat(views)).split([len(v) for v in views]))


@contextmanager
def running_statistics_kept(module: nn.Module) -> Iterator[None]:
    """Inside, the batch norms of ``module`` normalise a training batch by its own statistics as always but
    leave their running statistics (those of evaluation) alone: for extra passes that are not training batches,
    such as virtual adversarial training's probes of perturbed inputs."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    for norm in norms:
        norm.track_running_stats = False
    try:
        yield
    finally:
        for norm in norms:
            norm.track_running_stats = True


def mlp(sizes: tuple[int, ...] | list[int]) -> nn.Sequential:
    """Linear layers of the given sizes with softplus between them (none after the last), as in the paper."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(Softplus())
    return nn.Sequential(*layers)


class ConvNet(nn.Module):
    """A classifier for images that takes them flattened, (B, C*H*W), as every model's prepared inputs are.

    Per entry of ``channels``: a 3x3 convolution, batch normalisation and leaky ReLU, then 2x2 max pooling
    between blocks; global average pooling and one linear layer end it. Small on purpose: its cost per
    example is what an epoch over 60,000 images pays three times with consistency training. It runs in the
    channels-last layout, whose CPU kernels for convolution, pooling and batch normalisation are vectorised over
    channels (`tools/bench_layout.py` times both layouts); the numbers do not depend on the layout.
    """

    def __init__(self, input_shape: tuple[int, ...], channels: tuple[int, ...], out_dim: int):
        super().__init__()
        self.input_shape = tuple(input_shape)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip((input_shape[0], *channels[:-1]), channels)):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.Conv2d(n_in, n_out, 3, padding=1), nn.BatchNorm2d(n_out), nn.LeakyReLU(0.1)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels[-1], out_dim)
        self.use_layout(torch.channels_last)

    def use_layout(self, memory_format: torch.memory_format) -> None:
        """Keep the weights and run the images in ``memory_format`` from now on."""
        self.memory_format = memory_format
        self.features.to(memory_format=memory_format)

    def forward(self, a: Tensor) -> Tensor:
        images = a.reshape(-1, *self.input_shape).contiguous(memory_format=self.memory_format)
        return self.head(self.features(images))


def classifier_network(kind: str, input_shape: tuple[int, ...], hidden: tuple[int, ...],
                       channels: tuple[int, ...], n_classes: int) -> nn.Module:
    """q(y|x)'s logits from flattened inputs: an MLP with ``hidden`` layers, or a `ConvNet` of ``channels``."""
    if kind == "conv":
        return ConvNet(input_shape, channels, n_classes)
    return mlp((math.prod(input_shape), *hidden, n_classes))


class ConditionedMLP(nn.Module):
    """f(a, y) = MLP([a, y]) with the first layer split into W_a a + W_y y.

    Splitting lets one call cover every class: with ``a`` of shape (B, 1, D) and ``y = eye(K)``, W_a a is
    computed once per example and broadcast against the K class rows, giving (B, K, out). The same call
    with ``a`` (B, D) and one-hot ``y`` (B, K) is the ordinary conditioned network.
    """

    def __init__(self, in_dim: int, n_classes: int, hidden: tuple[int, ...], out_dim: int):
        super().__init__()
        self.in_proj = nn.Linear(in_dim, hidden[0])
        self.class_proj = nn.Linear(n_classes, hidden[0], bias=False)
        self.rest = nn.Sequential(Softplus(), mlp((*hidden, out_dim)))

    def forward(self, a: Tensor, y_onehot: Tensor) -> Tensor:
        return self.rest(self.in_proj(a) + self.class_proj(y_onehot))


# The log-variance of q(z|...) stays inside this range. Healthy training never reaches it (Fashion-MNIST's
# preset keeps to [-8, 0.6] over 10 epochs, digits' to [-3.3, 1.2] over 400), but a long run can drift: after
# 195 epochs of Fashion-MNIST some outputs reached -650 and +102, whose exp overflows float32 to a NaN loss.
# e^5 is 150 times the prior's variance, e^-20 a standard deviation of 5e-5: no useful posterior lies beyond.
ENCODER_LOGVAR_RANGE = (-20.0, 5.0)


class DiagonalGaussian(nn.Module):
    """N(mu, diag(exp(logvar))) with both computed by ``body`` from the inputs: the encoders q(z|x[,y]) and the
    ADGM's q(a|x) and p(a|x,y,z). The log-variance is clamped to ``ENCODER_LOGVAR_RANGE`` so that exp(logvar)
    in the KL term and the samples stays finite. (The Gaussian likelihood p(x|y,z) bounds its own variance
    below: `ssvae.objectives.split_gaussian`.)"""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, *inputs: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.body(*inputs).chunk(2, dim=-1)
        return mu, logvar.clamp(*ENCODER_LOGVAR_RANGE)


def eye_like(n_classes: int, like: Tensor) -> Tensor:
    """Every class as a one-hot row: the ``y`` that enumerates all classes."""
    return torch.eye(n_classes, dtype=like.dtype, device=like.device)
