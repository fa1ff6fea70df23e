"""Writing files so that nothing is ever half-written or overwritten by surprise."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from ssvae.errors import RunError


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file that appears at ``path`` only once it is complete: written under a temporary name in the same
    folder and renamed; on an error the temporary file is removed and ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, usual_mode(directory=False))
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def usual_mode(directory: bool) -> int:
    """The permissions ``open`` or ``mkdir`` would give a new file or folder under the process's umask. The
    temporary names above are created owner-only (0600, 0700), which would otherwise stay after the rename and
    hide predictions, images and model folders from other users, services and containers."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically (see `atomic_open`)."""
    with atomic_open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def check_output(path: Path, replace: bool, folder_marker: str | None = None) -> None:
    """Refuse to overwrite an existing output unless ``replace``. A file output never replaces a folder. A
    folder output (a run directory, a model folder) names ``folder_marker``, a file ssvae always writes in it:
    ``replace`` then removes only a folder that holds one, so a mistyped --out never deletes a user's folder."""
    if not path.exists() or (folder_marker is not None and path.is_dir() and not any(path.iterdir())):
        return
    if folder_marker is None and path.is_dir():
        raise RunError(f"{path} is a folder: give --out the name of the file to write")
    if not replace:
        raise RunError(f"{path} already exists: choose another --out or pass --force to replace it (in Python: "
                       f"another out, or replace=True)")
    if folder_marker is not None and not (path / folder_marker).is_file():
        raise RunError(f"{path} was not written by ssvae (it has no {folder_marker}), so --force (replace=True) "
                       f"leaves it alone: choose another --out")


__all__ = ["atomic_open", "write_atomic", "check_output", "usual_mode"]
