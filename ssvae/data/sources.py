"""Where data comes from: built-in data sets, .npz and .csv files (read by `ssvae.data.csv_files`), and
folders of images (read by `ssvae.data.images`).

Each loader returns a `Source`: a training `Dataset` and, where the source has one, its own test `Dataset`.
Images are channel-first, (C, H, W), in [0, 1]; tabular rows are (D,) floats.
"""

from __future__ import annotations

import contextlib
import difflib
import gzip
import math
import os
import shlex
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ssvae.config import both_spellings, is_table, setting_name
from ssvae.data.csv_files import (LABEL_LIKE, CsvColumns, as_csv_hint, csv_labels, read_csv, reads_as_formula,
                                  warn_of_named_inputs, whole_number)
from ssvae.data.dataset import (UNLABELLED, Dataset, DataError, as_data_error, check_inputs, data_path, index_names,
                                 looks_unlabelled, refuse_gaps, to_model_range, warn_of_minus_one_class)
from ssvae.data.images import (files_under, image_reading, is_hidden, is_image_file, read_images,
                               warn_of_unread_images, within)
from ssvae.errors import listed, type_name, user_stacklevel
from ssvae.files import new_folders
from ssvae.runtime import FEW_LEVELS, arrange, one_line_name, same_letters

UNLABELLED_FOLDER = "unlabelled"
UNLABELLED_NAMES = ("unlabelled", "unlabeled")  # a folder of unlabelled images, in any case
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_GZ_FILES = tuple(name + ".gz" for pair in IDX_FILES.values() for name in pair)  # as they are downloaded


@dataclass(frozen=True)
class IdxSet:
    """A built-in data set of 28x28 images in IDX files (torchvision's raw files)."""
    torchvision_class: str  # torchvision's class of it, which also names its folder under --data-dir
    class_names: tuple[str, ...]
    system_folder: str  # where Debian's package puts its files
    # its first ten test labels, where known: the data sets' files share their names, and one's files given for
    # another would otherwise train without a word under the other's class names
    first_test_labels: tuple[int, ...] | None = None


TORCHVISION_SETS = {
    "fashion-mnist": IdxSet("FashionMNIST", ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                             "Sneaker", "Bag", "Ankle boot"), "/usr/share/datasets/fashion-mnist",
                            (9, 2, 1, 1, 6, 1, 4, 6, 5, 7)),
    "mnist": IdxSet("MNIST", tuple(str(d) for d in range(10)), "/usr/share/datasets/mnist",
                    (7, 2, 1, 0, 4, 1, 4, 9, 5, 9)),
    "kmnist": IdxSet("KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
                     "/usr/share/datasets/kmnist"),  # its first test labels are not known here
}
BUILTIN = ("digits", *TORCHVISION_SETS)
BUILTIN_SHAPES = {"digits": (1, 8, 8), **dict.fromkeys(TORCHVISION_SETS, (1, 28, 28))}  # known before a download
GZIP_MAGIC = b"\x1f\x8b"  # how a gzipped file begins


@dataclass(frozen=True)
class Source:
    train: Dataset
    test: Dataset | None  # None: the source has no test split of its own
    files: tuple[str, ...] = ()  # a folder's training images, as paths relative to it, in the order of train
    columns: tuple[str, ...] = ()  # a CSV's input columns, in the order of the inputs
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)  # its columns of text, read as one-hot

    def fingerprint(self, every_value: bool = False) -> str:
        """What a run's split indexes, in short (`Dataset.fingerprint`, of a folder's file names or of its
        ``every_value``): kept with the split, so that a run refuses data that changed under it."""
        return self.train.fingerprint(self.files, every_value)

    def labelled_fingerprint(self, rows: Sequence[int]) -> str:
        """The fingerprint of every value of the training set's ``rows`` (a split's labelled, validation and
        test examples) and of the source's own test set: what a run trains and tests on with labels, which its
        other (unlabelled) examples may change around."""
        rows = np.asarray(rows, dtype=np.int64)
        names = tuple(self.files[i] for i in rows) if self.files else ()
        own_test = "" if self.test is None else self.test.fingerprint(every_value=True)
        return self.train.subset(rows).fingerprint(names, every_value=True) + own_test


@dataclass(frozen=True)
class ModelInputs:
    """What a trained model reads, so that data to test it on are read its way: a CSV's ``columns`` by name
    (none: every numeric column, in order), a folder's images in the channels and size of ``input_shape``
    (those of another size skipped, or resized where ``resize``: a model trained with --image-size), uint8
    arrays divided by ``uint8_divisor`` (255 for images, 1 for a table's numbers), a CSV's classes in its
    ``label_column``, missing inputs (NaN) taken where it ``fills_missing``, a CSV's columns of ``categories``
    read as one-hot columns."""

    input_shape: tuple[int, ...]
    columns: tuple[str, ...] | None = ()  # None, as none: a CSV run from before ssvae kept them
    uint8_divisor: int = 255
    name: str = "this model"  # as errors call it: a model about to be trained is named by its training data
    resize: bool = False
    label_column: str = "label"
    fills_missing: bool = False
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_source(dataset: str | None = "digits", data: str | None = None, data_dir: str | None = None,
                image_size: tuple[int, ...] | None = None, input_shape: tuple[int, ...] = (),
                roles: CsvColumns = CsvColumns()) -> Source:
    """Load ``data`` (a path) if given, else the built-in ``dataset``; a folder's images all at ``image_size``
    (width, height), resized, where given (`--image-size`), which nothing else takes; a CSV's columns as
    ``roles`` gives their parts (`--label-column`, `--ignore-columns`), which nothing else takes. A run that
    reads its folder again gives its ``input_shape``: the images are read in its channels and size, so that
    images added since (another size, colour) do not change how the others are read."""
    if image_size is not None and (data is None or not data_path(data).is_dir()):
        raise DataError(f"{setting_name('image_size')} reads a folder of images, and {data or dataset} is not one: "
                        f"leave it out")
    if roles != CsvColumns() and (data is None or not is_table(data_path(data))):
        field, what = ("label_column", "a column") if roles.label != CsvColumns.label else ("ignore_columns", "columns")
        raise DataError(f"{setting_name(field)} names {what} of a CSV, and {data or dataset} is not one: leave it out")
    if data is not None:
        return _load_path(data_path(data), image_size=image_size, input_shape=input_shape, roles=roles)
    if dataset == "digits":
        return _load_digits()
    if dataset in TORCHVISION_SETS:
        return _load_idx_set(dataset, data_dir)
    raise DataError(f"unknown data set {dataset!r}: choose one of {', '.join(BUILTIN)} or pass --data FILE (data= in "
                    f"Python)")


