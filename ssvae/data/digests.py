"""Whether two paths hold the same data, a copy under another name included: a file by its bytes, a folder of images
by its images' file names, sizes and bytes at each end, whatever sub-folder holds them. Evaluation warns with it
where a model is tested on the examples it trained on."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ssvae.data.images import image_files


def file_digest(path: str | Path) -> str:
    """A short digest of a file's bytes (16 hex digits, as the weights' digest): it tells a copy of a file
    under another name or path from other data."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


# the bytes of each image a folder's digest reads at each end: enough to tell apart images of one size, as
# uncompressed ones (BMP, PGM, TIFF) of one width and height all are, without reading large photos whole
ENDS_READ = 4096


def data_digest(path: str | Path) -> str:
    """A short digest (16 hex digits) of a file's bytes, or of a folder's images in its sub-folders (its
    classes and ``unlabelled/``, as `image_files` finds them: not hidden ones, nor images beside the
    sub-folders, which a run does not read): their file names, sizes and first and last `ENDS_READ` bytes,
    whatever sub-folder holds them, so that the folder is the same data after images were labelled (moved
    from ``unlabelled/`` into a class folder) or relabelled. Not every byte: a copy keeps them all, and reading
    every large photo of a folder whole to compare it would cost as much as the evaluation it warns of."""
    path = Path(path)
    if path.is_file():
        return file_digest(path)
    images = sorted((file.name, file.stat().st_size, _ends(file)) for file in image_files(path, path)
                    if file.parent != path)
    digest = hashlib.sha256()
    for name, size, ends in images:
        digest.update(f"{name}\0{size}\0".encode("utf-8", "surrogateescape") + ends)
    return digest.hexdigest()[:16]


def _ends(file: Path) -> bytes:
    """The first and last `ENDS_READ` bytes of ``file`` (all of a file of up to twice as many)."""
    with open(file, "rb") as f:
        head = f.read(ENDS_READ)
        if len(head) < ENDS_READ:
            return head
        f.seek(max(ENDS_READ, os.fstat(f.fileno()).st_size - ENDS_READ))
        return head + f.read(ENDS_READ)


def same_data(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are one file or folder, or two of the same data (`data_digest`: a copy); False
    where either is not there."""
    a, b = Path(a), Path(b)
    if not (a.exists() and b.exists()):
        return False
    return os.path.samefile(a, b) or (a.is_file() == b.is_file() and data_digest(a) == data_digest(b))


__all__ = ["data_digest", "file_digest", "same_data"]
