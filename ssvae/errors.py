"""The errors a user can fix, each with a message that names the problem and the fix. The command line
prints them as one line; they live here, free of torch, so that commands which do not train start fast."""


from __future__ import annotations

import re

from ssvae.runtime import listed, user_stacklevel  # the runtime's own, which it needs alone too


class DataError(ValueError):
    """Input data that cannot be used."""


class RunError(ValueError):
    """A run directory (or an output path) that cannot be read or written as asked."""


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss); the message says where and what to change."""


class ExportError(RuntimeError):
    """An exported graph failed its checks; nothing was written."""


def check_flags(error: type[Exception], **flags: object) -> None:
    """An ``error`` naming the first of ``flags`` given something other than True or False: "no" and "int8"
    are both true, and would turn on what they were meant to say. A string is the command line's spelling
    (--quantize int8), so its message says how Python spells it."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            spelling = f" (write {name}=True or {name}=False)" if isinstance(value, str) else ""
            raise error(f"{name} must be True or False, got {value!r}{spelling}")


def type_name(value: object) -> str:
    """A value's type as a message names it: ``tuple``, ``numpy.ndarray``."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


# What a terminal takes for a command, not a character to show: C0 controls but the tab and the line break, DEL
# and C1 controls. ESC begins the sequences that clear the screen, move the cursor or set the window's title.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """``text`` as the command line prints it: each control character (`CONTROL_CHARACTERS`) written as its
    escape (ESC as \\x1b), so that a class name, a file name or metadata from a model folder or data someone
    else made is shown, and cannot clear the screen, recolour it or retitle the window."""
    return CONTROL_CHARACTERS.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


SAVE_ARRAYS = "give a path to a file or folder (save arrays with np.savez('data.npz', x=x, y=y))"  # data in memory


__all__ = ["DataError", "ExportError", "RunError", "TrainingError", "SAVE_ARRAYS", "listed", "terminal_text",
           "type_name", "user_stacklevel"]