def warn_if_data_dir_unused(dataset: str | None, data_dir: str | Path | None) -> None:
    """A warning where ``data_dir`` is given for digits, which scikit-learn bundles: the folder is not read,
    and a mistyped --dataset would otherwise pass unseen."""
    if dataset == "digits" and data_dir is not None:
        warnings.warn(f"digits comes with scikit-learn, so {both_spellings('data_dir', str(data_dir))} is not "
                      f"read: leave it out, or name the data set the folder holds instead of digits",
                      stacklevel=user_stacklevel())


def load_labelled(data: Any, model: ModelInputs, class_names: Sequence[str]) -> Dataset:
    """The labelled examples of ``data`` (a path, or arrays held in memory as `arrays_given` takes them; an
    .npz's x_test and y_test where it has them), read as ``model`` reads its inputs and laid out as its
    examples, to test it on: its classes need not all be there, and the labels are renumbered as
    ``class_names`` number them (see `_class_numbers`)."""
    return tested_part(load_for_testing(data, model, class_names), source_name(data), model, class_names)


def load_for_testing(data: Any, model: ModelInputs, class_names: Sequence[str]) -> Source:
    """The whole of ``data`` as `load_labelled` reads it, before its labelled examples are taken
    (`tested_part`): a caller can then tell whether they are the data a run trained on."""
    arrays = arrays_given(data)
    if arrays is not None:
        return arrays_source(arrays, model)
    return _load_path(source_name(data), model, tuple(class_names))


def tested_part(source: Source, name: Path, model: ModelInputs, class_names: Sequence[str]) -> Dataset:
    """The labelled examples of ``source`` (named ``name`` in messages), of its test set where it has one."""
    return labelled_examples(source.test if source.test is not None else source.train, name, model, class_names)


# how a table held in memory is given to train or evaluate: the CSV of it, whose columns are read by name
TABLE_AS_CSV = ("save it with its column of classes as a CSV (df.to_csv('data.csv', index=False)), whose columns "
                "are read by name, and give its path")


def source_name(data: Any) -> Path:
    """How messages name ``data`` where arrays held in memory are taken too: its path, or "data" for arrays (the
    keyword that took them); a DataError for anything else."""
    if arrays_given(data) is not None:
        return ARRAYS_NAME
    if hasattr(data, "columns"):
        raise DataError(f"data is a table (a DataFrame): {TABLE_AS_CSV}")
    if not isinstance(data, (str, os.PathLike)):
        raise DataError(f"data must be a path or labelled arrays, got a {type_name(data)}: give a path to a file or "
                        f"folder, or arrays as data=(x, y) (y -1 for unlabelled rows)")
    return data_path(data)


def tested_name(data: Any) -> str:
    """What a report says it tested on, for ``data``: its whole path, or that arrays were given."""
    return "arrays held in memory" if arrays_given(data) is not None else str(data_path(data).resolve())


def labelled_examples(part: Dataset, path: Path, model: ModelInputs, class_names: Sequence[str]) -> Dataset:
    """The labelled examples of ``part`` (read from ``path``, or a built-in set of that name), checked and
    laid out as `load_labelled` returns them."""
    check_inputs(part, str(path), "auto", columns=model.columns)  # rows counted as the file has them
    if not model.fills_missing:
        refuse_gaps(part, str(path), "this model takes none (its graphs do not fill them): fill or drop them",
                    model.columns)
    with as_data_error(path):
        x = arrange(part.x, model.input_shape, model.name)
    labelled = part.labelled
    if not len(labelled):
        raise DataError(f"{path}: has no labelled example to test on: label some (a 'label' column, y, or class "
                        f"folders)")
    numbers = _class_numbers(part.class_names, np.unique(part.y[labelled]), tuple(class_names), path)
    return Dataset(x[labelled], numbers[part.y[labelled]], tuple(class_names))


def _class_numbers(names: tuple[str, ...], present: np.ndarray, model_names: tuple[str, ...],
                   path: Path) -> np.ndarray:
    """For each of a data file's classes, the number of the model's class of the same name (-1 for those of
    its classes without an example, which are not ``present``). Labels that are numbers (an .npz's y without
    class_names, a CSV's 0, 1, ...) are the model's class numbers where none of its class names is a number
    (a data set with named classes, such as Fashion-MNIST's)."""
    numbers = np.full(len(names), UNLABELLED, dtype=np.int64)
    numbered = names == tuple(str(k) for k in range(len(names)))
    if numbered and not any(whole_number(name) is not None for name in model_names):
        if outside := [int(k) for k in present if k >= len(model_names)]:
            raise DataError(f"{path}: label {outside[0]} is outside the model's classes 0..{len(model_names) - 1} "
                            f"({', '.join(model_names)}): correct it, or label the examples with those names")
        numbers[present] = present
        shown = listed([f"{k} = {model_names[k]}" for k in present])
        warnings.warn(f"{path}: its labels are numbers, taken as the model's class numbers: {shown}",
                      stacklevel=user_stacklevel())
        return numbers
    position = {same_letters(name): k for k, name in enumerate(model_names)}  # a macOS folder's, or as typed
    of = {name: position.get(same_letters(name)) for name in names}
    if unknown := [names[k] for k in present if of[names[k]] is None]:
        named = listed([repr(name) for name in unknown])
        which = f"classes {named} are not among" if len(unknown) > 1 else f"class {named} is not one of"
        raise DataError(f"{path}: {which} the model's classes ({', '.join(model_names)}): label the examples with "
                        f"those names")
    numbers[present] = [of[names[k]] for k in present]
    return numbers


