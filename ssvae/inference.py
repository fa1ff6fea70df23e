"""Apply an exported model to data: prediction and score tables (CSV), samples and analogies (PNG grids
or CSV tables).

Everything here goes through `ssvae.runtime`, so it is what an app without torch would get. Inputs are
read and classified a batch at a time with a progress bar (where one can be drawn); output files appear only
once complete.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import itertools
import math
import os
import re
import sys
import warnings
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence, TypeVar

import numpy as np

from ssvae.data.csv_files import reads_as_formula
from ssvae.data.digests import data_digest
from ssvae.data.dataset import Dataset, data_path
from ssvae.data.inputs import Inputs, NumberedIds, builtin_split, check_source, read_inputs
from ssvae.data.images import is_image_file
from ssvae.data.sources import (BUILTIN, BUILTIN_SHAPES, ModelInputs, Source, arrays_given, labelled_examples,
                                load_for_testing, source_name, tested_name, tested_part)
from ssvae.config import setting_name
from ssvae.errors import DataError, RunError, check_flags, type_name, user_stacklevel
from ssvae.grids import default_scale, grid_png, grid_size, is_image_shape
from ssvae.files import atomic_open, check_output, write_atomic
from ssvae.progress import bar as progress_bar
from ssvae.report import CONFIDENCE_LEVELS, confidence_counts, evaluation_report, warn_not_held_out
from ssvae.runtime import (BATCH, ExportedModel, InputRowError, ModelError, as_array, by_name, check_count, check_seed,
                           column_sources, entropy, export_first, load as load_model, user_path)

T = TypeVar("T")
STDOUT = "-"  # as the ``out`` of a CSV (predict, score, generate): standard output (a pipe), not a file
MAX_GRID_PIXELS = 80_000_000  # a PNG grid: below the 89,478,485 pixels from which PIL warns of a decompression bomb


def _batches(inputs: Inputs, batch_size: int, progress: bool, what: str,
             compute: Callable[[np.ndarray], T]) -> Iterator[tuple[Sequence[str], T]]:
    """(ids, ``compute`` of the raw inputs) a batch at a time; a `RowFile` is read from disk one batch at a
    time too. Inputs the model refuses are named by the file or folder they came from, and a row at fault
    (NaN or inf, out of range) by its place in the whole input, not in its batch.
    Callers close the generator (`contextlib.closing`) so that an error erases the bar before it is shown."""
    with progress_bar(range(0, len(inputs), batch_size), progress, desc=what, unit="batch", leave=False) as bar:
        for start in bar:
            ids = inputs.ids[start:start + batch_size]
            try:
                result = compute(inputs.x[start:start + batch_size])
            except InputRowError as error:
                raise error.placed(start, ids, inputs.source) from None
            except ModelError as error:
                if inputs.source is None:
                    raise
                raise ModelError(f"{inputs.source}: {error}") from None
            yield ids, result


def loaded(model: ExportedModel | str | Path) -> ExportedModel:
    """``model``, or the exported model of the folder it names or the report `ssvae.export` returned names
    (`ssvae.runtime.load`, its float32 graphs on the device "auto" chooses): `predict`, `score`, `generate`,
    `evaluate` and `model_inputs` take any of them.
    Anything else with a model's metadata (``info``) is taken as one (a stand-in of a test, a wrapper)."""
    if isinstance(model, (str, os.PathLike)) or hasattr(model, "model_dir") and not hasattr(model, "info"):
        return load_model(model)  # a folder, or the report `ssvae.export` returns, which names it
    if hasattr(model, "info"):
        return model
    raise ModelError(f"model must be an exported model (ssvae.runtime.load(MODEL_DIR)) or its folder, got "
                     f"{type_name(model)}{export_first(model)}")


def model_inputs(model: ExportedModel | str | Path, data: str | Path | None = None, dataset: str | None = None,
                 split: str = "test", data_dir: str | Path | None = None, unlabelled_only: bool = False,
                 id_column: str | None = None) -> Inputs:
    """The inputs ``data`` (a path) or ``dataset`` name, read as ``model``'s own training read them: the test
    split it made (none for a model tested on data of its own: the data set is then all training examples),
    images in its channels and size, a CSV's columns by the names it was trained on; with ``unlabelled_only``,
    those without a label alone (in its label column, `ssvae.data.read_inputs`); ``id_column``: a CSV's
    column that names the rows."""
    model = loaded(model)
    if dataset is not None:
        _check_dataset(model, dataset, split)
    return read_inputs(data, dataset, None if data_dir is None else str(data_dir),
                       split, *_model_split(model), model.input_shape if len(model.input_shape) == 3 else None,
                       model.input_columns, _resizes(model), model.label_column, unlabelled_only, id_column,
                       model.categories)


def _resizes(model: ExportedModel) -> bool:
    """Whether ``model`` (trained with --image-size) reads image files of another size resized, not skipped."""
    return model.info.get("resize_images", False)


def model_reading(model: ExportedModel) -> ModelInputs:
    """How ``model`` reads labelled data (`ssvae.data.load_labelled`): its input shape, CSV columns (the label
    column too), uint8 scale, whether it resizes images and whether it fills missing inputs."""
    return ModelInputs(model.input_shape, model.input_columns, model.uint8_divisor, resize=_resizes(model),
                       label_column=model.label_column, fills_missing=model.fills_missing,
                       categories=model.categories)


