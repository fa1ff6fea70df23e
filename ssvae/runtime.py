"""Run an exported ssvae model with onnxruntime and numpy alone: this is what an app embeds.

    from ssvae import runtime
    model = runtime.load("models/digits-m2")         # a folder written by `ssvae export`
    probabilities = model.classify(images)           # uint8 0..255 or floats in [0, 1], (N, *input_shape)
    samples = model.generate("7", n=16, seed=0)      # class-conditional means of p(x|y,z), z ~ N(0, I)
    scores = model.score(images)                     # anomaly score: -ELBO per example, in nats

This module imports nothing of ssvae, torch or onnx: copy it next to the .onnx files and it works.
Sessions are created once at load and are safe to call from several threads at once. Importing it before
onnxruntime is imported turns onnxruntime's telemetry off (ORT_DISABLE_TELEMETRY=1) unless the environment
sets ORT_DISABLE_TELEMETRY.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import sys
import unicodedata
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

# onnxruntime's official builds send usage events to Microsoft and keep a device id in ~/.cache (where that
# cannot be written, every command warned of it): off unless the environment says otherwise
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
import onnxruntime as ort  # after the setting above, which it reads as it loads

_ORT_ERRORS = ort.capi.onnxruntime_pybind11_state
RUN_FAILURES = (_ORT_ERRORS.Fail, _ORT_ERRORS.RuntimeException, _ORT_ERRORS.InvalidArgument)  # of a graph's run
METADATA_PREFIX = "ssvae."
FORMAT_VERSION = 1  # of the graphs' inputs, outputs and metadata; `ssvae export` writes it
OPSET = 20  # the ONNX opset `ssvae export` writes unless told another
MIN_OPSET = 18  # torch's dynamo exporter writes opset 18 and converts from there; below, operators lack attributes
PRECISIONS = ("float32", "int8", "float16")
SCORE_QUANTILES = (0.5, 0.9, 0.95, 0.99)  # of an export's test examples' anomaly scores, in its metadata
ROLES = ("classifier", "encoder", "decoder")
NON_INPUT_COLUMNS = ("id", "label", "")  # a table's row names and classes; "": the index pandas' to_csv writes
PANDAS_UNNAMED = re.compile(r"Unnamed: \d+")  # pandas' name for a header's empty cell, such as that index's
# a missing value as pandas writes and reads it (R's too): an unlabelled row's label, a gap among the inputs
MISSING_VALUES = {"", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "<NA>", "#N/A"}
GENERATIVE_MODELS = ("m2", "adgm", "m1+m2", "m1")  # exported with an encoder and a decoder beside the classifier
MODEL_JSON = "model.json"  # what `ssvae export` writes beside the graphs: their metadata, for other tools
RUN_CONFIG = "config.json"  # what `ssvae train` writes first in a run folder: how one is told from a model folder
RUN_CHECKPOINT = "checkpoint.safetensors"  # in a run folder while it trains: what `ssvae train --resume` goes on from
MODEL_CARD = "model_card.md"  # beside an export's graphs: what the model is, for people
LOG_2PI = math.log(2.0 * math.pi)


class ModelError(ValueError):
    """A model folder or an input that cannot be used; the message names the problem and the fix."""


class InputRowError(ModelError):
    """Inputs refused for values in them: ``problem``, then the first row at fault (``row`` of the array given,
    its id ``name``), then the ``fix``. A caller that passes batches of a larger input names the row in the
    whole and the input's ``source`` (`placed`)."""

    def __init__(self, problem: str, fix: str, row: int, name: str | None = None, source: str | None = None):
        self.problem, self.fix, self.row = problem, fix, row
        where = f"row {row}" if name in (None, str(row)) else f"row {row}, id {name}"
        super().__init__(f"{'' if source is None else f'{source}: '}{problem} (first in {where}): {fix}")

    def placed(self, start: int, ids: Sequence[str], source: str | None) -> InputRowError:
        """This error of a batch that starts at row ``start`` of inputs with ``ids``, read from ``source``."""
        return type(self)(self.problem, self.fix, start + self.row, ids[self.row], source)


class NonFiniteInputError(InputRowError):
    """Inputs that hold NaN or inf (or numbers beyond float32)."""