def builtin_hint(path: Path | str) -> str:
    """What a missing ``--data`` adds where it names a built-in data set (``ssvae.train(data="digits")``,
    ``ssvae predict MODEL --data digits``): those are chosen by --dataset (dataset=), not read from a path."""
    name = str(path)
    return f", or pass --dataset {name} (dataset={name!r} in Python) for the built-in set" if name in BUILTIN else ""


def _load_path(path: Path, model: ModelInputs | None = None, class_names: tuple[str, ...] = (),
               image_size: tuple[int, ...] | None = None, input_shape: tuple[int, ...] = (),
               roles: CsvColumns = CsvColumns()) -> Source:
    """The data at ``path``, to train on (a folder's images at ``image_size``, where given; a CSV's columns as
    ``roles`` gives them); or, with ``model``, to test that model on (`load_labelled`), a CSV's labels read as
    the model's ``class_names`` where they write them."""
    if not path.exists():
        if model is not None:
            raise DataError(f"{path}: no such file or folder; check the path of the test data{builtin_hint(path)}")
        raise DataError(f"{path}: no such file or folder; check the path given to --data (data= in Python)"
                        f"{builtin_hint(path)}")
    if path.is_dir():
        return _load_folder(path, model, image_size, input_shape)
    if path.suffix.lower() == ".npz":
        return _load_npz(path, model)
    if is_table(path):
        return _load_csv(path, model, class_names, roles)
    raise DataError(f"{path}: cannot read {path.suffix or 'a file without suffix'}; give an .npz, a .csv or a folder"
                    f"{as_csv_hint(path)}")


def _load_digits() -> Source:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]  # pixels are 0..16
    names = tuple(str(n) for n in bunch.target_names)
    return Source(Dataset(x, bunch.target.astype(np.int64), names), None)


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST family's format), gzipped or not (told by its first bytes, not its name: a
    browser may unpack a download and keep the .gz): big-endian dims, then uint8 data."""
    try:
        with open(path, "rb") as f:
            zipped = f.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        with (gzip.open if zipped else open)(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as error:  # gzip's errors for a cut or foreign file
        raise DataError(f"{path}: unreadable ({str(error) or type(error).__name__}): copy or download it again") \
            from error
    n_dims = raw[3] if len(raw) > 3 else 0
    header = 4 + 4 * n_dims
    dims = np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4).astype(int) if 0 < n_dims and header <= len(raw) \
        else None
    if dims is None or len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{path}: not a complete IDX file ({len(raw):,} bytes of data): copy or download it again")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx_folder(folders: list[Path]) -> Path | None:
    """The first of ``folders`` that holds every IDX file, each gzipped or not."""
    return next((folder for folder in folders if not _missing_idx_files(folder)), None)


def _missing_idx_files(folder: Path) -> list[str]:
    return [name for name in IDX_GZ_FILES if not _idx_file(folder, name.removesuffix(".gz")).exists()]


def _idx_file(folder: Path, name: str) -> Path:
    gz = folder / (name + ".gz")
    return gz if gz.exists() else folder / name


def _load_idx_set(name: str, data_dir: str | None) -> Source:
    kind = TORCHVISION_SETS[name]
    class_names = kind.class_names
    root = Path(data_dir) if data_dir else None
    folders = ([root, root / kind.torchvision_class / "raw"] if root else []) + [Path(kind.system_folder)]
    folder = _find_idx_folder(folders)
    if folder is None:
        folder = _download(name, kind.torchvision_class, root)
    splits = {}
    for split, (images, labels) in IDX_FILES.items():
        x, y = (_read_idx(_idx_file(folder, file)) for file in (images, labels))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"{folder}: {images} holds {x.shape} and {labels} {y.shape}, not N images (N, H, W) and "
                            f"N labels (N,): copy or download the files again, each under its own name")
        if y.size and y.max() >= len(class_names):
            raise DataError(f"{_idx_file(folder, labels)}: label {int(y.max())} is outside {name}'s classes "
                            f"0..{len(class_names) - 1}: copy or download the file again")
        splits[split] = Dataset(to_model_range(x)[:, None], y.astype(np.int64), class_names)
    first = tuple(splits["test"].y[:10].tolist())
    if other := next((other for other, idx_set in TORCHVISION_SETS.items()
                      if idx_set.first_test_labels == first and other != name), None):
        raise DataError(f"{folder}: holds {other}'s files (its test labels begin {', '.join(map(str, first))}), not "
                        f"{name}'s: pass {both_spellings('dataset', other)}, or a {setting_name('data_dir')} with "
                        f"{name}'s files")
    if splits["train"].input_shape != splits["test"].input_shape:
        raise DataError(f"{folder}: the training images are {splits['train'].input_shape[1:]} but the test images "
                        f"{splits['test'].input_shape[1:]}: copy or download the files of one data set again")
    return Source(splits["train"], splits["test"])


def _download(name: str, tv_class: str, root: Path | None) -> Path:
    files = ", ".join(IDX_GZ_FILES)
    if root is None:
        raise DataError(f"{name} files not found: pass --data-dir DIR (data_dir= in Python) to download there, or "
                        f"put {files} in a folder and pass that folder as --data-dir")
    import torchvision

    raw = root / tv_class / "raw"
    try:
        with new_folders(raw):  # a partial download stays, for the next try
            getattr(torchvision.datasets, tv_class)(str(root), train=True, download=True)
    except Exception as error:  # torchvision raises many kinds of network errors
        not_downloaded = set(_missing_idx_files(raw))
        missing = [name for name in _missing_idx_files(root) if name in not_downloaded]
        if 0 < len(missing) < len(IDX_GZ_FILES):  # a partial copy, or download: name what it lacks
            files = f"{', '.join(missing)} (the others are there)"
        raise DataError(f"{name} is not in {root} and could not be downloaded ({_last_line(error)}): "
                        f"put {files} in {root} and run again") from error
    return raw


def _last_line(error: Exception) -> str:
    """The gist of a download's error: torchvision's ends with the network's reason, such as "<urlopen error
    [Errno -2] Name or service not known>" after the addresses it tried."""
    lines = [line.strip(" <>") for line in str(error).splitlines() if line.strip(" <>")]
    return lines[-1] if lines else type(error).__name__


