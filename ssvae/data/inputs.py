"""Inputs to label or score: rows with an id each, from a file, a folder or a built-in data set's split.

Unlike training sources these need no labels and no class folders: a flat folder of images, an .npz's
``x``, an .npy (read from the file a batch at a time, so that huge files fit) or a .csv's numeric columns.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ssvae.config import is_table, setting_name
from ssvae.data.csv_files import CsvColumns, as_csv_hint, missing_label, read_csv, whole_number
from ssvae.data.dataset import UNLABELLED, DataError, Dataset, data_path
from ssvae.data.images import (IMAGE_SUFFIXES, UNREAD_SUFFIXES, file_id, files_under, image_reading, is_image_file,
                               read_images, warn_of_unread_images)
from ssvae.data.sources import (UNLABELLED_FOLDER, UNLABELLED_NAMES, arrays_given, builtin_hint, check_declared,
                                label_column_hint, load_source, npz_array, npz_labels, source_name,
                                warn_if_data_dir_unused)
from ssvae.data.split import choose_split
from ssvae.errors import listed, user_stacklevel

SPLITS = ("test", "train")
NPY_MAGIC = b"\x93NUMPY"  # how every .npy file begins


@dataclass(frozen=True)
class Inputs:
    """``x`` (N, ...) as stored (uint8 or float; a `RowFile` reads big files a batch at a time), one id a row,
    the file or folder they were read from (None for a built-in data set or an array), and which rows have
    no label, where a reader was asked (``unlabelled_only``)."""

    ids: Sequence[str]
    x: np.ndarray | RowFile
    source: Path | None = None
    unlabelled: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.x)

    def __repr__(self) -> str:
        """What the inputs are, in a line (a dataclass's repr listed every id and every value)."""
        ids = f"{self.ids[0]!r}..{self.ids[-1]!r}" if len(self.ids) else "none"
        return (f"Inputs({len(self)} rows of shape {tuple(self.x.shape[1:])}, {self.x.dtype}, ids {ids}, "
                f"source={None if self.source is None else str(self.source)!r})")


def read_inputs(data: str | Path | None = None, dataset: str | None = None, data_dir: str | None = None,
                split: str = "test", test_fraction: float | None = 0.25, split_seed: int = 0,
                image_shape: tuple[int, ...] | None = None, columns: Sequence[str] | None = (),
                resize: bool = False, label_column: str = "label", unlabelled_only: bool = False,
                id_column: str | None = None, categories: dict[str, tuple[str, ...]] | None = None) -> Inputs:
    """``data`` (a path) if given, else ``split`` of the built-in ``dataset``: its own test set, or the test
    split a training run made with ``test_fraction`` and ``split_seed`` (an exported model's metadata; None:
    the run held none out, and every example is a training one). A
    folder of images is read in the channels and size of ``image_shape``, the model's (C, H, W), those of
    another size skipped or, where the model ``resize``s them, resized; a CSV's ``columns`` by name (a model
    trained on a CSV records them; without: every numeric column but ``label_column``, in order).
    ``unlabelled_only``: the rows without a label alone (`_unlabelled_rows`), with the ids they have among all.
    ``id_column``: a CSV's column that names its rows (default: ``id`` where it has one, else row numbers).
    ``categories``: a CSV's columns of text, each with the categories the model knows (its one-hot columns)."""
    check_source(data, dataset, split, data_dir)
    if id_column is not None and not id_column.strip():
        raise DataError("--id-column (id_column= in Python) needs the name of a column of the CSV")
    id_column = None if id_column is None else id_column.strip()  # as the header's names are read
    if id_column is not None and (data is None or not is_table(data_path(data))):
        raise DataError(f"{data or dataset}: --id-column {id_column} (id_column= in Python) names a column of a CSV, "
                        f"and these inputs are none: leave it out (images are named by their files, other rows by "
                        f"their number)")
    if data is None:
        if unlabelled_only:
            raise _unlabelled_refusal(dataset, "every example of a built-in data set is labelled")
        rows, examples = builtin_split(dataset, data_dir, split, test_fraction, split_seed)
        return Inputs([str(i) for i in rows], examples.x)
    path = data_path(data)
    inputs = dataclasses.replace(_read_path(path, image_shape, columns, resize, label_column, unlabelled_only,
                                            id_column, categories), source=path)
    if not len(inputs):
        raise DataError(f"{data}: holds no inputs (an array of shape {tuple(inputs.x.shape)}): give at least one")
    return _unlabelled_rows(inputs) if unlabelled_only else inputs


def _unlabelled_refusal(where: Any, why: str) -> DataError:
    """Why --unlabelled-only finds nothing in ``where``: a source whose labels do not tell which inputs lack
    one (no label column, no y, no unlabelled/ folder), or that has none without a label. Predicting every
    input instead would pass off labelled ones as the unlabelled."""
    return DataError(f"{where}: {why}, so --unlabelled-only (unlabelled_only= in Python) finds no input known to "
                     f"lack a label: leave it out to predict every input")


def _unlabelled_rows(inputs: Inputs) -> Inputs:
    """The ``inputs`` without a label (their source's ``unlabelled``), each with its id among all: the rows a
    user wants labels for, left in their order. A source of labelled rows alone is refused."""
    rows = np.flatnonzero(inputs.unlabelled)
    if not len(rows):
        raise _unlabelled_refusal(inputs.source, "every input has a label")
    if isinstance(inputs.x, RowFile):
        x = np.concatenate([inputs.x[start:start + RowFile.BATCH][inputs.unlabelled[start:start + RowFile.BATCH]]
                            for start in range(0, len(inputs), RowFile.BATCH)])
    else:
        x = inputs.x[rows]
    return dataclasses.replace(inputs, ids=[inputs.ids[i] for i in rows], x=x, unlabelled=None)


def check_source(data: Any, dataset: str | None, split: str = "test", data_dir: str | Path | None = None,
                 what: str = "the inputs", arrays: bool = False) -> None:
    """A DataError unless exactly one of ``data`` (a path to ``what``, which must exist, or, where the caller
    takes ``arrays``, arrays held in memory) and ``dataset`` (a built-in set, whose ``split`` and ``data_dir``
    data of one's own leave unused) names the inputs: cheap, so callers check it before other work."""
    in_memory = arrays and arrays_given(data) is not None
    name = None if data is None else source_name(data) if arrays else data_path(data)
    if name is not None and dataset is not None:
        raise DataError(f"both --data {name} and --dataset {dataset} (data=, dataset= in Python) name inputs: pass "
                        f"one of them")
    if data is None and dataset is None:
        raise DataError("no inputs given: pass --data FILE_OR_FOLDER or --dataset NAME (data= or dataset= in Python)")
    given = [setting_name(field) for field, used in (("split", split != "test"), ("data_dir", data_dir is not None))
             if used]
    if name is not None and given:
        raise DataError(f"{' and '.join(given)} {'choose' if len(given) > 1 else 'chooses'} a built-in data set's "
                        f"examples, and {name} {'are examples' if in_memory else 'is a file or folder'} of "
                        f"your own: leave {'them' if len(given) > 1 else 'it'} out")
    if name is not None and not in_memory and not name.exists():
        raise DataError(f"{data}: no such file or folder; check the path of {what}{builtin_hint(str(data))}")


def builtin_split(dataset: str, data_dir: str | None = None, split: str = "test", test_fraction: float | None = 0.25,
                  split_seed: int = 0) -> tuple[np.ndarray, Dataset]:
    """``split`` of the built-in ``dataset`` as `read_inputs` takes it, labels too: the rows' numbers in their
    part of the set (the ids) and the examples."""
    if split not in SPLITS:
        raise DataError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    warn_if_data_dir_unused(dataset, data_dir)
    source = load_source(dataset, None, data_dir)
    if source.test is not None:
        chosen = source.test if split == "test" else source.train
        return np.arange(len(chosen)), chosen
    test = np.array(choose_split(source, None, 0, test_fraction, split_seed, 0).test if test_fraction else (), int)
    rows = test if split == "test" else np.setdiff1d(np.arange(len(source.train)), test)
    return rows, source.train.subset(rows)


def _read_path(path: Path, image_shape: tuple[int, ...] | None, columns: Sequence[str] | None,
               resize: bool, label_column: str = "label", unlabelled_only: bool = False,
               id_column: str | None = None, categories: dict[str, tuple[str, ...]] | None = None) -> Inputs:
    """The inputs at ``path`` (a CSV's ``categories`` read as `read_inputs` says); with ``unlabelled_only``,
    which of them have no label (`Inputs.unlabelled`), as the source says: a CSV's ``label_column``, an .npz's
    ``y``, a training folder's ``unlabelled/`` (the class folders' images left unread); a source that cannot
    say is refused (`_unlabelled_refusal`)."""
    if path.is_dir():
        files = files_under(path, path)
        if unlabelled_only:
            files = _unlabelled_files(files, path)
        warn_of_unread_images(files, path)
        inputs = _read_images([f for f in files if is_image_file(f, path)], path, image_shape, resize)
        return dataclasses.replace(inputs, unlabelled=np.ones(len(inputs), bool)) if unlabelled_only else inputs
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if unlabelled_only:
            raise _unlabelled_refusal(path, "an image alone holds no label")
        return _read_images([path], path.parent, image_shape, resize, where=path)
    if path.suffix.lower() in UNREAD_SUFFIXES:
        raise DataError(f"{path}: ssvae does not read {path.suffix} images: convert it to PNG or JPEG")
    if is_table(path):
        return _read_csv(path, columns, label_column, unlabelled_only, id_column, categories)
    readers = {".npz": _read_npz, ".npy": _read_npy}
    if path.suffix.lower() not in readers:
        raise DataError(f"{path}: cannot read {path.suffix or 'a file without suffix'}; "
                        f"give an .npz, .npy, .csv, an image or a folder of images{as_csv_hint(path)}")
    inputs = readers[path.suffix.lower()](path)
    if unlabelled_only:
        return dataclasses.replace(inputs, unlabelled=_npz_unlabelled(path, len(inputs)))
    return inputs


def _unlabelled_files(files: list[Path], folder: Path) -> list[Path]:
    """Of a training folder's ``files``, those of its ``unlabelled/`` (any case): the images without a label."""
    kept = [f for f in files if f.relative_to(folder).parts[0].lower() in UNLABELLED_NAMES]
    if not kept:
        raise _unlabelled_refusal(folder, f"has no {UNLABELLED_FOLDER}/ folder of images, as a training folder's "
                                          f"images without a label are kept")
    return kept


def _npz_unlabelled(path: Path, n: int) -> np.ndarray:
    """Which of an .npz's ``n`` inputs its labels ``y`` (read as training reads them) mark -1, unlabelled; an
    .npy, or an .npz without ``y``, is refused (`_unlabelled_refusal`)."""
    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) == NPY_MAGIC:  # an .npy, named .npz or not
            raise _unlabelled_refusal(path, "holds inputs alone, an array without labels")
    with np.load(path, allow_pickle=False) as arrays:
        if "y" not in arrays.files:
            raise _unlabelled_refusal(path, "holds no array y of labels")
        y = npz_labels(npz_array(arrays, "y", path), path, "y")
    if len(y) != n:
        raise DataError(f"{path}: y holds {len(y)} labels for {n} inputs: give one label an input, -1 where none")
    return y == UNLABELLED


