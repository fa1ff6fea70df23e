"""ssvae: semi-supervised variational autoencoders that learn from few labels and export to ONNX.

    run = ssvae.train(labels=100, out="runs/digits")  # torch: M2 on the bundled digits (their preset)
    report = ssvae.evaluate(run)                      # as ssvae evaluate; ssvae.describe_run is ssvae info of
    ssvae.export(run, "models/digits")                # a run folder, ssvae.load and ssvae.resume read one
    model = ssvae.runtime.load("models/digits")       # numpy + onnxruntime only: what an app embeds

The names below load on first use, so that ``import ssvae.runtime`` never pulls in torch.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# onnxruntime's official builds send usage events to Microsoft: off unless the environment says otherwise, set
# before any module of the package loads onnxruntime (ssvae.runtime sets it too, for a copy of it alone)
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"

_LAZY = {
    "Config": "ssvae.config",
    "Run": "ssvae.api",
    "train": "ssvae.api",
    "load": "ssvae.api",
    "evaluate": "ssvae.evaluation",
    "baseline": "ssvae.api",
    "resume": "ssvae.api",
    "describe_run": "ssvae.api",
    "export": "ssvae.onnx_export",
    # what they raise for input a user can fix, each with a message that says how (ValueErrors, but for
    # TrainingError and ExportError)
    "ConfigError": "ssvae.config",
    "DataError": "ssvae.errors",
    "RunError": "ssvae.errors",
    "TrainingError": "ssvae.errors",
    "ExportError": "ssvae.errors",
    "ModelError": "ssvae.runtime",
}


# modules a user reaches as ssvae.NAME after a plain ``import ssvae`` (the README's ssvae.training.accuracy, say)
_MODULES = ("runtime", "inference", "config", "settings", "data", "training")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"ssvae.{name}")
    if name not in _LAZY:
        raise AttributeError(f"module 'ssvae' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


def __dir__() -> list[str]:
    """What a REPL or notebook offers after ``ssvae.``: the lazy names, the modules and the module's own
    ``__name__``s, not this file's imports (``importlib``, ``Any``)."""
    return sorted({*__all__, *_MODULES, *(name for name in globals() if name.startswith("__"))})


__all__ = [*_LAZY, "__version__"]