def _channels_hint(given: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """What to do with images of the model's size in other channels (colour for a grey model, grey or with
    transparency for a colour one), as an image library loads them, a batch or one image without its batch
    axis; "" for any other shape."""
    if len(shape) != 3 or shape[0] not in (1, 3):
        return ""
    for batch in (given, (1, *given)):
        if len(batch) == 3:  # (N, H, W): grey
            channels, image = 1, batch[1:]
        elif len(batch) == 4:  # channel-first where the last two axes are the model's size, else channel-last
            channels = batch[1] if batch[2:] == shape[1:] else batch[3]
            image = batch[2:] if batch[2:] == shape[1:] else batch[1:3]
        else:
            continue
        if image == shape[1:] and channels in (1, 3, 4) and channels != shape[0]:
            kind, mode = ("grey", "L") if shape[0] == 1 else ("colour", "RGB")
            single = "" if batch is given else "; add a batch axis for a single image, e.g. x[None]"
            return f"; this model takes {kind} images: convert yours first (Pillow: image.convert({mode!r})){single}"
    return ""


def arrange(x: np.ndarray, shape: tuple[int, ...], model: str = "this model") -> np.ndarray:
    """A batch ``x`` laid out as (N, *shape), the examples of ``model`` (named so in the error), or a ModelError
    that says what fits. Also taken: (N, H, W) for one-channel images, images channel-last (N, H, W, C) as image
    libraries give them (where C, H and W are all equal the layout cannot tell, and channel-first is assumed),
    and flattened rows (N, prod(shape)), whose values must then be in the model's order (channel-first)."""
    if x.ndim == len(shape) + 1 and x.shape[1:] == shape:
        return x
    if x.ndim == len(shape) and shape[0] == 1 and x.shape[1:] == shape[1:]:
        return x[:, None]
    if len(shape) == 3 and x.ndim == 4 and x.shape[1:] == (*shape[1:], shape[0]):
        return np.moveaxis(x, -1, 1)
    if len(shape) > 1 and x.ndim == 2 and x.shape[1] == math.prod(shape):
        return x.reshape(len(x), *shape)
    single = x.shape in (shape, (math.prod(shape),)) or (shape[0] == 1 and x.shape == shape[1:]) or (
        len(shape) == 3 and x.shape == (*shape[1:], shape[0]))
    hint = "; add a batch axis for a single example, e.g. x[None]" if single else _channels_hint(x.shape, shape)
    forms = [shape]
    if len(shape) == 3 and shape[0] == 1:
        forms.append(shape[1:])
    if len(shape) == 3:
        forms.append((*shape[1:], shape[0]))
    if len(shape) > 1:
        forms.append((math.prod(shape),))
    written = [f"(N, {', '.join(map(str, form))})" for form in forms]
    taken = written[0] if len(written) == 1 else f"{', '.join(written[:-1])} or {written[-1]}"
    raise ModelError(f"inputs of shape {x.shape} do not fit {model}: it takes {taken}{hint}")


def by_name(x: Any, columns: Sequence[str] | None, categories: dict[str, Sequence[str]] | None = None) -> Any:
    """A table's ``columns`` in that order, where ``x`` has named columns (a pandas DataFrame) and the model
    was trained on a CSV that named them; without them, every column but `NON_INPUT_COLUMNS`, as a CSV's are
    read (pandas' `PANDAS_UNNAMED` columns as the empty header cells they were read from); anything else as it
    is. Names are compared as a CSV's header reads them: as text, without spaces around (a DataFrame's column 0
    is the CSV's "0"). ``columns`` None: a model trained on a CSV before ssvae
    kept its column names, which would read a table's columns by their place, whatever their names: refused.
    With ``categories``, an array: each column of categories read as text and given as its one-hot columns
    (`one_hot`), among the others' numbers; unless the table holds the one-hot columns themselves."""
    if not hasattr(x, "columns"):
        return x
    if columns is None:
        raise ModelError("this model was trained on a CSV before ssvae kept its column names, so a table's columns "
                         "cannot be found by name: train it again (ssvae train --data FILE.csv), or pass an array "
                         "of the columns in the training CSV's order")
    names = [str(name).strip() for name in x.columns]
    if not columns:
        inputs = [column for column, name in zip(x.columns, names)
                  if name not in NON_INPUT_COLUMNS and not PANDAS_UNNAMED.fullmatch(name)]
        return x if len(inputs) == len(names) else x[inputs]
    if not categories or set(columns) <= set(names):  # no categories, or their one-hot columns made already
        return x[[x.columns[k] for k in column_positions("the table", names, columns)]]
    read = table_columns(columns, categories)
    found = {name: x.columns[k] for name, k in zip(read, column_positions("the table", names, read))}
    numeric = [name for name in read if name not in categories]
    numbers = as_array(x[[found[name] for name in numeric]]) if numeric else np.empty((0, 0))
    if numbers.dtype.kind not in "uif":  # text among them: `prepare_inputs` refuses it, naming where it is
        return x[[found[name] for name in numeric]]
    parts = {name: numbers[:, [k]] for k, name in enumerate(numeric)}
    parts.update((name, one_hot(np.asarray(x[found[name]]), categories[name], name, "the table"))
                 for name in categories)
    with np.errstate(over="ignore"):  # beyond float32's range becomes inf, which `prepare_inputs` refuses
        return np.concatenate([np.asarray(parts[name], np.float32) for name in read], axis=1)


def column_sources(columns: Sequence[str], categories: dict[str, Sequence[str]]) -> list[str]:
    """The column of a table that each of a model's input ``columns`` is read from: a one-hot column's
    ("colour=red") column of ``categories`` ("colour"), any other's itself."""
    of = {f"{name}={value}": name for name, known in categories.items() for value in known}
    return [of.get(name, name) for name in columns]


def table_columns(columns: Sequence[str], categories: dict[str, Sequence[str]]) -> list[str]:
    """The columns of a table that a model of input ``columns`` reads, in order: each of ``categories`` once,
    where its one-hot columns stand (`column_sources`)."""
    return list(dict.fromkeys(column_sources(columns, categories)))


def category_spans(columns: Sequence[str], categories: dict[str, Sequence[str]]) -> tuple[tuple[int, int], ...]:
    """Where the one-hot columns of each of ``categories`` stand among a model's input ``columns``: (start,
    end) each, in order, the columns of one category column side by side."""
    sources = column_sources(columns, categories)
    return tuple(sorted((start := sources.index(name), start + len(known)) for name, known in categories.items()))


def one_hot(values: Sequence[Any], known: Sequence[str], column: str, table: str,
            place: Callable[[int], str] = "row {}".format) -> np.ndarray:
    """A table's ``column`` of categories (``values``: text, or what a DataFrame holds) as float32 (N, K), 1
    where a row holds the ``known`` category of that place: a model's input columns "colour=blue",
    "colour=red". A missing value (`MISSING_VALUES`, None, NaN) is NaN throughout, a gap; so is a category the
    model never trained on, with a warning that names it (``place`` says where a row stands in ``table``).
    What pandas made of a CSV's text is read as that text: a whole float (1.0) as 1, True as true, TRUE or
    True, whichever the model knows."""
    index = {name: k for k, name in enumerate(known)}
    for k, name in enumerate(known):  # pandas reads TRUE and true as True
        if name.lower() in ("true", "false"):
            index.setdefault(name.capitalize(), k)
    text = [str(int(value)) if isinstance(value, (float, np.floating)) and float(value).is_integer()
            else str(value).strip() for value in values]
    rows = np.full((len(text), len(known)), np.nan, dtype=np.float32)
    unknown: dict[str, int] = {}
    for row, value in enumerate(text):
        if value in index:
            rows[row] = 0.0
            rows[row, index[value]] = 1.0
        elif value not in MISSING_VALUES:
            unknown.setdefault(value, row)
    if unknown:
        first = min(unknown.values())
        warnings.warn(f"{table}: column {column!r} holds {len(unknown)} categor{'y' if len(unknown) == 1 else 'ies'} "
                      f"the model never trained on ({listed([repr(v) for v in unknown], 3)}, first in {place(first)}; "
                      f"it knows {listed([repr(v) for v in known], 5)}): read as missing", stacklevel=user_stacklevel())
    return rows


def listed(items: Sequence[str], most: int = 5) -> str:
    """The first ``most`` of ``items`` as a message lists them, and how many it leaves out: "a, b and 3 more"."""
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def column_positions(table: str, names: Sequence[str], columns: Sequence[str]) -> list[int]:
    """Where each of a model's ``columns`` stands among ``names``, a table's (a DataFrame's, a CSV header's);
    each must be there, once, or a ModelError names ``table`` and the column."""
    counts = Counter(names)
    if len(missing := [name for name in columns if name not in counts]) == len(columns):  # another model's data
        raise ModelError(f"{table} has none of the model's {len(columns)} input columns ({listed(columns, 3)}): is "
                         f"it data of another model? The model reads its columns by name, in any order")
    if missing:
        raise ModelError(f"{table} has no column {', '.join(map(repr, missing))}: the model reads columns "
                         f"{', '.join(columns)}, found by name in any order")
    if repeated := [name for name in columns if counts[name] > 1]:
        raise ModelError(f"{table} has column {', '.join(map(repr, repeated))} more than once: give each column its "
                         f"own name, so that it is clear which the model reads")
    position = {name: k for k, name in enumerate(names)}
    return [position[name] for name in columns]


def as_array(x: Any) -> np.ndarray:
    """``x`` as a numpy array, or a ModelError that says what to pass. A table of pandas' nullable or Arrow
    columns (``convert_dtypes()``, ``dtype_backend="pyarrow"``), which numpy reads as objects, is read as
    float64 with its missing values as NaN, which the checks then name by row; so is a numpy masked array with
    values masked (not the numbers under its mask)."""
    if isinstance(x, np.ma.MaskedArray) and x.dtype.kind in "uif":
        return x.astype(np.float64).filled(np.nan) if np.ma.is_masked(x) else x.data
    try:
        array = np.asarray(x)
    except (TypeError, ValueError, RuntimeError) as error:  # ragged rows; a torch tensor that needs grad, or on a GPU
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(f"inputs cannot be read as an array ({reason}): pass a numpy array, rows of equal length "
                         f"or a pandas DataFrame (a torch tensor as t.detach().cpu().float().numpy())") from None
    if array.dtype == object and hasattr(x, "to_numpy"):
        try:
            return x.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            pass  # not numbers: refused below as such
    return array


def same_letters(name: str) -> str:
    """A name in one Unicode form (NFC), so that names written alike compare equal: a macOS folder's "café"
    holds "e" and a combining accent where a keyboard types "é"."""
    return unicodedata.normalize("NFC", name)


def check_count(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int of at least ``minimum`` (a number of rows, samples or threads), or a ModelError that
    names ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        shown, kind = repr(value), type(value).__name__  # a repr of many lines (numpy's) would break the one line
        given = f"{shown} (a {kind}: pass an int)" if len(shown) <= 40 and "\n" not in shown else \
            f"a {kind}: pass an int"
        raise ModelError(f"{name} must be a whole number of at least {minimum}, got {given}")
    if value < minimum:
        raise ModelError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def check_seed(seed: Any) -> None:
    """A seed numpy's ``default_rng`` takes as the runtime documents it: None, a whole number of at least 0, or a
    ``np.random.Generator`` to go on drawing from; else a ModelError."""
    if seed is not None and not isinstance(seed, np.random.Generator):
        check_count("seed", seed, 0)


def _rows_given(y: Any) -> int:
    """How many examples classes ``y`` ask for where no count is given: one a class listed, else one."""
    shape = np.shape(y) if y is not None else ()
    return shape[0] if shape else 1


def _number(value: float) -> str:
    """A float32 input as an error shows it: the shortest digits that tell it from its neighbours, so that
    1.0000001 is not shown as the bound 1 it passes (nor -0.0 as -0)."""
    text = np.format_float_positional(np.float32(value + 0.0), trim="-")
    return text if len(text) <= 12 else f"{value:.8g}"


# The top grey level below which whole-number images are taken for images of a few levels (sklearn's digits:
# 0..16), to be scaled by it, not 8-bit ones that happen to be dark: no set of 8-bit photographs stays below it.
FEW_LEVELS = 64


def check_values(x: np.ndarray, input_range: tuple[float, float] | None, fills_missing: bool = False) -> None:
    """Prepared inputs ``x`` finite (but for missing ones, NaN, where the model ``fills_missing``) and inside the
    model's ``input_range`` (None: any), or a ModelError that says what to change; min and max alone decide
    it (NaN propagates into both), so a valid batch costs two passes over it."""
    if not x.size:
        return
    low, high = float(x.min()), float(x.max())
    if not (math.isfinite(low) and math.isfinite(high)) and (bad := unreadable_values(x, fills_missing)).any():
        raise NonFiniteInputError("inputs contain inf, or numbers too large for float32" if fills_missing else
                                  "inputs contain NaN or inf, or numbers too large for float32",
                                  "clean or drop those rows", _first(bad))
    if input_range is not None and (low < input_range[0] or high > input_range[1]):
        raise InputRowError(f"inputs range over [{_number(low)}, {_number(high)}] but this model takes "
                            f"[{input_range[0]:g}, {input_range[1]:g}]", _range_fix(x, low, high, input_range),
                            _first((x < input_range[0]) | (x > input_range[1])))


def unreadable_values(x: np.ndarray, fills_missing: bool) -> np.ndarray:
    """Which values of ``x`` a model cannot read: inf, and NaN too unless it ``fills_missing`` (a gap)."""
    return np.isinf(x) if fills_missing else ~np.isfinite(x)


def _range_fix(x: np.ndarray, low: float, high: float, input_range: tuple[float, float]) -> str:
    """What to do with inputs ``x`` (from ``low`` to ``high``) outside ``input_range``: clip those past it by
    rounding alone (a resampled or normalised image's -1e-12), scale images of a few grey levels (sklearn's
    digits, 0..16), else pass 8-bit images as uint8 or floats scaled to the range."""
    slack = 1e-3 * (input_range[1] - input_range[0])
    if input_range[0] - slack <= low and high <= input_range[1] + slack:
        return (f"clip them to it (np.clip(x, {input_range[0]:g}, {input_range[1]:g})): they pass it by no more "
                f"than rounding, as resampling or normalising leaves images")
    if low >= 0 and high < FEW_LEVELS and (x == x.round()).all():
        return f"pass them as floats scaled to that range (images of grey levels 0..L as x / L; these reach {high:g})"
    return ("pass 8-bit images (0..255) as uint8 (x.astype(np.uint8)), 16-bit ones as (x >> 8).astype(np.uint8), "
            "or floats scaled to that range")


# where ssvae's code lies: its package's folder, or this file alone where an app copied it in beside its own
OWN_CODE = str(Path(__file__).resolve().parent) + os.sep if __package__ == "ssvae" else str(Path(__file__).resolve())


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning, warned by the function that calls this, name the first line
    outside ssvae (`OWN_CODE`): the user's script however deep in ssvae it was warned (Python 3.12's
    skip_file_prefixes)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(OWN_CODE):
        level, frame = level + 1, frame.f_back
    return level


def warn_of_grey_levels(x: np.ndarray) -> None:
    """A warning where uint8 images given to a model of 8-bit images (divided by 255) reach no higher than a
    few grey levels (0 < max < `FEW_LEVELS`): sklearn's digits (0..16) or 0/1 masks cast to uint8 reach 0.063
    or 0.004 and are classified as nearly black images, wrongly and without a word. A warning, not an error: a
    batch of dark 8-bit images may stay that low too (and a model trained on such uint8 takes them so). One
    text for every batch, which Python then shows once."""
    high = int(x.max()) if x.size else 0
    if 0 < high < FEW_LEVELS:
        warnings.warn(f"uint8 inputs that stay below {FEW_LEVELS} are divided by 255 as 8-bit images are, and read "
                      f"as nearly black images: if they are images of grey levels 0..L (such as sklearn's digits, "
                      f"0..16), pass them as floats x / L", stacklevel=user_stacklevel())


def _finite(*outputs: np.ndarray) -> tuple[np.ndarray, ...]:
    """A graph's ``outputs``, or a NonFiniteInputError naming the first row with NaN or inf in one: finite
    inputs so far from the training data that the graph's arithmetic overflows float32 (such as -3.4e38, a
    common "no data" mark, standardised), which would otherwise come out as NaN probabilities."""
    for out in outputs:
        with np.errstate(over="ignore", invalid="ignore"):  # a sum first, cheap on one row; the scan only past it
            if math.isfinite(float(out.sum())) or np.isfinite(out).all():
                continue
            raise NonFiniteInputError("inputs overflow float32 inside the model (numbers far too large for it)",
                                      "clean or drop those rows; if they are sound, the model's graphs may be "
                                      "damaged: export them again", _first(~np.isfinite(out)))
    return outputs


def _first(bad: np.ndarray) -> int:
    """The first row (along the first axis) in which ``bad`` (booleans, one a value) marks a value; only on
    an error's path, since a batch laid out channel-last would be copied to be looked at by rows."""
    return int(np.flatnonzero(bad.reshape(len(bad), -1).any(-1))[0])


def prepare_inputs(x: Any, shape: tuple[int, ...], columns: Sequence[str] | None = (),
                   input_range: tuple[float, float] | None = None, uint8_divisor: float = 255,
                   fills_missing: bool = False, categories: dict[str, Sequence[str]] | None = None) -> np.ndarray:
    """Raw inputs (uint8 images, or numbers used as given) as float32 (N, *shape), read by ``columns`` where
    they name theirs (those of ``categories`` as one-hot columns) and checked against ``input_range``
    (`check_values`: NaN, a missing input, only for a model that ``fills_missing``), or a ModelError that says
    what to change. One rule for an export's graphs and for a run's model in torch."""
    if isinstance(x, (str, os.PathLike)):
        raise ModelError(f"inputs are a path ({os.fspath(x)!r}), not numbers: pass them as an array (a file read "
                         f"as ssvae predict reads it: ssvae.inference.model_inputs(MODEL_DIR, data=PATH).x)")
    series = type(x).__name__ == "Series"  # a DataFrame's row, df.iloc[k], with its id among its cells
    table = by_name(x, columns, categories)
    x = as_array(table)
    if x.dtype.kind not in "uif":
        wanted = ("a row as a DataFrame, df.iloc[[k]], not a Series, df.iloc[k]" if series else
                  f"an array (N, {shape[0]}) of floats, the columns in the model's order, or a pandas DataFrame"
                  if len(shape) == 1 else "uint8 images, or floats")
        raise ModelError(f"inputs of dtype {x.dtype} are not numbers{_first_text_cell(table)}: pass numbers "
                         f"({wanted})")
    x = arrange(x, shape)
    if x.dtype == np.uint8 and uint8_divisor == 255:  # a model of images: a table's uint8 are numbers
        warn_of_grey_levels(x)
    x = as_float32(x, uint8_divisor)
    try:
        check_values(x, input_range, fills_missing)
    except NonFiniteInputError as error:
        if not columns:
            raise
        column = columns[int(np.flatnonzero(unreadable_values(x[error.row], fills_missing))[0])]  # a table's: name it
        raise NonFiniteInputError(f"{error.problem}, in column {column!r}", error.fix, error.row) from None
    if categories:
        check_one_hot(x, columns or (), categories)
    return x


def check_one_hot(x: np.ndarray, columns: Sequence[str], categories: dict[str, Sequence[str]]) -> None:
    """Each column of ``categories`` given in prepared rows ``x`` (N, columns) as its one-hot columns: values in
    [0, 1] that sum to 1 (one 1 among 0s; probabilities, as `ExportedModel.generate` gives them), or 0s or NaN in
    them all (a missing category, as pandas' get_dummies gives one), or an InputRowError naming it: an array,
    unlike a table's text, could hold a 7 or two 1s there."""
    sources = column_sources(columns, categories)
    for start, end in category_spans(columns, categories):
        block = x[:, start:end]
        total = block.sum(-1, dtype=np.float64)
        sound = ((block >= 0) & (block <= 1)).all(-1) & ((np.abs(total - 1) < 1e-3) | (total == 0))
        if (bad := ~sound & ~np.isnan(block).all(-1)).any():
            raise InputRowError(f"the one-hot columns of {sources[start]!r} hold other than a category", "give "
                                "each row a 1 in its category's column and 0 in the others, or 0s or NaN in them "
                                "all for a missing category", _first(bad))


def _first_text_cell(table: Any) -> str:
    """Where a table's first cell that is not a number is, for an error: " (column 'c', row 3: 'n/a')"; "" for
    inputs without named columns. Missing values (None, pandas' NA) are not it: they are read as NaN."""
    for column in getattr(table, "columns", ()):
        for row, value in enumerate(np.asarray(table[column])):
            if value is None or type(value).__name__ == "NAType":
                continue
            try:
                float(value)
            except (TypeError, ValueError):
                shown = value.item() if isinstance(value, np.generic) else value  # 'n/a', not np.str_('n/a')
                return f" (column {str(column)!r}, row {row}: {shown!r})"
    return ""


def as_float32(x: np.ndarray, uint8_divisor: float = 255) -> np.ndarray:
    """Numbers as float32: uint8 images 0..255 scaled to [0, 1] (divided by ``uint8_divisor``: 1 for a model of
    a table, whose uint8 inputs are numbers), the rest as they are (float32 uncopied; beyond float32's range,
    inf, which the checks report)."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(uint8_divisor)
    with np.errstate(over="ignore"):
        return x.astype(np.float32, copy=False)


def folder_of_folders(folder: Path, name: str, kind: str) -> str | None:
    """Where ``folder`` holds folders of ``kind`` (model, run: those with a file ``name``) rather than being
    one, a message that names them (None where it holds none): ``models/`` given for ``models/digits``."""
    found = sorted(d.name for d in folder.iterdir() if (d / name).is_file())
    if not found:
        return None
    return (f"{folder} holds {kind} folders ({listed(found)}), not a {kind}'s files: pass one of them, e.g. "
            f"{folder / found[0]}")


def graph_file(role: str, precision: str = "float32") -> str:
    """The file name of ``role``'s graph of ``precision``: encoder.onnx, encoder.int8.onnx, ..."""
    return f"{role}.onnx" if precision == "float32" else f"{role}.{precision}.onnx"


# what `ssvae export` writes in a model folder: the graphs of every role and precision, their metadata, the card
MODEL_FILES = (MODEL_JSON, MODEL_CARD, *(graph_file(role, p) for role in ROLES for p in PRECISIONS))
DEVICES = ("auto", "cpu", "cuda")  # where the graphs run: auto is CUDA where onnxruntime has it, else the CPU
BATCH = 1024  # rows handed to onnxruntime at once: bounds memory on large inputs


def providers_for(device: str) -> list[str]:
    """onnxruntime providers: ``auto`` tries CUDA, then the CPU."""
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device in ("cuda", "auto") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ModelError("device cuda was asked for but this onnxruntime has no CUDA provider: install "
                         "onnxruntime-gpu, or run on the CPU (--device cpu; device='cpu' in Python)")
    if device != "auto":
        raise ModelError(f"device {device!r} is not one of {', '.join(DEVICES)}")
    return ["CPUExecutionProvider"]


def session_options(threads: int | None) -> ort.SessionOptions:
    """onnxruntime's options for a session on ``threads`` threads (None or 0: onnxruntime's default): they
    share each operator's work; the graph's operators run one after the other."""
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


def _session(path: Path, providers: list[str], threads: int | None) -> ort.InferenceSession:
    try:
        return ort.InferenceSession(str(path), sess_options=session_options(threads), providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types for unreadable models
        if too_new := _too_new(str(error)):
            raise ModelError(f"{path}: onnxruntime {ort.__version__} is older than this graph needs ({too_new}): "
                             f"upgrade onnxruntime (pip install -U onnxruntime), or export the run again with this "
                             f"ssvae, whose graphs onnxruntime 1.17 loads (1.16 with ssvae export --opset "
                             f"{MIN_OPSET})") from error
        raise ModelError(f"{path}: not a readable ONNX model ({str(error).splitlines()[0][:200]}); "
                         f"export it again with 'ssvae export'") from error


def _too_new(message: str) -> str | None:
    """What onnxruntime's refusal of a graph says is too new for it (its IR version or opset), or None."""
    if ir := re.search(r"Unsupported model IR version: \d+, max supported IR version: \d+", message):
        return ir.group(0)
    if opset := re.search(r"Opset (\d+) is under development.*?till opset (\d+)", message, re.DOTALL):
        return f"opset {opset[1]}; it knows opsets up to {opset[2]}"
    return None


def one_line_name(name: str) -> bool:
    """Whether ``name`` can head a CSV column and a table's row: not empty, on one line (the rule of class names
    in data, a run's config and an export's metadata)."""
    return bool(name.strip()) and not any(c in name for c in "\r\n")


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and one_line_name(v) for v in value)


def _size(value: Any) -> bool:
    return type(value) is int and value > 0


def _finite_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _score(value: Any) -> bool:
    """A score as `ExportedModel.score` gives it: a number, inf where an input overflows float32, never NaN."""
    return type(value) in (int, float) and not math.isnan(value)


def _in_short(summary: Any) -> bool:
    """Values in short as an export keeps its test examples' scores and entropies: `SCORE_QUANTILES`, max."""
    return (isinstance(summary, dict) and isinstance(summary.get("quantiles"), dict)
            and {f"{q:g}" for q in SCORE_QUANTILES} <= summary["quantiles"].keys()
            and all(map(_score, summary["quantiles"].values())) and _score(summary.get("max")))


def _by_confidence(summary: Any) -> bool:
    """Predictions by confidence as an export keeps its test examples' (``test_confidence``): their count ``n``,
    and ``levels``, each a least ``confidence`` in (0, 1], how many reach it, and the share of those right."""
    return (isinstance(summary, dict) and type(summary.get("n")) is int and isinstance(summary.get("levels"), list)
            and all(isinstance(row, dict) and _share(row.get("confidence")) and row["confidence"] > 0
                    and type(row.get("n")) is int and 0 <= row["n"] <= summary["n"]
                    and (row.get("accuracy") is None or _share(row["accuracy"])) for row in summary["levels"]))


def _share(value: Any) -> bool:
    """A share, such as an accuracy: a number from 0 to 1."""
    return _finite_number(value) and 0 <= value <= 1


def entropy(probabilities: np.ndarray) -> np.ndarray:
    """The entropy in nats of each row of class probabilities (N, K): how unsure q(y|x) is, from 0 (one class)
    to log K (all alike); `ssvae predict` and `ssvae score` write it."""
    p = np.asarray(probabilities)
    return -(p * np.log(np.maximum(p, 1e-30))).sum(-1) + 0.0  # + 0.0: a certain prediction's -0 becomes 0


# What the metadata keys the runtime reads must hold: a folder edited by hand, or made to harm, is refused in one
# line where its values would otherwise fail deep inside (a TypeError) or write names of several lines to a CSV
METADATA_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "class_names": ("a list of two or more one-line names", lambda v: _names(v) and len(v) >= 2),
    "input_shape": ("a list of sizes", lambda v: isinstance(v, list) and len(v) > 0 and all(map(_size, v))),
    "input_columns": ("a list of column names", lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v)),
    "input_range": ("null or [low, high]", lambda v: v is None or (
        isinstance(v, list) and len(v) == 2 and all(map(_finite_number, v)) and v[0] < v[1])),
    "latent_dim": ("a size", _size),
    "uint8_divisor": ("1 or 255", lambda v: type(v) is int and v in (1, 255)),
    "likelihood": ("bernoulli or gaussian", lambda v: v in ("bernoulli", "gaussian")),
    "conditional": ("true or false", lambda v: isinstance(v, bool)),
    "resize_images": ("true or false", lambda v: isinstance(v, bool)),
    "label_column": ("a column name", lambda v: isinstance(v, str) and v == v.strip() != ""),
    "training_range": ("an object of low and high, lists of numbers as many as the inputs' values",
                       lambda v: isinstance(v, dict) and all(isinstance(v.get(end), list) and all(map(
                           _finite_number, v[end])) for end in ("low", "high")) and len(v["low"]) == len(v["high"])),
    "fills_missing": ("true or false", lambda v: isinstance(v, bool)),
    "categories": ("an object of column names, each with a list of its categories", lambda v: isinstance(v, dict)
                   and all(isinstance(known, list) and _names(known) and known for known in v.values())),
    "whole_inputs": ("a list of input indices", lambda v: isinstance(v, list) and all(
        type(k) is int and k >= 0 for k in v)),
    "test_confidence": ("null or predictions by confidence (n; levels, each of confidence, n and accuracy)",
                        lambda v: v is None or _by_confidence(v)),
    "test_scores": ("null or scores in short (n, quantiles 0.5 to 0.99, max; entropy, likewise)",
                    lambda v: v is None or (_in_short(v) and type(v.get("n")) is int and v["n"] >= 0
                                            and ("entropy" not in v or _in_short(v["entropy"])))),
    "dataset": ("a data set's name or file name", lambda v: isinstance(v, str)),  # "" for a folder given as "."
    "test_data": ("a file name", lambda v: isinstance(v, str)),
    "test_fraction": ("a share from 0 to below 1", lambda v: _finite_number(v) and 0 <= v < 1),
    "split_seed": ("a seed (a whole number 0..4294967295)", lambda v: type(v) is int and 0 <= v < 2**32),
}


