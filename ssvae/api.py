"""The Python API; the command line is a thin layer over it.

    run = ssvae.train(dataset="digits", labels=100, out="runs/digits")
    run = ssvae.load("runs/digits")
    probabilities = run.classify(images)          # (N, K)
    report = ssvae.evaluate(run)                  # accuracy, per-class recall and precision, confusion, test ELBO
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ssvae.config import EDITABLE_FOR_RESUME, Config, ConfigError, both_spellings, check_names, setting_name
from ssvae.settings import config_for, supervised_counterpart, train_command
from ssvae.model_card import shown_config
from ssvae.data import DataError, Dataset, ModelInputs, Partition, Source, Split
from ssvae.data.dataset import as_data_error
from ssvae.data.digests import same_data
from ssvae.data.sources import (arrays_given, arrays_source, load_for_testing, load_labelled, source_name,
                                tested_name, tested_part)
from ssvae.data.images import ColourImages
from ssvae.errors import SAVE_ARRAYS, RunError, check_flags, type_name, user_stacklevel
from ssvae.models import Model, Stage, build_model, model_to_load
from ssvae.files import being_written, check_writable, given_path, sole_writer, write_atomic
from ssvae.report import classification_report, evaluation_report, warn_not_held_out
from ssvae.run_data import load_data, new_run_data
from ssvae.run import (ARRAYS, CHECKPOINT, CONFIG, LABELS, METRIC_COLUMNS, METRICS, RUN_FOLDER, WEIGHTS, fit_weights,
                       load_checkpoint, load_run, load_spec, read_metrics, save_arrays, save_checkpoint, save_metrics,
                       save_run, save_weights, set_aside_files, weights_problem)
from ssvae.runtime import check_count, prepare_inputs
from ssvae.training import (Checkpoint, EpochHook, active_stages, denormals_flushed, fit, float32_default, kept_epoch,
                            predict_logits, resolve_device, stage_plan, threads_set)


@dataclass
class Run:
    """A trained model with the config and label split that made it: what `train`, `load` and `resume` return,
    and what `evaluate`, `baseline` and `ssvae.export` take. ``classify(x)`` gives class probabilities."""

    config: Config  # every setting, as config.json holds it
    split: Split  # which examples were labelled, validation and test (labels.json)
    model: Model  # the torch network (eval mode for inference)
    run_dir: Path | None = None  # the run folder, if it was written to one
    history: list[dict] | None = None  # one record an epoch, as metrics.csv holds them (None: it is unreadable)
    loaded: Partition | None = field(default=None, repr=False)  # the partition, once read
    unlabelled_changed: bool = field(default=False, repr=False)  # since it trained (`partition`)

    def __repr__(self) -> str:
        """What the run is, in a line (a dataclass's repr listed every index of the split and every layer)."""
        c = self.config
        where = None if self.run_dir is None else str(self.run_dir)
        return (f"Run(model={c.model!r}, data={c.data or c.dataset!r}, labels_seen={self.split.labels_seen}, "
                f"classes={len(c.class_names)}, run_dir={where!r})")

    def partition(self, training: bool = False) -> Partition:
        """The run's data: the same labelled, validation, unlabelled and test examples. Read once and kept,
        so that evaluating a run just trained neither reads its files again nor repeats their warnings. Its
        examples it trained on without labels may have changed since (images added to ``unlabelled/``) where
        those it trained or was tested on with their labels have not: a warning says so, and ``training`` (a
        resume) refuses them."""
        c = self.config
        if self.loaded is None:
            self._check_data_there()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ColourImages)  # the model takes colour now: said when it trained
                source = load_data(c)
            self.unlabelled_changed = self._check_same_data(source)
            if self.unlabelled_changed and not training:
                warnings.warn(f"{c.data or c.dataset}: examples the run trained on without labels changed since "
                              f"(added, removed, or labelled since; {len(source.train)} examples now), and those "
                              f"it trained or was tested on with their labels did not: train a new run to learn "
                              f"from the new ones", stacklevel=user_stacklevel())
            self.loaded = self.split.apply(source)
        if training and self.unlabelled_changed:
            raise DataError(f"{c.data or c.dataset}: examples the run trained on without labels changed since it "
                            f"began (added, removed, or labelled since), and a resume must train on the same ones: "
                            f"restore them, or train a new run on the data as they are")
        return self.loaded

    def _check_data_there(self) -> None:
        """A trained run reads its data where its config names them: where a file is gone, say how to point the
        run at its new place (config.json), since the weights need not be trained again."""
        where = self.run_dir / CONFIG if self.run_dir is not None else "the run's config"
        for option, path in (("data", self.config.data), ("test_data", self.config.test_data)):
            if path is not None and not Path(path).exists():
                raise DataError(f"{path}: no such file or folder, and the run was trained on it: put it back, or "
                                f"set \"{option}\" in {where} to where it is now")

    def _check_same_data(self, source: Source) -> bool:
        """Refuse data changed since the run was trained (a file cut short, another file of the same name, an
        image changed), whose examples the split's indices would no longer name; whether only the examples it
        trained on without labels changed (images added to ``unlabelled/``, or moved into class folders once
        labelled, where the split's images are found by name at their new places: the run's split then names
        them there)."""
        c, split, train = self.config, self.split, source.train
        last = max((*split.labelled, *split.validation, *(split.test or ())), default=-1)
        reasons = []
        if train.input_shape != c.input_shape:
            reasons.append(f"examples of shape {train.input_shape}, the run's were {c.input_shape}")
        if train.class_names != c.class_names:
            reasons.append(f"classes {', '.join(train.class_names)}, the run's were {', '.join(c.class_names)}")
        if not reasons and not split.made_from(source):
            if split.names_the_same_examples(source):
                return True
            found = split.found_by_name(source)
            if found is not None and found.names_the_same_examples(source):
                self.split = found
                return True
            reasons.append(f"the run's split names example {last} but the data have {len(train)}"
                           if last >= len(train) else
                           f"examples added, removed, changed or relabelled since; {len(train)} now")
        if reasons:
            raise DataError(f"{c.data or c.dataset}: not the data this run was trained on ({'; '.join(reasons)}"
                            f"{_gone_text(split.gone_files(source))}): restore them, or train a new run on the data "
                            f"as they are")
        return False

    def inputs(self, x: Any) -> torch.Tensor:
        """Raw inputs (uint8 0..255 or floats) as the model's float tensor, prepared by the rule the exported
        model follows (`ssvae.runtime.prepare_inputs`: layout, columns, scale; finite, and in [0, 1] for a
        Bernoulli likelihood), or a DataError that says what to change: an array, a DataFrame (its columns by
        name where the model reads them so), or a torch tensor as a torch user holds it: on a GPU, needing
        grad, in bfloat16."""
        c = self.config
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu()
            x = (x if x.dtype == torch.uint8 else x.float()).numpy()
        with as_data_error():
            x = prepare_inputs(x, c.input_shape, c.input_columns, c.input_range, c.uint8_divisor, c.fills_missing,
                               c.categories)
        device = next(self.model.buffers()).device
        return torch.tensor(x, device=device)  # a copy: the caller's array may be read-only (np.load mmap_mode)

    def classify(self, x: Any, batch_size: int = 4096) -> np.ndarray:
        """Class probabilities q(y|x), (N, K), of inputs as `inputs` takes them."""
        with as_data_error():
            check_count("batch_size", batch_size, 1)
        return torch.softmax(predict_logits(self.model, self.inputs(x), batch_size), -1).cpu().numpy()


