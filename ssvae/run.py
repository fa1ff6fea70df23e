"""The run directory: everything needed to use, evaluate or repeat a training run.

    config.json          the Config (model, data, training settings)
    weights.safetensors  the model's tensors
    labels.json          the chosen indices (labelled, validation, test) so the run can be repeated exactly
    metrics.csv          one row an epoch

Every file is written to a temporary name and renamed, so an interrupted write never leaves half a file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from ssvae.config import Config, ConfigError
from ssvae.data import Split
from ssvae.models import Model, build_model

CONFIG, WEIGHTS, LABELS, METRICS = "config.json", "weights.safetensors", "labels.json", "metrics.csv"
METRIC_COLUMNS = ("stage", "epoch", "loss", "labelled_bound", "unlabelled_bound", "classification", "kl_weight",
                  "train_accuracy", "val_accuracy", "seconds")


class RunError(ValueError):
    """A run directory that cannot be read; the message names the file and the fix."""


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file that appears at ``path`` only once it is complete: written under a temporary name in the same
    folder and renamed; on an error the temporary file is removed and ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically (see `atomic_open`)."""
    with atomic_open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def check_output(path: Path, replace: bool) -> None:
    """Refuse to overwrite an existing file or non-empty folder unless ``replace``."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not replace:
        raise RunError(f"{path} already exists: choose another --out or pass --force to replace it")


def save_weights(path: Path, model: Model) -> None:
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    write_atomic(path, save_safetensors(tensors))


def save_metrics(path: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_atomic(path, buffer.getvalue())


def save_run(run_dir: Path, config: Config, split: Split, model: Model | None = None) -> None:
    write_atomic(run_dir / CONFIG, config.to_json())
    write_atomic(run_dir / LABELS, split.to_json())
    if model is not None:
        save_weights(run_dir / WEIGHTS, model)


def _read(run_dir: Path, name: str) -> bytes:
    path = run_dir / name
    if not path.is_file():
        raise RunError(f"{path}: missing; {run_dir} is not a complete run directory (train one with 'ssvae train')")
    return path.read_bytes()


def load_run(run_dir: Path) -> tuple[Config, Split, Model]:
    """Config, split and the trained model (on the CPU, in eval mode) of a run directory."""
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory; give the --out folder of 'ssvae train'")
    try:
        config = Config.from_json(_read(run_dir, CONFIG).decode())
    except (ConfigError, UnicodeDecodeError) as error:
        raise RunError(f"{run_dir / CONFIG}: {error}; retrain with this version of ssvae") from error
    try:
        split = Split.from_json(_read(run_dir, LABELS).decode())
    except (ValueError, KeyError, TypeError) as error:
        raise RunError(f"{run_dir / LABELS}: unreadable ({error}); retrain to recreate it") from error
    model = build_model(config)
    try:
        state = load_safetensors(_read(run_dir, WEIGHTS))
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, SafetensorError) as error:
        raise RunError(f"{run_dir / WEIGHTS}: does not fit the model in {CONFIG} ({str(error).splitlines()[0]}); "
                       f"retrain or restore the file") from error
    model.eval()
    return config, split, model


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / METRICS, newline="") as f:
        return list(csv.DictReader(f))


__all__ = ["RunError", "atomic_open", "check_output", "load_run", "save_run", "save_metrics", "save_weights",
           "write_atomic", "read_metrics"]