class NumberedIds(Sequence[str]):
    """Row numbers as ids, made when asked: a million rows need no million strings."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [str(i) for i in range(*index.indices(self.n))]
        if not -self.n <= index < self.n:
            raise IndexError(index)
        return str(index % self.n)


@dataclass(frozen=True)
class RowFile:
    """Rows of an array stored raw in a file (an .npy, or an uncompressed member of an .npz), read when
    sliced: memory holds one batch, never the file (a memory map would keep every page it read resident)."""

    path: Path
    offset: int
    dtype: np.dtype
    shape: tuple[int, ...]
    BATCH = 4096  # rows read at once where the whole file is gone through

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, _ = rows.indices(len(self))
        count = max(0, stop - start)
        row_size = math.prod(self.shape[1:])
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * row_size * self.dtype.itemsize)
            data = np.fromfile(f, dtype=self.dtype, count=count * row_size)
        if len(data) != count * row_size:
            raise DataError(f"{self.path}: ends early (truncated?): save it again with numpy")
        return data.reshape(count, *self.shape[1:])


def _row_file(path: Path, offset: int, name: str | None) -> RowFile | None:
    """The array whose .npy header starts at ``offset`` (an .npz's array ``name``, or an .npy's own when
    None), or None if it is stored column-major."""
    with open(path, "rb") as f:
        f.seek(offset)
        major, _ = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(f)
        array = "the array" if name is None else f"array '{name}'"
        if dtype.hasobject:
            raise DataError(f"{path}: {array} holds Python objects; save numbers (pickles are never loaded)")
        check_declared(path, array, shape, dtype, os.fstat(f.fileno()).st_size - f.tell(), "file",
                       "save it again with numpy")
        if fortran or not shape:
            return None
        return RowFile(path, f.tell(), dtype, shape)


def _read_npy(path: Path) -> Inputs:
    try:
        rows = _row_file(path, 0, None)
        x = rows if rows is not None else np.load(path, allow_pickle=False)
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"{path}: not a readable .npy file ({error}); save it with numpy.save") from error
    return _numbered_rows(x, path)


def _numbered_rows(x: np.ndarray | RowFile, path: Path) -> Inputs:
    if len(x.shape) < 1:
        raise DataError(f"{path}: holds a single number, not rows of inputs: save an array of shape (N, ...)")
    return Inputs(NumberedIds(len(x)), x)


def _read_npz(path: Path) -> Inputs:
    """Array ``x``, read a batch at a time where it is stored uncompressed (``numpy.savez``), so a file
    larger than memory works; a compressed one (``savez_compressed``) is loaded whole. An .npy renamed .npz
    is read as the .npy it is."""
    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) == NPY_MAGIC:
            return _read_npy(path)
    try:
        rows = _npz_member(path, "x")
        if rows is None:
            with np.load(path, allow_pickle=False) as arrays:
                if "x" not in arrays.files:
                    raise DataError(f"{path}: needs an array 'x' (found {', '.join(arrays.files) or 'none'})")
                rows = npz_array(arrays, "x", path)
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"{path}: not a readable .npz file ({error}); save it with numpy.savez") from error
    return _numbered_rows(rows, path)


def _npz_member(path: Path, name: str) -> RowFile | None:
    """``name`` of an .npz as a `RowFile`, or None where it is compressed, column-major or absent."""
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(name + ".npy")
        except KeyError:
            return None
        if info.compress_type != zipfile.ZIP_STORED:
            return None
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)  # the local file header; its name and extra lengths can differ from the index's
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
    return _row_file(path, start, name)


def _read_csv(path: Path, columns: Sequence[str] | None, label_column: str = "label",
              unlabelled_only: bool = False, id_column: str | None = None,
              categories: dict[str, tuple[str, ...]] | None = None) -> Inputs:
    """``columns`` (or, with none, every numeric column) are the inputs, those of ``categories`` read as
    one-hot columns; the ``id_column`` names the rows
    (default: ``id``, else the unnamed index column of pandas' to_csv, else their numbers), and with
    ``unlabelled_only`` the ``label_column`` says which have no label (a file without it is refused)."""
    table = read_csv(path, columns, CsvColumns(label_column, id=id_column or "id", categories=categories or {}))
    if not len(table):
        raise DataError(f"{path}: needs a header row and at least one row of numbers")
    header = table.header
    if id_column is not None and id_column not in header:
        raise DataError(f"{path}: has no column {id_column!r} to name the rows by (--id-column, id_column= in "
                        f"Python): its columns are {listed(header, 8)}")
    if unlabelled_only and label_column not in header:  # before the inputs: no row of them would be predicted
        raise _unlabelled_refusal(path, f"has no {label_column!r} column, the model's column of classes"
                                        f"{label_column_hint(header, label_column, training=False)}")
    x, _ = table.inputs()
    chosen = id_column is not None
    id_column = id_column or ("id" if "id" in header else "" if header[0] == "" else None)  # "": pandas' index
    ids = [str(i) for i in range(len(x))] if id_column is None else table.column(id_column)
    if id_column is not None:
        _warn_of_ids_alike(path, repr(id_column) if chosen else id_column or "first (unnamed)", ids, chosen)
    if not unlabelled_only:
        return Inputs(ids, x)
    labels = [text.strip() for text in table.column(label_column)]
    return Inputs(ids, x, unlabelled=np.array([missing_label(text, whole_number(text, table.number))
                                               for text in labels], dtype=bool))


def _warn_of_ids_alike(path: Path, column: str, ids: list[str], chosen: bool = False) -> None:
    """A warning where a CSV's ids do not tell its rows apart (an empty id, or one given to several rows): the
    rows of an output (which `score` sorts) could then not all be joined back to the inputs by id. ``chosen``:
    the column was named by --id-column, which the fix then names."""
    counts = Counter(ids)
    empty = sum(n for i, n in counts.items() if not i.strip())
    repeated = [(i, n) for i, n in counts.items() if n > 1 and i.strip()]
    if not empty and not repeated:
        return
    faults = ([f"is empty in {empty} row(s)"] if empty else []) + (
        [f"gives {len(repeated)} id(s) to several rows ({repeated[0][0]!r} to {repeated[0][1]} rows)"]
        if repeated else [])
    fix = "name another column with --id-column, or leave it out" if chosen else "drop the column"
    warnings.warn(f"{path}: the {column} column, which names the rows in the output, {' and '.join(faults)}: give "
                  f"each row an id of its own, or {fix} to number the rows from 0", stacklevel=user_stacklevel())


def _read_images(files: list[Path], root: Path, image_shape: tuple[int, ...] | None, resize: bool,
                 where: Path | None = None) -> Inputs:
    """Image ``files`` (a folder's, see `image_files`; or one image), ids relative to ``root`` (`file_id`),
    named in messages from ``where`` (the folder, or the one image). Read in the channels of ``image_shape``
    (the model's (C, H, W)); images of another size are resized to it where ``resize``, else skipped with a
    warning that counts them (without ``image_shape``: grey, and the size most images have)."""
    mode, size = image_reading(image_shape, where or root)
    x, kept = read_images(files, where or root, mode or "L", size, resize and size is not None, size is not None)
    ids = [file_id(files[i], root) for i in kept]
    return Inputs(ids, x)


__all__ = ["Inputs", "NumberedIds", "builtin_split", "check_source", "read_inputs", "SPLITS"]
