"""Random image transforms for training: a weak view (small shifts, optionally mirrored) that every model can
train on, and a strong view (a larger shift, rotation, scaling, shear, a change of contrast and a cut-out
square, drawn from the image itself) that consistency training asks q(y|x) to classify like the weak one
(FixMatch, Sohn et al. 2020).

Each example gets its own transform, drawn on the inputs' device and applied in one batched
``grid_sample``: no per-example loop and no host round trip. Inputs are images (B, C, H, W); pixels moved
in from outside the image are 0, the background of the built-in image data sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Transform:
    """Ranges of the random transform, each drawn uniformly per example in [-range, range]."""

    shift: float  # translation, as a fraction of the image's width and height
    rotation: float = 0.0  # degrees
    scale: float = 0.0  # relative change of size
    shear: float = 0.0
    cutout: float = 0.0  # side of a zeroed square at a random place, as a fraction of the image (0: none)
    contrast: float = 0.0  # relative change of every pixel's value, kept within the image's own range


# Half FixMatch's shifts (12.5 % weak, 25 % strong): the objects of digits and Fashion-MNIST fill their frame.
WEAK = Transform(shift=0.0625)
STRONG = Transform(shift=0.125, rotation=30.0, scale=0.2, shear=0.3, cutout=0.35, contrast=0.5)


def _uniform(n: int, spread: float, like: Tensor) -> Tensor:
    return (2.0 * torch.rand(n, device=like.device, dtype=like.dtype) - 1.0) * spread


def affine_matrices(n: int, transform: Transform, flip: bool, like: Tensor) -> Tensor:
    """(n, 2, 3) matrices in ``affine_grid``'s normalised coordinates: rotate, scale, shear, mirror, shift."""
    angle = _uniform(n, math.radians(transform.rotation), like)
    scale = 1.0 + _uniform(n, transform.scale, like)
    shear = _uniform(n, transform.shear, like)
    mirror = torch.ones(n, device=like.device, dtype=like.dtype)
    if flip:
        mirror = torch.where(torch.rand(n, device=like.device) < 0.5, -mirror, mirror)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    shift_x, shift_y = _uniform(n, 2.0 * transform.shift, like), _uniform(n, 2.0 * transform.shift, like)
    rows = [torch.stack([cos * mirror, shear - sin, shift_x], -1), torch.stack([sin * mirror, cos, shift_y], -1)]
    return torch.stack(rows, 1)


def cut_out(x: Tensor, fraction: float) -> Tensor:
    """``x`` with a square of side ``fraction`` of the image zeroed at a random centre per example."""
    n, _, height, width = x.shape
    centre_y = torch.randint(height, (n, 1, 1), device=x.device)
    centre_x = torch.randint(width, (n, 1, 1), device=x.device)
    rows = torch.arange(height, device=x.device)[None, :, None]
    cols = torch.arange(width, device=x.device)[None, None, :]
    half_h, half_w = fraction * height / 2, fraction * width / 2
    inside = ((rows - centre_y).abs() < half_h) & ((cols - centre_x).abs() < half_w)
    return x * (~inside[:, None]).to(x.dtype)


def change_contrast(x: Tensor, spread: float) -> Tensor:
    """``x`` times a random factor in [1 - spread, 1 + spread] per example, clipped to the range of that
    example's pixels (for images in [0, 1] that touch both ends, to [0, 1])."""
    factor = 1.0 + _uniform(len(x), spread, x).view(-1, *[1] * (x.dim() - 1))
    low, high = x.amin(tuple(range(1, x.dim())), keepdim=True), x.amax(tuple(range(1, x.dim())), keepdim=True)
    return torch.minimum(torch.maximum(x * factor, low), high)


def augment(x: Tensor, transform: Transform, flip: bool) -> Tensor:
    """A random view of each image in ``x`` (B, C, H, W), same shape and dtype."""
    theta = affine_matrices(len(x), transform, flip, x)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    views = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if transform.contrast > 0:
        views = change_contrast(views, transform.contrast)
    return cut_out(views, transform.cutout) if transform.cutout > 0 else views


__all__ = ["Transform", "WEAK", "STRONG", "affine_matrices", "augment", "change_contrast", "cut_out"]
