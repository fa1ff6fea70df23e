"""`ssvae evaluate` and `ssvae.evaluate`: a run (torch) or an exported model (onnxruntime alone).

One entry for both, which tells them apart before torch is imported, so that a model is tested where torch is
not installed (a machine that only applies models).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssvae import inference, runtime
from ssvae.data.sources import BUILTIN, arrays_given
from ssvae.errors import RunError, check_flags
from ssvae.files import given_path
from ssvae.runtime import MODEL_JSON, RUN_CONFIG, folder_of_folders

if TYPE_CHECKING:
    from ssvae.api import Run
    from ssvae.onnx_export import ExportReport


def evaluate(run: Run | runtime.ExportedModel | ExportReport | str | Path, data: str | Path | Any = None,
             dataset: str | None = None, split: str = "test", data_dir: str | Path | None = None,
             device: str = "auto", precision: str = "float32", baseline: bool = False,
             progress: bool = False, threads: int | None = None) -> dict[str, Any]:
    """Test accuracy, per-class recall and precision, confusion matrix (rows: true class), the predictions at
    least 0.999, 0.99 and 0.9 confident and how right they are (``by_confidence``) and test ELBO; with
    validation labels, the epoch kept by them. The test set is the run's held-out one, or the labelled
    examples of ``data``: a file or folder or arrays held in memory, as `ssvae.train` takes them (an .npz's
    x_test and y_test where it has them), whose classes are the run's by name. With ``baseline``, also the
    accuracy on the same test set of the run's supervised baseline (`ssvae.baseline`, trained here with a bar
    where ``progress``).

    A model folder written by `ssvae export` (or the report `ssvae.export` returns, which names it), or one
    loaded (`ssvae.runtime.load`, on its device and in its precision), is tested through its graphs instead
    (`ssvae.inference.evaluate`, no test ELBO, no torch), on ``data`` or on ``split`` of the built-in
    ``dataset`` (by default, the one it was trained on, where it was), with the graphs of ``precision`` on
    ``device`` and ``threads`` CPU threads (None: onnxruntime's default, every core): those six settings are
    an export's, and a run refuses them; an export has no baseline."""
    check_flags(RunError, baseline=baseline, progress=progress)
    data = held if (held := arrays_given(data)) is not None else data  # arrays converted once, not at each use
    if isinstance(run, runtime.ExportedModel):
        if baseline:
            raise _no_baseline(f"{run!r}")
        return _evaluate_export(run, data, dataset, split, data_dir, device, precision, threads)
    run = getattr(run, "model_dir", run)  # the report of `ssvae.export`, as `ssvae.inference` takes it: its folder
    if isinstance(run, (str, os.PathLike)) and _evaluated_folder(folder := given_path(run, "run"), baseline) == "model":
        return _evaluate_export(folder, data, dataset, split, data_dir, device, precision, threads)
    from ssvae.api import evaluate_run  # torch, which a run needs and a model does not

    return evaluate_run(run, data, dataset, split, data_dir, device, precision, threads, baseline, progress)


def _no_baseline(model: str) -> RunError:
    return RunError(f"--baseline (baseline= in Python) trains on a run's data, which {model}, an exported model, "
                    f"does not keep: evaluate the run folder it was exported from")


def _evaluated_folder(folder: Path, baseline: bool) -> str:
    """What ``folder`` holds for `evaluate`: "model" (an export) or "run"; a RunError, before the options are
    read as those of either, where it is neither (missing, or a folder of them) or is a model with ``baseline``."""
    if folder.exists() and not folder.is_dir():
        raise RunError(f"{folder}: a file, not a run or model folder; give the --out folder of 'ssvae train' or of "
                       f"'ssvae export'")
    if not folder.is_dir():
        raise RunError(f"{folder}: no such run or model folder; give the --out folder of 'ssvae train' or of "
                       f"'ssvae export'")
    if runtime.is_model_folder(folder):
        if baseline:
            raise _no_baseline(str(folder))
        return "model"
    if not (folder / RUN_CONFIG).is_file() and (inside := folder_of_folders(folder, RUN_CONFIG, "run")
                                                or folder_of_folders(folder, MODEL_JSON, "model")):
        raise RunError(inside)
    return "run"


def _evaluate_export(model: runtime.ExportedModel | Path, data: str | Path | Any, dataset: str | None, split: str,
                     data_dir: str | Path | None, device: str, precision: str, threads: int | None) -> dict[str, Any]:
    """`evaluate` of an exported model (a folder, or one loaded: on the device, in the precision and with the
    threads it was loaded with): its graphs on labelled data of one's own or on a built-in set's split; with
    neither, on the built-in set it was trained on, where it was."""
    if isinstance(model, Path):
        model = runtime.load(model, device, precision, threads)
    elif precision not in ("float32", model.precision) or device not in ("auto", model.device) \
            or threads not in (None, model.threads):
        raise RunError(f"{model!r} was loaded on its device, in its precision and with its threads: load its folder "
                       f"again with ssvae.runtime.load(MODEL_DIR, device=, precision=, threads=) to test others, or "
                       f"pass the folder")
    if data is None and dataset is None:
        if model.info.get("dataset") not in BUILTIN:
            raise RunError(_no_test_set(model))
        dataset = model.info["dataset"]
    return inference.evaluate(model, data, dataset, split, data_dir)


def _no_test_set(model: runtime.ExportedModel) -> str:
    """Why an exported model trained on data of one's own needs test data given, and which: those its run was
    tested on (``--test-data``), where it had any; any but its training data, where its run held out none."""
    tested_on = model.info.get("test_data")
    if inference.held_out_none(model):
        return (f"{model.model_dir} is an exported model whose run held out no test set (--test-fraction 0): pass "
                f"labelled data of your own, which it did not train on, with --data (data=)")
    data = f"the test data its run was tested on ({tested_on})" if tested_on else "labelled data of your own"
    return (f"{model.model_dir} is an exported model, which keeps no test set: pass {data} with --data (data=), "
            f"or evaluate the run folder it was exported from")


__all__ = ["evaluate"]
