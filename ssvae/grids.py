"""Pictures of model outputs: a grid of images as PNG bytes, its rows and columns captioned by name."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

PAD = 1  # pixels between cells, before scaling
CELL = 32  # the least height in pixels of a cell at the default scale: 8x8 digits become 32x32
GAP = 4  # pixels between a caption and the cells it names
LONGEST = 24  # the most characters of a caption; a longer name is cut and ends in ".."
FONT_SIZE = 10  # Pillow's own; captions grow with cells (their side and a line, scaled) more than 4 times as large
LARGEST_FONT = 72  # pixels: a larger font says no more


def is_image_shape(shape: tuple[int, ...]) -> bool:
    """(C, H, W) with one or three channels: something a PNG can show."""
    return len(shape) == 3 and shape[0] in (1, 3)


def default_scale(shape: tuple[int, ...]) -> int:
    """The integer upscaling that makes a cell at least `CELL` pixels high."""
    return max(1, math.ceil(CELL / shape[-2]))


def grid_size(shape: tuple[int, ...], scale: int, rows: Sequence[str] = (),
              columns: Sequence[str] = ()) -> tuple[int, int]:
    """(width, height) in pixels of the grid `grid_png` draws for images of ``shape`` (rows, columns, C, H, W),
    with the captions of its ``rows`` and ``columns`` that it shows (`_Captions`)."""
    n_rows, n_cols, _, h, w = shape
    captions = _Captions.of(shape, scale, rows, columns)
    return ((n_cols * (w + PAD) + PAD) * scale + captions.left,
            (n_rows * (h + PAD) + PAD) * scale + captions.top)


def grid_png(images: np.ndarray, scale: int = 1, rows: Sequence[str] = (), columns: Sequence[str] = ()) -> bytes:
    """``images`` (rows, columns, C, H, W) with values in [0, 1] as one PNG, cells separated by a line; each
    row's name from ``rows`` on its left and each column's from ``columns`` above it, where they fit and the
    font draws them (`_Captions`)."""
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
    captions = _Captions.of(images.shape, scale, rows, columns)
    if captions.rows or captions.columns:
        image = captions.drawn(image, h * scale, w * scale, PAD * scale)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def _font(size: int) -> Any:
    """Pillow's own font (no font file need be installed) at ``size`` pixels; that of Pillow 10.0, or of one
    built without FreeType, is a bitmap font of one size."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow 10.0, or one without FreeType: the bitmap font
        return ImageFont.load_default()


def _shown(name: str) -> str:
    """``name`` as its caption: at most `LONGEST` characters."""
    return name if len(name) <= LONGEST else name[:LONGEST - 2] + ".."


@cache
def _drawable(font: Any, character: str) -> bool:
    """Whether ``font`` draws ``character`` as itself, not as the box of a missing glyph: Pillow's font has
    ASCII and a few signs such as ’ and ©, no é, no 猫, no space but the plain one."""
    if character == " ":
        return True
    if not hasattr(font, "getmetrics"):  # Pillow's bitmap font (Pillow 10.0, or one without FreeType): ASCII
        return " " < character < "\x7f"
    mask, missing = font.getmask(character), font.getmask("\U0010FFFD")  # private use: no font draws it
    return mask.size != missing.size or bytes(mask) != bytes(missing)


@dataclass(frozen=True)
class _Captions:
    """The names a grid shows and where: rows' at their left, columns' above them, upright where every one is
    narrower than its column, else read upwards. A character the font cannot draw is a "?" ("Caf?"), where
    boxes in its place would look like letters; none of either where a line of text is higher than its cells
    (not at the smallest scales), where a name has no character the font draws ("猫"), or where the "?"s
    leave two names alike ("Café", "Cafè").
    The font is Pillow's 10 pixels, or a quarter of a cell's side where that is larger, up to 72."""

    font: Any
    rows: Sequence[str]
    columns: Sequence[str]
    upright: bool

    @classmethod
    def of(cls, shape: tuple[int, ...], scale: int, rows: Sequence[str], columns: Sequence[str]) -> _Captions:
        _, _, _, h, w = shape
        height, width = (h + PAD) * scale, (w + PAD) * scale
        font = _font(min(LARGEST_FONT, max(FONT_SIZE, min(height, width) // 4)))
        line = _line_height(font)

        def shown(names: Sequence[str], room: int) -> Sequence[str]:
            cut = [_shown(name) for name in names]
            drawn = ["".join(c if _drawable(font, c) else "?" for c in name) for name in cut]
            lettered = all(any(c != " " and _drawable(font, c) for c in name) for name in cut)
            return drawn if line <= room and lettered and (drawn == cut or len(set(drawn)) == len(drawn)) else ()

        columns = shown(columns, width)
        upright = all(_width(font, name) <= width - 2 * PAD * scale for name in columns)
        return cls(font, shown(rows, height), columns, upright)

    @property
    def left(self) -> int:
        """The pixels at the left of the cells that hold the rows' names: none without names."""
        return max(_width(self.font, name) for name in self.rows) + 2 * GAP if self.rows else 0

    @property
    def top(self) -> int:
        """The pixels above the cells that hold the columns' names: a line where upright, else the longest."""
        if not self.columns:
            return 0
        tallest = _line_height(self.font) if self.upright else max(_width(self.font, n) for n in self.columns)
        return tallest + 2 * GAP

    def drawn(self, cells: Any, height: int, width: int, pad: int) -> Any:
        """The image ``cells`` (each ``height`` x ``width`` pixels, ``pad`` between and around them) with the
        names, black on white, in the middle of the cells they name."""
        from PIL import Image

        line = _line_height(self.font)
        image = Image.new(cells.mode, (cells.width + self.left, cells.height + self.top), "white")
        image.paste(cells, (self.left, self.top))
        for r, name in enumerate(self.rows):
            middle = self.top + pad + r * (height + pad) + height // 2
            caption = _caption(self.font, name, cells.mode)
            image.paste(caption, (self.left - GAP - caption.width, middle - line // 2))
        for c, name in enumerate(self.columns):
            middle = self.left + pad + c * (width + pad) + width // 2
            caption = _caption(self.font, name, cells.mode)
            if not self.upright:  # centred on its letters, which a line's height holds with room above
                _, top, _, bottom = self.font.getbbox(_shown(name))
                caption = caption.crop((0, int(top), caption.width, int(math.ceil(bottom))))
                caption = caption.transpose(Image.Transpose.ROTATE_90)
            image.paste(caption, (middle - caption.width // 2, self.top - GAP - caption.height))
        return image


def _caption(font: Any, name: str, mode: str) -> Any:
    """``name`` black on white, as wide as its letters (some, such as a comma, begin left of where it is
    drawn) and a line high."""
    from PIL import Image, ImageDraw

    caption = Image.new(mode, (_width(font, name), _line_height(font)), "white")
    ImageDraw.Draw(caption).text((-min(font.getbbox(_shown(name))[0], 0), 0), _shown(name),
                                 fill=0 if mode == "L" else (0, 0, 0), font=font)
    return caption


def _width(font: Any, name: str) -> int:
    """The pixels ``name``'s caption takes across: from the first letter's left, or where it is drawn."""
    left, _, right, _ = font.getbbox(_shown(name))
    return int(math.ceil(right - min(left, 0)))


def _line_height(font: Any) -> int:
    """The height of a line of captions, from its top to below its lowest letters."""
    return int(math.ceil(font.getbbox("Ag/|")[3]))
