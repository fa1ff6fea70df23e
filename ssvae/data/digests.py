"""Whether two paths hold the same data, a copy under another name included: a file by its bytes, a folder by
its images' paths and bytes. Evaluation warns with it where a model is tested on the examples it trained on."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ssvae.data.images import image_files
from ssvae.files import file_digest


def data_digest(path: str | Path) -> str:
    """A short digest (16 hex digits) of a file's bytes, or of a folder's images as a run reads them
    (`image_files`: not hidden ones, nor the files a run folder inside it writes): their paths and bytes."""
    path = Path(path)
    if path.is_file():
        return file_digest(path)
    digest = hashlib.sha256()
    for file, name, size in _images(path):
        digest.update(f"{name}\0{size}\0".encode("utf-8", "surrogateescape"))
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _images(folder: Path) -> list[tuple[Path, str, int]]:
    """A folder's images (`image_files`), each with its path inside the folder and its size in bytes."""
    return [(file, file.relative_to(folder).as_posix(), file.stat().st_size) for file in image_files(folder, folder)]


def same_data(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are one file or folder, or two of the same data (`data_digest`: a copy); False
    where either is not there. Folders whose images differ in name or size are told apart before any is read."""
    a, b = Path(a), Path(b)
    if not (a.exists() and b.exists()):
        return False
    if os.path.samefile(a, b):
        return True
    if a.is_dir() and b.is_dir() and [image[1:] for image in _images(a)] != [image[1:] for image in _images(b)]:
        return False  # other names or sizes: told without reading the images
    return a.is_file() == b.is_file() and data_digest(a) == data_digest(b)


__all__ = ["data_digest", "same_data"]