def _model_split(model: ExportedModel) -> tuple[float | None, int]:
    """The test fraction and seed of the split ``model``'s run made of a built-in set (no fraction: it was
    tested on data of its own and split off none)."""
    info = model.info
    return None if info.get("test_data") else info.get("test_fraction", 0.25), info.get("split_seed", 0)


def _check_dataset(model: ExportedModel, dataset: str, split: str) -> None:
    """A built-in data set of images another size than the model's is refused before it is read (or
    downloaded), as is the test split of a model tested on data of its own; one the model was not trained on
    is named in a warning, as its test split is then no held-out part of the model's data."""
    shape = BUILTIN_SHAPES.get(dataset)
    if shape is not None and math.prod(shape) != math.prod(model.input_shape):
        raise DataError(f"{dataset} holds {shape[2]}x{shape[1]} grey images but the model takes inputs of shape "
                        f"{model.input_shape}: pass a file or folder of inputs of that shape instead")
    trained_on = model.info.get("dataset")
    tested_on = model.info.get("test_data")
    if held_out_none(model) and split == "test" and trained_on == dataset:
        raise DataError(f"the model's run held out no test split of {dataset} (--test-fraction 0): pass labelled "
                        f"data it did not train on with --data (--split train gives every example of {dataset}, "
                        f"all of which it trained on)")
    if tested_on is not None and split == "test":
        every = "all of which it trained on" if trained_on == dataset else "none of which it trained on"
        raise DataError(f"the model was tested on {tested_on}, not on a test split of {dataset}: pass those data "
                        f"with --data (--split train gives every example of {dataset}, {every})")
    if shape is not None and trained_on != dataset:
        share = ", and its test split is only a share of them (its train split holds the rest)" * (split == "test")
        warnings.warn(f"the model was trained on {trained_on}, not on {dataset}: every example of {dataset} is new "
                      f"to it{share}", stacklevel=user_stacklevel())


def default_split(model: ExportedModel) -> str:
    """The split of a built-in data set to show ``model``: its test split, or all of the set ("train") for a
    model tested on data of its own (``--test-data``) or on none (`held_out_none`), which split off none."""
    return "train" if "test_data" in model.info or held_out_none(model) else "test"


def held_out_none(model: ExportedModel) -> bool:
    """Whether ``model``'s run held out no test set (``test_fraction`` 0): every label trained, and nothing
    measured its accuracy."""
    return model.info.get("test_fraction") == 0


def checked_inputs(model: ExportedModel, out: str | Path, replace: bool, data: str | Path | None = None,
                   dataset: str | None = None, split: str = "test", data_dir: str | Path | None = None,
                   grid: bool = False, unlabelled_only: bool = False, id_column: str | None = None) -> Inputs:
    """`model_inputs`, read once ``out`` is known to take the output (a CSV, or with ``grid`` a PNG): not the
    inputs' own file and free unless ``replace``. Reading may take long (a large folder, a download); the
    inputs are named rightly (`check_source`) before the output is looked at."""
    check_source(data, dataset, split, data_dir)
    check_not_the_input(out, data)
    if grid:
        png_output(out, replace)
    else:
        table_output(out, replace)
    return model_inputs(model, data, dataset, split, data_dir, unlabelled_only, id_column)


def as_inputs(model: ExportedModel, inputs: Inputs | str | Path | Any, unlabelled_only: bool = False,
              id_column: str | None = None) -> Inputs:
    """``inputs`` as `Inputs`: a path read by `model_inputs` (the rows without a label alone, with
    ``unlabelled_only``; named by a CSV's ``id_column``); an array, or a table with named columns (a pandas
    DataFrame, its columns taken by the names the model was trained on), with ids as `_row_ids` gives them."""
    if unlabelled_only and not isinstance(inputs, (str, Path)):
        raise DataError("unlabelled_only reads the labels of a file (a CSV's label column, an .npz's y, a folder's "
                        "unlabelled/): give the path, or the unlabelled inputs alone")
    if id_column is not None and not isinstance(inputs, (str, Path)):
        raise DataError("id_column names a column of a CSV file: give the path (a DataFrame's rows are named by its "
                        "index)")
    if isinstance(inputs, Inputs):
        return inputs
    if isinstance(inputs, (str, Path)):
        return model_inputs(model, data=inputs, unlabelled_only=unlabelled_only, id_column=id_column)
    x = np.atleast_1d(as_array(by_name(inputs, model.input_columns, model.categories)))
    return Inputs(_row_ids(inputs, len(x)), x)


def _row_ids(table: Any, n: int) -> Sequence[str]:
    """The ids of ``n`` rows as `ssvae predict` reads them from a CSV: a table's ``id`` column (which `by_name`
    leaves out of the inputs), else a first column of pandas' saved index (as pandas reads it back: "Unnamed: 0"),
    else a pandas DataFrame's index; else row numbers."""
    names = [str(name).strip() for name in getattr(table, "columns", ())]
    named_by = "id" if "id" in names else "Unnamed: 0" if names[:1] == ["Unnamed: 0"] else None
    if named_by is not None:
        return [str(row) for row in np.asarray(table[table.columns[names.index(named_by)]])]
    if names and len(getattr(table, "index", ())) == n:
        return [str(row) for row in table.index]
    return NumberedIds(n)


