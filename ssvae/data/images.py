"""Image files of a data folder: which files are images, and how they are read: upright, 8 bits a channel,
transparent pixels on black, in one size."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import Counter
from pathlib import Path, PurePath
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from ssvae.data.dataset import DataError
from ssvae.errors import listed, user_stacklevel

P = TypeVar("P", bound=PurePath)  # Path, or PureWindowsPath in a test of Windows' order

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jfif", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                  ".pgm", ".ppm", ".pbm", ".pnm"}  # the last: Netpbm, as some image data sets come
# images Pillow cannot read without plug-ins: a phone's HEIC photos, cameras' raw files, drawings
UNREAD_SUFFIXES = {".heic", ".heif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".svg"}
DARK = 16  # of 255: an image whose every pixel is below reads as black
GREY_16_FORMATS = ("PNG", "PPM")  # whose grey Pillow opens in mode I, 32-bit, though the file's is 16-bit
EXIF_ORIENTATION = 0x0112  # how a camera's image is turned: viewers show it turned back, and so it is read
SIDEWAYS = (5, 6, 7, 8)  # the orientations that turn an image by 90 degrees
Heard = dict[tuple[str, type[Warning]], list[str]]  # Pillow's warnings by (message, category): the images named


def image_reading(input_shape: tuple[int, ...] | None, where: Path) -> tuple[str | None, tuple[int, int] | None]:
    """PIL's mode ("L" or "RGB") and (width, height) of a model's images of ``input_shape`` (C, H, W), which
    its image files (at ``where``) are read in; Nones where it has none (no model yet, or a table's rows). A
    model of arrays with other channel counts (RGBA, 2) takes no image files: they are read in grey or RGB."""
    if input_shape is None or len(input_shape) != 3:
        return None, None
    channels, height, width = input_shape
    if channels not in (1, 3):
        raise DataError(f"{where}: image files are read in grey or RGB, but the model takes {channels} channels a "
                        f"pixel, as the arrays it trained on had: give its inputs as an .npz or .npy array")
    return ("L" if channels == 1 else "RGB"), (width, height)


def image_files(folder: Path, root: Path) -> list[Path]:
    """The image files under ``folder`` (a folder of ``root``, or ``root``), its sub-folders' and linked
    folders' too, in order of their paths; hidden ones not (`is_image_file`)."""
    return [f for f in files_under(folder, root) if is_image_file(f, root)]


def files_under(folder: Path, root: Path) -> list[Path]:
    """Every file under ``folder`` (a folder of ``root``, or ``root``), its sub-folders' and linked folders' too,
    in order of their paths, but those in hidden folders. A link is not followed to a folder walked already
    (a loop), to another part of ``root`` (a class's images are not another's), nor to a folder that holds
    ``root`` (the whole disk)."""
    base = os.path.realpath(root)
    found, walked = [], set()
    for top, folders, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        linkless = os.path.normpath(os.path.join(base, os.path.relpath(top, root)))  # its place, reached by no link
        elsewhere_in_root = within(real, base) and real != linkless
        if real in walked or elsewhere_in_root or (within(base, real) and real != base):
            folders.clear()
            continue
        walked.add(real)
        folders[:] = sorted(name for name in folders if not is_hidden(name))  # one order
        found += [Path(top, name) for name in files]
    return in_one_order(found)


def warn_of_unread_images(files: list[Path], where: Path) -> None:
    """A warning naming ``files`` (under ``where``) of image formats that are not read (`UNREAD_SUFFIXES`):
    without it, a class folder of a phone's HEIC photos was merely "no class"; and one naming links to images
    that are not there (on a drive not mounted), which were left out without a word."""
    if unread := [f for f in files if f.suffix.lower() in UNREAD_SUFFIXES and not is_hidden(f.name)]:
        kinds = ", ".join(sorted({f.suffix.lower() for f in unread}))
        warnings.warn(f"{where}: {len(unread)} file(s) in image formats ssvae does not read are left out ({kinds}; "
                      f"e.g. {unread[0].relative_to(where)}): convert them to PNG or JPEG to use them",
                      stacklevel=user_stacklevel())
    if dangling := [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES and f.is_symlink() and not f.exists()
                    and not is_hidden(f.name)]:
        warnings.warn(f"{where}: {len(dangling)} link(s) to images that are not there are left out (e.g. "
                      f"{dangling[0].relative_to(where)} -> {os.readlink(dangling[0])}): mount the drive they are "
                      f"on, or copy the images in", stacklevel=user_stacklevel())


def in_one_order(files: list[P]) -> list[P]:
    """``files`` in order of their paths, part by part and case by case on every system: Windows compares paths
    regardless of case, so a folder's images came in another order there, and a seed labelled other ones."""
    return sorted(files, key=lambda f: f.parts)


def file_id(file: PurePath, root: PurePath) -> str:
    """``file``'s id: its path below ``root`` with '/' on every system, a name's bytes that are not UTF-8
    written as escapes (so that a CSV can hold it)."""
    return os.fsencode(file.relative_to(root).as_posix()).decode("utf-8", "backslashreplace")


def within(path: str, folder: str) -> bool:
    """Whether real path ``path`` is ``folder`` or lies inside it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_image_file(file: Path, root: Path) -> bool:
    """A file with an image's suffix that nothing on its way from ``root`` hides (`is_hidden`)."""
    hidden = any(is_hidden(part) for part in file.relative_to(root).parts)
    return file.suffix.lower() in IMAGE_SUFFIXES and not hidden and file.is_file()


def is_hidden(name: str) -> bool:
    """Whether a file or folder name is hidden from a data set: it starts with "." (among them macOS's "._"
    copies of a file's metadata, which are no images) or is macOS's ``__MACOSX``."""
    return name.startswith((".", "__MACOSX"))


class ColourImages(UserWarning):
    """Some of a folder's images are in colour and the others grey: said when a run trains, not when it reads
    its data again (its model takes colour by then)."""


def read_images(files: list[Path], where: Path, mode: str | None = None, size: tuple[int, int] | None = None,
                resize: bool = False, for_model: bool = False) -> tuple[np.ndarray, list[int]]:
    """`_read_images`, with what Pillow warned of (corrupt EXIF data, an image past its size limit) said once a
    warning, naming the images, where Pillow's own words named none."""
    heard: Heard = {}
    try:
        return _read_images(files, where, mode, size, resize, for_model, heard)
    finally:
        for (message, category), names in heard.items():
            shown = " ".join(message.split())  # Pillow's: "Corrupt EXIF data.  Expecting ..."
            warnings.warn(f"{where}: Pillow warned of {len(set(names))} image(s) (e.g. {names[0]}): {shown}",
                          category, stacklevel=user_stacklevel())


@contextlib.contextmanager
def _pillow_warnings(heard: Heard, name: str) -> Iterator[None]:
    """The warnings of the Pillow code run inside (as the filters in force let through: one made an error
    stays one), kept in ``heard`` by message and category with the image's ``name``."""
    with warnings.catch_warnings(record=True) as caught:
        try:
            yield
        finally:
            for warning in caught:
                heard.setdefault((str(warning.message), warning.category), []).append(name)


def _read_images(files: list[Path], where: Path, mode: str | None, size: tuple[int, int] | None, resize: bool,
                 for_model: bool, heard: Heard) -> tuple[np.ndarray, list[int]]:
    """The images of ``files`` as one uint8 array (N, C, H, W), and which of ``files`` they are. ``mode`` is
    PIL's "L" (grey) or "RGB"; None picks RGB when any image has colour. Images are read upright, as viewers
    show them (a camera's EXIF orientation applied); transparent pixels count as black and 16-bit grey as its
    top 8 bits; 32-bit pixels (float or integer TIFFs), whose scale is unknown, are
    skipped. Images of another (width, height) than ``size`` (None: the size most readable images have) are
    resized to it where ``resize`` (`--image-size`; bilinear, smoothed when shrunk), else skipped; unreadable
    ones are skipped. One warning names the first few skipped, and where ``size`` is a model's (``for_model``:
    its inputs, not a run's training images read again), says to resize them to it."""

    def shown(file: Path) -> str:  # a class folder's image is named with its folder; ``where`` itself, by name
        return str(file.relative_to(where)) if file != where and file.is_relative_to(where) else file.name

    def none_readable() -> DataError:
        return DataError(f"{where}: no readable images ({', '.join(sorted(IMAGE_SUFFIXES))})"
                         + (f"; skipped {listed(skipped)}" if skipped else ""))

    headers, skipped = _headers(files, shown, heard)
    if not headers:
        raise none_readable()
    grey = ("L", "1", "LA", "La")  # and every "I" mode: 16- and 32-bit grey
    chosen = size is None  # by the images themselves, as a new run's are: --image-size would read them all
    size = size or Counter(image_size for _, _, image_size, _ in headers).most_common(1)[0][0]
    sized = [(index, m) for index, m, image_size, _ in headers if resize or image_size == size]  # others skipped
    colour = [index for index, m in sized if m not in grey and not m.startswith("I")]
    if mode is None and 0 < len(colour) <= len(sized) // 2:  # a few colour files among grey: greys as RGB?
        colour = [index for index in colour if not _grey_pixels(files[index])]
    elif mode is None and colour and all(_grey_pixels(files[index]) for index in colour):  # stops at a colour one
        colour = []  # every image greys saved as RGB (an export, a screenshot tool): grey, one channel
    if mode is None and 0 < len(colour) < len(sized):  # one stray colour image triples the model's inputs
        warnings.warn(ColourImages(f"{where}: {len(colour)} of {len(sized)} images "
                                   f"{'is' if len(colour) == 1 else 'are'} in colour (e.g. {shown(files[colour[0]])}), "
                                   f"so all are read in colour (RGB, 3 channels): to train on grey images, save these "
                                   f"in grey first"),
                      stacklevel=user_stacklevel())
    blank: list[str] = []  # drawn in dark ink on a transparent background
    arrays, kept = _pixels(files, headers, size, mode or ("RGB" if colour else "L"), shown, skipped, blank, resize,
                           heard)
    if blank:
        warnings.warn(f"{where}: {len(blank)} image(s) drawn in dark ink on a transparent background are read as "
                      f"all black, as transparent pixels count as black (e.g. {blank[0]}): save them on an opaque "
                      f"background, in the colours of the images the model knows (light ink on black for digits "
                      f"like MNIST's), to have them read as they look", stacklevel=user_stacklevel())
    if not arrays and all(image_size != size for _, _, image_size, _ in headers):  # only with a size asked for
        raise DataError(f"{where}: none of its {len(headers)} readable image(s) is {size[0]}x{size[1]} pixels, the "
                        f"model's size: resize them to it (a model trained with --image-size resizes them itself)")
    if not arrays:
        raise none_readable()
    if skipped:
        sizes = not resize and any(image_size != size for _, _, image_size, _ in headers)
        hint = "" if not sizes else (
            f"; --image-size {size[0]},{size[1]} (image_size= in Python) reads every image, resized" if chosen else
            f"; resize them to {size[0]}x{size[1]}, the model's size, to use them" if for_model else "")
        warnings.warn(f"{where}: skipped {len(skipped)} image(s): {listed(skipped)}{hint}",
                      stacklevel=user_stacklevel())
    stacked = np.stack(arrays)  # (N, H, W) grey or (N, H, W, 3) colour
    return (stacked[:, None] if stacked.ndim == 3 else np.moveaxis(stacked, -1, 1)), kept


Header = tuple[int, str, tuple[int, int], int]  # (index in files, PIL mode, upright (width, height), orientation)


def _headers(files: list[Path], shown: Callable[[Path], str],
             heard: Heard) -> tuple[list[Header], list[str]]:
    """The header of each image of ``files`` that can be read (pixels of 32 bits cannot: PIL would clip them),
    and what was skipped, each with its reason; Pillow's warnings kept in ``heard``."""
    from PIL import Image

    headers, skipped = [], []
    for index, file in enumerate(files):
        try:
            with _pillow_warnings(heard, shown(file)), Image.open(file) as image:  # reads the header only
                if image.mode == "F" or (image.mode == "I" and image.format not in GREY_16_FORMATS):
                    skipped.append(f"{shown(file)} (32-bit pixels: save it with 8 or 16 bits a channel)")
                    continue
                turned = _orientation(image)
                mode = "L" if image.mode in ("P", "PA") and _grey_palette(image) else image.mode
                headers.append((index, mode, image.size[::-1] if turned in SIDEWAYS else image.size, turned))
        except Exception:
            skipped.append(f"{shown(file)} (unreadable)")
    return headers, skipped


def _grey_pixels(file: Path) -> bool:
    """Whether an image saved in colour holds greys alone (each pixel's red, green and blue alike), as a
    screenshot or a phone's copy of a grey image does: read in grey, it is the same image."""
    from PIL import Image

    try:
        with Image.open(file) as image:
            rgb = np.asarray(image.convert("RGB"))
    except Exception:  # unreadable: skipped, and said, where its pixels are read
        return False
    return bool((rgb == rgb[..., :1]).all())


def _grey_palette(image: Any) -> bool:
    """Whether a palette image (a GIF, an indexed PNG) holds only greys: grey, not colour, as its mode says."""
    palette = image.getpalette()
    rgb = np.asarray(palette or [1, 0, 0]).reshape(-1, 3)
    return bool((rgb == rgb[:, :1]).all())


def _pixels(files: list[Path], headers: list[Header], size: tuple[int, int], mode: str,
            shown: Callable[[Path], str], skipped: list[str], blank: list[str], resize: bool,
            heard: Heard) -> tuple[list[np.ndarray], list[int]]:
    """The uint8 pixels, upright and in ``mode``, of the images of ``size`` (of every image, resized to it,
    where ``resize``), and their indices in ``files``; those of another size that are not resized, and those
    whose pixels do not read, are added to ``skipped``, and those drawn in their opacity alone to ``blank``;
    Pillow's warnings kept in ``heard``."""
    from PIL import Image, ImageOps

    arrays, kept = [], []
    for index, _, (width, height), turned in headers:
        if (width, height) != size and not resize:
            skipped.append(f"{shown(files[index])} ({width}x{height}, not {size[0]}x{size[1]})")
            continue
        try:
            with _pillow_warnings(heard, shown(files[index])), Image.open(files[index]) as image:
                upright = ImageOps.exif_transpose(image) if turned != 1 else image
                opaque, drawn_in_opacity = _opaque(upright)
                read = _eight_bit(opaque).convert(mode)
                sized = read if read.size == size else read.resize(size, Image.Resampling.BILINEAR)
                pixels = np.asarray(sized, dtype=np.uint8)
        except Exception:  # a header that reads, pixels that do not (a truncated file)
            skipped.append(f"{shown(files[index])} (unreadable)")
            continue
        arrays.append(pixels)
        kept.append(index)
        if drawn_in_opacity and pixels.max() < DARK:  # a picture in its opacity alone: black on black
            blank.append(shown(files[index]))
    return arrays, kept


def _orientation(image: Any) -> int:
    """The EXIF orientation of an opened image (1: upright; `SIDEWAYS` ones swap width and height), where its
    header holds one: a PNG's EXIF after its pixels would cost reading them, and is taken as upright, as is
    a tag that is no orientation (not a whole number 1..8), which viewers and PIL's exif_transpose ignore."""
    if image.format == "PNG" and "exif" not in image.info:
        return 1
    value = image.getexif().get(EXIF_ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _opaque(image: Any) -> tuple[Any, bool]:
    """A PIL image with transparency laid onto black: a pixel's colour times its opacity. PIL's conversion
    drops the opacity and keeps whatever colour lies under a transparent pixel, which is no part of the
    picture (often black, but any colour an editor left there). And whether its opacity varies, so that it
    may hold the picture: dark ink on a transparent background is black on black."""
    from PIL import Image

    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and "transparency" not in image.info:
        return image, False
    if _sixteen_bit_grey(image):  # a grey level that is transparent: PIL's RGBA would clip the rest to 255
        clear = np.asarray(image) == image.info["transparency"]
        grey = np.where(clear, 0, np.asarray(_eight_bit(image))).astype(np.uint8)
        return Image.fromarray(grey, "L"), bool(clear.any() and not clear.all())
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)
    on_black = (rgba[..., :3] * rgba[..., 3:] / 255.0).round().astype(np.uint8)
    return Image.fromarray(on_black, "RGB"), bool(np.ptp(rgba[..., 3]) > 0)


def _eight_bit(image: Any) -> Any:
    """A PIL image with 16-bit grey (`_sixteen_bit_grey`) scaled to 8 bits, as a viewer shows it; PIL's
    conversion clips it instead, which turns most of such an image white."""
    from PIL import Image

    if not _sixteen_bit_grey(image):
        return image
    return Image.fromarray((np.asarray(image, dtype=np.float64) / 257.0).round().clip(0, 255).astype(np.uint8))


def _sixteen_bit_grey(image: Any) -> bool:
    """Whether a PIL image is 16-bit grey: a PNG's in mode I;16 and, in older Pillows, I, as is a 16-bit
    Netpbm's."""
    return image.mode.startswith("I;16") or (image.mode == "I" and image.format in GREY_16_FORMATS)


__all__ = ["ColourImages", "EXIF_ORIENTATION", "IMAGE_SUFFIXES", "UNREAD_SUFFIXES", "files_under", "image_files",
           "image_reading", "is_hidden", "is_image_file", "read_images", "warn_of_unread_images", "within"]