def train(config: Config | None = None, out: str | Path | None = None, progress: bool = True,
          replace: bool = False, on_epoch: EpochHook | None = None, **changes: Any) -> Run:
    """Train the model a config describes and return the trained `Run`.

    ``changes`` are Config fields, the `ssvae train` options with underscores: ``ssvae.train(epochs=10,
    labels=100, dataset="fashion-mnist", data_dir="DIR")``; without ``config`` they start from the data
    set's preset, as the command line does. ``data`` is a path, or arrays held in memory with an ``out`` to
    keep them in (as its ssvae-arrays.npz): ``(x, y)``, y -1 for unlabelled, or a dict of x and y and, if any, x_test,
    y_test and class_names, the arrays of an .npz. ``progress`` shows a bar; ``on_epoch`` (`EpochHook`) is called
    after every epoch. With ``out``, the run directory is written as training goes: config and split first,
    metrics every epoch, weights at the end.
    On the CPU the config records the thread count the run computes with (``threads``; torch's when not
    given), so a config taken from another run brings that run's count along.
    An existing ``out`` is an error unless ``replace``, and even then its files are set aside (the folder
    itself stays) only once the data have loaded and the labels are chosen, and removed only once the new
    run has written its first checkpoint: a run stopped before (bad input, Ctrl-C) puts them back."""
    if config is not None and not isinstance(config, Config):
        raise ConfigError(f"config must be an ssvae.Config, got {type(config).__name__}: give settings as keywords "
                          f"(ssvae.train(epochs=10)), or ssvae.train(**settings) for a dict")
    # recipe= is config_for's, taken where no config is given (ssvae.train(recipe="accurate", ...))
    check_names({name: value for name, value in changes.items() if config is not None or name != "recipe"},
                [name for name in inspect.signature(train).parameters if name != "changes"])
    _check_call(progress, on_epoch, replace=replace)
    out = given_path(out, "out") if out is not None else None
    arrays = arrays_given(changes.get("data"))
    if arrays is not None:  # kept in the run folder, where the config names them
        changes = {**changes, "data": str(_arrays_file(out))}
    config = config.for_data(**changes) if config is not None else config_for(**changes)
    if out is not None:  # refused before the data load, which may be long (a download); a folder that another
        with sole_writer(out if out.exists() else None):  # training writes now is named as such, not as unfinished
            _check_run_output(out, replace)
        check_writable(out, follow_link=False, in_place=True)  # the lock goes beside a link, the files through it
        if replace:  # arrays held in memory are written there anew: only test data could be the folder's
            _check_data_kept(config, out, ("test_data",) if arrays is not None else ("data", "test_data"))
    config, source, split = new_run_data(config, None if arrays is None else arrays_source(arrays))
    partition = split.apply(source)
    with sole_writer(out):
        if out is None:
            run = _train_new(config, split, partition, out, progress, on_epoch)
        else:
            _check_run_output(out, replace)  # again: another training may have written it while the data loaded
            with RUN_FOLDER.replacing(out) as keep_new:
                if arrays is not None:
                    save_arrays(Path(config.data), arrays)
                run = _train_new(config, split, partition, out, progress, on_epoch, keep_new)
    _warn_of_lost_classes(run)
    return run