def check_not_the_input(out: str | Path, inputs: Inputs | str | Path | Any) -> None:
    """Writing ``out`` over the file the inputs are read from (a path, or `Inputs` read from one), or over an
    image of the folder they are read from, would replace inputs with predictions, scores or a grid (with
    ``replace``): refused, before any work. Standard output (an ``out`` of "-") is no file."""
    if out == STDOUT:
        return
    source = inputs.source if isinstance(inputs, Inputs) else inputs if isinstance(inputs, (str, Path)) else None
    if source is None:
        return
    written, read = user_path(out), user_path(source)  # the messages name them as given
    if not written.exists() or not read.exists():
        return
    if read.is_dir():
        folder = read.resolve()
        named = written.parent.resolve() / written.name  # a link's own name, an input where it is in the folder
        if any(target.is_relative_to(folder) and is_image_file(target, folder)  # and the file written through it
               for target in (named, written.resolve())):
            raise RunError(f"{out} is one of the input images in {source}: write the output elsewhere (another "
                           f"--out), so as to keep the inputs")
    elif os.path.samefile(written, read):
        raise RunError(f"{out} is the input file itself: write the output elsewhere (another --out), so as to keep "
                       f"the inputs")


def _table_job(model: ExportedModel, inputs: Inputs | str | Path | Any, out: str | Path, replace: bool,
               batch_size: int, progress: bool, unlabelled_only: bool = False,
               id_column: str | None = None) -> tuple[Inputs, Path | None]:
    """The inputs of a CSV that `predict` or `score` writes (`as_inputs`), and its path (`table_output`),
    checked before any work: a batch size of at least 1, flags of True or False, and not the inputs' own file."""
    check_count("batch_size", batch_size, 1)
    check_flags(RunError, replace=replace, progress=progress, unlabelled_only=unlabelled_only)
    check_not_the_input(out, inputs)
    out = table_output(out, replace)
    inputs = as_inputs(model, inputs, unlabelled_only, id_column)
    _warn_of_formula_ids(inputs.ids)
    return inputs, out


CLASSED_ALL_THE_SAME = "The classifier gives them a class all the same, often a confident one"


@dataclass
class _FarRows:
    """The rows of a job's inputs that hold a value far outside the model's training range
    (`ExportedModel.far_outside`), counted a batch at a time as they pass (batches come in input order), the
    first one's place kept to name it in a warning once the job is done."""

    model: ExportedModel
    rows: int = 0
    seen: int = 0
    first: tuple[int, int, float] | None = None  # (row, input, value) of the first far value

    def watch(self, compute: Callable[[np.ndarray], T]) -> Callable[[np.ndarray], T]:
        """``compute``, counting the far rows of each batch it is given after it (which refuses NaN first); a
        stand-in model without a training range (a wrapper of `loaded`'s) counts none."""
        if getattr(self.model, "training_range", None) is None:
            return compute

        def watched(x: np.ndarray) -> T:
            result = compute(x)
            far = self.model.far_outside(x).reshape(len(x), -1)
            rows = np.flatnonzero(far.any(1))
            if len(rows) and self.first is None:  # its value as the model reads it: prepared, that row alone
                column = int(np.flatnonzero(far[rows[0]])[0])
                value = self.model.prepare(x[rows[0]:rows[0] + 1]).reshape(-1)[column]
                self.first = (self.seen + int(rows[0]), column, float(value))
            self.rows, self.seen = self.rows + len(rows), self.seen + len(far)
            return result

        return watched

    @contextmanager
    def said(self, where: Any, ids: Sequence[str] | None, what: str) -> Iterator[None]:
        """A warning, once the job is done or stopped (a later row refused: its error stays the one raised),
        naming the rows counted and the first far value (by its row and its id in ``ids``; None: the labelled
        examples of data to test on, by their count), with what training saw there; ``where`` names the inputs
        (None: held in memory), ``what`` says what the far values mean for the job's results."""
        try:
            yield
        except BaseException:
            with contextlib.suppress(Warning):  # warnings made errors: the error that stopped the job goes on
                self._warn(where, ids, what)
            raise
        self._warn(where, ids, what)

    def _warn(self, where: Any, ids: Sequence[str] | None, what: str) -> None:
        if self.first is None:  # nothing counted (no training range, or nothing far)
            return
        row, column, value = self.first
        low, high = (bound.reshape(-1)[column] for bound in self.model.training_range)
        name = repr(self.model.input_columns[column]) if self.model.input_columns else f"input {column}"
        seen = f"{low:g} to {high:g}" if low < high else f"{low:g} alone"
        place = f"labelled example {row}" if ids is None else f"row {row}" + (
            "" if ids[row] == str(row) else f", id {ids[row]}")
        warnings.warn(f"{where or 'the inputs'}: {self.rows} row(s) hold values far outside those the model was "
                      f"trained on (first in {place}: {name} {value:g}, where training saw {seen}): a 'no data' "
                      f"mark such as -9999? {what}: check or drop those rows", stacklevel=user_stacklevel())


def _warn_of_formula_ids(ids: Sequence[str]) -> None:
    """A warning where ids (a folder's file names, a CSV's id column) begin as a spreadsheet's formulas do: in
    a spreadsheet, the CSV's cell would be computed, not shown. Row numbers need no look."""
    if not isinstance(ids, NumberedIds) and (risky := [i for i in ids if reads_as_formula(i)]):
        warnings.warn(f"{len(risky)} input id(s) begin with =, +, - or @ (e.g. {risky[0]!r}), which a spreadsheet "
                      f"opening the CSV takes for a formula: rename those inputs if the CSV goes to a spreadsheet",
                      stacklevel=user_stacklevel())


