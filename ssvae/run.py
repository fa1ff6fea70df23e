"""The run directory: everything needed to use, evaluate or repeat a training run.

    config.json          the Config (model, data, training settings)
    weights.safetensors  the model's tensors, with their digest and the seed and split of their run
    labels.json          the chosen indices (labelled, validation, test) so the run can be repeated exactly
    metrics.csv          one row an epoch
    checkpoint.safetensors  while training: model, optimiser, RNG states and epoch (removed at the end)
    ssvae-arrays.npz     a run trained on arrays held in memory: those arrays, which config.json names as its data

Every file is written to a temporary name and renamed, so an interrupted write never leaves half a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from ssvae.config import Config, ConfigError
from ssvae.errors import RunError
from ssvae.files import SET_ASIDE, OutputFolder, atomic_open, being_written, write_atomic
from ssvae.data import Split
from ssvae.models import Model, model_to_load
from ssvae.runtime import MODEL_JSON, RUN_CHECKPOINT, RUN_CONFIG, folder_of_folders
from ssvae.training import Checkpoint

CONFIG, WEIGHTS, LABELS, METRICS = RUN_CONFIG, "weights.safetensors", "labels.json", "metrics.csv"
CHECKPOINT = RUN_CHECKPOINT
# the data of a run trained on arrays held in memory (`ssvae.train(data=(x, y), out=...)`), by a name that no
# user's file of data is likely to have, since a replaced run folder's files go with it
ARRAYS = "ssvae-arrays.npz"
RUN_FOLDER = OutputFolder("run folder", (CONFIG, WEIGHTS, LABELS, METRICS, CHECKPOINT, ARRAYS), sets_aside=True)
METRIC_COLUMNS = ("stage", "epoch", "loss", "labelled_bound", "unlabelled_bound", "classification", "adversarial",
                  "consistency", "kl_weight", "train_accuracy", "val_accuracy", "seconds")


# the weights file's one metadata key (one: safetensors writes several in an order that differs between runs)
WEIGHTS_MARKS = "ssvae_weights"


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """A short digest (16 hex digits) of named tensors' bytes, kept in the file that holds them so that bytes
    changed since (a damaged disk, a copy cut short) are told apart from the tensors training wrote."""
    digest = hashlib.sha256()
    for name, tensor in sorted(tensors.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def save_weights(path: Path, model: Model, config: Config, split: Split) -> None:
    """The model's tensors, with their digest and the seed and split of the run they are of (`_read_weights`)."""
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    marks = {"tensors": tensors_digest(tensors), "seed": config.seed, "split": split.digest()}
    write_atomic(path, save_safetensors(tensors, metadata={WEIGHTS_MARKS: json.dumps(marks)}))