def _image_layout(x: np.ndarray) -> np.ndarray:
    """(N, H, W) gets a channel axis; (N, H, W, C) with C in 1, 3, 4 becomes channel-first."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4 and x.shape[1] not in (1, 3, 4) and x.shape[-1] in (1, 3, 4):
        return np.moveaxis(x, -1, 1)
    return x


def _npz_class_names(given: np.ndarray | None, n_classes: int, path: Path) -> tuple[str, ...]:
    """An .npz's ``class_names`` (bytes decoded), which must name each of the ``n_classes`` its labels
    number; without them, "0".."K-1"."""
    if given is None:
        return index_names(n_classes, path, "y")
    try:
        names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in given.reshape(-1))
    except UnicodeDecodeError:
        raise DataError(f"{path}: class_names holds bytes that are not UTF-8 text: save the names as text "
                        f"(np.array(names, dtype=str))") from None
    _check_class_names(names, path)
    if n_classes > len(names):
        raise DataError(f"{path}: label {n_classes - 1} needs {n_classes} classes but class_names names "
                        f"{len(names)}: correct the label (-1 for unlabelled examples) or give class_names a "
                        f"name for every class")
    return names


def npz_labels(y: np.ndarray, path: Path, key: str) -> np.ndarray:
    """An .npz's labels ``y`` (the array ``key``) as int64 class indices, -1 (or NaN) for unlabelled; a
    DataError that names what is wrong with them and the fix."""
    if y.ndim == 2 and y.shape[1] == 1:  # a column, as y[:, None] or a table's one column keeps it
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: {key} must be one label a row, shape (N,), got {y.shape}")
    if np.issubdtype(y.dtype, np.floating):  # NaN: no label, as pandas holds a column of labels with gaps
        y = np.where(np.isnan(y), -1.0, y)
    if y.dtype.kind in "USO":  # names, as a CSV's labels may be
        raise DataError(f"{path}: {key} holds text ({y.dtype}), and an .npz's labels are class indices: save them as "
                        f"{LABELS_AS}, or give the data as a CSV, whose labels may be names")
    if np.issubdtype(y.dtype, np.floating) and not np.all(y == np.round(y)):
        raise DataError(f"{path}: {key} holds fractions (first: {y[y != np.round(y)][0]:g}), not class indices: "
                        f"number the classes 0..K-1, -1 for unlabelled examples")
    if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
        raise DataError(f"{path}: {key} must hold integer class indices (-1 for unlabelled), got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.unsignedinteger) and y.size and y.max() == np.iinfo(y.dtype).max and \
            len(np.unique(y)) <= y.max():  # classes left without a label: the top value is no class of its own
        raise DataError(f"{path}: {key} holds {y.max()}, which looks like -1 stored as {y.dtype}: save the labels as "
                        f"signed integers ({key}.astype(np.int64), then set the unlabelled ones to -1)")
    if y.dtype.kind in "fu" and not (big := np.abs(y.astype(np.float64)) < 2.0 ** 62).all():  # the cast would wrap
        raise DataError(f"{path}: {key} holds {y[~big][0]:g}, which is no class index: number the classes 0..K-1, "
                        f"-1 for unlabelled examples")
    return y.astype(np.int64)


def _npz_inputs(x: np.ndarray, path: Path, key: str, model: ModelInputs | None = None) -> np.ndarray:
    if x.ndim < 2:
        raise DataError(f"{path}: {key} must be (N, features...) with one example a row, got shape {x.shape}")
    if len(x) == 0 or x[0].size == 0:
        raise DataError(f"{path}: the data set is empty ({key} has shape {x.shape}): give at least one example "
                        f"of each class")
    if x.dtype.kind not in "uif":
        raise DataError(f"{path}: {key} holds {x.dtype}, not numbers: {'give' if path == ARRAYS_NAME else 'save'} "
                        f"uint8 images or floats (True/False as {key}.astype('float32'))")
    if x.ndim > 2 and x.dtype != np.uint8 and _looks_like_pixels(x):  # image-shaped: (N, H, W) or more
        scaled = (f"as floats scaled to [0, 1] ({key} / {x.max():g}, for levels 0..{x.max():g}; uint8 would be "
                  f"divided by 255)" if x.max() < FEW_LEVELS else f"as uint8 ({key}.astype(np.uint8)), which are "
                  f"scaled to [0, 1]")
        warnings.warn(f"{path}: {key} holds whole numbers from {x.min():g} to {x.max():g} as {x.dtype}, which are "
                      f"used as they are, not as images (and so are the image files the model is given later): if "
                      f"they are images, save them {scaled} and get the likelihood of grey levels",
                      stacklevel=user_stacklevel())
    elif x.ndim > 2 and x.dtype == np.uint8 and 0 < x.max() < FEW_LEVELS:  # images of a few grey levels
        warnings.warn(f"{path}: {key} holds uint8 images of levels 0..{x.max()} at most, which are divided by 255 "
                      f"as 8-bit images are, so that they reach {x.max() / 255:.3f}, not 1: if their levels are "
                      f"0..{x.max()}, save them as floats scaled to [0, 1] ({key} / {x.max()})",
                      stacklevel=user_stacklevel())
    elif x.ndim > 2 and x.dtype == np.uint16 and x.max() > 255:  # image-shaped 16-bit numbers
        warnings.warn(f"{path}: {key} holds uint16 values up to {x.max()}, which are used as they are, while a 16-bit "
                      f"image file is read as its top 8 bits: if they are 16-bit images, save them as "
                      f"({key} >> 8).astype(np.uint8), which are scaled to [0, 1] as image files are",
                      stacklevel=user_stacklevel())
    return to_model_range(_image_layout(x), model.uint8_divisor if model is not None else 255)


def _looks_like_pixels(x: np.ndarray) -> bool:
    """Whole numbers in 0..255 reaching above 1: 8-bit pixels kept in another dtype (int64, float32), which
    ssvae would take as numbers on that scale while it scales uint8 images (and image files) to [0, 1].
    Asked of image-shaped arrays only: a table's whole numbers (counts, ratings) are no pixels."""
    low, high = x.min(), x.max()
    return bool(0 <= low and 1 < high <= 255 and (x.dtype.kind in "iu" or np.array_equal(x, np.round(x))))