def _warn_of_formula_classes(model: ExportedModel) -> None:
    """A warning where a model's class names begin as a spreadsheet's formulas do: `predict` writes them in
    its predicted column, where a spreadsheet would compute them (a model folder someone else made may name a
    class =HYPERLINK(...)). Names of one's own data are warned of as they are read."""
    if risky := [name for name in model.class_names if reads_as_formula(name)]:
        warnings.warn(f"{model.model_dir}: class name {risky[0]!r} begins with "
                      f"{risky[0].strip()[0]!r}, which a spreadsheet opening the CSV takes for a formula (the "
                      f"predicted column holds it): open the CSV in a spreadsheet as text only (an import that "
                      f"reads every column as text)",
                      stacklevel=user_stacklevel())


def table_output(out: str | Path, replace: bool) -> Path | None:
    """The path of a CSV to write, ending in .csv and free unless ``replace``; None for standard output (an
    ``out`` of "-"), which must be open (a job started with ``>&-`` has none)."""
    if not isinstance(out, (str, os.PathLike)):
        raise RunError(f"out must be a file name, got {'None' if out is None else type_name(out)}: give a name "
                       f"ending in .csv, or - for standard output")
    if out == STDOUT:
        if sys.stdout is None:
            raise RunError("standard output is closed, so --out - has nowhere to write: give --out a file name")
        return None
    return _named_output(user_path(out), ".csv", "the rows are written as CSV: give --out (out= in Python) a name "
                         "ending in .csv (spreadsheets and pandas go by the name), or - for standard output", replace)


def _named_output(out: Path, suffix: str, fix: str, replace: bool) -> Path:
    """``out``, whose name must end in ``suffix`` (``fix`` says so otherwise): free unless ``replace``. A CSV
    may go to standard output (--out -) instead."""
    if out.suffix.lower() != suffix:
        raise RunError(f"{out}: {fix}")
    check_output(out, replace, streamable=suffix == ".csv")
    return out


@contextmanager
def _table_file(out: Path | None, replace: bool) -> Iterator[IO]:
    """``out``, which appears only once complete (over a file there only with ``replace``), or (None) standard
    output, where rows go as they come."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_open(out, follow_link=True, replace=replace) as f:
        yield f


def evaluate(model: ExportedModel | str | Path, data: str | Path | Any = None, dataset: str | None = None,
             split: str = "test", data_dir: str | Path | None = None) -> dict[str, Any]:
    """The report `ssvae.evaluate` gives of a run, of an exported model's graphs (of its precision) on the
    labelled examples of ``data`` (a path or arrays held in memory, read as the model reads inputs:
    `ssvae.data.load_labelled`) or of ``split`` of the built-in ``dataset`` as the model's run split it: a
    deployed model, int8 or float16 copies too, checked without its run. No test ELBO: `score` has the graphs'."""
    model = loaded(model)
    data = held if (held := arrays_given(data)) is not None else data  # arrays converted once, not at each use
    check_source(data, dataset, split, data_dir, "the test data (--data)", arrays=True)
    if dataset is not None:
        _check_dataset(model, dataset, split)
        if split == "train" and dataset == model.info.get("dataset"):
            warn_not_held_out(f"the train split of {dataset}", "model", model.info.get("labels_seen"),
                              "it held out no test split" if held_out_none(model) else "the test split is held out")
        test, tested = builtin_labelled(model, dataset, split, data_dir), f"{dataset} {split} split"
    else:
        reading = model_reading(model)
        source = load_for_testing(data, reading, model.class_names)
        test, tested = tested_part(source, source_name(data), reading, model.class_names), tested_name(data)
        _warn_if_trained_on(model, data, source)
    far = _FarRows(model)
    with far.said(tested, None, f"{CLASSED_ALL_THE_SAME}, and the accuracy counts it"):
        p = far.watch(model.classify)(test.x)
    return {**evaluation_report(model.info.get("model"), test.y, p, model.class_names, tested,
                                model.info.get("labels_seen")), "precision": model.precision}


def builtin_labelled(model: ExportedModel, dataset: str, split: str = "test",
                     data_dir: str | Path | None = None) -> Dataset:
    """The labelled examples of ``split`` of the built-in ``dataset`` as ``model``'s run split it, read as the
    model reads its inputs: what `evaluate` tests it on."""
    _, examples = builtin_split(dataset, None if data_dir is None else str(data_dir), split, *_model_split(model))
    return labelled_examples(examples, Path(dataset), model_reading(model), model.class_names)


def _warn_if_trained_on(model: ExportedModel, data: Any, source: Source) -> None:
    """A warning where ``source``, the whole of the ``data`` the model is tested on, has no test set of its own
    (an .npz's x_test are held out) and holds the examples the model trained on: the file or folder, or a copy
    (its `data_digest` in ``model.json``, which also knows the folder after some of its unlabelled images were
    labelled), or data whose inputs are its training inputs, whatever their labels and order (``inputs_digest``:
    arrays held in memory with every true label, shuffled; a folder is read without its ``unlabelled/``, so its
    inputs are the training inputs only once every image is labelled)."""
    if source.test is not None:
        return
    digest, path = model.info.get("data_digest"), None if arrays_given(data) is not None else data_path(data)
    same_file = digest is not None and path is not None and data_digest(path) == digest
    inputs = model.info.get("inputs_digest")
    if same_file or inputs is not None and inputs == source.train.inputs_digest():
        warn_not_held_out(str(source_name(data)), "model", model.info.get("labels_seen"),
                          "test it on labelled data it did not train on")


def prediction_header(model: ExportedModel) -> list[str]:
    """The columns of ``ssvae predict``'s CSV, one probability column per class."""
    return ["id", "predicted", "confidence", "entropy", *(f"p_{name}" for name in model.class_names)]


