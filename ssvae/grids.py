"""Pictures of model outputs: a grid of images as PNG bytes, its rows and columns captioned by name."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

PAD = 1  # pixels between cells, before scaling
CELL = 32  # the least height in pixels of a cell at the default scale: 8x8 digits become 32x32
GAP = 4  # pixels between a caption and the cells it names
LONGEST = 24  # the most characters of a caption; a longer name is cut and ends in ".."


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """(C, H, W) with one or three channels: something a PNG can show."""
    return len(shape) == 3 and shape[0] in (1, 3)


def default_scale(shape: tuple[int, ...]) -> int:
    """The integer upscaling that makes a cell at least `CELL` pixels high."""
    return max(1, math.ceil(CELL / shape[-2]))


def grid_size(shape: tuple[int, ...], scale: int, rows: Sequence[str] = (),
              columns: Sequence[str] = ()) -> tuple[int, int]:
    """(width, height) in pixels of the grid `grid_png` draws for images of ``shape`` (rows, columns, C, H, W),
    with the captions of its ``rows`` and ``columns`` that fit."""
    n_rows, n_cols, _, h, w = shape
    rows, columns = _fitting(shape, scale, rows, columns)
    return ((n_cols * (w + PAD) + PAD) * scale + _margin(rows),
            (n_rows * (h + PAD) + PAD) * scale + _margin(columns))


def grid_png(images: np.ndarray, scale: int = 1, rows: Sequence[str] = (), columns: Sequence[str] = ()) -> bytes:
    """``images`` (rows, columns, C, H, W) with values in [0, 1] as one PNG, cells separated by a line; each
    row's name from ``rows`` on its left and each column's from ``columns`` above it, read upwards, where a
    line of text fits in a cell (not at the smallest scales) and the font draws every name (`_drawable`)."""
    from PIL import Image

    n_rows, n_cols, channels, h, w = images.shape
    canvas = np.ones((n_rows * (h + PAD) + PAD, n_cols * (w + PAD) + PAD, channels), dtype=np.float32)
    for r in range(n_rows):
        for c in range(n_cols):
            top, left = PAD + r * (h + PAD), PAD + c * (w + PAD)
            canvas[top:top + h, left:left + w] = np.moveaxis(images[r, c], 0, -1)
    pixels = (np.clip(canvas, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels)
    rows, columns = _fitting(images.shape, scale, rows, columns)
    if rows or columns:
        image = _captioned(image, h * scale, w * scale, PAD * scale, rows, columns)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def _font() -> Any:
    """Pillow's own font: no font file need be installed."""
    from PIL import ImageFont

    return ImageFont.load_default()


def _shown(name: str) -> str:
    """``name`` as its caption: at most `LONGEST` characters."""
    return name if len(name) <= LONGEST else name[:LONGEST - 2] + ".."


@cache
def _drawable(character: str) -> bool:
    """Whether Pillow's font draws ``character`` as itself, not as the box of a missing glyph: ASCII and a few
    signs such as ’ and ©, no é, no 猫, no space but the plain one."""
    font = _font()
    if character == " ":
        return True
    if not hasattr(font, "getmetrics"):  # Pillow's bitmap font (Pillow 10.0, or one without FreeType): ASCII
        return " " < character < "\x7f"
    mask, missing = font.getmask(character), font.getmask("\U0010FFFD")  # private use: no font draws it
    return mask.size != missing.size or bytes(mask) != bytes(missing)


def _width(name: str) -> int:
    return int(math.ceil(_font().getbbox(_shown(name))[2]))


def _line_height() -> int:
    """The height of a line of captions, from its top to below its lowest letters."""
    return int(math.ceil(_font().getbbox("Ag/|")[3]))


def _fitting(shape: tuple[int, ...], scale: int, rows: Sequence[str],
             columns: Sequence[str]) -> tuple[Sequence[str], Sequence[str]]:
    """The captions of the rows and of the columns of a grid of ``shape`` at ``scale``: none of either where a
    line of text is higher than its cells (names at the side of a row, upwards above a column), or where the
    font cannot draw a name (boxes in place of some names would mislead)."""
    _, _, _, h, w = shape
    line = _line_height()

    def shown(names: Sequence[str], room: int) -> Sequence[str]:
        return names if line <= room and all(map(_drawable, "".join(map(_shown, names)))) else ()

    return shown(rows, (h + PAD) * scale), shown(columns, (w + PAD) * scale)


def _margin(names: Sequence[str]) -> int:
    """The pixels beside (or above) the cells that hold the longest of ``names``: none without names."""
    return max(_width(name) for name in names) + 2 * GAP if names else 0


def _captioned(cells: Any, height: int, width: int, pad: int, rows: Sequence[str], columns: Sequence[str]) -> Any:
    """The image ``cells`` (each ``height`` x ``width`` pixels, ``pad`` between and around them) with each row's
    name at its left, and each column's above it, black on white, in the middle of the cells they name."""
    from PIL import Image, ImageDraw

    left, top, line = _margin(rows), _margin(columns), _line_height()
    black = 0 if cells.mode == "L" else (0, 0, 0)
    image = Image.new(cells.mode, (cells.width + left, cells.height + top), "white")
    image.paste(cells, (left, top))
    draw = ImageDraw.Draw(image)
    for r, name in enumerate(rows):
        middle = top + pad + r * (height + pad) + height // 2
        draw.text((left - GAP - _width(name), middle - line // 2), _shown(name), fill=black, font=_font())
    for c, name in enumerate(columns):
        caption = Image.new(cells.mode, (_width(name), line), "white")
        ImageDraw.Draw(caption).text((0, 0), _shown(name), fill=black, font=_font())
        middle = left + pad + c * (width + pad) + width // 2
        image.paste(caption.transpose(Image.Transpose.ROTATE_90), (middle - line // 2, top - GAP - caption.width))
    return image