def default_run_folder(config: Config) -> Path:
    """Where `ssvae train` writes a run without --out: runs/ and the data's name (a file's or folder's, else
    the built-in set's), then the model's, such as runs/digits-m2 or runs/scans-m1m2."""
    name = Path(os.path.abspath(config.data)).stem if config.data else config.dataset  # "." after its folder
    return Path("runs") / f"{name}-{config.model.replace('+', '')}"


def _arrays_file(out: Path | None) -> Path:
    """Where the run folder ``out`` keeps data held in memory: a run names its data by path, so that it can be
    evaluated, exported and resumed later; without ``out`` there is no folder to keep them in."""
    if out is None:
        raise DataError(f"data held in memory are kept in the run folder (as {ARRAYS}), so that the run can be "
                        f"evaluated, exported and resumed: give out= a folder, or {SAVE_ARRAYS}")
    return (out / ARRAYS).resolve()


def _check_data_kept(config: Config, out: Path, fields: tuple[str, ...]) -> None:
    """A RunError where replacing the run folder ``out`` would set aside, then delete, a file the new run trains
    or tests on (the paths of ``fields``): one of the folder's own, such as the arrays an earlier run kept (--data
    RUN_DIR/ssvae-arrays.npz, as that run's train command names them)."""
    for name in fields:
        path = getattr(config, name)
        if path is not None and Path(path).resolve().parent == out.resolve() and Path(path).name in RUN_FOLDER.files:
            raise RunError(f"{setting_name(name)} {path} is a file of the run folder {out}, which --force "
                           f"(replace=True) replaces: copy it out of the folder and give the copy")


def _check_call(progress: bool, on_epoch: EpochHook | None, **flags: bool) -> None:
    """A RunError for a training's options that would fail or mislead later: a flag other than True or False
    ("no" is true), or an ``on_epoch`` that cannot be called (found only after the first epoch's work)."""
    check_flags(RunError, progress=progress, **flags)
    if on_epoch is not None and not callable(on_epoch):
        raise RunError(f"on_epoch must be a function of an epoch's record and network, got {type_name(on_epoch)}")
    if on_epoch is not None and not _takes_two(on_epoch):
        raise RunError(f"on_epoch must take two arguments, an epoch's record and the network (def on_epoch(record, "
                       f"network): ...), and {getattr(on_epoch, '__name__', type_name(on_epoch))} does not")


def _takes_two(function: Callable) -> bool:
    """Whether ``function`` can be called with two positional arguments (as far as its signature tells)."""
    try:
        inspect.signature(function).bind(None, None)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some built-ins): let the call tell
        return True
    return True


def _check_run_output(out: Path, replace: bool) -> None:
    """``out`` may take a new run: free, or with ``replace`` a run folder that holds only ssvae's files (an
    unfinished run too, which without ``replace`` is pointed to --resume)."""
    if not replace and (out / CHECKPOINT).is_file():
        raise RunError(f"{out} holds an unfinished run: continue it with 'ssvae train --resume {out}', or pass "
                       f"--force to train a new one in its place (in Python: ssvae.resume, or replace=True)")
    RUN_FOLDER.check(out, replace)