@dataclass(frozen=True)
class Predictions:
    """What `predict` wrote: how many rows, and how many of them are at least as confident as each of
    `CONFIDENCE_LEVELS` (``confident``: level -> rows), to set against the model's `test_confidence`."""
    rows: int
    confident: dict[float, int]


def predict(model: ExportedModel | str | Path, inputs: Inputs | str | Path | Any, out: str | Path,
            batch_size: int = BATCH, progress: bool = True, replace: bool = False,
            uncertain_first: bool = False, unlabelled_only: bool = False, id_column: str | None = None) -> Predictions:
    """Write one CSV row an input: id, predicted class name, its probability, the entropy of q(y|x) in nats,
    then every class's probability, to the file ``out`` or, for "-", standard output; in input order, a batch
    at a time, or with ``uncertain_first`` highest entropy first (ties in input order), once the last is
    predicted: the inputs the model is least sure of, to label next. ``inputs``: as `as_inputs` takes them;
    ``unlabelled_only``: of a file, the rows without a label alone (a CSV's whose label column is empty);
    ``id_column``: the column of a CSV whose values are the ids (default: ``id``, else row numbers)."""
    model = loaded(model)
    inputs, out = _table_job(model, inputs, out, replace, batch_size, progress, unlabelled_only, id_column)
    _warn_of_formula_classes(model)
    confident, far = dict.fromkeys(CONFIDENCE_LEVELS, 0), _FarRows(model)
    with far.said(inputs.source, inputs.ids, CLASSED_ALL_THE_SAME), \
            closing(_batches(inputs, batch_size, progress, "predict", far.watch(model.classify))) as batches:
        first = next(batches, None)  # before the header: inputs the model refuses leave standard output empty
        chunks = itertools.chain([first] if first else [], batches)
        with _table_file(out, replace) as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(prediction_header(model))
            for ids, p in _most_uncertain_first(list(chunks)) if uncertain_first else chunks:
                _write_predictions(f, model, ids, p)
                for level, n in confidence_counts(p).items():
                    confident[level] += n
    return Predictions(len(inputs), confident)


def _most_uncertain_first(chunks: list[tuple[Sequence[str], np.ndarray]]) -> list[tuple[list[str], np.ndarray]]:
    """The rows of every chunk (ids, class probabilities) as one, highest entropy first, ties in input order."""
    if not chunks:
        return []
    ids = [id_ for chunk, _ in chunks for id_ in chunk]
    p = np.concatenate([p for _, p in chunks])
    order = np.argsort(-entropy(p), kind="stable")
    return [([ids[i] for i in order], p[order])]


def _write_predictions(f: IO, model: ExportedModel, ids: Sequence[str], p: np.ndarray) -> None:
    """One row an input of a batch, from its class probabilities ``p`` (N, K), to ``f`` as ``csv.writer`` writes
    it, in one write: the numbers go through Python floats (``tolist``; a float32 formats as its float does), a
    row's in one ``%``; ids and class names are quoted by the csv module where they need it (`_csv_cell`)."""
    line = "%s,%s," + "%.6g," * (p.shape[1] + 1) + "%.6g\n"  # confidence, entropy, every class's probability
    names = [_csv_cell(name) for name in model.class_names]
    cells = ids if not _QUOTED.search("".join(ids)) else [_csv_cell(i) for i in ids]
    f.write("".join([line % (cells[i], names[top], row[top], unsure, *row) for i, (row, top, unsure) in
                     enumerate(zip(p.tolist(), p.argmax(-1).tolist(), entropy(p).tolist()))]))


_QUOTED = re.compile(r'[,"\r\n]')  # what csv.writer (its excel dialect) quotes a cell for: any other goes as it is


def _csv_cell(text: str) -> str:
    """``text`` as ``csv.writer`` writes it as one cell of a row (quoted where it holds a comma, quote or line
    break)."""
    if not _QUOTED.search(text):
        return text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([text, ""])
    return buffer.getvalue()[:-2]  # less the empty cell after it: ",\n"


@dataclass(frozen=True)
class Scores:
    """What `score` wrote, in input order: each input's anomaly score and its classifier's entropy (nats,
    float64), and whether each lies above the 99th percentile of the model's test examples' (`test_scores`):
    ``above_score`` (None where the model keeps none, or where the inputs were scored otherwise than those,
    with seed 0 and one sample) and ``above_entropy`` (None where it keeps none). Not a tuple: code that took
    `score`'s return for the scores alone fails, not mixes them."""
    score: np.ndarray
    entropy: np.ndarray
    above_score: np.ndarray | None = None
    above_entropy: np.ndarray | None = None

    @classmethod
    def against(cls, score: np.ndarray, entropy: np.ndarray, reference: dict[str, Any] | None,
                alike: bool) -> Scores:
        """``score`` and ``entropy`` with which lie above the 99th percentiles of ``reference`` (a model's
        `test_scores`), the scores' where they were scored ``alike`` (seed 0, one sample)."""
        if reference is None:
            return cls(score, entropy)
        unlike = score > reference["quantiles"]["0.99"] if alike else None
        unsure = entropy > reference["entropy"]["quantiles"]["0.99"] if "entropy" in reference else None
        return cls(score, entropy, unlike, unsure)  # no entropy in an export from before they were kept