def save_metrics(path: Path, history: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_atomic(path, buffer.getvalue())


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Arrays held in memory as the .npz at ``path`` that the run's config names as its data."""
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def save_run(run_dir: Path, config: Config, split: Split) -> None:
    """What a run starts from: its config and label split (the weights follow when it has trained)."""
    write_atomic(run_dir / CONFIG, config.to_json())
    write_atomic(run_dir / LABELS, split.to_json())


def _read(run_dir: Path, name: str) -> bytes:
    path = run_dir / name
    if not path.is_file() and (run_dir / MODEL_JSON).is_file():
        raise RunError(f"{run_dir} is an exported model, not a training run: pass the run folder it was "
                       f"exported from ('ssvae info {run_dir}' shows its test accuracy)")
    if not path.is_file() and run_dir.is_dir() and (parent := folder_of_folders(run_dir, CONFIG, "run")):
        raise RunError(parent)
    if not path.is_file() and run_dir.is_dir() and folder_of_folders(run_dir, MODEL_JSON, "model"):
        raise RunError(f"{run_dir} holds exported models' folders, not a run's files: give the run folder (the --out "
                       f"of 'ssvae train') that one was exported from")
    if not path.is_file():
        raise RunError(f"{path}: missing; {run_dir} is not a complete run directory (train one with 'ssvae train')")
    return path.read_bytes()


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """One safetensors file: model, best model, weight average, optimiser moments and RNG states as tensors;
    stage, epoch, optimiser settings and scheduler as JSON in its metadata."""
    tensors = {f"model.{k}": v for k, v in checkpoint.model.items()}
    tensors.update({f"best.{k}": v for k, v in (checkpoint.best_model or {}).items()})
    tensors.update({f"average.{k}": v for k, v in (checkpoint.average or {}).items()})
    for index, state in checkpoint.optimizer["state"].items():
        tensors.update({f"optimizer.{index}.{k}": torch.as_tensor(v) for k, v in state.items()})
    tensors["rng.generator"], tensors["rng.torch"] = checkpoint.generator, checkpoint.torch_rng
    if checkpoint.cuda_rng is not None:
        tensors["rng.cuda"] = checkpoint.cuda_rng
    info = {"stage": checkpoint.stage, "epoch": checkpoint.epoch, "scheduler": checkpoint.scheduler,
            "best_val": checkpoint.best_val if math.isfinite(checkpoint.best_val) else None,
            "param_groups": checkpoint.optimizer["param_groups"], "plan": checkpoint.plan,
            "config": None if checkpoint.config is None else json.loads(checkpoint.config.to_json()),
            "split": checkpoint.split}
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    info["tensors"] = tensors_digest(tensors)
    write_atomic(path, save_safetensors(tensors, metadata={"ssvae_checkpoint": json.dumps(info)}))


def load_checkpoint(path: Path) -> Checkpoint:
    """The `Checkpoint` in the safetensors file ``path`` (`save_checkpoint`'s), or a RunError that says why
    there is none to resume from."""
    if not path.is_file() and (path.parent / WEIGHTS).is_file():
        raise RunError(f"{path.parent}: the run is finished (its {WEIGHTS} is there, and no checkpoint): there is "
                       f"nothing to resume or lengthen; evaluate or export it, or train a new, longer run (more "
                       f"--epochs, with another --out or --force; epochs=, out=, replace=True in Python)")
    if not path.is_file():
        set_aside = set_aside_files(path.parent)
        raise RunError(f"{path}: missing; there is nothing to resume (the run stopped before its first "
                       f"checkpoint): {set_aside or 'train it again'}")
    try:
        with safe_open(str(path), framework="pt") as f:
            saved = (f.metadata() or {}).get("ssvae_checkpoint")  # before the tensors: another program's file
            tensors = {k: f.get_tensor(k) for k in f.keys()} if saved is not None else {}
    except (SafetensorError, ValueError) as error:
        raise _unreadable(path, error) from error
    if saved is None:
        raise RunError(f"{path}: a safetensors file, but not a checkpoint 'ssvae train' wrote (it holds no "
                       f"ssvae_checkpoint metadata): restore the run's own, or train the run again")
    try:
        info = json.loads(saved)
    except (ValueError, RecursionError) as error:
        raise _unreadable(path, error) from error
    _check_digest(info if isinstance(info, dict) else {}, tensors, path)
    try:
        return _checkpoint(info, tensors)
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise _unreadable(path, error) from error


def set_aside_files(run_dir: Path) -> str | None:
    """What to say of the earlier run's files that wait in ``run_dir``'s `SET_ASIDE` folder, where a training
    over it was killed before its first checkpoint (one that runs now holds the lock: `being_written`)."""
    if not (run_dir / SET_ASIDE).is_dir() or being_written(run_dir):
        return None
    return (f"a training over the run there was killed before its first checkpoint, and that run's files wait in "
            f"{run_dir / SET_ASIDE}: move them back, or train there again with --force")


def weights_problem(run_dir: Path, config: Config, split: Split) -> str | None:
    """What is wrong with a run's weights file (`_read_weights`: cut short, damaged, another run's), or None
    where it is sound or not there."""
    try:
        _read_weights(run_dir, config, split) if (run_dir / WEIGHTS).is_file() else None
    except RunError as error:
        return str(error)
    return None


def _read_weights(run_dir: Path, config: Config, split: Split) -> dict[str, torch.Tensor]:
    """The tensors of a run's weights file, or a RunError where it cannot be read, its tensors differ from the
    digest written with them (damaged since), or it is of another run than config.json and labels.json
    describe (another seed or labels: a file copied in). Files of an older ssvae, without these marks, are
    taken as they are."""
    path = run_dir / WEIGHTS
    try:
        state = load_safetensors(_read(run_dir, WEIGHTS))
        with safe_open(str(path), framework="pt") as f:
            marks = json.loads((f.metadata() or {}).get(WEIGHTS_MARKS, "{}"))
        if not isinstance(marks, dict) or (marks and not {"tensors", "seed", "split"} <= marks.keys()):
            raise ValueError(f"its {WEIGHTS_MARKS} metadata is not as training wrote it")
    except (ValueError, SafetensorError, RecursionError) as error:
        raise RunError(_unreadable_weights(run_dir, error)) from error
    _check_digest(marks, state, path)
    if marks and (marks["seed"], marks["split"]) != (config.seed, split.digest()):
        which = f"seed {marks['seed']}" if marks["seed"] != config.seed else "other labels"
        raise RunError(f"{path}: the weights of another run ({which}) than {CONFIG} and {LABELS} describe: "
                       f"restore this run's own, or the files of the run they are of")
    return state


def _unreadable_weights(run_dir: Path, error: Exception) -> str:
    return f"{run_dir / WEIGHTS}: unreadable, corrupt or cut short ({error}); restore the file or train the run again"


def _unreadable(path: Path, error: Exception) -> RunError:
    return RunError(f"{path}: unreadable checkpoint ({type(error).__name__}: {error}): restore it as training "
                    f"wrote it, or train the run again")


def _checkpoint(info: dict, tensors: dict[str, torch.Tensor]) -> Checkpoint:
    """The `Checkpoint` of a checkpoint file's metadata ``info`` and ``tensors``; a KeyError, ValueError or
    TypeError where they are not as `save_checkpoint` wrote them."""
    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in part("optimizer.").items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    stage, epoch, best = info["stage"], info["epoch"], info["best_val"]
    if not (type(stage) is int and type(epoch) is int and (best is None or type(best) in (int, float))):
        raise TypeError("stage and epoch must be whole numbers, best_val a number or null")
    if any(v.dtype != torch.uint8 for k, v in tensors.items() if k.startswith("rng.")):
        raise TypeError("random generator states must be bytes")
    config = Config.from_dict(info["config"]) if info.get("config") is not None else None
    return Checkpoint(stage, epoch, part("model."), {"state": state, "param_groups": info["param_groups"]},
                      info["scheduler"], tensors["rng.generator"], tensors["rng.torch"],
                      -math.inf if best is None else best, part("best.") or None, part("average.") or None,
                      tensors.get("rng.cuda"), _plan(info.get("plan")), config, info.get("split"))


def _plan(saved: list | None) -> tuple[tuple[str, int], ...] | None:
    return None if saved is None else tuple((name, epochs) for name, epochs in saved)


def load_spec(run_dir: Path) -> tuple[Config, Split]:
    """The config and label split of a run directory: enough to rebuild its data and untrained model."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: a file, not a run directory; give the --out folder of 'ssvae train'")
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run directory; give the --out folder of 'ssvae train'")
    try:
        config = Config.from_json(_read(run_dir, CONFIG).decode())
    except (ConfigError, UnicodeDecodeError) as error:
        raise RunError(f"{run_dir / CONFIG}: {error}; correct the file as 'ssvae train' wrote it, or train the "
                       f"run again with this version of ssvae") from error
    labels = _read(run_dir, LABELS)
    try:
        split = Split.from_json(labels.decode())
        if split.untested and config.test_fraction:  # none held out, where the run held a share out
            raise ValueError("test names no example")
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise RunError(f"{run_dir / LABELS}: not as training wrote it ({error}): restore it, or train the run "
                       f"again") from error
    if (config.labels not in (None, split.labels_seen)) or len(split.validation) != config.val_labels:
        raise RunError(f"{run_dir}: {LABELS} names {split.labels_seen} labels, {len(split.validation)} of them "
                       f"for validation, where {CONFIG} says {config.labels or 'all'} and {config.val_labels}: "
                       f"restore both files as training wrote them, or train the run again")
    return _with_own_arrays(config, run_dir), split


def _with_own_arrays(config: Config, run_dir: Path) -> Config:
    """A run trained on arrays held in memory keeps them in its folder (`ARRAYS`), which its config names by
    a whole path: where the folder was moved or copied since, the arrays beside the config are its data."""
    if config.data is None or Path(config.data).name != ARRAYS or not (run_dir / ARRAYS).is_file():
        return config
    return config.replace(data=str((run_dir / ARRAYS).resolve()))


def load_run(run_dir: Path) -> tuple[Config, Split, Model]:
    """Config, split and the trained model (on the CPU, in eval mode) of a run directory."""
    config, split = load_spec(run_dir)
    if not (run_dir / WEIGHTS).is_file() and being_written(run_dir):
        raise RunError(f"{run_dir}: being trained by another ssvae process now, which has not written its "
                       f"{WEIGHTS} yet: let it finish")
    if not (run_dir / WEIGHTS).is_file() and (run_dir / CHECKPOINT).is_file():
        raise RunError(f"{run_dir}: the run is unfinished (a checkpoint, no {WEIGHTS} yet): continue it with "
                       f"'ssvae train --resume {run_dir}', adding --epochs N to end its last stage at epoch N, as "
                       f"early as its checkpoint's (in Python: ssvae.resume(RUN_DIR, epochs=N)), or let the training "
                       f"that writes it finish")
    if not (run_dir / WEIGHTS).is_file() and (set_aside := set_aside_files(run_dir)):
        raise RunError(f"{run_dir}: holds no {WEIGHTS}: {set_aside}")
    if not (run_dir / WEIGHTS).is_file():
        raise RunError(f"{run_dir}: holds no {WEIGHTS} (the training that wrote it stopped before its first "
                       f"checkpoint, or the file was removed): train the run again, with --force over this folder")
    model = model_to_load(config)
    fit_weights(model, _read_weights(run_dir, config, split), run_dir / WEIGHTS)
    model.eval()
    return config, split, model


def _check_digest(marks: dict[str, Any], tensors: dict[str, torch.Tensor], path: Path) -> None:
    """A RunError where the tensors of the safetensors file ``path`` differ from the digest its metadata
    holds (``marks["tensors"]``): bytes changed since it was written. A file of an older ssvae holds none."""
    if "tensors" in marks and marks["tensors"] != tensors_digest(tensors):
        raise RunError(f"{path}: damaged (its tensors no longer match the digest written with them): restore it "
                       f"as training wrote it, or train the run again")


def fit_weights(model: Model, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load ``state``, read from ``path``, into ``model``, or say in one line that it is not the model the
    run's config.json describes (a file from another run, or a config.json edited since), or not weights
    training wrote (of another type, which loading would convert, or not finite, which training never keeps)."""
    def unfit(detail: str) -> RunError:
        return RunError(f"{path}: does not fit the model in {CONFIG} ({detail}); restore both files as training "
                        f"wrote them, or train the run again")

    own = model.state_dict()
    if wrong := next((k for k, t in state.items() if k in own and t.dtype != own[k].dtype), None):
        raise unfit(f"{wrong} is {state[wrong].dtype}, not {own[wrong].dtype}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        lines = str(error).splitlines() or ["no detail"]  # a header, then one line a mismatch
        raise unfit((lines[1].strip() if len(lines) > 1 else lines[0])[:200]) from error
    if broken := next((k for k, t in state.items() if t.is_floating_point() and not t.isfinite().all()), None):
        raise RunError(f"{path}: {broken} holds NaN or inf, which training never keeps: restore the file as "
                       f"training wrote it, or train the run again")


def _metric(column: str, cell: str) -> str | int | float:
    if column == "stage":
        return cell
    try:
        return int(cell) if column == "epoch" else float(cell)
    except ValueError:
        raise ValueError(f"column {column} holds {cell!r}, not a number") from None


def read_metrics(run_dir: Path) -> list[dict[str, str | int | float]]:
    """The rows of ``metrics.csv`` as training recorded them: numbers as numbers, and no key for an empty
    cell (a column the run does not measure), as in the records training makes."""
    path = run_dir / METRICS
    fix = "restore the file, or delete it (the run goes without the earlier epochs' records)"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows, header = list(reader), reader.fieldnames  # read while open: an empty file has none
    except (UnicodeDecodeError, csv.Error) as error:
        raise RunError(f"{path}: not a CSV file as training wrote it ({error}): {fix}") from error
    if header is None:
        raise RunError(f"{path}: empty, where training writes a header line (cut short?): {fix}")
    if unknown := [column for column in header if column not in METRIC_COLUMNS]:
        raise RunError(f"{path}: its header is not as training wrote it (column {unknown[0]!r}; cut short?): {fix}")
    records = []
    for number, row in enumerate(rows, 1):
        try:
            if None in row or None in row.values():
                raise ValueError("a field too many or too few")
            records.append({column: _metric(column, cell) for column, cell in row.items() if cell != ""})
        except ValueError as error:
            raise RunError(f"{path}: row {number} is not as training wrote it ({error}): {fix}") from error
    return records


__all__ = ["ARRAYS", "CHECKPOINT", "CONFIG", "LABELS", "METRICS", "RUN_FOLDER", "WEIGHTS", "fit_weights",
           "load_checkpoint", "load_run", "load_spec", "read_metrics", "save_arrays", "save_checkpoint", "save_metrics",
           "save_run", "save_weights", "set_aside_files", "tensors_digest", "weights_problem"]
