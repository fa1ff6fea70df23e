"""Pictures of model outputs: a grid of images as PNG bytes."""

from __future__ import annotations

import io
import math

import numpy as np

PAD = 1  # pixels between cells, before scaling
CELL = 32  # the least height in pixels of a cell at the default scale: 8x8 digits become 32x32


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """(C, H, W) with one or three channels: something a PNG can show."""
    return len(shape) == 3 and shape[0] in (1, 3)


def default_scale(shape: tuple[int, ...]) -> int:
    """The integer upscaling that makes a cell at least `CELL` pixels high."""
    return max(1, math.ceil(CELL / shape[-2]))


def grid_size(shape: tuple[int, ...], scale: int) -> tuple[int, int]:
    """(width, height) in pixels of the grid `grid_png` draws for images of ``shape`` (rows, columns, C, H, W)."""
    rows, cols, _, h, w = shape
    return (cols * (w + PAD) + PAD) * scale, (rows * (h + PAD) + PAD) * scale


def grid_png(images: np.ndarray, scale: int = 1) -> bytes:
    """``images`` (rows, columns, C, H, W) with values in [0, 1] as one PNG, cells separated by a line."""
    from PIL import Image

    rows, cols, channels, h, w = images.shape
    canvas = np.ones((rows * (h + PAD) + PAD, cols * (w + PAD) + PAD, channels), dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            top, left = PAD + r * (h + PAD), PAD + c * (w + PAD)
            canvas[top:top + h, left:left + w] = np.moveaxis(images[r, c], 0, -1)
    pixels = (np.clip(canvas, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