def score(model: ExportedModel | str | Path, inputs: Inputs | str | Path | Any, out: str | Path,
          samples: int | None = None, seed: int | np.random.Generator | None = 0, batch_size: int = BATCH,
          progress: bool = True, replace: bool = False, id_column: str | None = None) -> Scores:
    """Write ``id,score,entropy`` rows, highest score (most anomalous) first, to the file ``out`` or, for "-",
    standard output; returns the scores and entropies in input order. The entropy of q(y|x) flags inputs the
    score can miss (an input plainer than the training data: a blank image, or one of another data set).
    The file is opened before the work, so that a folder that cannot take it fails at once. ``inputs``: as
    `as_inputs` takes them, a CSV's rows named by its ``id_column`` (default: ``id``, else row numbers).
    ``seed``: as `ExportedModel.score` takes it, a Generator's state copied for each batch (so it is not
    advanced)."""
    model = loaded(model)
    model.require_generative("score")
    if samples is not None:
        check_count("samples", samples, 1)
    inputs, out = _table_job(model, inputs, out, replace, batch_size, progress, id_column=id_column)
    # every batch draws from the same state, so every row gets the same noise: the scores do not depend on the
    # batch size (nor, for seed=None, on a batch's own fresh draw)
    check_seed(seed)
    rng, far = np.random.default_rng(seed), _FarRows(model)
    alike = samples is None and not isinstance(seed, np.random.Generator) and seed == 0  # as test_scores were
    batches = _batches(inputs, batch_size, progress, "score", far.watch(lambda x: (
        model.score(x, samples=samples, seed=copy.deepcopy(rng)), model.entropy(x))))
    with far.said(inputs.source, inputs.ids, "Their scores rank them as unlike the training data, whatever the "
                                             "cause"), \
            _table_file(out, replace) as f, closing(batches):
        parts = [part for _, part in batches]
        scores = Scores.against(*(np.concatenate([part[i] for part in parts] or [np.zeros(0)]) for i in (0, 1)),
                                model.test_scores, alike)
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "score", "entropy"])
        for i in np.argsort(-scores.score, kind="stable"):
            writer.writerow([inputs.ids[i], f"{scores.score[i]:.6g}", f"{scores.entropy[i]:.6g}"])
    return scores


def check_drawable(model: ExportedModel, analogies: bool = False, picture: bool = False) -> None:
    """A ModelError, before any input is read, where ``model`` cannot draw what `generate` is asked for:
    samples or ``analogies``, as a ``picture`` (PNG) or as rows."""
    if analogies:
        model.require_analogies()
    else:
        model.require_generative("generate")
    if picture and not is_image_shape(model.input_shape):
        raise ModelError(f"this model's inputs have shape {model.input_shape}, not (channels, height, width) "
                         f"with 1 or 3 channels: there is no picture to draw; give --out a name ending in .csv "
                         f"(or - for standard output) to have the examples as rows of numbers")


def sample_grid(model: ExportedModel, per_class: int, seed: int = 0, classes: Any = None,
                temperature: float = 1.0, noise: bool = False) -> np.ndarray:
    """(rows, per_class, *input_shape): row r holds ``model.generate(classes[r], per_class, seed, temperature,
    noise)`` (``classes``: names or indices, every class by default; one row with no class for M1). The rows
    share their latent draws, so that a column shows one style in every class (the paper's figure) and a class's
    row is the same whichever rows go with it, and an app gets the same samples from the runtime."""
    chosen = _chosen_classes(model, classes)
    if not model.conditional:
        return model.generate(None, per_class, seed, temperature, noise)[None]
    return np.stack([model.generate(k, per_class, seed, temperature, noise) for k in chosen])


def _chosen_classes(model: ExportedModel, classes: Any) -> list[int]:
    """The indices of ``classes`` (names or indices, or one of them) that `generate` draws, in the order given;
    for None every class, in the model's order (none for m1, which draws from no class). A ModelError for an
    unknown class, one named twice or none at all, and for any class given to an m1 model."""
    if classes is None:
        return list(range(model.n_classes)) if model.conditional else []
    if not model.conditional:
        raise ModelError("an m1 model draws from no class: leave --class (classes= in Python) out")
    named = [classes] if np.ndim(classes) == 0 else list(classes)
    if not named:
        raise ModelError("--class (classes= in Python) names no class: name one, or leave it out for every class")
    try:
        indices = [model.class_index(c) for c in named]
    except ModelError as error:
        raise ModelError(f"{error}: give --class (classes= in Python) the classes as ssvae info lists them") from None
    twice = [model.class_names[i] for i in indices if indices.count(i) > 1]
    if twice:
        raise ModelError(f"class {twice[0]!r} is named twice in --class (classes= in Python): name each class once")
    return indices


def example_header(model: ExportedModel) -> list[str]:
    """The columns of `generate`'s CSV: id, the model's label column (a class name), then the inputs: its CSV
    columns (one of categories for its one-hot columns), or x0, x1, ... in the order of its flattened inputs.
    ``ssvae train``, ``predict`` and ``evaluate`` read it."""
    return ["id", model.label_column, *_table_inputs(model)]


def _table_inputs(model: ExportedModel) -> dict[str, list[int]]:
    """Each input column of the model's table (x0, x1, ... without names) with the places of the flattened
    inputs it is read into: its own, or a column of categories' one-hot columns."""
    columns = model.input_columns or [f"x{i}" for i in range(int(np.prod(model.input_shape)))]
    places: dict[str, list[int]] = {}
    for k, name in enumerate(column_sources(columns, model.categories)):
        places.setdefault(name, []).append(k)
    return places