@contextmanager
def _training_process(config: Config) -> Iterator[None]:
    """What a training changes of the process, while it trains only: denormals flushed (from before torch's
    worker threads start, so that they take it too), ``config``'s thread count, torch's default dtype
    (float32: `float32_default`), and torch's CPU random stream and its device's (a CUDA GPU's), which the run
    seeds or restores and which the caller's own draws then go on from as they were."""
    device = resolve_device(config.device)
    gpus = [device.index or 0] if device.type == "cuda" else []
    with denormals_flushed(), threads_set(config.threads), torch.random.fork_rng(devices=gpus), float32_default():
        yield


def _train_new(config: Config, split: Split, partition: Partition, out: Path | None, progress: bool,
               on_epoch: EpochHook | None, after_checkpoint: Callable[[], None] | None = None) -> Run:
    """A new model of ``config``, seeded by it, trained on ``partition``; with ``out``, its run directory."""
    with _training_process(config):
        torch.manual_seed(config.seed)
        model = build_model(config)
        if out is not None:
            save_run(out, config, split)
        return _fit(Run(config, split, model, out, [], partition), progress, None, on_epoch, after_checkpoint)


def resume(run_dir: Run | str | Path, progress: bool = True, on_epoch: EpochHook | None = None,
           epochs: int | None = None) -> Run:
    """Continue an interrupted run from its last checkpoint, on the thread count it recorded; it ends where an
    uninterrupted run would (the same epochs and, on the CPU, the same weights).

    ``epochs`` ends it at another epoch of its last stage: later, to train longer, or as early as its
    checkpoint's, to end it there (keeping what a run of that many epochs keeps: the best validation epoch's
    weights, or the average's). It then ends as a run trained that many epochs from the start would, and its
    config.json says so from its first checkpoint on. A cosine or one-cycle learning rate was planned over
    the last stage's epochs, so a run stopped in that stage keeps its length (`_check_length`)."""
    _check_call(progress, on_epoch)
    run_dir = run_folder(run_dir, "to resume: train it again with out= to have its checkpoints kept")
    config, split = load_spec(run_dir)
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    with sole_writer(run_dir), _training_process(config):  # its own thread count: it repeats
        checkpoint = load_checkpoint(run_dir / CHECKPOINT)
        check_writable(run_dir, in_place=True, option="--resume", fix="make it writable: a resume writes its "
                       "checkpoints, metrics and weights there")  # before the first epoch, not after it
        run = Run(config, split, build_model(config), run_dir, [])
        stages = active_stages(run.model, config)
        _check_unchanged(checkpoint, config, split, stages, run_dir / CHECKPOINT, asked=epochs is not None)
        fit_weights(run.model, checkpoint.model, run_dir / CHECKPOINT)
        run.partition(training=True)  # read, and checked to be the data the run began on, before it trains on
        done = sum(stage.epochs for stage in stages[:checkpoint.stage])
        run.history = read_metrics(run_dir)[: done + checkpoint.epoch] if (run_dir / METRICS).exists() else []
        run = _fit(run, progress, checkpoint, on_epoch, new_length=epochs is not None)
    _warn_of_lost_classes(run)
    return run


def _check_unchanged(checkpoint: Checkpoint, config: Config, split: Split, stages: list[Stage], path: Path,
                     asked: bool = False) -> None:
    """Refuse a checkpoint of a run whose config.json or labels.json was edited since: training would go on
    with other settings or labels than its first epochs had (a weight average added would not even load), or
    in the wrong stage, or call the run finished; or a checkpoint whose place in training the run has not."""
    if edits := _edits_since(checkpoint, config, stages):
        raise RunError(f"{path}: taken after epoch {checkpoint.epoch} of stage {checkpoint.stage + 1} of a run "
                       f"that {CONFIG} ({edits}) no longer describes (edited since?): restore {CONFIG} as training "
                       f"wrote it, or train the run again")
    _check_length(checkpoint, config, stages, path, asked)
    if checkpoint.split is not None and checkpoint.split != split.digest():
        raise RunError(f"{path}: taken by a run that trained on other labels than {LABELS} names (edited or "
                       f"replaced since?): restore {LABELS} as training wrote it, or train the run again")
    if not (0 <= checkpoint.stage < len(stages) and 0 <= checkpoint.epoch <= stages[checkpoint.stage].epochs):
        raise RunError(f"{path}: says it was taken after epoch {checkpoint.epoch} of stage {checkpoint.stage + 1}, "
                       f"which the run has not (edited since?): restore it as training wrote it, or train the run "
                       f"again")


