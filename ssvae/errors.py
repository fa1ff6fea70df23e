"""The errors a user can fix, each with a message that names the problem and the fix. The command line
prints them as one line; they live here, free of torch, so that commands which do not train start fast."""


from __future__ import annotations

from typing import Sequence


class DataError(ValueError):
    """Input data that cannot be used."""


class RunError(ValueError):
    """A run directory (or an output path) that cannot be read or written as asked."""


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss); the message says where and what to change."""


class ExportError(RuntimeError):
    """An exported graph failed its checks; nothing was written."""


def type_name(value: object) -> str:
    """A value's type as a message names it: ``tuple``, ``numpy.ndarray``."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def listed(items: Sequence[str], most: int = 5) -> str:
    """The first ``most`` of ``items`` as a message lists them, and how many it leaves out: "a, b and 3 more"."""
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


SAVE_ARRAYS = "give a path to a file or folder (save arrays with np.savez('data.npz', x=x, y=y))"  # data in memory


__all__ = ["DataError", "ExportError", "RunError", "TrainingError", "SAVE_ARRAYS", "listed", "type_name"]