def _write_examples(model: ExportedModel, out: Path | None, ids: Sequence[str], labels: Sequence[str],
                    examples: np.ndarray, replace: bool, progress: bool) -> None:
    """One CSV row an example: its id, label and inputs (flattened), under `example_header`, as the training
    data wrote them (`ExportedModel.as_data`: whole numbers, written without a decimal point, where they were);
    each other value in the shortest digits that read back as the same float32 (6 digits moved a column of
    values near 1.7e9 by thousands); a column of categories as the category of its largest one-hot value."""
    with _table_file(out, replace) as f, progress_bar(range(len(ids)), progress, desc="generate", unit="row",
                                                     leave=False) as bar:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(example_header(model))
        whole, places = set(model.whole_inputs), _table_inputs(model)

        def cell(name: str, at: list[int], drawn: np.ndarray, data: np.ndarray) -> str:
            """Column ``name`` of one example, whose inputs ``at`` are ``drawn``, and ``data`` as data write them."""
            if name in model.categories:
                return model.categories[name][int(np.argmax(drawn[at]))]
            return str(int(data[at[0]])) if at[0] in whole else str(data[at[0]])

        rows = zip(bar, examples.reshape(len(ids), -1), model.as_data(examples).reshape(len(ids), -1))
        for i, drawn, data in rows:
            writer.writerow([ids[i], labels[i], *(cell(name, at, drawn, data) for name, at in places.items())])


@dataclass(frozen=True)
class Generated:
    """What `generate` wrote: the file (or "-", standard output), its examples, a PNG grid's (width, height)
    in pixels (None for CSV rows), the names of the classes drawn, in order (none for an m1 model), and for
    analogies how many inputs were given, of which the first ``rows`` are drawn (0 without analogies)."""
    out: str
    examples: int
    pixels: tuple[int, int] | None = None
    classes: tuple[str, ...] = ()
    given: int = 0


def default_generate_out(model: ExportedModel) -> str:
    """`generate`'s file where none is named: a PNG grid of a model of images, CSV rows of a model of tables."""
    return "samples.png" if is_image_shape(model.input_shape) else "samples.csv"


def generate(model: ExportedModel | str | Path, out: str | Path | None = None, per_class: int | None = None,
             analogies: Inputs | str | Path | Any | None = None, dataset: str | None = None, rows: int | None = None,
             seed: int | None = None, scale: int | None = None, replace: bool = False,
             data_dir: str | Path | None = None, classes: Any = None, temperature: float | None = None,
             noise: bool = False, progress: bool = True) -> Generated:
    """`ssvae generate`: ``per_class`` (8) new examples of every class (latent draws of ``seed``; None, as left
    out, is 0, so that a file is drawn alike each time, where `ExportedModel.generate` draws anew) or, given
    inputs (``analogies``, as `as_inputs` takes them, or a built-in ``dataset``'s split shown to the model), the
    style of the first ``rows`` (8) drawn in every class; ``classes`` (names or indices, in the order wanted)
    draws those classes alone, as in the whole grid (`sample_grid`); ``temperature`` (1) scales the samples'
    latent draws, and ``noise`` draws each sample from p(x|y,z) around the decoder's mean
    (`ExportedModel.generate`). A PNG grid (``scale`` output pixels a model pixel) where ``out`` ends in .png,
    CSV rows (`example_header`) where it ends in .csv or is "-"; all checked before inputs are read, and the
    grid's size before it is drawn. ``progress``: a bar while CSV rows are written (a million take a minute)."""
    model = loaded(model)
    check_flags(RunError, replace=replace, noise=noise, progress=progress)
    drawing = analogies is not None or dataset is not None
    check_generate_options(drawing, per_class=per_class, seed=seed, temperature=temperature, noise=noise or None,
                           rows=rows, data_dir=data_dir)
    per_class, rows, seed = 8 if per_class is None else per_class, 8 if rows is None else rows, seed or 0
    check_count("per_class", per_class, 1)
    check_count("rows", rows, 1)
    if isinstance(analogies, str) and analogies in BUILTIN and not Path(analogies).exists():
        raise DataError(f"analogies={analogies!r} names no file or folder: for the built-in data set, pass "
                        f"dataset={analogies!r}")
    out, table = _generate_output(model, out, scale, drawing)
    chosen = _chosen_classes(model, classes)
    names = tuple(model.class_names[k] for k in chosen)
    if drawing and (dataset is not None or isinstance(analogies, (str, Path))):
        split = "test" if dataset is None else default_split(model)
        analogies = checked_inputs(model, out, replace, analogies, dataset, split, data_dir, grid=not table)
    else:
        check_not_the_input(out, analogies)
        (table_output if table else png_output)(out, replace)
    given = 0
    if drawing:
        analogies = as_inputs(model, analogies)
        given, (ids, x) = len(analogies), _first_inputs(analogies, rows)
        grid_shape = (len(x), len(chosen) + 1)  # each input, then its style in every class
    else:
        grid_shape = (max(len(chosen), 1), per_class)  # one row a class (one for m1)
    captions = Captions(columns=("input", *names)) if drawing else Captions(rows=names if model.conditional else ())
    scale = None if table else _grid_scale(model, *grid_shape, scale, captions)
    temperature = 1.0 if temperature is None else temperature
    grid, drawn, ids, labels = (_analogies(model, ids, x, chosen, names, analogies.source) if drawing
                                else _samples(model, per_class, seed, temperature, noise, chosen, names))
    if table:
        _write_examples(model, None if out == STDOUT else Path(out), ids, labels, drawn, replace, progress)
        return Generated(out, len(ids), classes=names, given=given)
    return Generated(out, len(ids), _write_grid(grid, Path(out), scale, captions, model, replace), names, given)