def _edits_since(checkpoint: Checkpoint, config: Config, stages: list[Stage]) -> str:
    """The settings of ``config`` that differ from those the checkpoint's run trained with ("" where none),
    but for `EDITABLE_FOR_RESUME`. Older checkpoints record no settings: their stages at least must be
    ``config``'s, but for the last one's epochs; older ones still record neither (their place in training is
    checked alone)."""
    if checkpoint.config is not None:
        then = checkpoint.config
        return "; ".join(f"{f.name} {getattr(then, f.name)!r} then, {getattr(config, f.name)!r} now"
                         for f in dataclasses.fields(config)
                         if f.name not in EDITABLE_FOR_RESUME and getattr(then, f.name) != getattr(config, f.name))
    plan = stage_plan(stages)
    fits = checkpoint.plan is None or _stages_before_last(checkpoint.plan) == _stages_before_last(plan)
    return "" if fits else ", ".join(f"{name} {epochs} epochs" for name, epochs in plan)


def _stages_before_last(plan: tuple[tuple[str, int], ...]) -> tuple:
    """A plan's stages but for the last one's epochs, which a resume may change."""
    return (plan[:-1], plan[-1][0]) if plan else ()


def _check_length(checkpoint: Checkpoint, config: Config, stages: list[Stage], path: Path, asked: bool) -> None:
    """Refuse a length of the last stage (``config.epochs``: given to `resume` where ``asked``, else as edited
    in config.json) that a run stopped in that stage cannot end at: short of the epochs it has trained, or
    another than planned under a cosine or one-cycle learning rate, whose weights would be those of no run of
    that length. A run stopped in an earlier stage takes any. The oldest checkpoints record no plan to check
    a length against: they keep theirs."""
    if checkpoint.stage < len(stages) - 1:
        return
    planned, done = (checkpoint.plan[-1][1] if checkpoint.plan else None), checkpoint.epoch
    if config.epochs == planned or (planned is None and not asked):  # plan-less: the place check alone
        return
    given = "--epochs" if asked else f"epochs in {CONFIG}"
    taken = (f"{path}: taken after epoch {done}" + ("" if planned is None else f" of {planned}")
             + (f" of stage {stages[-1].name}" if len(stages) > 1 else ""))
    if planned is None:
        raise RunError(f"{taken}, by an older ssvae that recorded no plan of the run's epochs to change: resume "
                       f"it without --epochs (epochs= in Python)")
    if config.lr_schedule != "constant":
        raise RunError(f"{taken}, with its {config.lr_schedule} learning rate planned over those {planned}: it "
                       f"cannot end at epoch {config.epochs} ({given}), which would leave the weights of no run of "
                       f"that length: resume it with --epochs {planned} (epochs={planned} in Python), or train a new "
                       f"run of {config.epochs} epochs")
    if config.epochs < done:
        raise RunError(f"{taken}: the run can end there or later, not at epoch {config.epochs} ({given}): resume "
                       f"it with --epochs {done} or more (epochs= in Python); {done} ends it at once")


def _fit(run: Run, progress: bool, checkpoint: Checkpoint | None, on_epoch: EpochHook | None,
         after_checkpoint: Callable[[], None] | None = None, new_length: bool = False) -> Run:
    """Train ``run.model``, writing metrics and checkpoints as it goes when the run has a directory, and its
    weights at the end (when the checkpoint is removed: the run is finished). ``after_checkpoint`` is
    called after each checkpoint is written (`OutputFolder.replacing`'s waits for the first, from which the
    run can go on, and does nothing after it). With ``new_length`` (a resume given other epochs) config.json
    is written before each checkpoint and the weights: a resume that fails or is stopped before them leaves
    the run as it was."""
    out = run.run_dir

    def record(row: dict, network: nn.Module) -> None:
        run.history.append(row)
        if out is not None:
            save_metrics(out / METRICS, run.history)
        if on_epoch is not None:
            on_epoch(row, network)

    def keep(state: Checkpoint) -> None:
        if new_length:
            write_atomic(out / CONFIG, run.config.to_json())
        save_checkpoint(out / CHECKPOINT, dataclasses.replace(state, split=run.split.digest()))
        if after_checkpoint is not None:
            after_checkpoint()

    fit(run.model, run.partition(training=True), run.config, progress=progress, on_epoch=record,
        on_checkpoint=keep if out is not None else None, resume=checkpoint)
    run.model.cpu()
    if out is not None:
        if new_length:
            write_atomic(out / CONFIG, run.config.to_json())
        save_metrics(out / METRICS, run.history)  # a run ended at its checkpoint: without the rows after it
        save_weights(out / WEIGHTS, run.model, run.config, run.split)
        (out / CHECKPOINT).unlink(missing_ok=True)
    return run


