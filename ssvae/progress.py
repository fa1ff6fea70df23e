"""How long work shows its progress: a bar where it can be redrawn (a terminal, a notebook); where it cannot
(a log file, a cluster job's output, a pipe), one plain line an epoch of training and nothing for shorter
work, since a bar's redraws would fill the log with carriage returns."""

from __future__ import annotations

import sys
from typing import Any, Iterable

from tqdm.autonotebook import tqdm
from tqdm.std import tqdm as plain_tqdm


def redrawable() -> bool:
    """Whether a bar can be redrawn where it shows: in a notebook (tqdm's widget), or on a terminal's stderr."""
    return tqdm is not plain_tqdm or (sys.stderr is not None and sys.stderr.isatty())


def bar(iterable: Iterable, show: bool, **options: Any) -> tqdm:
    """A tqdm bar over ``iterable`` (tqdm's ``options``), drawn only where ``show`` and it can be redrawn."""
    return tqdm(iterable, disable=not (show and redrawable()), **options)


def log_line(text: str) -> None:
    """``text`` as one line on stderr, at once: where no bar can be drawn, a long job's record of its steps.
    Nothing where stderr is closed (``2>&-``): print would write it to stdout, among a command's results."""
    if sys.stderr is not None:
        print(text, file=sys.stderr, flush=True)


__all__ = ["bar", "log_line", "redrawable"]