def _generate_output(model: ExportedModel, out: str | Path | None, scale: int | None,
                     drawing: bool) -> tuple[str, bool]:
    """`generate`'s file (or "-") and whether it takes CSV rows rather than a PNG grid, once the model can
    draw it and ``scale`` fits it."""
    if scale is not None:
        check_count("scale", scale, 1)
    out = str(out or default_generate_out(model))
    out = out if out == STDOUT else str(user_path(out))
    table = out == STDOUT or Path(out).suffix.lower() == ".csv"
    if table and scale is not None:
        raise DataError(f"--scale (scale= in Python) sets a PNG grid's pixels, and "
                        f"{'standard output' if out == STDOUT else out} gets CSV rows: leave it out, or give a .png")
    check_drawable(model, analogies=drawing, picture=not table)
    return out, table


Drawn = tuple[np.ndarray, np.ndarray, list[str], list[str]]  # a grid, its drawn examples, their ids and labels


@dataclass(frozen=True)
class Captions:
    """The names a grid shows beside its rows (samples: their classes) and above its columns (analogies)."""
    rows: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()


def _samples(model: ExportedModel, per_class: int, seed: int, temperature: float, noise: bool, chosen: list[int],
             names: tuple[str, ...]) -> Drawn:
    """`sample_grid` of the ``chosen`` classes (named ``names``), with the ids (a count) and labels (class
    names; empty for M1) of its examples in order."""
    grid = sample_grid(model, per_class, seed, chosen if model.conditional else None, temperature, noise)
    labels = [name for name in (names or ("",)) for _ in range(per_class)]
    return grid, grid, [str(i) for i in range(len(labels))], labels


def _analogies(model: ExportedModel, ids: list[str], x: np.ndarray, chosen: list[int], names: tuple[str, ...],
               source: Path | None) -> Drawn:
    """The grid of inputs ``x`` each followed by its style in each of the ``chosen`` classes (named ``names``),
    the drawn examples alone, and their ids ("ID as CLASS": one a row, so that predict can join its rows back)
    and labels in order."""
    far = _FarRows(model)
    with far.said(source, ids, "Their styles are drawn all the same, far from any example"):
        drawn = far.watch(model.analogies)(x)[:, chosen]
    grid = np.concatenate([model.prepare(x)[:, None], drawn], axis=1)
    return grid, drawn, [f"{i} as {name}" for i in ids for name in names], list(names) * len(x)


def check_generate_options(drawing: bool, **given: Any) -> None:
    """A DataError, before any work, where `generate` is ``given`` options that do nothing (not None):
    ``rows`` and ``data_dir`` choose the inputs of analogies (``drawing``), ``per_class``, ``seed``,
    ``temperature`` and ``noise`` the samples drawn without them."""
    unused = ("per_class", "seed", "temperature", "noise") if drawing else ("rows", "data_dir")
    named = [setting_name(name) for name in unused if given.get(name) is not None]
    if named:
        raise DataError(f"{' and '.join(named)} {'do' if len(named) > 1 else 'does'} nothing "
                        f"{'with' if drawing else 'without'} --analogies (analogies= or dataset= in Python): "
                        f"--rows and --data-dir choose its inputs, --per-class, --seed, --temperature and --noise the "
                        f"samples drawn without it; leave {'them' if len(named) > 1 else 'it'} out")


def _first_inputs(inputs: Inputs, rows: int) -> tuple[list[str], np.ndarray]:
    """The ids and raw inputs of the first ``rows`` inputs to draw analogies of; at least one."""
    x = np.asarray(inputs.x[:rows])
    if not len(x):
        raise DataError("no inputs to draw analogies of: give at least one")
    return list(inputs.ids[:len(x)]), x


def png_output(out: str | Path, replace: bool) -> Path:
    """``out``, checked before any work (callers that read inputs first check it before them too): a name
    ending in .png (viewers go by the name) that is free unless ``replace``."""
    return _named_output(Path(out), ".png", "the grid is a PNG image: give --out a name ending in .png (or .csv, or "
                         "- for standard output, for the examples as rows of numbers)", replace)


def _grid_scale(model: ExportedModel, rows: int, columns: int, scale: int | None, captions: Captions) -> int:
    """``scale``, or the default for the model's images, once the grid it gives is known to be of a size a PNG
    viewer opens: checked before any work, as drawing one too big would exhaust the memory."""
    scale = scale or default_scale(model.input_shape)
    width, height = grid_size((rows, columns, *model.input_shape), scale, captions.rows, captions.columns)
    if width * height > MAX_GRID_PIXELS:
        raise RunError(f"the grid would be {width}x{height} pixels, more than {MAX_GRID_PIXELS:,}: lower "
                       f"--per-class, --rows or --scale")
    return scale


def _write_grid(images: np.ndarray, out: Path, scale: int, captions: Captions, model: ExportedModel,
                replace: bool) -> tuple[int, int]:
    if model.input_range is None:  # real-valued data: stretch to [0, 1] to show it
        images = (images - images.min()) / max(float(images.max() - images.min()), 1e-12)
    write_atomic(out, grid_png(images, scale, captions.rows, captions.columns), follow_link=True, replace=replace)
    return grid_size(images.shape, scale, captions.rows, captions.columns)


__all__ = ["Generated", "Inputs", "Predictions", "STDOUT", "Scores", "builtin_labelled", "check_drawable",
           "check_generate_options", "checked_inputs", "evaluate", "generate", "loaded", "model_inputs",
           "model_reading", "predict", "sample_grid", "score"]