def _load_npz(path: Path, model: ModelInputs | None = None) -> Source:
    """Arrays x and y (-1: unlabelled), optionally x_test and y_test (a test set) and class_names."""
    try:
        arrays = np.load(path, allow_pickle=False)
    except Exception as error:  # numpy takes a file of neither kind for a pickle, which is never read
        reason = error if zipfile.is_zipfile(path) else "neither a zip archive of arrays nor an .npy array"
        raise DataError(f"{path}: not a readable .npz file ({reason}); save it with numpy.savez") from error
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds one .npy array, not an .npz archive: save inputs and labels together with "
                        f"numpy.savez('{path.name}', x=x, y=y)")
    with arrays:
        return _npz_source(arrays, path, model)


def _npz_source(arrays: Mapping[str, np.ndarray], path: Path, model: ModelInputs | None = None) -> Source:
    """The `Source` of an .npz's ``arrays`` (or of arrays held in memory as one holds them), named ``path`` in
    messages: x and y (-1: unlabelled), optionally x_test and y_test (a test set) and class_names."""
    names_given = list(arrays)
    if "x" not in names_given or "y" not in names_given:
        raise DataError(f"{path}: needs arrays 'x' and 'y' (found {', '.join(names_given) or 'none'})")
    raw_x = npz_array(arrays, "x", path)
    x = _npz_inputs(raw_x, path, "x", model)
    y = npz_labels(npz_array(arrays, "y", path), path, "y")
    has_test = "x_test" in names_given
    if has_test != ("y_test" in names_given):
        raise DataError(f"{path}: has only one of x_test and y_test: give both (a test set) or neither (a "
                        f"share of the labelled x is held out)")
    raw_test = npz_array(arrays, "x_test", path) if has_test else None
    if raw_test is not None and (raw_x.dtype == np.uint8) != (raw_test.dtype == np.uint8):
        raise DataError(f"{path}: x is {raw_x.dtype} but x_test is {raw_test.dtype}, and uint8 inputs are images "
                        f"0..255 scaled to [0, 1] while floats are taken as they are: save both as uint8 or "
                        f"both as floats on one scale")
    x_test = _npz_inputs(raw_test, path, "x_test", model) if has_test else None
    y_test = npz_labels(npz_array(arrays, "y_test", path), path, "y_test") if has_test else None
    given_names = npz_array(arrays, "class_names", path) if "class_names" in names_given else None
    for inputs, given, arrays_named in ((x, y, "x and y"), (x_test, y_test, "x_test and y_test")):
        if inputs is not None and len(inputs) != len(given):
            raise DataError(f"{path}: {arrays_named} differ in length ({len(inputs)} inputs, {len(given)} "
                            f"labels): give one label (or -1) per input")
    labels = np.concatenate([y, y_test]) if has_test else y
    names = _npz_class_names(given_names, int(labels.max(initial=-1)) + 1, path)
    _check_labels(y, len(names), path)
    warn_of_minus_one_class(y, int(np.sum(y == UNLABELLED)), path)
    if model is None:
        _check_trainable(labels, names, path)
    train = Dataset(x, y, names)
    test = Dataset(x_test, y_test, names) if has_test else None
    if test is not None:
        _check_test(test, train, path)
    return Source(train, test)


def _check_test(test: Dataset, train: Dataset, path: Path) -> None:
    """A given test set must fit the model trained on x and have labels to test against."""
    if test.input_shape != train.input_shape:
        raise DataError(f"{path}: x_test has examples of shape {test.input_shape} but x of {train.input_shape}: "
                        f"give both the same shape")
    _check_labels(test.y, len(train.class_names), path)
    if len(test.labelled) == 0:
        raise DataError(f"{path}: y_test has no label (every entry is -1): label the test examples, or leave "
                        f"x_test and y_test out to hold out a share of the labelled x")


# what each array of an .npz holds, as an error's fix names it
LABELS_AS = ("integer class indices, -1 for unlabelled rows, with the names in class_names (np.unique(labels"
             ".astype(str), return_inverse=True) gives both for labels with none missing)")
NPZ_KINDS = {"y": LABELS_AS, "y_test": LABELS_AS, "class_names": "strings (.astype(str))"}
NPZ_ARRAYS = ("x", "y", "x_test", "y_test", "class_names")  # what an .npz of data holds: x and y, the rest if any
ARRAYS_NAME = Path("data")  # arrays held in memory, in messages: the keyword that took them


def arrays_given(data: Any) -> dict[str, np.ndarray] | None:
    """``data`` held in memory as an .npz holds it: a pair (x, y), or a dict of `NPZ_ARRAYS` (x and y at
    least), each as `_plain_array` reads it; None for anything else, such as a path. A DataError for a dict of
    other names, for inputs in a table (whose column names would be lost), or for arrays of Python objects,
    which an .npz holds only as pickles (never read)."""
    if isinstance(data, tuple) and len(data) == 2:
        data = {"x": data[0], "y": data[1]}
    if not isinstance(data, Mapping):
        return None
    if not {"x", "y"} <= set(data) or set(data) - set(NPZ_ARRAYS):
        raise DataError(f"data held in memory is (x, y), or a dict of x and y and, if any, x_test, y_test and "
                        f"class_names, as an .npz holds them; got a dict of {', '.join(map(repr, data)) or 'nothing'}")
    if tables := [name for name, value in data.items() if hasattr(value, "columns") and name in ("x", "x_test")]:
        raise DataError(f"data[{tables[0]!r}] is a table (a DataFrame), whose column names held in memory would be "
                        f"lost: {TABLE_AS_CSV}, or give .to_numpy(dtype='float32') to read them by position")
    arrays = _labels_by_name({name: _plain_array(value, name) for name, value in data.items()})
    if objects := [name for name, array in arrays.items() if array.dtype == object]:
        kind = NPZ_KINDS.get(objects[0], "numbers (.to_numpy(dtype='float32') of a table)")
        raise DataError(f"data[{objects[0]!r}] holds Python objects: give it as {kind}")
    return arrays