LOST_SHARE = 0.002  # a class given to fewer than this share of the examples trained on without labels is lost
LABELS_ALONE = ("supervised", "m1")  # models whose classifier trains on the labelled examples alone


def _warn_of_lost_classes(run: Run) -> None:
    """A warning where the trained classifier gives a class to (almost) none of the examples it trained on
    without labels, of which there are enough to tell (1 / `LOST_SHARE`): M2 can trade a class for a cluster
    of its own as training goes on, while its loss goes on falling (a reviewer's 4-class table of 2,960
    unlabelled rows: 691 given the class at epoch 20, none at 200), and nothing else said so. Of a run the
    user trains or resumes; not of `evaluate --baseline`'s, which is no model of theirs."""
    unlabelled, names = run.partition().unlabelled, run.config.class_names
    if len(unlabelled) * LOST_SHARE < 1:
        return
    given = np.bincount(run.classify(unlabelled.x).argmax(-1), minlength=len(names))
    if lost := [k for k, n in enumerate(given) if n < LOST_SHARE * len(unlabelled)]:
        which = ", ".join(f"{names[k]!r} to {given[k]}" for k in lost)
        them = "them" if len(lost) > 1 else "it"
        of = (f"examples without labels (which the {run.config.model} model's classifier does not train on): it has "
              f"not learnt {them}" if run.config.model in LABELS_ALONE else f"examples it trained on without labels: "
              f"it has not learnt {them}, or has lost {them} (M2 can over a long training)")
        warnings.warn(f"the model gives class{'es' if len(lost) > 1 else ''} {which} of the {len(unlabelled):,} "
                      f"{of}; see the recall in 'ssvae evaluate', and keep the best epoch on held-out labels "
                      f"(--val-labels N), train for more or fewer --epochs, or label more examples of {them}",
                      stacklevel=user_stacklevel())


def load(run_dir: Run | str | Path) -> Run:
    """A trained run from its directory (weights on the CPU); a `Run` is itself."""
    if isinstance(run_dir, Run):
        return run_dir
    run_dir = given_path(run_dir, "run_dir")
    config, split, model = load_run(run_dir)
    return Run(config, split, model, run_dir, _recorded(run_dir)[0])


def _recorded(run_dir: Path) -> tuple[list[dict] | None, str | None]:
    """The run's metrics.csv as records ([] where it is gone), or None and what is wrong where it is
    unreadable: its weights and reports need none of it."""
    try:
        return read_metrics(run_dir) if (run_dir / METRICS).is_file() else [], None
    except RunError as error:
        return None, str(error)


def run_folder(run: Run | str | Path, purpose: str) -> Path:
    """The folder of a `Run`, or the path given (`given_path`); a RunError for a run held in memory, which has
    none, naming what it was wanted for (``purpose``) and what to do instead."""
    if not isinstance(run, Run):
        return given_path(run, "run_dir")
    if run.run_dir is None:
        raise RunError(f"this run was trained without out=, so it has no folder {purpose}")
    return run.run_dir


# `describe_run`'s word on a run that held out no test set (its ``test``, a key no other run's description has)
UNTESTED_RUN = ("none held out (--test-fraction 0): 'ssvae evaluate RUN_DIR --data FILE' tests it on labelled data "
                "of your own")


def describe_run(run_dir: Run | str | Path) -> dict[str, Any]:
    """What a run folder holds, read without its data (`ssvae info RUN_DIR`; its weights only to check them):
    its model, data and labels, each stage's epochs and how many metrics.csv records, whether it is finished,
    and where an unfinished one's checkpoint stands, the last epoch's record, that it held out no test set where
    it did not (``test``), the `ssvae train` line that makes it, and what is wrong with files it reads past
    (``problems``: a weights file cut short, damaged or another run's, a metrics.csv cut short, an earlier run's
    files set aside by a training killed since), which `evaluate` and `--resume` refuse. A `Run` is described by
    its folder, as `load` and `ssvae.export` take one."""
    run_dir = run_folder(run_dir, "to describe: its settings, split and epochs are run.config, run.split and "
                                  "run.history")
    config, split = load_spec(run_dir)
    plan = stage_plan(active_stages(model_to_load(config), config))
    history, metrics_problem = _recorded(run_dir)
    history = history or []
    checkpoint = None
    if not (run_dir / WEIGHTS).is_file() and (run_dir / CHECKPOINT).is_file():
        saved = load_checkpoint(run_dir / CHECKPOINT)
        stage, planned = plan[saved.stage] if 0 <= saved.stage < len(plan) else ("?", 0)
        checkpoint = {"stage": stage, "epoch": saved.epoch, "epochs": planned}
    removed = _removed_file(run_dir, checkpoint, len(history), sum(epochs for _, epochs in plan))
    state = ("finished" if (run_dir / WEIGHTS).is_file() else "being trained now" if being_written(run_dir) else
             "unfinished" if checkpoint is not None else "weights removed" if removed else
             "stopped before its first checkpoint")
    shown = shown_config(config)  # paths below the working folder relative, as a model card shows them
    return {"run_dir": str(run_dir), "state": state, "checkpoint": checkpoint, "model": config.model,
            "data": shown.data or config.dataset, "labels_seen": split.labels_seen,
            "class_names": list(config.class_names), "epochs": dict(plan),
            "recorded": {name: sum(r.get("stage") == name for r in history) for name, _ in plan},
            "last_epoch": {column: history[-1].get(column) for column in METRIC_COLUMNS} if history else None,
            **({"test": UNTESTED_RUN} if split.untested else {}),
            "command": train_command(shown),
            "problems": [p for p in (weights_problem(run_dir, config, split), metrics_problem, removed,
                                     set_aside_files(run_dir)) if p]}


