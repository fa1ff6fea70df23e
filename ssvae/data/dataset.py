"""The one in-memory form of data: inputs, labels (-1 for unlabelled) and class names."""

from __future__ import annotations

import hashlib
import math
import os
import shlex
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ssvae.config import both_spellings
from ssvae.errors import SAVE_ARRAYS, DataError, listed, type_name, user_stacklevel
from ssvae.runtime import ModelError, as_float32, category_spans, user_path

UNLABELLED = -1
MAX_CLASSES = 10_000  # a label beyond this is a numbering mistake, not a class


@dataclass(frozen=True)
class Dataset:
    """``x``: float32 (N, *input_shape); ``y``: int64 (N,), UNLABELLED where no label is known."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise DataError(f"{len(self.x)} inputs but {len(self.y)} labels: give one label (or -1) per input")

    def __len__(self) -> int:
        return len(self.x)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def labelled(self) -> np.ndarray:
        """Indices of the examples that carry a label."""
        return np.flatnonzero(self.y != UNLABELLED)

    def subset(self, indices: np.ndarray) -> Dataset:
        return Dataset(self.x[indices], self.y[indices], self.class_names)

    def without_labels(self) -> Dataset:
        return Dataset(self.x, np.full_like(self.y, UNLABELLED), self.class_names)

    def fingerprint(self, names: Sequence[str] = (), every_value: bool = False) -> str:
        """A short digest of the shape, every label and either the examples' ``names`` (a folder's files, whose
        pixels a new Pillow may decode a little differently) or about 1,000 evenly spaced examples: enough to
        tell that examples were added, removed or relabelled, and cheap on 60,000 images. With
        ``every_value``, of every example instead (0.3 s for 60,000 images): a value changed anywhere."""
        digest = hashlib.sha256(np.asarray(self.x.shape, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(self.y, dtype=np.int64).tobytes())
        if names:
            digest.update("\n".join(names).encode("utf-8", "surrogateescape"))
        else:
            rows = self.x if every_value else self.x[::max(1, len(self) // 1000)]
            digest.update(np.ascontiguousarray(rows, dtype=np.float32).tobytes())
        return digest.hexdigest()[:16]

    def inputs_digest(self) -> str:
        """A short digest of the inputs alone, each flattened, in any order: the same examples whatever labels
        they are given, whether images or their rows of pixels, and however they are ordered (a shuffled copy,
        or a folder whose unlabelled images were moved into class folders). Each input's float32 bytes are
        digested on their own, and the sorted digests together."""
        size = int(np.prod(self.x.shape[1:]))  # not -1, which numpy cannot work out for no rows
        rows = np.ascontiguousarray(self.x, dtype=np.float32).reshape(len(self), size)
        each = sorted(hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in rows)
        digest = hashlib.sha256(np.asarray(rows.shape, dtype=np.int64).tobytes())
        digest.update(b"".join(each))
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Partition:
    """What one run trains and tests on, after the label budget has been applied."""

    labelled: Dataset
    unlabelled: Dataset  # labels hidden (all UNLABELLED)
    validation: Dataset | None
    test: Dataset | None  # None: the run held out no test set (test_fraction 0)

    @property
    def labelled_test(self) -> Dataset | None:
        """The test examples that carry a label: what accuracy is measured on (None without a test set)."""
        return None if self.test is None else self.test.subset(self.test.labelled)


def data_path(data: object) -> Path:
    """``data`` as a path (`user_path`: ``~`` the home folder), or a DataError for data held in memory, which
    these readers do not take, for an empty path (which pathlib reads as the current folder), or for standard
    input or a pipe (``-``, ``<(...)``, a FIFO), which the readers cannot go back over (they read a file's
    start to learn its layout, an .npy a batch at a time)."""
    if not isinstance(data, (str, os.PathLike)):
        raise DataError(f"data must be a path, got a {type_name(data)}: {SAVE_ARRAYS}")
    if os.fspath(data) == "":
        raise DataError("data is an empty path: give the name of a file or folder")
    path = user_path(data)
    if os.fspath(data) == "-" and not path.exists():
        raise DataError("- (standard input) is no data ssvae reads: save the inputs to a file (.csv, .npz or .npy) "
                        "and give its path")
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise DataError(f"{path} is a pipe or a device, which ssvae cannot read twice: save the inputs to a file "
                        f"(.csv, .npz or .npy) and give its path")
    return path


@contextmanager
def as_data_error(where: str | Path | None = None) -> Iterator[None]:
    """The runtime's ModelError of bad inputs raised as the DataError that data readers and the API raise,
    after ``where`` (the file) where given: the runtime's checks, in the training side's terms."""
    try:
        yield
    except ModelError as error:
        raise DataError(str(error) if where is None else f"{where}: {error}") from None


def index_names(n_classes: int, path: Path, key: str) -> tuple[str, ...]:
    """Class names "0".."K-1" for labels that are indices below ``n_classes``, which must be a sane count."""
    if n_classes == 0:
        missing = "-1 or missing" if key == "label" else "-1"  # a CSV's labels can be missing
        raise DataError(f"{path}: has no labelled example (every {key} is {missing}): label at least one example "
                        f"of each class")
    if n_classes > MAX_CLASSES:
        raise DataError(f"{path}: {key} {n_classes - 1} would mean {n_classes} classes: number the classes 0..K-1 "
                        f"(K <= {MAX_CLASSES})" + (" or give class_names" if key == "y" else ""))
    return tuple(str(k) for k in range(n_classes))


def to_model_range(x: np.ndarray, uint8_divisor: int = 255) -> np.ndarray:
    """Inputs as float32, as a model reads them (`runtime.as_float32`: uint8 images scaled to [0, 1]), or a
    DataError where they are not numbers."""
    x = np.asarray(x)
    if x.dtype.kind not in "uif":
        raise DataError(f"inputs of dtype {x.dtype} are not numbers: give uint8 images or floats")
    return as_float32(x, uint8_divisor)


# class names that read as a mark of a missing label, in any case ("?": UCI's); "none" may be a class (no
# disease), so a name is warned of, never refused
MISSING_LABEL_MARKS = {"?", "??", "unknown", "unk", "tbd", "todo", "pending", "missing", "none", "null", "na", "n/a"}


def looks_unlabelled(name: str) -> bool:
    """Whether a class name reads like a mark of missing labels ("?", "unknown", "TBD", "unlabelled_images"): a
    class of such examples would teach the model a class that is none. Not "-", which UCI's sets also use for a
    class beside "+"."""
    return name.strip().lower() in MISSING_LABEL_MARKS or "unlabel" in name.lower()


def warn_of_minus_one_class(y: np.ndarray, written: int, path: Path) -> None:
    """-1 marks an unlabelled example. Where the ``written`` labels -1 (not those left empty) of labels ``y``,
    two or more, are as many as one class's examples, as in ratings -1/0/1, -1 may have been meant as a class,
    which would train a model of the other classes with no word; unlabelled examples are most often many more."""
    counts = np.bincount(y[y != UNLABELLED])
    counts = counts[counts > 0]
    if written > 1 and len(counts) and counts.min() <= written <= counts.max():  # one label missing says nothing
        warnings.warn(f"{path}: {written} examples labelled -1 are read as unlabelled (-1 marks an example without a "
                      f"label), though they are as many as a class's: if -1 is a class, number the classes 0..K-1",
                      stacklevel=user_stacklevel())


def check_inputs(dataset: Dataset, name: str, likelihood: str, test_data: bool = False,
                 columns: Sequence[str] | None = ()) -> None:
    """Refuse data a model cannot learn from: none at all, inf (or numbers too large for float32), missing
    inputs (NaN) that a model of them cannot fill (`gaps_fix`), or values outside [0, 1] for a Bernoulli
    likelihood asked for by name (``auto`` picks Bernoulli only for inputs inside [0, 1]; `check_gaps` then
    checks its choice). For ``test_data`` of one's own, which the training data's likelihood is chosen without,
    the fix is in their values alone. A table's ``columns`` name where a refused row's first bad value is."""
    if len(dataset) == 0:
        raise DataError(f"{name}: the data set is empty: give at least one example of each class")
    flat = dataset.x.reshape(len(dataset), -1)
    if flat.shape[1] == 0:
        raise DataError(f"{name}: the examples have no input values (shape {dataset.x.shape[1:]}): give at least one "
                        f"input column or pixel beside the labels")
    if not np.isfinite(flat).all():
        _refuse_rows(np.isinf(flat), name, "contain inf, or numbers too large for float32", "clean or drop them",
                     columns)
        if (fix := gaps_fix(dataset.x.ndim, likelihood, test_data)) is not None:
            refuse_gaps(dataset, name, fix, columns)
    low, high = observed_range(flat)
    if likelihood == "bernoulli" and (low < 0.0 or high > 1.0):
        fix = "as the training data are" if test_data else \
            f"(uint8 images are divided by 255 for you) or use {both_spellings('likelihood', 'gaussian')}"
        raise DataError(f"{name}: inputs range over [{low:g}, {high:g}] but the bernoulli likelihood needs [0, 1]: "
                        f"scale them {fix}")


def gaps_fix(ndim: int, likelihood: str, test_data: bool = False) -> str | None:
    """What to do with missing inputs (NaN) in data of ``ndim`` axes that a model of the ``likelihood`` cannot
    take; None where it fills them: a Gaussian model (or "auto", which picks one for a table) of flat rows,
    whose inputs are standardised and so have a mean to fill a gap with. Images take none."""
    if ndim > 2:
        return "a model of images takes none: fill or drop them"
    if likelihood == "bernoulli":
        return "a model of inputs in [0, 1] (the bernoulli likelihood) takes none: fill or drop them" + (
            "" if test_data else f", or train with {both_spellings('likelihood', 'gaussian')}, whose model fills "
                                 f"each with its mean")
    return None


def refuse_gaps(dataset: Dataset, name: str, fix: str, columns: Sequence[str] | None = ()) -> None:
    """A DataError, naming the rows (and a table's ``columns``) and saying ``fix``, where ``dataset`` holds
    missing inputs (NaN)."""
    _refuse_rows(np.isnan(dataset.x.reshape(len(dataset), -1)), name, "hold NaN, a missing value", fix, columns)


def _refuse_rows(bad: np.ndarray, name: str, what: str, fix: str, columns: Sequence[str] | None = ()) -> None:
    """A DataError where a row of ``bad`` (N, D) marks a value: how many rows, ``what`` they hold, the first's
    number (and, given a table's ``columns``, the column of its first such value) and the ``fix``."""
    rows = bad.any(-1)
    if rows.any():
        first = int(np.flatnonzero(rows)[0])
        named = columns is not None and len(columns) == bad.shape[1]  # a table's, read as the model reads it
        column = f", column {columns[int(np.flatnonzero(bad[first])[0])]!r}" if named else ""
        raise DataError(f"{name}: {int(rows.sum())} input row(s) {what} (first: row {first}{column}): {fix}")


def check_gaps(dataset: Dataset, name: str, likelihood: str, columns: Sequence[str] = (),
               held_out: Sequence[int] = (), ignored: Sequence[str] = (),
               categories: dict[str, tuple[str, ...]] | None = None) -> None:
    """Refuse training inputs with gaps (NaN: a table's missing values) that the model of the ``likelihood``
    chosen for them cannot take (`gaps_fix`), or an input held by fewer than two of the training rows (all
    but those ``held_out`` for the test set), which leaves the model no mean and spread to standardise it by
    (named by ``columns``, a CSV's, where given, beside those already ``ignored``; the one-hot columns of
    ``categories``, which are not standardised, aside); warn of rows that hold no input at all."""
    flat = dataset.x.reshape(len(dataset), -1)
    gaps = np.isnan(flat)
    if not gaps.any():
        return
    if (fix := gaps_fix(dataset.x.ndim, likelihood)) is not None:
        refuse_gaps(dataset, name, fix, columns)
    if len(empty := np.flatnonzero(gaps.all(-1))):
        warnings.warn(f"{name}: {len(empty)} row(s) hold no input at all (first: row {empty[0]}): the model learns "
                      f"nothing of them (a labelled one but that its class is the mean row) and gives them a class "
                      f"all the same: drop them", stacklevel=user_stacklevel())
    training = np.ones(len(flat), bool)
    training[np.asarray(held_out, dtype=np.int64)] = False
    scaled = np.ones(flat.shape[1], bool)
    for start, end in category_spans(columns, categories or {}):
        scaled[start:end] = False
    if not len(sparse := np.flatnonzero(scaled & ((~gaps[training]).sum(0) < 2))):
        return
    many = len(sparse) > 1
    names = [columns[k] for k in sparse] if columns else [str(k) for k in sparse]
    named = f"column{'s' * many} {listed(list(map(repr, names)))}" if columns else f"input{'s' * many} {listed(names)}"
    fix = ignore_fix(names, ignored) if columns else f"leave {'them' if many else 'it'} out of the inputs"
    raise DataError(f"{name}: {named} {'hold' if many else 'holds'} fewer than two values in the training rows (those "
                    f"the test set leaves), too few for a mean and spread to fill gaps by: {fix}")


def ignore_fix(names: Sequence[str], ignored: Sequence[str] = ()) -> str:
    """How to leave the columns ``names`` out of the inputs, on the command line and in Python, beside those
    already ``ignored`` (which the option, given again, must name too)."""
    them = "them" if len(names) > 1 else "it"
    every = [*ignored, *(name for name in names if name not in ignored)]
    return (f"leave {them} out with --ignore-columns {shlex.quote(','.join(every))} (ignore_columns={every!r} "
            f"in Python)")


def observed_range(x: np.ndarray) -> tuple[float, float]:
    """The least and greatest of the values ``x`` holds, its missing ones (NaN) aside; NaN where it holds
    none."""
    if not x.size:
        return math.nan, math.nan
    return float(np.fmin.reduce(x, axis=None)), float(np.fmax.reduce(x, axis=None))