def _shown_json(value: Any) -> str:
    """A metadata value in an error: its JSON where short, else what it is made of (a long one, cut, would hide
    the part at fault)."""
    text = json.dumps(value)
    if len(text) <= 60:
        return text
    return f"an object of keys {', '.join(value)}" if isinstance(value, dict) else f"{text[:60]}..."


def _metadata(session: ort.InferenceSession, path: Path) -> dict[str, Any]:
    props = session.get_modelmeta().custom_metadata_map
    values = {k[len(METADATA_PREFIX):]: v for k, v in props.items() if k.startswith(METADATA_PREFIX)}
    if "class_names" not in values or "input_shape" not in values:
        raise ModelError(f"{path}: has no ssvae metadata; it was not written by 'ssvae export' (export the run "
                         f"with it, or read the graph with onnxruntime directly)")
    try:
        info = {k: json.loads(v) for k, v in values.items()}
    except (json.JSONDecodeError, RecursionError) as error:  # RecursionError: arrays nested thousands deep
        raise ModelError(f"{path}: its ssvae metadata is not valid JSON ({error}); export it again") from error
    if wrong := next((key for key, (_, fits) in METADATA_KINDS.items() if key in info and not fits(info[key])), None):
        raise ModelError(f"{path}: its metadata's {wrong} is not {METADATA_KINDS[wrong][0]} (it is "
                         f"{_shown_json(info[wrong])}): export the run again")
    if misplaced := _misplaced_categories(info):
        raise ModelError(f"{path}: its metadata's input_columns do not hold the one-hot columns of its categories "
                         f"{listed(misplaced)} side by side: export the run again")
    written = info.get("format")
    if isinstance(written, int) and written > FORMAT_VERSION:
        raise ModelError(f"{path}: model format {written}, written by a newer ssvae, but this one reads format "
                         f"{FORMAT_VERSION}: upgrade ssvae (or use the runtime.py of the ssvae that exported it)")
    if written != FORMAT_VERSION:
        raise ModelError(f"{path}: model format {'missing' if written is None else written} but this ssvae reads "
                         f"format {FORMAT_VERSION}: export the run again with this version of ssvae")
    return info