def _removed_file(run_dir: Path, checkpoint: dict | None, recorded: int, planned: int) -> str | None:
    """What `describe_run` says of a file of a run that was removed since it trained: the weights of a run whose
    metrics.csv records every epoch (no training stopped before its first checkpoint), or the metrics.csv of a
    finished run; else None."""
    if (run_dir / WEIGHTS).is_file():
        return None if (run_dir / METRICS).is_file() else (
            f"{run_dir / METRICS}: missing, and with it the record of the run's epochs (evaluate and export need "
            f"none of it)")
    if checkpoint is None and recorded >= planned > 0 and not being_written(run_dir):
        return (f"{run_dir / WEIGHTS}: missing, though {METRICS} records every epoch of the run ({planned}): restore "
                f"the file, or train the run again with --force over this folder")
    return None


@torch.no_grad()
def test_elbo(model: Model, x: torch.Tensor) -> float | None:
    """Mean single-sample bound on log p(x) over ``x`` (nats an example), or None for a model without one. Its
    noise comes from a fixed seed, in a forked generator: the caller's random stream is left as it was."""
    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
        torch.manual_seed(0)
        bounds = [model.elbo(b) for b in x.split(1024)]
    if any(b is None for b in bounds):
        return None
    return torch.cat(bounds).mean().item()


def baseline(run: Run | str | Path, progress: bool = False) -> Run:
    """The run's supervised baseline, trained here (not saved): the same classifier with the same settings,
    trained on the run's labels alone and tested on its test set. What the unlabelled data added to the run
    is its test accuracy less the baseline's."""
    check_flags(RunError, progress=progress)
    return _train_baseline(_baseline_of(load(run)), progress)


def _baseline_of(run: Run) -> Run:
    """``run``, checked before its baseline is trained: a supervised run is its own."""
    if run.config.model == "supervised":
        raise RunError(f"{run.run_dir or 'this run'} is a supervised run already: its baseline is itself; "
                       f"compare a semi-supervised run with it instead")
    return run


def _train_baseline(run: Run, progress: bool) -> Run:
    return _train_new(supervised_counterpart(run.config), run.split, run.partition(), None, progress, None)


def evaluate_run(run: Run | str | Path, data: str | Path | Any, dataset: str | None, split: str,
                 data_dir: str | Path | None, device: str, precision: str, threads: int | None, baseline: bool,
                 progress: bool) -> dict[str, Any]:
    """`ssvae.evaluate` of a run (`ssvae.evaluation` says what it reports): on its held-out split or on
    ``data``, with its baseline's accuracy on the same examples where ``baseline``. A RunError for the options
    of an exported model."""
    if (device, precision, threads) != ("auto", "float32", None):
        raise RunError(f"--device, --precision and --threads (device=, precision=, threads= in Python) choose how an "
                       f"exported model's graphs run, and {_named(run)} is a run: pass its export (ssvae export "
                       f"{_named(run)}) to test those")
    if dataset is not None or data_dir is not None or split != "test":
        raise RunError(f"--dataset, --split and --data-dir (dataset=, split=, data_dir= in Python) test an exported "
                       f"model, and {_named(run)} is a run, tested on its own test split: drop them, or pass labelled "
                       f"data of your own with --data (data=)")
    run = _baseline_of(load(run)) if baseline else load(run)
    c = run.config
    if data is None and run.split.untested:
        raise RunError(untested_text(_named(run)))
    if data is None:  # the baseline trains on the run's labels: their data must be there as they were
        test, tested = run.partition().labelled_test if baseline else _held_out(run), c.test_data
    else:
        source, name = load_for_testing(data, _reading(c), c.class_names), source_name(data)
        test, tested = tested_part(source, name, _reading(c), c.class_names), tested_name(data)
        _warn_if_trained_on(run, source, data)
    report = evaluation_report(c.model, test.y, run.classify(test.x), c.class_names, tested,
                               run.split.labels_seen,
                               test_elbo(run.model, run.inputs(test.x)), _kept_epoch(run))
    if baseline:
        predicted = _train_baseline(run, progress).classify(test.x).argmax(-1)
        report["baseline_accuracy"] = classification_report(test.y, predicted, c.class_names)["accuracy"]
    return report