def _labels_by_name(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` whose labels are class names held in memory (text, with "", None, NaN or NA for unlabelled,
    as a CSV's labels may be written) as an .npz holds them: class indices, -1 for unlabelled, and the names
    in ``class_names`` (`csv_labels` reads them: sorted, or "0".."K-1" where all are whole numbers). Given
    class names must name every label; a test set's labels are read by the training labels' names."""
    if not any(_holds_names(arrays[key]) for key in ("y", "y_test") if key in arrays):
        return arrays
    given = tuple(str(name) for name in arrays.get("class_names", ()))
    names = given
    for key in ("y", "y_test"):
        if key in arrays:
            raw = ["" if value is None or isinstance(value, float) and math.isnan(value) else str(value).strip()
                   for value in arrays[key].ravel()]
            y, found = csv_labels(raw, Path(f"data[{key!r}]"), known=names)
            if names and found != names:
                raise DataError(f"data[{key!r}] holds class names that {'class_names' if given else 'y'} does not "
                                f"name ({', '.join(sorted(set(found) - set(names))[:3])}): name every class there")
            arrays, names = {**arrays, key: y}, found
    return {**arrays, "class_names": np.array(names)}


def _holds_names(labels: np.ndarray) -> bool:
    """Whether ``labels`` are text (class names), None and NaN aside: not numbers."""
    if labels.dtype.kind in "US":
        return True
    values = labels.ravel().tolist() if labels.dtype == object else []
    return any(isinstance(v, str) for v in values) and all(
        v is None or isinstance(v, str) or isinstance(v, float) and math.isnan(v) for v in values)


def _plain_array(value: Any, name: str) -> np.ndarray:
    """``value`` as an array of numbers or text where it holds only those, as Python objects (pandas' object
    columns) or in lists, or as a torch tensor (on any device, needing grad, in bfloat16: read as float32); a
    DataError for rows of unequal length. Anything else is left as objects."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu()
        value = value.float() if value.is_floating_point() else value
    try:
        array = np.asarray(value)
        if array.dtype == object and hasattr(value, "to_numpy"):  # pandas' nullable numbers (Int64), <NA> in gaps
            with contextlib.suppress(TypeError, ValueError):  # not numbers: read below
                return value.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.array(array.tolist()) if array.dtype == object and array.size else array
    except ValueError:  # numpy's "inhomogeneous shape"
        raise DataError(f"data[{name!r}] has rows of unequal length: give rows of one length") from None


def arrays_source(arrays: dict[str, np.ndarray], model: ModelInputs | None = None) -> Source:
    """The `Source` of arrays held in memory (`arrays_given`), read as the .npz of them would be (with
    ``model``, as that model reads inputs); messages name them "data", as the keyword that took them."""
    return _npz_source(arrays, ARRAYS_NAME, model)


def npz_array(arrays: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    """One array of an .npz; one of Python objects (pandas' object columns) would need unpickling, never done.
    One whose header declares more than the archive holds (a file cut short, or made to fill memory) is
    refused before numpy allocates what it declares (`check_declared`)."""
    if (header := _member_header(arrays, key)) is not None:
        check_declared(path, f"array '{key}'", *header, "archive", "save it again with numpy.savez")
    try:
        array = arrays[key]
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        kind = NPZ_KINDS.get(key, "numbers (.to_numpy(dtype='float32') of a table)")
        raise DataError(f"{path}: array '{key}' cannot be read ({error}); save it as {kind}, never as Python "
                        f"objects") from error
    if not isinstance(array, np.ndarray):  # numpy gives a member that is no .npy file as its bytes
        raise DataError(f"{path}: '{key}' is no .npy array in the archive (its member is no .npy file): save the "
                        f"arrays with numpy.savez")
    return array


def _member_header(arrays: np.lib.npyio.NpzFile, key: str) -> tuple[tuple[int, ...], np.dtype, int] | None:
    """The shape and dtype that member ``key``'s .npy header declares, and the bytes the member holds after
    its header; None where the member is no plain .npy array of numbers (numpy's own reading then says what
    it is)."""
    try:
        info = arrays.zip.getinfo(f"{key}.npy")
        with arrays.zip.open(info) as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = header(f)
            held = info.file_size - f.tell()
    except Exception:  # any fault is for numpy's own reading to name
        return None
    return None if dtype.hasobject else (shape, dtype, held)


def check_declared(path: Path, array: str, shape: tuple[int, ...], dtype: np.dtype, held: int, holder: str,
                   fix: str) -> None:
    """A DataError where ``array``'s .npy header declares more bytes than the ``held`` ones after it in its
    ``holder`` (the file, or an .npz's archive): a file cut short, or one made to fill memory (a row of a
    terabyte), refused before numpy allocates what it declares; or a size below 0, which no array has (numpy's
    own reading raised a bare ValueError)."""
    if any(size < 0 for size in shape):
        raise DataError(f"{path}: {array} declares the shape {shape} in its header, with a size below 0, which no "
                        f"array has: {fix}")
    declared = math.prod(shape) * dtype.itemsize
    if declared > held:
        raise DataError(f"{path}: {array} ends early: its header declares {shape} ({declared:,} bytes) but the "
                        f"{holder} holds {held:,} after it (truncated?): {fix}")


def _check_class_names(names: Sequence[str], path: Path) -> None:
    """Names that can head a CSV column and a table's row each: none repeated, empty or on two lines."""
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        raise DataError(f"{path}: class_names repeats {', '.join(map(repr, repeated))}: give each class its own "
                        f"name (predictions have a column per class)")
    if bad := [n for n in names if not one_line_name(n)]:
        raise DataError(f"{path}: class name {bad[0]!r} is empty or breaks a line: give each class a name on one "
                        f"line (predictions and tables show it)")
    if bad := [n for n in names if not _utf8(n)]:
        raise DataError(f"{path}: class name {bad[0]!r} is not UTF-8 text (a folder named in another encoding): "
                        f"rename it, since model.json and predictions are UTF-8")
    if risky := [n for n in names if reads_as_formula(n)]:
        warnings.warn(f"{path}: class name {risky[0]!r} begins with {risky[0].strip()[0]!r}, which a spreadsheet "
                      f"opening ssvae's CSVs (predictions, generated rows) takes for a formula: rename the class if "
                      f"those files go to a spreadsheet", stacklevel=user_stacklevel())


def warn_of_alike_class_names(names: Sequence[str], where: str) -> None:
    """A warning naming the classes whose names differ in case alone (a folder typed `sneaker/` beside
    `Sneaker/`): each is a class of its own, where one was meant."""
    alike: dict[str, list[str]] = {}
    for name in names:
        alike.setdefault(name.casefold(), []).append(name)
    if twins := [" and ".join(map(repr, group)) for group in alike.values() if len(group) > 1]:
        warnings.warn(f"{where}: classes {'; '.join(twins)} differ in case alone, so each is a class of its own: if "
                      f"they are one (a typo in a folder's or a label's name), give them one name",
                      stacklevel=user_stacklevel())


def _utf8(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: not a name read from bytes in another encoding (Python keeps
    those as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_labels(y: np.ndarray, n_classes: int, path: Path) -> None:
    """Labels are class numbers or UNLABELLED."""
    bad = (y < UNLABELLED) | (y >= n_classes)
    if bad.any():
        raise DataError(f"{path}: label {int(y[bad][0])} is outside 0..{n_classes - 1}; "
                        f"use -1 for unlabelled examples")


NUMBERING_HINT = ("number the classes 0..K-1 with no gap (labels numbered from 1: subtract 1; -1 marks an unlabelled "
                  "example, so classes -1 and 1 are written 0 and 1), or label examples of it")


def _check_trainable(y: np.ndarray, names: tuple[str, ...], path: Path, hint: str = NUMBERING_HINT) -> None:
    """Labels to train on (one class will do to test): two classes at least, each with a labelled example in
    ``y`` (a source's labels, its test set's included). A class without one (labels numbered from 1, a gap in
    the numbering, a class folder whose images were all skipped) is a mistake, which later errors would blame
    on --labels. ``hint`` is the fix for this kind of source."""
    if len(names) < 2:
        raise DataError(f"{path}: at least two classes are needed, found {len(names)}: label examples of two or "
                        f"more classes")
    if empty := [names[k] for k in range(len(names)) if not np.any(y == k)]:
        which = (f"classes {listed([repr(name) for name in empty])} have" if len(empty) > 1 else
                 f"class {empty[0]!r} has")
        raise DataError(f"{path}: {which} no labelled example: {hint}")


def _load_csv(path: Path, model: ModelInputs | None = None, class_names: tuple[str, ...] = (),
              roles: CsvColumns = CsvColumns()) -> Source:
    """A header row; the label column (``roles``', or ``model``'s) holds a class (index or name, or one of a
    model's ``class_names``: see `csv_labels`), empty or -1 when unknown. The inputs are every other column but
    ``id`` and those ``roles`` ignores, or ``model``'s columns."""
    if model is not None:
        roles = CsvColumns(model.label_column, categories=model.categories)
    table = read_csv(path, None if model is None else model.columns, roles, training=model is None)
    if roles.label not in table.header:
        raise DataError(f"{path}: needs a header row with a {roles.label!r} column"
                        + label_column_hint(table.header, roles.label, model is None))
    if not len(table):
        raise DataError(f"{path}: has a header but no rows")
    y, names = csv_labels([label.strip() for label in table.column(roles.label)], path, table.number, class_names,
                          table.place)
    _check_class_names(names, path)
    _check_labels(y, len(names), path)
    if model is not None:
        x, columns = table.inputs()
        return Source(Dataset(x, y, names), None, columns=columns, categories=table.categories)
    _check_trainable(y, names, path)
    x, columns = table.inputs()
    warn_of_named_inputs(x, columns, path, roles.label, table.categories)
    return Source(Dataset(x, y, names), None, columns=columns, categories=table.categories)


def label_column_hint(header: Sequence[str], label: str, training: bool) -> str:
    """For a CSV whose ``header`` lacks the ``label`` column, the column that may hold the classes (named like
    it in another case or spelling, else like labels) and what to do: name it with --label-column when
    ``training``; else (a model reads its own label column) rename it."""
    near = ([name for name in header if name.lower() == label.lower()] or difflib.get_close_matches(label, header, n=1)
            or [name for name in header if name.lower() in LABEL_LIKE])
    if not near:
        return ": name the column of classes with --label-column NAME (label_column= in Python)" if training else ""
    fix = (f"pass --label-column {shlex.quote(near[0])} (label_column={near[0]!r} in Python)" if training
           else f"rename it {label!r}, as the model reads its labels there")
    return f" (found {near[0]!r}: if it holds the classes, {fix})"


def _nested_classes_hint(path: Path, imageless: list[Path], unlabelled: bool) -> str:
    """Where the class folders sit one level too deep, what to do: ``train/`` and ``test/`` of class folders
    each (torchvision's layout) are --data and --test-data; ``labelled/CLASS/`` (or any folder of them beside
    an ``unlabelled/``, a layout other tools use) moves up; else nothing."""
    nested = {d.name.lower(): (d, inside) for d in imageless if len(inside := _image_folders(d, path)) >= 2}
    if {"train", "test"} <= nested.keys():
        train, test = nested["train"][0], nested["test"][0]
        return (f": {train.name}/ and {test.name}/ hold folders of images: if they are the classes, pass --data "
                f"{train} --test-data {test} (data=, test_data= in Python)")
    for name, (folder, inside) in nested.items():
        if unlabelled or name in ("labelled", "labeled"):
            return (f": {folder.name}/ holds folders of images ({listed([d.name for d in inside])}): if they are the "
                    f"classes, move them up into {path}")
    return ""


def _unlabelled_images_hint(path: Path, testing: bool) -> str:
    """Where the images of a folder given to test a model on lie directly inside it, without the class folders
    that label them: where to put them, and which command labels them instead; else nothing."""
    if not testing or not any(is_image_file(f, path) for f in path.iterdir()):
        return ""
    return (": its images lie directly inside, with no class folder to label them: put them in one folder a class "
            "to test on them (ssvae predict labels images that have none)")


def _image_folders(folder: Path, root: Path) -> list[Path]:
    """The sub-folders of ``folder`` (in ``root``) with images directly inside, by name."""
    return sorted((d for d in folder.iterdir() if d.is_dir() and _holds_images(d, root)), key=lambda d: d.name)


def _holds_images(folder: Path, root: Path) -> bool:
    """Whether ``folder`` (in ``root``) has an image directly inside: what makes a folder a class's."""
    return any(is_image_file(f, root) for f in folder.iterdir())


def _load_folder(path: Path, model: ModelInputs | None = None, image_size: tuple[int, ...] | None = None,
                 input_shape: tuple[int, ...] = ()) -> Source:
    """One sub-folder of images per class, plus ``unlabelled/`` (any case, or ``unlabeled/``), each read with
    its sub-folders (`image_files`). Hidden folders, macOS's ``__MACOSX`` and folders with no image directly
    inside (a run folder that ``ssvae train --data .`` wrote there, a virtual environment) are no classes;
    the last are named in a warning, as are images outside the sub-folders. Images of another size than most
    (than ``model``'s, or than a run's ``input_shape``) are skipped, or resized to ``image_size`` (to the
    model's, where it ``resize``s). To test a ``model``, one class will do, and ``unlabelled/`` is not read."""
    if path.resolve().name.lower() in UNLABELLED_NAMES:  # its sub-folders would be read as classes
        raise DataError(f"{path} is the folder of unlabelled images, whose sub-folders are no classes: give the "
                        f"folder that holds it beside the class folders ({path.resolve().parent})")
    folders = sorted((d for d in path.iterdir() if d.is_dir() and not is_hidden(d.name)),
                     key=lambda d: d.name)  # by name, as on every system (Windows orders paths in any case)
    base, real = os.path.realpath(path), {d: os.path.realpath(d) for d in folders}
    if aliases := [d for d in folders if within(real[d], base) and real[d] != os.path.join(base, d.name)]:
        warnings.warn(f"{path}: {', '.join(d.name for d in aliases)}: link(s) to other folders of {path}, not read "
                      f"(their images would take two labels)", stacklevel=user_stacklevel())
        folders = [d for d in folders if d not in aliases]
    unlabelled = [d for d in folders if d.name.lower() in UNLABELLED_NAMES]
    class_dirs = [d for d in folders if d not in unlabelled and _holds_images(d, path)]
    found = {d: files_under(d, path) for d in class_dirs + (unlabelled if model is None else [])}  # what is read
    others = [d for d in folders if d not in unlabelled and d not in class_dirs]  # a class folder of HEIC alone
    warn_of_unread_images([f for files in found.values() for f in files]
                          + [f for d in others for f in sorted(d.iterdir()) if f.is_file() or f.is_symlink()], path)
    if imageless := [d.name for d in others]:
        warnings.warn(f"{path}: {len(imageless)} folder(s) with no image directly inside are not classes, and no "
                      f"image in them is read: {listed(imageless)} (a class folder needs images directly inside, "
                      f"such as {imageless[0]}/a.png; its sub-folders are then read with it)",
                      stacklevel=user_stacklevel())
    if suspect := [d.name for d in class_dirs if looks_unlabelled(d.name)]:
        warnings.warn(f"{path}: folder(s) {listed([repr(name) for name in suspect])} are read as classes, though "
                      f"named like unlabelled images: name such a folder {UNLABELLED_FOLDER}/ (or unlabeled/) if "
                      f"its images have no label", stacklevel=user_stacklevel())
    needed = 2 if model is None else 1
    if len(class_dirs) < needed:
        raise DataError(f"{path}: needs one sub-folder of images per class (at least {'two' if needed == 2 else 'one'})"
                        + (f" and optionally '{UNLABELLED_FOLDER}/'" if model is None else "")
                        + (_nested_classes_hint(path, [d for d in folders if d.name in imageless], bool(unlabelled))
                           or _unlabelled_images_hint(path, model is not None)))
    if strays := [f.name for f in path.iterdir() if is_image_file(f, path)]:
        warnings.warn(f"{path}: {len(strays)} image(s) outside the class folders are not read (e.g. {strays[0]}): "
                      f"move them into a class folder, or into {UNLABELLED_FOLDER}/", stacklevel=user_stacklevel())
    names = tuple(d.name for d in class_dirs)
    _check_class_names(names, path)  # before the images are read
    entries = [(f, k) for k, d in enumerate(class_dirs) for f in found[d] if is_image_file(f, path)]
    if model is None:  # a model is tested on labelled images only
        entries += [(f, UNLABELLED) for d in unlabelled for f in found[d] if is_image_file(f, path)]
    mode, size = image_reading(model.input_shape if model is not None else input_shape or None, path)
    resize = model.resize if model is not None else image_size is not None
    x, kept = read_images([f for f, _ in entries], path, mode, size or image_size, resize, model is not None)
    y = np.array([entries[i][1] for i in kept], dtype=np.int64)
    if model is None:
        _check_trainable(y, names, path, f"its images were all skipped (above): add readable images of the size "
                                         f"of the others, or read them all at one size with "
                                         f"{setting_name('image_size')}")
    files = tuple(entries[i][0].relative_to(path).as_posix() for i in kept)  # '/' on every system
    return Source(Dataset(to_model_range(x, model.uint8_divisor if model is not None else 255), y, names), None, files)