def user_path(path: str | os.PathLike) -> Path:
    """``path`` as a shell reads it, ``~`` the home folder: a folder named "~" in the working folder would wait
    for an ``rm -rf ~``. Every path the API is given goes through here."""
    return Path(os.path.expanduser(path))


def _model_folder(model_dir: Any) -> Path:
    """``model_dir`` as a Path, ``~`` expanded as a shell expands it; the report `ssvae.export` returns names its
    folder. Anything else is a ModelError: a training run, say, is exported first."""
    model_dir = getattr(model_dir, "model_dir", model_dir)
    if not isinstance(model_dir, (str, os.PathLike)):
        raise ModelError(f"model_dir must be the path of a folder written by ssvae export, got "
                         f"{type(model_dir).__name__}{export_first(model_dir)}")
    return user_path(model_dir)


def export_first(value: Any) -> str:
    """What an error adds where ``value``, given for an exported model, is a training run: to export it."""
    return " (a training run: export it first, ssvae.export(run, MODEL_DIR))" if type(value).__name__ == "Run" else ""


def load(model_dir: str | Path, device: str = "auto", precision: str = "float32",
         threads: int | None = None) -> "ExportedModel":
    """The model of a folder written by ``ssvae export``, as an `ExportedModel` (classify, encode, decode,
    generate, analogies, score), or a ModelError that says what is wrong with the folder.

    ``device``: "cpu", "cuda" (onnxruntime's CUDA provider; a ModelError if it does not start) or "auto" (CUDA
    where onnxruntime has it and it starts, else the CPU).
    ``precision``: "float32", or the export's "int8" (``--quantize int8``) or "float16" (``--fp16``) copies.
    ``threads``: onnxruntime's threads per graph (None: onnxruntime's default)."""
    model_dir = _model_folder(model_dir)
    if precision not in PRECISIONS:
        raise ModelError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if threads is not None:
        check_count("threads", threads, 1)
    first = _classifier_file(model_dir, precision)
    providers = providers_for(device)
    sessions = {role: _session(model_dir / graph_file(role, precision), providers, threads)
                for role in ROLES if (model_dir / graph_file(role, precision)).is_file()}
    if device == "cuda" and "CUDAExecutionProvider" not in sessions["classifier"].get_providers():
        raise ModelError("device cuda was asked for but onnxruntime's CUDA provider did not start (see its "
                         "warning above: CUDA or cuDNN libraries missing, or of another version than this "
                         "onnxruntime-gpu needs) and the graphs would run on the CPU: install the libraries it "
                         "names, or run on the CPU (--device cpu; device='cpu' in Python)")
    values = {role: _metadata(session, model_dir / graph_file(role, precision)) for role, session in sessions.items()}
    info = values["classifier"]
    missing = [role for role in ("encoder", "decoder") if role not in sessions]
    if len(missing) == 1:  # both gone: a classifier shipped alone, to label data; one gone: a loss
        raise ModelError(f"{model_dir / graph_file(missing[0], precision)}: missing; {model_dir} is not a complete "
                         f"model folder: export the run again")
    for role in sessions:
        _check_same_export(model_dir / graph_file(role, precision), values[role], role, info, first)
    _check_shapes(sessions, info, model_dir, precision)
    _check_model_json(model_dir / MODEL_JSON, info)
    return ExportedModel(model_dir, sessions, info, precision)