def untested_text(run: str) -> str:
    """Why ``run`` (as messages name it), which held out no test set, has no test accuracy, and how to get one."""
    return (f"{run} was trained with {both_spellings('test_fraction', 0)}, which holds out no test set, so it has "
            f"no test accuracy: test it on labelled data of your own, which it did not train on, with --data FILE "
            f"(data= in Python)")


def untested_summary(run: Run) -> dict[str, Any]:
    """What `ssvae train` sums up a run that held out no test set with, in place of `evaluate`'s report: the
    labels it saw and the epoch it kept, with no accuracy (``accuracy`` None), which nothing measured."""
    return {"accuracy": None, "n_test": 0, "test_data": None, "labels_seen": run.split.labels_seen,
            "kept_epoch": _kept_epoch(run)}


def _gone_text(gone: list[str]) -> str:
    """The images a run named with labels that are gone (`Split.gone_files`), as a data-changed error says."""
    if not gone:
        return ""
    return (f"; {len(gone)} of the labelled images it trained or was tested on {'is' if len(gone) == 1 else 'are'} "
            f"gone or not read, e.g. {gone[0]}")


def _reading(config: Config) -> ModelInputs:
    """How the model of ``config`` reads labelled data to test on: its shape, columns (the label column too),
    uint8 scale, resizing, filling of missing inputs."""
    return ModelInputs(config.input_shape, config.input_columns, config.uint8_divisor,
                       resize=config.image_size is not None, label_column=config.label_column,
                       fills_missing=config.fills_missing, categories=config.categories)


def _held_out(run: Run) -> Dataset:
    """The run's labelled test examples. Where its training data are gone or changed since (images of
    ``unlabelled/`` labelled in an active-learning loop) but it was tested on data of its own
    (``--test-data``), those, with a warning: its test accuracy needs them alone."""
    try:
        return run.partition().labelled_test
    except DataError as error:
        test_data = run.config.test_data
        if test_data is None or not Path(test_data).exists():
            raise
        warnings.warn(f"{error}; tested on its --test-data {test_data} alone, as --data {test_data} tests it",
                      stacklevel=user_stacklevel())
    return load_labelled(test_data, _reading(run.config), run.config.class_names)


def _named(run: Run | str | Path) -> str:
    """A run as messages name it: its folder, or "the run" for one held in memory."""
    folder = run.run_dir if isinstance(run, Run) else run
    return "the run" if folder is None else str(folder)


def _warn_if_trained_on(run: Run, source: Source, data: Any) -> None:
    """A warning where ``source``, the whole of the ``data`` the run is tested on, has no test set of its own
    and holds the examples the run trained on: a path that is the run's file or folder, or a copy
    (`same_data`); data whose inputs are its training inputs, whatever their labels and order (arrays held in
    memory with every true label, say), as its split's fingerprints tell."""
    if source.test is not None:
        return
    path = arrays_given(data) is None and run.config.data is not None
    if run.split.holds_inputs_of(source) or path and same_data(source_name(data), run.config.data):
        fix = ("the run held out no test set: give labelled data it did not train on"
               if run.split.untested else
               f"'ssvae evaluate {run.run_dir or 'RUN'}' without --data tests the run's held-out split")
        warn_not_held_out(str(source_name(data)), "run", run.split.labels_seen, fix)


def _kept_epoch(run: Run) -> dict[str, Any] | None:
    """With validation labels: the epoch the run kept, of how many, and its validation accuracy (None without
    them, or when the epochs' records are incomplete or metrics.csv unreadable: a report needs neither)."""
    if not run.config.val_labels:
        return None
    if run.history is None:
        return None
    last = active_stages(run.model, run.config)[-1]
    record = kept_epoch(run.history, last)
    return None if record is None else {"epoch": record["epoch"], "epochs": last.epochs,
                                        "val_accuracy": record["val_accuracy"]}