def _classifier_file(model_dir: Path, precision: str) -> Path:
    """The classifier graph of ``precision`` in ``model_dir``, the file every export has; else a ModelError
    that says what the path is instead (a file, nothing, a run, a folder of models, a folder without that
    precision) and what to pass."""
    if model_dir.is_file() and (model_dir.suffix.lower() == ".onnx" or model_dir.name == MODEL_JSON):
        raise ModelError(f"{model_dir} is a file: pass the model folder that holds it ({model_dir.parent})")
    if model_dir.is_file():
        raise ModelError(f"{model_dir} is a file, not a model folder: pass a folder written by 'ssvae export'")
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no such model folder; make one with 'ssvae export RUN_DIR --out {model_dir}'")
    first = model_dir / graph_file("classifier", precision)
    if first.is_file():
        return first
    if (model_dir / RUN_CONFIG).is_file() and (model_dir / RUN_CHECKPOINT).is_file():  # not yet trained
        raise ModelError(f"{model_dir} is a training run, not an exported model, and an unfinished one: finish it "
                         f"with 'ssvae train --resume {model_dir}' (adding --epochs N ends its last stage at epoch "
                         f"N), then export it")
    if (model_dir / RUN_CONFIG).is_file():
        raise ModelError(f"{model_dir} is a training run, not an exported model: export it with 'ssvae export "
                         f"{model_dir} --out MODEL_DIR' (ssvae.export(RUN_DIR, MODEL_DIR) in Python) and pass "
                         f"MODEL_DIR")
    if parent := folder_of_folders(model_dir, MODEL_JSON, "model"):
        raise ModelError(parent)
    if not is_model_folder(model_dir):  # data, or a mistyped path
        raise ModelError(f"{model_dir} is no model folder (it holds no {MODEL_JSON} and no .onnx graph): pass the "
                         f"--out folder of 'ssvae export'")
    raise ModelError(_missing_precision(first, model_dir, precision))


def _missing_precision(first: Path, model_dir: Path, precision: str) -> str:
    """Why ``precision``'s classifier graph ``first`` is missing, and what to do: export the run again or its
    copies, or pass the precision the folder holds (one shipped with its int8 graphs alone)."""
    held = held_precisions(model_dir)
    other = f"pass --precision {held[0]} (precision={held[0]!r} in Python)" if held else ""
    flag = {"int8": "--quantize int8", "float16": "--fp16"}.get(precision)
    if not held:
        return f"{first}: missing; {model_dir} is not a complete model folder: export the run again"
    if any((model_dir / graph_file(role, precision)).is_file() for role in ROLES):  # some of its graphs are there
        return (f"{first}: missing; {model_dir} is not a complete model folder: export the run again, or {other}, "
                f"whose graphs it holds")
    if flag:
        return (f"{first}: missing; {model_dir} holds no {precision} copies of its graphs (export with {flag} to "
                f"add them, or {other})")
    return f"{first}: missing; {model_dir} holds the {' and '.join(held)} graphs only: {other}"


def is_model_folder(folder: Path) -> bool:
    """Whether ``folder`` holds an export, whole or not: its model.json, or a graph (an app may ship the graphs
    without model.json, and the runtime reads them alone). A run folder holds neither."""
    return (folder / MODEL_JSON).is_file() or any(folder.glob("*.onnx"))


def held_precisions(model_dir: Path) -> list[str]:
    """The precisions whose classifier graph ``model_dir`` holds, in `PRECISIONS`' order (float32 first)."""
    return [p for p in PRECISIONS if (Path(model_dir) / graph_file("classifier", p)).is_file()]


def _check_shapes(sessions: dict[str, ort.InferenceSession], info: dict[str, Any], model_dir: Path,
                  precision: str) -> None:
    """Each graph's inputs and outputs fit the metadata the runtime reads: a folder edited by hand would
    otherwise fail inside onnxruntime, or write a CSV with a column per class that the graph does not have."""
    shape, classes = tuple(info["input_shape"]), (len(info["class_names"]),)
    expected = {"x": shape, "x_mean": shape, "x_logits": shape, "x_logvar": shape, "probabilities": classes,
                "y": classes}
    if "latent_dim" in info:
        expected.update(dict.fromkeys(("z", "z_mean", "z_logvar"), (info["latent_dim"],)))
    for role, session in sessions.items():
        for arg in [*session.get_inputs(), *session.get_outputs()]:
            dims = tuple(arg.shape[1:])
            if arg.name in expected and all(isinstance(d, int) for d in dims) and dims != expected[arg.name]:
                raise ModelError(f"{model_dir / graph_file(role, precision)}: its {arg.name} is (N, "
                                 f"{', '.join(map(str, dims))}) but the metadata says (N, "
                                 f"{', '.join(map(str, expected[arg.name]))}): export the run again")
    if "training_range" in info and len(info["training_range"]["low"]) != math.prod(shape):
        raise ModelError(f"{model_dir / graph_file('classifier', precision)}: its metadata's training_range holds "
                         f"{len(info['training_range']['low'])} values a bound, but the inputs have "
                         f"{math.prod(shape)}: export the run again")
    if any(k >= math.prod(shape) for k in info.get("whole_inputs", ())) or (
            info.get("whole_inputs") and "training_range" not in info):  # rounded within the range: none
        raise ModelError(f"{model_dir / graph_file('classifier', precision)}: its metadata's whole_inputs names an "
                         f"input beyond the {math.prod(shape)} there are, or comes without training_range: export "
                         f"the run again")
    if "decoder" in sessions and "likelihood" in info:
        second = "x_logits" if info["likelihood"] == "bernoulli" else "x_logvar"
        if second not in {arg.name for arg in sessions["decoder"].get_outputs()}:
            raise ModelError(f"{model_dir / graph_file('decoder', precision)}: has no output {second}, which the "
                             f"metadata's {info['likelihood']} likelihood needs: export the run again")


def _misplaced_categories(info: dict[str, Any]) -> list[str]:
    """The columns of categories in a model's metadata whose one-hot columns ("colour=red", ...) do not stand
    side by side, in order, among its input columns, as `category_spans` finds them."""
    columns, misplaced = info.get("input_columns", []), []
    for name, known in info.get("categories", {}).items():  # each with a category at least (`METADATA_KINDS`)
        one_hot = [f"{name}={value}" for value in known]
        start = columns.index(one_hot[0]) if one_hot[0] in columns else -1
        if start < 0 or columns[start:start + len(one_hot)] != one_hot:
            misplaced.append(name)
    return misplaced


def _check_same_export(path: Path, values: dict[str, Any], role: str, info: dict[str, Any], first: Path) -> None:
    """A graph copied in from another export, or renamed, would compute on another model's inputs or latent
    space (or not at all): each must say it is its file's role, and the rest of its metadata the classifier's."""
    if values.get("role") != role:
        raise ModelError(f"{path}: holds the {values.get('role')} graph, not the {role}: export the run again")
    differ = sorted(key for key in {*values, *info} - {"role"} if values.get(key) != info.get(key))
    if differ:
        raise ModelError(f"{path}: not from the export {first.name} is from (they differ in {', '.join(differ)}): "
                         f"export the run again (--force) so that the folder holds one export")


def _check_model_json(path: Path, info: dict[str, Any]) -> None:
    """``model.json`` repeats the graphs' metadata for apps that cannot read it (onnxruntime-web and -node):
    one from another export, or edited, would feed those apps other classes or shapes while this runtime
    ran right, so where it is there it must agree with the graphs on every key they carry (keys of its own,
    such as notes an app added, are left alone)."""
    if not path.is_file():
        return  # the graphs carry all this runtime reads
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelError(f"{path}: not readable JSON ({error}); export the run again") from error
    if not isinstance(values, dict):
        raise ModelError(f"{path}: holds no object of metadata; export the run again")
    if differ := sorted(key for key in info.keys() - {"role"} if values.get(key) != info[key]):  # others: the app's
        raise ModelError(f"{path}: does not match the graphs (they differ in {', '.join(differ)}): export the run "
                         f"again (--force) so that the folder holds one export")


def score_noise(seed: int | np.random.Generator | None, samples: int, classes: int, latent_dim: int) -> np.ndarray:
    """The standard normal draws `ExportedModel.score` gives every row, (samples, classes, latent_dim) float32:
    those of seed 0 and one sample are ``score_noise`` in model.json, for apps that score in other languages."""
    return np.random.default_rng(seed).standard_normal((samples, classes, latent_dim), dtype=np.float32)


def log_bernoulli(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """log p(x | logits) summed per example: x log s(l) + (1-x) log(1-s(l)), in a stable form."""
    per_unit = x * logits - np.maximum(logits, 0.0) - np.log1p(np.exp(-np.abs(logits)))
    return _sum_per_example(per_unit)


def observed(likelihood: str, mean: np.ndarray, second: np.ndarray, rng: np.random.Generator,
             categories: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """One draw from p(x|y,z) of the decoder's outputs (``mean`` and its x_logvar or x_logits, ``second``),
    with ``rng`` after the latent draws: a Gaussian's mean + exp(x_logvar / 2) times float64 standard normal
    noise, a Bernoulli's 1 where a float64 uniform draw in [0, 1) falls below the mean (its probability),
    else 0; float32, shaped as ``mean``. Then, where a Gaussian model's inputs hold ``categories`` (spans of
    one-hot columns, whose means are probabilities), a float64 uniform draw a row and span, in that order,
    picks its category: the first whose running sum of probabilities exceeds it."""
    if likelihood == "bernoulli":
        return (rng.random(mean.shape) < mean).astype(np.float32)
    with np.errstate(over="ignore"):  # a spread beyond float32 becomes inf, refused as the decoder's would be
        x = _finite((mean + np.exp(0.5 * second.astype(np.float64)) * rng.standard_normal(mean.shape))
                    .astype(np.float32))[0]
    draws = rng.random((len(mean), len(categories)))
    for k, (start, end) in enumerate(categories):
        chosen = np.minimum((np.cumsum(mean[:, start:end], -1) <= draws[:, k:k + 1]).sum(-1), end - start - 1)
        x[:, start:end] = np.eye(end - start, dtype=np.float32)[chosen]
    return x


def log_gaussian(x: np.ndarray, mean: np.ndarray, logvar: np.ndarray,
                 categories: tuple[tuple[int, int], ...] = ()) -> np.ndarray:
    """log N(x; mean, diag(exp(logvar))) summed per example over the inputs ``x`` holds: a missing one (NaN)
    is left out, so that it is the density of the observed inputs, the missing ones integrated out. Each span
    of one-hot inputs in ``categories`` (a table's; ``mean`` there its categories' probabilities) gives
    x log p instead: summed, the log-probability of the row's category."""
    per_unit = -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 / np.exp(logvar))
    for start, end in categories:
        per_unit[:, start:end] = x[:, start:end] * np.log(np.maximum(mean[:, start:end], 1e-30))
    return _sum_per_example(np.where(np.isnan(x), 0.0, per_unit))


def _sum_per_example(per_unit: np.ndarray) -> np.ndarray:
    """Sums over every axis but the first (also for a batch of none, which reshape(0, -1) refuses)."""
    return per_unit.sum(axis=tuple(range(1, per_unit.ndim)))


def log_sum_exp(values: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(values))) along ``axis``, computed without overflow; -inf where every value is -inf, inf
    where one is inf."""
    top = values.max(axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)  # infinite: exp and log carry it through (inf - inf is NaN)
    with np.errstate(divide="ignore"):
        return np.squeeze(top, axis) + np.log(np.exp(values - top).sum(axis))


def log_mean_exp(values: np.ndarray, axis: int) -> np.ndarray:
    return log_sum_exp(values, axis) - np.log(values.shape[axis])


def _input_columns(info: dict[str, Any]) -> tuple[str, ...] | None:
    """The CSV columns a model reads by name (none: by position), or None for a model exported from a CSV
    before ssvae kept their names (no ``input_columns`` key: today's exports write one, empty for a CSV read
    by position, and for a CSV run too old to know its names they write none)."""
    if "input_columns" in info:
        return tuple(info["input_columns"])
    return None if str(info.get("dataset")).lower().endswith(".csv") else ()


class ExportedModel:
    """Classify, encode, decode, generate and score with the graphs of one model folder."""

    batch_size = BATCH

    def __init__(self, model_dir: Path, sessions: dict[str, ort.InferenceSession], info: dict[str, Any],
                 precision: str = "float32"):
        self.model_dir = model_dir
        self._absolute_dir = model_dir.absolute()  # where a copy loads it again (`__reduce__`), wherever it works
        self.precision = precision
        self.sessions = sessions
        self.info = info
        self.class_names: tuple[str, ...] = tuple(info["class_names"])
        self.input_shape: tuple[int, ...] = tuple(info["input_shape"])
        generative = self.generative  # older exports of a classifier alone still carry these keys
        self.conditional = generative and bool(info.get("conditional", True))
        self.likelihood: str | None = info.get("likelihood", "bernoulli") if generative else None
        range_ = info.get("input_range")
        self.input_range: tuple[float, float] | None = tuple(range_) if range_ else None
        self.input_columns: tuple[str, ...] | None = _input_columns(info)  # a CSV's, read by name
        self.uint8_divisor: int = info.get("uint8_divisor", 255)  # 1 for a table: its uint8 are numbers
        self.fills_missing: bool = info.get("fills_missing", False)  # graphs that take NaN for a missing input
        self.categories: dict[str, tuple[str, ...]] = {  # a CSV's columns of text, as one-hot input columns
            name: tuple(known) for name, known in info.get("categories", {}).items()}
        self.category_spans = category_spans(self.input_columns or (), self.categories)
        self.label_column: str = info.get("label_column", "label")  # where a CSV of this model's data has classes
        bounds = info.get("training_range")
        self.training_range: tuple[np.ndarray, np.ndarray] | None = None if bounds is None else tuple(
            np.asarray(bounds[end], np.float32).reshape(self.input_shape) for end in ("low", "high"))
        self.whole_inputs: tuple[int, ...] = tuple(info.get("whole_inputs", ()))  # flattened indices

    def __reduce__(self) -> tuple:
        """A copy for another process (joblib, multiprocessing) or ``copy.deepcopy``: onnxruntime's sessions
        cannot be pickled, so the copy loads the folder again (by its absolute path: a worker may work in
        another folder), on the device, precision and threads of these, with this model's batch size."""
        return load, (self._absolute_dir, self.device, self.precision, self.threads), {"batch_size": self.batch_size}

    @property
    def device(self) -> str:
        """Where the graphs run, as `load` names it: "cuda" or "cpu"."""
        return "cuda" if "CUDAExecutionProvider" in next(iter(self.sessions.values())).get_providers() else "cpu"

    @property
    def threads(self) -> int | None:
        """The CPU threads the graphs run on, as `load` took them (None: onnxruntime's default)."""
        return next(iter(self.sessions.values())).get_session_options().intra_op_num_threads or None

    def __repr__(self) -> str:
        return (f"ExportedModel({str(self.model_dir)!r}, model={self.info.get('model')!r}, "
                f"precision={self.precision!r}, input_shape={self.input_shape}, classes={self.n_classes})")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def generative(self) -> bool:
        return "encoder" in self.sessions and "decoder" in self.sessions

    @property
    def latent_dim(self) -> int:
        self.require_generative("a latent size")
        return int(self.info["latent_dim"])

    @property
    def test_confidence(self) -> dict[str, Any] | None:
        """The export's test examples' predictions by confidence: their count ``n``, and under ``levels`` for
        each least ``confidence`` (0.999, 0.99, 0.9) how many reach it (``n``) and the share of those whose
        class is right (``accuracy``; None where none reach it): how far a threshold on the confidence can be
        trusted to label data. None where the export measured none (a run exported without its data, or an
        export older than this)."""
        return self.info.get("test_confidence")

    @property
    def test_scores(self) -> dict[str, Any] | None:
        """The export's test examples' anomaly scores in short (``n``, ``quantiles`` "0.5" to "0.99", ``max``,
        and the ``seed`` and ``samples`` they were scored with), and under ``entropy`` their entropies' (`entropy`:
        no key in an export older than that), to set a score against; None where the export measured none (a
        classifier alone, a run exported without its data, or an export older than this)."""
        return self.info.get("test_scores")

    # --- inputs ---
    def prepare(self, x: Any) -> np.ndarray:
        """Raw inputs as the graphs' float32 (N, *input_shape), or a ModelError that says what to change. A
        table with named columns (a pandas DataFrame) is read by the names the model was trained on. Float32
        inputs are not copied (large ones would take twice the memory): the result may be ``x`` itself, so copy
        it before changing it in place. A model that ``fills_missing`` takes NaN for a missing input (a table's
        gap), which its graphs fill with the training mean."""
        return prepare_inputs(x, self.input_shape, self.input_columns, self.input_range, self.uint8_divisor,
                              self.fills_missing, self.categories)

    def onehot(self, y: Any, n: int, blank: bool = False) -> np.ndarray:
        """Classes (index, name, (n,) indices or names, or (n, K) rows of class weights: one-hot, or a mixture
        that sums to 1; with ``blank`` also all zeros, the encoder's "predicted class") as (n, K) float32 rows."""
        y = as_array(y)
        if y.ndim == 2:
            if y.shape != (n, self.n_classes):
                raise ModelError(f"one-hot classes of shape {y.shape} do not fit: need ({n}, {self.n_classes})")
            return self._class_weights(y, blank)
        if y.ndim > 1 or (y.ndim == 1 and len(y) not in (1, n)):
            raise ModelError(f"classes of shape {y.shape} do not fit {n} rows: give one class for all of them, {n} "
                             f"indices or names, or ({n}, {self.n_classes}) one-hot rows")
        if y.ndim == 1 and y.dtype.kind == "b":
            raise ModelError(f"classes given as booleans of shape {y.shape} could be indices or a one-hot row: give "
                             f"indices or names, or one-hot rows of shape ({n}, {self.n_classes})")
        if self._one_hot_row(y, n):
            k = int(np.argmax(y))
            raise ModelError(f"classes {y.tolist()} could be {n} indices or one one-hot row (class {k}): give that "
                             f"class as {k} or '{self.class_names[k]}' for every row, or a class a row as names or as "
                             f"one-hot rows of shape ({n}, {self.n_classes})")
        index = np.broadcast_to(np.vectorize(self.class_index, otypes=[np.int64])(y), (n,))
        return np.eye(self.n_classes, dtype=np.float32)[index]

    def _one_hot_row(self, y: np.ndarray, n: int) -> bool:
        """Whether numbers ``y`` may be meant as one one-hot row rather than class indices: a 1 and 0s where n is
        the number of classes (np.eye(K)[k], or its integer copy, for K rows). Numbers elsewhere are indices."""
        return (y.ndim == 1 and y.dtype.kind in "iuf" and len(y) == n == self.n_classes
                and bool(np.isin(y, (0, 1)).all()) and y.sum() == 1)

    @staticmethod
    def _class_weights(y: np.ndarray, blank: bool) -> np.ndarray:
        """(n, K) rows as float32 class weights: each one-hot, or at least 0 and summing to 1 (a mixture of
        classes, which the decoder blends), or with ``blank`` all 0; else a ModelError."""
        rows = y.astype(np.float32) if y.dtype.kind in "uifb" else np.full(y.shape, np.nan, np.float32)
        sums = rows.sum(axis=1)
        whole = np.isclose(sums, 1, atol=1e-4)
        if not ((rows >= 0).all() and (whole | (sums == 0) if blank else whole).all()):
            raise ModelError("class rows must be one-hot (a 1 and 0s) or class weights of at least 0 that sum to 1"
                             + (", or all 0 for the predicted class" if blank else ""))
        return rows

    def _classes(self, y: Any, n: int, what: str, blank: bool = False) -> np.ndarray | None:
        """The class rows that ``what`` (encode, decode, generate) feeds its graph for ``y``, all zeros for a
        ``y`` of None where ``blank`` (the encoder's "predicted class"); None for a model whose encoder and
        decoder take no class (M1), which refuses a ``y``."""
        if not self.conditional:
            if y is not None:
                raise ModelError(f"this {self.info.get('model')} model's encoder and decoder take no class: call "
                                 f"{what} without y")
            return None
        if y is None and blank:
            return np.zeros((n, self.n_classes), np.float32)
        if y is None:
            raise ModelError(f"{what} needs the class y, as an index or a name ({listed(self.class_names, 3)}), or "
                             f"one-hot rows: this model's decoder takes one")
        return self.onehot(y, n, blank)

    def _latent(self, z: Any) -> np.ndarray:
        """Latent codes as float32 (N, latent_dim), finite, or a ModelError that says what to pass."""
        z = as_array(z)
        if z.dtype.kind not in "uif":
            raise ModelError(f"latent codes of dtype {z.dtype} are not numbers: pass floats")
        z = as_float32(z, uint8_divisor=1)  # beyond float32's range becomes inf, refused below
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ModelError(f"latent codes of shape {z.shape} do not fit: need (N, {self.latent_dim})")
        if not np.isfinite(z).all():
            row = int(np.flatnonzero(~np.isfinite(z).all(axis=1))[0])
            raise ModelError(f"latent codes contain NaN or inf, or numbers too large for float32 (first in row "
                             f"{row}): pass finite codes")
        return z

    def class_index(self, label: Any) -> int:
        """The index of a class given by index or name (written alike, in either Unicode form: `same_letters`)."""
        if isinstance(label, (str, np.str_)):
            written = [same_letters(name) for name in self.class_names]
            if same_letters(label) in written:
                return written.index(same_letters(label))
            alike = [name for name in self.class_names if name.casefold() == label.strip().casefold()]
            meant = f" (did you mean {alike[0]!r}? names are matched case by case)" if alike else ""
            raise ModelError(f"class {label!r} is not one of {', '.join(self.class_names)}{meant}")
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, numbers.Real):
            raise ModelError(f"class {label!r} is neither an index (0..{self.n_classes - 1}) nor a name "
                             f"({', '.join(self.class_names)})")
        if not float(label).is_integer():
            raise ModelError(f"class {label} is not a whole number: give an index (0..{self.n_classes - 1}) or a "
                             f"name")
        if not 0 <= int(label) < self.n_classes:
            raise ModelError(f"class {label} is outside 0..{self.n_classes - 1}")
        return int(label)

    def require_generative(self, what: str, models: str = "m2, adgm, m1+m2 or m1") -> None:
        """A ModelError naming ``what`` where this model has no encoder and decoder (a classifier alone), and
        the ``models`` that have what it needs; for a generative model's folder shipped with its classifier
        alone, the graphs to copy in."""
        kind = self.info.get("model")
        if not self.generative and kind in GENERATIVE_MODELS:
            raise ModelError(f"{self.model_dir} holds the classifier of an {kind} model without its "
                             f"{graph_file('encoder', self.precision)} and {graph_file('decoder', self.precision)}: "
                             f"{what} needs them: copy them in from its export, or export the run again")
        if not self.generative:
            raise ModelError(f"{self.model_dir} has no encoder and decoder ({self.info.get('model')} model): "
                             f"{what} needs a generative model ({models})")

    def require_analogies(self) -> None:
        """A ModelError where this model cannot draw analogies: no decoder, or one that takes no class (M1)."""
        if self.info.get("model") != "m1":  # an M1's graphs shipped or not, it draws none: said below
            self.require_generative("analogies", "m2, adgm or m1+m2, whose decoder takes the class")
        if not self.conditional:
            raise ModelError(f"{self.model_dir} is an {self.info.get('model')} model, whose decoder takes no class: "
                             f"analogies need a model whose decoder takes the class (m2, adgm, m1+m2)")

    def _run(self, role: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        try:
            return self.sessions[role].run(None, feeds)
        except RUN_FAILURES as error:  # inputs `prepare` let through: the graph's fault, or too little memory
            reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
            raise ModelError(f"{self.model_dir / graph_file(role, self.precision)}: onnxruntime could not run it "
                             f"({reason}): for a batch too large for memory, lower the batch size (--batch-size, "
                             f"ExportedModel.batch_size); else the graph is not as ssvae exported it: export the run "
                             f"again") from error

    def _class_feed(self, y: np.ndarray | None) -> dict[str, np.ndarray]:
        return {"y": y} if self.conditional else {}

    def _chunks(self, n: int, size: int | None = None) -> list[slice]:
        """Slices of at most ``size`` rows (else `batch_size`, which an app may set) covering ``n``; one empty
        slice for no rows, since the graphs take a batch of 0 and give correctly shaped empty outputs."""
        size = max(1, size) if size is not None else self._batch_rows()
        return [slice(i, min(i + size, n)) for i in range(0, max(n, 1), size)]

    def _batch_rows(self) -> int:
        """`batch_size`, which an app may set, checked: the rows of one run of a graph at most."""
        return check_count("batch_size", self.batch_size, 1)

    def _run_in_chunks(self, role: str, n: int,
                       feeds: Callable[[slice], dict[str, np.ndarray]]) -> tuple[np.ndarray, ...]:
        """The ``role`` graph's outputs for ``n`` rows, run on the ``feeds`` of one `_chunks` slice at a time
        and joined; a single chunk (the common case) is returned as it came, without a copy."""
        outputs = [self._run(role, feeds(s)) for s in self._chunks(n)]
        return tuple(outputs[0]) if len(outputs) == 1 else tuple(np.concatenate(parts) for parts in zip(*outputs))

    # --- what apps call ---
    def classify(self, x: Any) -> np.ndarray:
        """q(y|x): class probabilities, (N, K)."""
        x = self.prepare(x)
        return _finite(*self._run_in_chunks("classifier", len(x), lambda s: {"x": x[s]}))[0]

    def far_outside(self, x: Any) -> np.ndarray:
        """Which values of inputs ``x`` lie beyond the range the model's training inputs took by more than its
        width (booleans shaped as the prepared inputs, (N, *input_shape)): far from anything the model saw,
        such as a "no data" mark (-9999), which `classify` still gives a class, often a confident one. The
        margin is the range's width or its values' size (at least 1), the larger: a year of 2019 to 2020 is
        not far at 2022, nor an input that never varied (5) at 9. A model of images, of inputs with a range of
        their own, and an export older than this flag nothing (``training_range`` None)."""
        x = self.prepare(x)
        if self.training_range is None:
            return np.zeros(x.shape, bool)
        low, high = self.training_range
        margin = np.maximum(high - low, np.maximum(np.maximum(abs(low), abs(high)), 1))
        return (x < low - margin) | (x > high + margin)

    def as_data(self, x: np.ndarray) -> np.ndarray:
        """Generated inputs ``x`` (..., *input_shape) as the training data wrote them: each input whose every
        training value was a whole number (`whole_inputs`: a count, a year, a 0/1 flag) rounded to one and
        held within the values it took (`training_range`); the rest as they are. A copy, float32."""
        flat = np.array(x, np.float32).reshape(-1, math.prod(self.input_shape))
        if self.whole_inputs:
            columns = list(self.whole_inputs)
            low, high = (bound.reshape(-1)[columns] for bound in self.training_range)
            flat[:, columns] = np.clip(np.rint(flat[:, columns]), low, high)
        return flat.reshape(np.shape(x))

    def entropy(self, x: Any) -> np.ndarray:
        """The entropy of q(y|x) in nats, (N,) float64 (`entropy` of `classify`'s probabilities): log K for an
        input so far from the training data that the classifier's float32 arithmetic overflows, as unsure as a
        classifier can be, where `classify` refuses it and `score` gives it inf."""
        x = self.prepare(x)
        p = self._run_in_chunks("classifier", len(x), lambda s: {"x": x[s]})[0]
        with np.errstate(invalid="ignore"):
            h = entropy(p).astype(np.float64)
        return np.where(np.isfinite(h), h, math.log(self.n_classes))

    def encode(self, x: Any, y: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities, z_mean, z_logvar) of q(z|x,y), for the given classes ``y`` or, when None, the
        predicted ones."""
        self.require_generative("encode")
        x = self.prepare(x)
        y = self._classes(y, len(x), "encode", blank=True)
        return _finite(*self._run_in_chunks(  # type: ignore[return-value]
            "encoder", len(x), lambda s: {"x": x[s], **self._class_feed(None if y is None else y[s])}))

    def decode(self, z: Any, y: Any = None) -> np.ndarray:
        """The mean of p(x|y,z), shaped as the model takes its inputs: (N, *input_shape), e.g. (N, 1, 8, 8)."""
        return self._decoded(z, y, "decode")[0]

    def _decoded(self, z: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
        """The decoder's outputs for ``z`` and ``y``: p(x|y,z)'s mean and its x_logits or x_logvar; ``what``
        names the caller in errors."""
        self.require_generative(what)
        z = self._latent(z)
        y = self._classes(y, len(z), what)
        mean, second = self._run_in_chunks(
            "decoder", len(z), lambda s: {"z": z[s], **self._class_feed(None if y is None else y[s])})[:2]
        return _finite(mean)[0], second

    def generate(self, y: Any = None, n: int | None = None, seed: int | None = 0,
                 temperature: float = 1.0, noise: bool = False) -> np.ndarray:
        """``n`` new examples of class ``y`` (none for M1): decoder means at z ~ N(0, T² I), T the
        ``temperature`` (below 1: less varied, nearer the class's example at z = 0), seeded. Without ``n``, one
        example a class given: 1 for one class (or none), 3 for ``[1, 2, 3]`` or three one-hot rows. With
        ``noise``, each a draw from p(x|y,z) itself (`observed`), as varied as the data where the means are
        smoother: a table's rows with its columns' spread. The draws' order: docs/model-json.md."""
        self.require_generative("generate")
        n = check_count("n", n if n is not None else _rows_given(y), 0)
        check_seed(seed)
        if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, numbers.Real) \
                or not 0 < float(temperature) < math.inf:
            raise ModelError(f"temperature must be a number above 0, such as 0.7 or 1 (the default), got "
                             f"{temperature!r}")
        if not isinstance(noise, (bool, np.bool_)):
            raise ModelError(f"noise must be True or False, got {noise!r}")
        rng = np.random.default_rng(seed)
        with np.errstate(over="ignore"):  # beyond float32: inf, refused below
            z = (rng.standard_normal((n, self.latent_dim)) * float(temperature)).astype(np.float32)
        if not np.isfinite(z).all():
            raise ModelError(f"temperature {temperature!r} draws latent codes beyond float32's range: use a "
                             f"temperature such as 0.7 or 1 (the default)")
        mean, second = self._decoded(z, y, "generate")
        return observed(self.likelihood, mean, second, rng, self.category_spans) if noise else mean

    def analogies(self, x: Any) -> np.ndarray:
        """The style of each input rendered in every class: z from q(z|x, predicted y), decoded with each y;
        (N, K, *input_shape)."""
        self.require_analogies()
        z = self.encode(x)[1]
        k = self.n_classes
        every_class = np.tile(np.eye(k, dtype=np.float32), (len(z), 1))  # one-hot: two classes of one input
        out = self.decode(np.repeat(z, k, axis=0), every_class)        # as indices [0, 1] read as one row
        return out.reshape(len(z), k, *self.input_shape)

    def score(self, x: Any, samples: int | None = None,
              seed: int | np.random.Generator | None = 0) -> np.ndarray:
        """Anomaly score per example, in nats: -ELBO (one sample of z a class, q(y|x) over the classes), or
        with ``samples`` = S the negative importance-weighted bound with S samples, which sums p(x|y) over
        the classes exactly and tightens towards -log p(x) as S grows. Higher means less like the training data.
        A row with missing inputs (a model that ``fills_missing``) is scored on the inputs it holds: a bound on
        their density, not comparable with a whole row's, so compare rows with the same gaps.
        An m1+m2 export holds M1's codes at their means, in and out, so its score leaves out M1's noise and KL
        term: a score, not a bound on -log p(x), and not `ssvae evaluate`'s test ELBO (M1's own bound). An adgm
        export holds the auxiliary a at the mean of q(a|x) and leaves out its terms: still a bound (a leaves the
        model of x unchanged), but not the test ELBO, which keeps them.
        Every row takes the same draws of noise from ``seed`` (a draw a class and sample): a row's score is a
        function of the row alone, the same (up to float rounding) alone, in any batch and at any position, and
        copies of an input score alike; another seed gives other draws (an ``np.random.Generator`` gives those
        of its state, which it advances).
        An input so far from the training data that the model's float32 arithmetic overflows scores inf."""
        self.require_generative("score")
        if samples is not None:
            samples = check_count("samples", samples, 1)
        check_seed(seed)
        x = self.prepare(x)
        noise = score_noise(seed, samples or 1, self._enumerated, self.latent_dim)
        chunk = max(1, self._batch_rows() // (self._enumerated * (samples or 1)))  # rows of one decoder call
        with np.errstate(over="ignore", invalid="ignore"):  # an input the model's arithmetic overflows on
            scores = np.concatenate([self._negative_bound(x[s], noise, samples) for s in self._chunks(len(x), chunk)])
        return np.where(np.isnan(scores), np.inf, scores)  # scores inf (not NaN): ranked first

    @property
    def _enumerated(self) -> int:
        """The classes a bound sums over: all of a class-conditional model's, else one."""
        return self.n_classes if self.conditional else 1

    def _negative_bound(self, x: np.ndarray, noise: np.ndarray, samples: int | None) -> np.ndarray:
        """`score` of the rows ``x``: the encoder runs once on every row with every class, then one of the two
        estimators takes its outputs (rows repeated once a class, classes fastest) and the standard normal
        ``noise`` (samples, classes, latent), the same for every row."""
        k = self._enumerated
        xs = np.repeat(x, k, axis=0)
        ys = np.tile(np.eye(k, dtype=np.float32), (len(x), 1)) if self.conditional else None
        probs, mu, logvar = self._run("encoder", {"x": xs, **self._class_feed(ys)})  # q(y|x) once a class
        eps = np.tile(noise, (1, len(x), 1))  # (samples, rows x classes, latent): each row's classes alike
        if samples is None:
            return self._negative_elbo(xs, ys, probs[::k], mu, logvar, eps[0])
        return self._negative_iw_bound(xs, ys, mu, logvar, eps)

    def _negative_elbo(self, xs: np.ndarray, ys: np.ndarray | None, probs: np.ndarray, mu: np.ndarray,
                       logvar: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """-ELBO with one draw of z a class (``eps``, a row of noise a row of ``mu``): the class-conditional
        bounds weighted by q(y|x) (``probs``, a row each), plus q's entropy."""
        k = self._enumerated
        z = mu + np.exp(0.5 * logvar) * eps
        kl = 0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar).sum(-1)
        per_class = (self._log_px(xs, z, ys) - kl - math.log(k)).reshape(-1, k)
        if not self.conditional:
            return -per_class[:, 0]
        log_q = np.log(np.maximum(probs, 1e-30))
        return -(np.exp(log_q) * (per_class - log_q)).sum(-1)

    def _negative_iw_bound(self, xs: np.ndarray, ys: np.ndarray | None, mu: np.ndarray, logvar: np.ndarray,
                           eps: np.ndarray) -> np.ndarray:
        """The negative importance-weighted bound with the draws ``eps`` (samples, rows, latent) of z a class,
        p(x|y) summed over the classes exactly: no q(y|x) in it."""
        k = self._enumerated
        z = mu + np.exp(0.5 * logvar) * eps  # (samples, rows, latent)
        log_pz = -0.5 * (LOG_2PI + z ** 2).sum(-1)
        log_qz = -0.5 * (LOG_2PI + logvar + eps ** 2).sum(-1)
        log_w = self._log_px_of_samples(xs, z, ys) + log_pz - log_qz
        per_class = log_mean_exp(log_w, axis=0).reshape(-1, k) - math.log(k)
        return -log_sum_exp(per_class, axis=-1)

    def _log_px_of_samples(self, x: np.ndarray, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        """log p(x|y,z) of each sample of z (samples, rows, latent) for the rows ``x`` and ``y``: (samples, rows).
        As many samples go into one decoder call as fit in a batch, so that memory stays bounded."""
        group = max(1, self._batch_rows() // max(1, len(x)))
        return np.concatenate([
            self._log_px(np.concatenate([x] * len(part)), part.reshape(-1, part.shape[-1]),
                         None if y is None else np.concatenate([y] * len(part))).reshape(len(part), len(x))
            for part in np.split(z, range(group, len(z), group))])

    def _log_px(self, x: np.ndarray, z: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        mean, second = self._run("decoder", {"z": z.astype(np.float32), **self._class_feed(y)})
        if self.likelihood == "bernoulli":
            return log_bernoulli(x.astype(np.float64), second.astype(np.float64))
        return log_gaussian(x.astype(np.float64), mean.astype(np.float64), second.astype(np.float64),
                            self.category_spans)

    def describe(self) -> dict[str, Any]:
        """The metadata, every graph's inputs and outputs (name, shape, type) and the precisions whose graphs
        the folder holds (what `load` takes as ``precision``): what `ssvae info` shows."""
        def io(args: Sequence[Any]) -> list[dict[str, Any]]:
            return [{"name": a.name, "shape": [d if isinstance(d, int) else str(d) for d in a.shape],
                     "type": a.type} for a in args]

        graphs = {role: {"file": graph_file(role, self.precision), "inputs": io(s.get_inputs()),
                         "outputs": io(s.get_outputs()), "providers": s.get_providers()}
                  for role, s in self.sessions.items()}
        shared = {key: value for key, value in self.info.items() if key != "role"}  # the classifier's own
        return {"model_dir": str(self.model_dir), "precision": self.precision,
                "precisions": held_precisions(self.model_dir),
                "metadata": shared, "graphs": graphs}


__all__ = ["load", "ExportedModel", "ModelError", "InputRowError", "NonFiniteInputError", "PRECISIONS", "MODEL_JSON",
           "MODEL_FILES", "RUN_CONFIG", "BATCH", "DEVICES", "FORMAT_VERSION", "METADATA_PREFIX", "MIN_OPSET",
           "MISSING_VALUES", "NON_INPUT_COLUMNS", "OPSET", "ROLES", "graph_file", "held_precisions", "arrange",
           "by_name", "category_spans", "column_sources", "one_hot", "table_columns", "column_positions", "as_array",
           "as_float32", "check_count", "check_seed", "entropy", "same_letters", "folder_of_folders", "prepare_inputs"]
