"""One flat configuration for a run: what data, which model, how to train it.

It is saved as ``config.json`` beside every checkpoint and is the only description of a model: loading a
run rebuilds the networks from it. Unknown or missing fields fail loudly, so a file from another version
never loads half-right; only fields added later (`LATER_FIELDS`) may be missing, and mean what they meant then.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import numbers
import os
import re
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ssvae.errors import SAVE_ARRAYS, type_name
from ssvae.runtime import category_spans, one_line_name

FORMAT_VERSION = 1
MODEL_KINDS = ("m2", "adgm", "m1+m2", "m1", "supervised", "fixmatch")
LIKELIHOODS = ("auto", "bernoulli", "gaussian")
LR_SCHEDULES = ("constant", "cosine", "one-cycle")
CLASSIFIERS = ("mlp", "conv")
AUGMENTATIONS = ("none", "shift", "shift-flip")  # ssvae.augment's weak view; "-flip" mirrors left to right
VAT_MODELS = ("m2", "m1+m2")  # the models whose classifier q(y|x) virtual adversarial training regularises
CONV_MODELS = ("m2", "supervised", "fixmatch")  # the models whose q(y|x) sees the images themselves
CONSISTENCY_MODELS = ("m2", "fixmatch")  # the models that can train q(y|x) by consistency on unlabelled images
# what None means, said where a type is wrong
NONE_MEANS = {"labels": "every label, as --labels all or 'all'", "threads": "torch's default, as --threads auto or "
                                                                          "'auto'",
              "image_size": "the size most of the images have"}
M1_FEATURES = ("sample", "mean")  # what m1+m2's M2 stage sees of q(z1|x): a draw or the mean
TRAINING_PRECISIONS = ("float32", "bfloat16")  # bfloat16: matmuls and convolutions under autocast
# how the labelled bound weighs against the unlabelled one: batch for batch, or example for example
LABELLED_BOUNDS = ("batch", "share")
# the settings that name one of a few options, with those options: what Config accepts (and the command line offers,
# for those it has an option of)
CHOICES = {"model": MODEL_KINDS, "likelihood": LIKELIHOODS, "lr_schedule": LR_SCHEDULES, "classifier": CLASSIFIERS,
           "precision": TRAINING_PRECISIONS, "augment": AUGMENTATIONS, "m1_features": M1_FEATURES,
           "labelled_bound": LABELLED_BOUNDS}
# the numeric settings with a lower bound: (the settings, the test of a value below it, what the error says)
LOWER_BOUNDS = (
    (("epochs", "batch_size", "labelled_batch_size", "latent_dim", "aux_dim", "m1_latent_dim", "checkpoint_every"),
     lambda value: value < 1, "must be at least 1"),
    (("lr", "vat_epsilon"), lambda value: value <= 0, "must be positive"),
    (("alpha", "vat", "consistency", "m1_epochs", "kl_warmup_epochs", "val_labels"), lambda value: value < 0,
     "cannot be negative"),
)
LARGEST = 2**31 - 1  # the largest count or size a setting takes: torch's sizes and indices overflow past it
SEEDS = ("seed", "split_seed")  # 0..2**32 - 1: the range numpy's and torch's generators all take


TABLE_FILES = (".csv", ".tsv")  # tables of text that ssvae reads: a CSV, or a .tsv, whose fields tabs separate


def is_table(data: str | None) -> bool:
    """Whether one's own ``data`` (a path) are a table, a CSV's columns: what `Config.table` says of a run. Not
    a path (arrays given where a config wants one, which it then refuses): no table."""
    return isinstance(data, (str, os.PathLike)) and Path(data).suffix.lower() in TABLE_FILES


class ConfigError(ValueError):
    """A configuration that cannot describe a model or a run; ``field`` names the setting at fault, where one
    alone is (so the command line can name its option)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


PATH_FIELDS = ("data", "test_data", "data_dir")  # the fields that name a file or folder
MAX_IMAGE_PIXELS = 512 * 512  # --image-size: 786,432 inputs in colour, 393 million weights in a layer of 500

# Fields added since files of this FORMAT_VERSION were first written, with the value that means what a file
# written before them did: such a file still loads, and trains or evaluates as it did.
LATER_FIELDS: dict[str, Any] = {"adaptive_threshold": False, "weight_decay": 0.0, "threads": None,
                                "input_columns": None, "test_data": None, "pixel_inputs": None, "image_size": None,
                                "label_column": "label", "ignore_columns": (), "labelled_bound": "batch",
                                "categories": {}}


@dataclass
class Config:
    """Everything that defines a run: the data, the label split, the model and its training. Saved as
    config.json in every run folder and in every checkpoint (a resume refuses edits to it, but for those
    of `EDITABLE_FOR_RESUME`: where the data are, checkpointing, the device and the epochs); the command
    line's options and `ssvae.train`'s keywords are its fields, each described in `SETTING_HELP`, which
    the list of fields below and ``ssvae train --help`` show.

    The defaults here are the paper's. ``ssvae.train(**settings)`` and the command line start from the data
    set's preset instead (`PRESETS`: digits trains 400 epochs with a latent_dim of 8), as does
    ``ssvae.settings.config_for(dataset=..., recipe=..., **settings)``, which returns that config;
    ``Config(...)`` given to ``ssvae.train`` is taken as it is, without a preset."""

    # --- data ---
    dataset: str | None = "digits"
    data: str | None = None
    data_dir: str | None = None
    test_data: str | None = None
    image_size: tuple[int, ...] | None = None  # (width, height), or N for N x N: a folder's images, resized
    label_column: str = "label"  # a CSV's column of classes
    ignore_columns: tuple[str, ...] = ()  # a CSV's columns that are no inputs (but for id, which never is)
    labels: int | None = 100
    val_labels: int = 0
    test_fraction: float = 0.25
    split_seed: int = 0
    # --- filled from the data when a run starts ---
    input_shape: tuple[int, ...] = ()
    class_names: tuple[str, ...] = ()
    input_columns: tuple[str, ...] | None = ()
    categories: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    pixel_inputs: bool | None = None
    likelihood: str = "auto"
    # --- model ---
    model: str = "m2"
    latent_dim: int = 50
    aux_dim: int = 50
    hidden: tuple[int, ...] = (500,)
    classifier: str = "mlp"
    classifier_hidden: tuple[int, ...] = (500,)
    classifier_channels: tuple[int, ...] = (32, 64, 128)
    m1_latent_dim: int = 50
    m1_hidden: tuple[int, ...] = (600, 600)
    m1_features: str = "sample"
    # --- training ---
    epochs: int = 200
    m1_epochs: int = 100
    batch_size: int = 100
    labelled_batch_size: int = 100
    lr: float = 1e-3
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    alpha: float = 0.1
    labelled_bound: str = "batch"
    vat: float = 0.0
    vat_epsilon: float = 1.0
    augment: str = "none"
    consistency: float = 0.0
    consistency_threshold: float = 0.95
    adaptive_threshold: bool = False
    ema: float = 0.0
    kl_warmup_epochs: int = 0
    seed: int = 0
    device: str = "auto"
    precision: str = "float32"
    compile: bool = False
    checkpoint_every: int = 1
    threads: int | None = None
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.labels == "all":  # the command line's words, taken in Python too
            self.labels = None
        if self.threads == "auto":
            self.threads = None
        if type(self.image_size) is int:  # N, as --image-size N: N x N
            self.image_size = (self.image_size, self.image_size)
        if isinstance(self.ignore_columns, str):  # one name, as ignore_columns="name"
            self.ignore_columns = (self.ignore_columns,)
        if self.data is not None:  # one's own data: no built-in set (config.json said "digits")
            self.dataset = None
        hints = _field_types()
        for f in dataclasses.fields(self):
            given = getattr(self, f.name)
            setattr(self, f.name, _plain(given))
            if not _fits(getattr(self, f.name), hints[f.name]):
                none = f" (None: {NONE_MEANS[f.name]})" if f.name in NONE_MEANS else ""
                raise ConfigError(f"{f.name} must be of type {f.type}{none}, got {_shown(given)}"
                                  + {"data": f": {SAVE_ARRAYS}, or arrays as data=(x, y) with out= to ssvae.train",
                                     "test_data": f": {SAVE_ARRAYS}, or test arrays with the data's, as data={{'x': "
                                                  f"x, 'y': y, 'x_test': x_test, 'y_test': y_test}}"}.get(f.name, ""))
        for name in PATH_FIELDS:  # ~ as the shell (and pandas) reads it; a Path's too
            if (value := getattr(self, name)) is not None and value.startswith("~"):
                setattr(self, name, os.path.expanduser(value))
        for name in _tuple_fields():  # JSON gives them as lists
            if getattr(self, name) is not None:
                setattr(self, name, tuple(getattr(self, name)))
        self.categories = {column: tuple(known) for column, known in self.categories.items()}
        if self.input_columns is None and not self.table:  # a run older than the field: only a CSV's had names
            self.input_columns = ()
        self._check_values()  # values that cannot work are refused, naming the field and what it accepts
        self._check_columns()
        self._check_combinations()

    def _check_values(self) -> None:
        """Each setting on its own: finite, of its kind, in its range."""
        for field in dataclasses.fields(self):  # NaN passes every comparison below (each is False)
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{field.name} must be a finite number, got {value}", field.name)
            if field.name not in SEEDS and any(type(v) is int and v > LARGEST
                                               for v in (value if isinstance(value, tuple) else (value,))):
                raise ConfigError(f"{field.name} must be at most {LARGEST}, got {option_text(value, '')}", field.name)
        for name in SEEDS:
            if not 0 <= getattr(self, name) < 2**32:
                raise ConfigError(f"{name} must lie in 0..{2**32 - 1}, got {getattr(self, name)}", name)
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} {getattr(self, name)!r} is not one of {', '.join(allowed)}", name)
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):  # torch's raw error for the rest
            raise ConfigError(f"device {self.device!r} is not one of auto, cpu, cuda, cuda:N (the GPU numbered N)",
                              "device")
        for name in PATH_FIELDS:  # pathlib reads "" as the current folder
            if getattr(self, name) == "":
                raise ConfigError(f"{name} is an empty path: give the name of a file or folder", name)
        if self.version != FORMAT_VERSION:
            raise ConfigError(f"config version {self.version} is not the supported version {FORMAT_VERSION}")
        for names, below, words in LOWER_BOUNDS:
            if wrong := next((name for name in names if below(getattr(self, name))), None):
                raise ConfigError(f"{wrong} {words}, got {getattr(self, wrong)}", wrong)
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1 (or left out for torch's default), got {self.threads}",
                              "threads")
        if self.labels is not None and self.labels < 1:
            raise ConfigError(f"labels must be at least 1 (or 'all'), got {self.labels}", "labels")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ConfigError(f"test_fraction must lie in [0, 1), got {self.test_fraction} (0 holds out no test "
                              f"set, so that every label trains; or give labelled test data of your own: "
                              f"{both_spellings('test_data', 'FILE')})", "test_fraction")
        if not 0.0 <= self.weight_decay < 1.0 / self.lr:
            raise ConfigError(f"weight_decay must lie in [0, 1 / lr) (0: off; 0.05 typical), got {self.weight_decay}: "
                              f"each step scales q(y|x)'s weights by 1 - lr * weight_decay", "weight_decay")
        if bad := [name for name in self.class_names if not one_line_name(name)]:
            raise ConfigError(f"class_names must be names on one line, got {bad[0]!r}", "class_names")
        for name in (name for name, item in _tuple_fields().items() if item is int):  # sizes
            if any(size < 1 for size in getattr(self, name) or ()):
                sizes = option_text(getattr(self, name), "")
                raise ConfigError(f"{name} must all be at least 1, got {sizes}", name)
        if self.image_size is not None and len(self.image_size) != 2:
            raise ConfigError(f"image_size must be a width and a height, got {option_text(self.image_size, '')}",
                              "image_size")
        if self.image_size is not None and math.prod(self.image_size) > MAX_IMAGE_PIXELS:
            raise ConfigError(f"image_size {option_text(self.image_size, '')} is {math.prod(self.image_size):,} "
                              f"pixels an image, more than 512x512: the encoder and decoder are fully connected to "
                              f"every pixel; photos train at 32 to 96 pixels a side", "image_size")
        if not self.hidden or (self.classifier == "conv" and not self.classifier_channels):
            raise ConfigError(f"hidden needs at least one layer size, and a conv classifier at least one channel "
                              f"count (e.g. {both_spellings('hidden', (500,))}, "
                              f"{both_spellings('classifier_channels', (32, 64))})")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"ema must lie in [0, 1) (0: off; 0.999 typical), got {self.ema}", "ema")
        if not 0.0 <= self.consistency_threshold <= 1.0:
            raise ConfigError(f"consistency_threshold must lie in [0, 1], got {self.consistency_threshold}",
                              "consistency_threshold")

    def _check_columns(self) -> None:
        """A CSV's column names as its header has them (without the spaces around them), none empty or ``id``
        (the rows' names), and the label column not among those ignored."""
        self.label_column = self.label_column.strip()
        self.ignore_columns = tuple(name.strip() for name in self.ignore_columns)
        for field, names in (("label_column", (self.label_column,)), ("ignore_columns", self.ignore_columns)):
            if "" in names or "id" in names:
                wrong = "an empty name" if "" in names else "'id', whose column names the rows and is never an input"
                raise ConfigError(f"{field} must name columns of the CSV, got {wrong}", field)
            if commas := [name for name in names if "," in name]:  # --ignore-columns a,b is two names
                raise ConfigError(f"{field} names {commas[0]!r}, with a comma, which the command line reads as two "
                                  f"names: give the names apart (ignore_columns=['a', 'b']), and rename a column "
                                  f"whose name holds a comma", field)
        if self.label_column in self.ignore_columns:
            raise ConfigError(f"ignore_columns names {self.label_column!r}, the label column: leave it out of "
                              f"ignore_columns", "ignore_columns")

    def _check_combinations(self) -> None:
        """Settings that apply only to some models, inputs or other settings."""
        consistency_off = both_spellings("consistency", 0.0)
        if self.vat > 0 and self.model not in VAT_MODELS:
            raise ConfigError(f"vat applies to models {' and '.join(VAT_MODELS)}, not {self.model}: set "
                              f"{both_spellings('vat', 0.0)}")
        if self.classifier == "conv" and self.model not in CONV_MODELS:
            raise ConfigError(f"a conv classifier applies to models {', '.join(CONV_MODELS)}, not {self.model}: "
                              f"use {both_spellings('classifier', 'mlp')}")
        if self.consistency > 0 and self.model not in CONSISTENCY_MODELS:
            raise ConfigError(f"consistency applies to models {', '.join(CONSISTENCY_MODELS)}, not {self.model}: set "
                              f"{consistency_off}")
        if self.consistency > 0 and self.augment == "none":
            raise ConfigError(f"consistency trains on shifted views of images: add "
                              f"{both_spellings('augment', 'shift')} or shift-flip"
                              + ("" if self.model == "fixmatch" else f", or set {consistency_off}"))
        if self.model == "fixmatch" and self.consistency == 0:
            raise ConfigError(f"model fixmatch learns from unlabelled images by consistency alone: set "
                              f"{setting_name('consistency')} above 0 (1.0 typical) with {setting_name('augment')} "
                              f"shift or shift-flip (for a table, which has no shifted views, choose another "
                              f"{setting_name('model')}, such as m2)")
        if self.adaptive_threshold and self.consistency == 0:
            raise ConfigError(f"adaptive_threshold applies to consistency training: set {setting_name('consistency')} "
                              f"above 0, or turn it off: {both_spellings('adaptive_threshold', False)}")
        if self.input_shape and self.model == "fixmatch" and len(self.input_shape) != 3:
            raise ConfigError(f"model fixmatch learns from shifted views of images, but the inputs have shape "
                              f"{self.input_shape}: choose another {setting_name('model')}, such as m2", "model")
        imaging = {"classifier": "mlp"} if self.classifier == "conv" else {}
        imaging |= {"augment": "none"} if self.augment != "none" else {}
        if self.input_shape and imaging and len(self.input_shape) != 3:  # only those given are named
            given = " and ".join(f"{option_flag(name)} {getattr(self, name)}" for name in imaging)
            raise ConfigError(f"{given} need{'s' if len(imaging) == 1 else ''} images (channels, height, width), but "
                              f"the inputs have shape {self.input_shape}: use "
                              f"{' and '.join(both_spellings(name, off) for name, off in imaging.items())}")
        blocks = len(self.classifier_channels)
        if self.input_shape and self.classifier == "conv" and min(self.input_shape[1:]) < 2 ** (blocks - 1):
            raise ConfigError(f"the conv classifier halves the image between its {blocks} blocks, too often for "
                              f"{self.input_shape[1]}x{self.input_shape[2]} images: give fewer "
                              f"{setting_name('classifier_channels')}")

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def flips(self) -> bool:
        """Whether the training views of ``augment`` (weak and strong) may be mirrored left to right."""
        return self.augment.endswith("flip")

    @property
    def table(self) -> bool:
        """Whether the data are a table (a CSV's columns), never images, whatever the range of their values."""
        return is_table(self.data)

    @property
    def input_range(self) -> tuple[float, float] | None:
        """The range a model's inputs must lie in: [0, 1] for the Bernoulli likelihood; none for the Gaussian."""
        return (0.0, 1.0) if self.likelihood == "bernoulli" else None

    @property
    def fills_missing(self) -> bool:
        """Whether the model takes missing inputs (NaN), filling each with its training mean: a Gaussian
        likelihood's of flat rows (a table's), whose inputs are standardised (`ssvae.models.base.Model.prepare`);
        not one of images, whose views a gap would spread over (`ssvae.augment`)."""
        return self.likelihood == "gaussian" and len(self.input_shape) == 1

    @property
    def category_spans(self) -> tuple[tuple[int, int], ...]:
        """Where each column of categories' one-hot inputs stands among the inputs: (start, end) each."""
        return category_spans(self.input_columns or (), self.categories)

    @property
    def uint8_divisor(self) -> int:
        """What uint8 inputs are divided by: 255 for a model of images in [0, 1] (`pixel_inputs`), as pixels
        0..255 scaled to [0, 1]; else 1, as the numbers they are: a table's, or those of real values outside
        [0, 1], where an image's 255 means the 255.0 training saw."""
        pixels = self.pixel_inputs if self.pixel_inputs is not None else not self.table
        return 255 if pixels else 1

    def replace(self, **changes: Any) -> Config:
        check_names(changes)
        return dataclasses.replace(self, **changes)

    def for_data(self, **changes: Any) -> Config:
        """This config with ``changes``, where naming other data (``dataset`` in place of one's own ``data``,
        or the reverse, or other files) also drops what the old data filled in (`FILLED_FROM_DATA`): the new
        data fill it anew as a run starts. The likelihood is among them (a config cannot tell one "auto" chose
        from one a user did), so "auto" chooses again unless ``changes`` name one. A run's config reused on
        other data kept its classes and the likelihood of its own, or, given ``dataset``, its ``data``."""
        if changes.get("dataset") is not None and "data" not in changes:
            changes = {**changes, "data": None}
        if any(name in changes and changes[name] != getattr(self, name) for name in ("dataset", "data")):
            changes = {**FILLED_FROM_DATA, **changes}
            if not is_table(changes.get("data", self.data)):  # a CSV's column names name nothing in other data
                changes = {"label_column": "label", "ignore_columns": (), **changes}
        return self.replace(**changes)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        values = {**LATER_FIELDS, **values}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        missing = sorted(names - set(values))
        if unknown:
            raise ConfigError(f"unknown config fields: {', '.join(unknown)}")
        if missing:
            raise ConfigError(f"missing config fields: {', '.join(missing)}")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Config:
        try:
            values = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:  # RecursionError: arrays nested thousands deep
            raise ConfigError(f"config is not valid JSON ({error})") from error
        if not isinstance(values, dict):
            raise ConfigError("config must be a JSON object")
        return cls.from_dict(values)


def _shown(value: Any) -> str:
    """A value in an error: its repr where short and on one line, else its type (an array's repr fills a
    screen)."""
    text = repr(value)
    return text if len(text) <= 80 and "\n" not in text else f"a {type_name(value)}"


@functools.cache
def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(Config)


@functools.cache
def _tuple_fields() -> dict[str, type]:
    """The fields whose values are tuples (or None, where a field takes it), each with its items' type."""
    found = {}
    for name, hint in _field_types().items():
        for option in typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,):
            if typing.get_origin(option) is tuple:
                found[name] = typing.get_args(option)[0]
    return found


def _plain(value: Any) -> Any:
    """A setting as JSON gives it: a path as its text, numpy's numbers as Python's (what a caller of
    ``ssvae.train(data=Path(...), epochs=np.int64(5))`` means), in a list too."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, int)):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, int, float)):
        return float(value)
    return value


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value``, as Python or JSON gives it, is of the field type ``hint``: a list stands for a tuple
    and an int for a float, but a bool for no number."""
    if isinstance(hint, types.UnionType):
        return any(_fits(value, option) for option in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        return isinstance(value, (list, tuple)) and all(_fits(v, typing.get_args(hint)[0]) for v in value)
    if typing.get_origin(hint) is dict:
        keys, items = typing.get_args(hint)
        return isinstance(value, dict) and all(_fits(k, keys) and _fits(v, items) for k, v in value.items())
    if isinstance(value, bool) and hint is not bool:
        return False
    return isinstance(value, (int, float) if hint is float else hint)


# Settings measured to work better than the paper's on a data set (docs/models.md); any field
# set explicitly wins over these.
PRESETS: dict[str, dict[str, Any]] = {
    # a small z leaves the class to y; M1's paper-sized 600-600 networks collapse (KL 0) on 64 pixels, and its
    # codes' means carry the class better than their samples; a larger alpha and twice the epochs let the few
    # labels reach the classifier (50 labels: +1.9 points, six seeds)
    "digits": {"latent_dim": 8, "lr": 3e-3, "vat": 3.0, "vat_epsilon": 0.5, "m1_hidden": (200,),
               "m1_features": "mean", "alpha": 0.3, "epochs": 400},
    # a small z; consistency training on shifted and mirrored views spreads the few labels (+4.7 points with
    # 100 labels, 10 epochs, seeds 3-5), and with it a smaller alpha than 10 serves; the weight average ends
    # the 200 epochs higher and steadier than the last epoch's weights (+0.8 to +1.4 points, seeds 0-2)
    "fashion-mnist": {"latent_dim": 4, "lr": 3e-3, "alpha": 1.0, "augment": "shift-flip", "consistency": 1.0,
                      "adaptive_threshold": True, "ema": 0.999},
}

OWN_DATA_PRESET = {"labels": None}  # a user's own data keep every label: 100 of them are for the built-in benchmarks
# A table's (a CSV's), over OWN_DATA_PRESET: each labelled row weighs in the ELBO as an unlabelled one does, so that
# the generative model cannot fit the few labelled rows at the others' expense, which made M2 lose a class of
# 4-class tables of 40 labels (+9.0 and +3.3 points there, none lost; docs/results.md)
TABLE_PRESET = {"labelled_bound": "share"}


# The fields a run fills from its data as it starts (the likelihood where "auto" chose it), at their unfilled values
FILLED_FROM_DATA = {"input_shape": (), "class_names": (), "input_columns": (), "categories": {},
                    "pixel_inputs": None, "likelihood": "auto"}

# Settings a resume may find edited in config.json: where the data lie now (`ssvae.api.Run.partition` checks
# they are the same data), how often to checkpoint, the device, whose kind the checkpoint fixes anyway
# (`ssvae.training.training_device`), and the epochs of the last stage, which `ssvae.resume`'s ``epochs``
# writes there (`ssvae.api._check_length` checks that the run can end at them).
EDITABLE_FOR_RESUME = ("data", "data_dir", "test_data", "checkpoint_every", "device", "epochs")

# settings that only the Python API sets: `ssvae train` has no option for them
PYTHON_ONLY = ("split_seed", "aux_dim", "m1_latent_dim", "m1_hidden", "m1_features")
# Config fields that `ssvae train` has no option for: the data's own (set by --data, --dataset, --data-dir or
# read from the data), PYTHON_ONLY, and the format's version
FIELDS_WITHOUT_OPTION = ("dataset", "data", "data_dir", "test_data", "input_shape", "class_names", "input_columns",
                         "categories", "pixel_inputs", *PYTHON_ONLY, "version")


def option_flag(field: str) -> str:
    """The `ssvae train` option of a Config field: its name with dashes (kl_warmup_epochs: --kl-warmup)."""
    return "--kl-warmup" if field == "kl_warmup_epochs" else "--" + field.replace("_", "-")


def switch_flag(field: str, on: bool) -> str:
    """The flag of an on/off Config field's pair that sets it ``on``: --compile, or --no-compile."""
    return option_flag(field) if on else f"--no-{option_flag(field)[2:]}"


def option_text(value: Any, none: str) -> str:
    """A Config value as its `ssvae train` option takes it: a tuple's items joined by commas, None as ``none``
    (what that option's None means, e.g. ``all`` labels)."""
    return none if value is None else ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def setting_name(field: str) -> str:
    """A setting as advice names it to command-line and Python users alike, without a value:
    ``--val-labels (val_labels= in Python)``."""
    return f"{option_flag(field)} ({field}= in Python)"


def both_spellings(field: str, value: Any) -> str:
    """A setting as advice names it to command-line and Python users alike: ``--lr 0.0001 (lr=0.0001 in Python)``
    (a float to 6 digits: a tenth of 0.003 is 0.0003 here)."""
    if isinstance(value, bool):  # an on/off pair of flags
        return f"{switch_flag(field, value)} ({field}={value} in Python)"
    if isinstance(value, float):
        return f"{option_flag(field)} {value:g} ({field}={value:g} in Python)"
    return f"{option_flag(field)} {option_text(value, 'all')} ({field}={value!r} in Python)"


# `ssvae train` options that are no Config field, and what takes their place in Python
COMMAND_ONLY = {"quiet": "ssvae.train(progress=False)", "force": "ssvae.train(replace=True)",
                "resume": "ssvae.resume(RUN_DIR)"}


def check_names(changes: dict[str, Any], keywords: Sequence[str] = ()) -> None:
    """A ConfigError for a setting Config has no field of (a typo in ``ssvae.train(epoch=5)``), with the
    nearest field or caller's own ``keywords`` (``progres=False``: progress), as the command line suggests the
    nearest option, or the Python spelling of a command-line option that is no setting (``quiet=True``:
    ssvae.train(progress=False))."""
    fields = [f.name for f in dataclasses.fields(Config)]
    for name in changes:
        if name == "recipe":
            raise ConfigError("recipe= starts a config from a data set's preset, and a config was given: leave "
                              "the config out (ssvae.train(recipe='accurate', dataset=..., ...)), or make it "
                              "with ssvae.settings.config_for(dataset=..., recipe=...)")
        if name in COMMAND_ONLY:
            raise ConfigError(f"unknown setting {name!r}: --{name} of 'ssvae train' is {COMMAND_ONLY[name]} in "
                              f"Python")
        if name not in fields:
            near = difflib.get_close_matches(name, [*fields, *keywords], n=1)
            raise ConfigError(f"unknown setting {name!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                              + ": settings are Config's fields, the 'ssvae train' options with underscores")


# What each Config field means, in the words of `ssvae train --help` (options spelled as the command line spells
# them); the list of fields that help(ssvae.Config) shows has them in Python's spelling (`python_spelling`).
SETTING_HELP: dict[str, str] = {
    "dataset": "Built-in data set; digits, the default, is bundled and works offline.",
    "data": ("Your own data instead: an .npz (x, y with -1 for unlabelled), a .csv with a 'label' column (or "
             "--label-column's) and columns of numbers or of categories (text that rows share, such as a colour), "
             "or a folder of class sub-folders plus 'unlabelled/'."),
    "data_dir": "Where Fashion-MNIST/MNIST/KMNIST files are, or go.",
    "test_data": ("Labelled data to test on, for --data without a test set of its own: every label of --data then "
                  "trains (none is held out by --test-fraction). Read as --data is; classes matched by name "
                  "(numbered labels of named classes by number, with a warning)."),
    "image_size": ("Read every image of a --data folder at this size, WIDTH,HEIGHT or N for NxN, resizing those of "
                   "other sizes (its model's predict, score and evaluate then resize theirs too). Without it, images "
                   "of another size than most are skipped."),
    "label_column": "The column of a --data CSV that holds the classes (blank for unlabelled rows).",
    "ignore_columns": ("Columns of a --data CSV that are no inputs, comma-separated, e.g. name,date: text, dates, "
                       "row numbers (an 'id' column never is one)."),
    "labels": "Labels to train with, class-balanced (N/K per class), or 'all'.",
    "val_labels": "Of those labels, how many to set aside to pick the best epoch (0: keep the last epoch).",
    "test_fraction": ("Held-out test share for data without a test split of its own (nor --test-data); 0: no test "
                      "set, so that every label trains, and no test accuracy until the run is evaluated on labelled "
                      "data of your own."),
    "split_seed": ("Seed of the held-out test split of data without a test split of their own: fixed, so that runs "
                   "of other seeds share it."),
    "input_shape": "Filled from the data as a run starts: the shape of one input, (C, H, W) for images.",
    "class_names": "Filled from the data as a run starts: the classes' names, in the order of their numbers.",
    "input_columns": ("Filled from the data as a run starts: a CSV's input columns by name, which predict finds in "
                      "any order (None: a CSV run from before ssvae kept them, which reads them by position)."),
    "categories": ("Filled from the data as a run starts: a CSV's input columns of text, each with its categories, "
                   "read as one-hot input columns (colour=red, colour=white)."),
    "pixel_inputs": ("Filled from the data as a run starts: whether the inputs are images in [0, 1] (uint8 scaled "
                     "so); None in runs older than it."),
    "likelihood": ("p(x|y,z): bernoulli for inputs in [0, 1], gaussian for real values; auto picks by the inputs' "
                   "range (gaussian for a CSV's columns, whatever their range)."),
    "model": ("m2: the semi-supervised VAE; adgm: M2 with an auxiliary variable (Maaloe et al. 2016); m1+m2: M2 on a "
              "VAE's codes; m1: a VAE plus a classifier on its codes; supervised: the classifier on the labels alone "
              "(the baseline); fixmatch: the classifier on the labels and by --consistency on unlabelled images, "
              "with no generative model (the baseline that shows what M2's generative part adds)."),
    "latent_dim": "Size of z (M2's in m1+m2; M1's, in m1 and m1+m2, is the Python API's m1_latent_dim).",
    "aux_dim": "Size of the auxiliary variable a of adgm.",
    "hidden": ("Hidden layer sizes of encoder and decoder, comma-separated (M2's in m1+m2; M1's are the Python API's "
               "m1_hidden)."),
    "classifier": ("The classifier q(y|x): an MLP, or for images (m2, supervised, fixmatch) a small convolutional "
                   "network."),
    "classifier_hidden": "Hidden layer sizes of the MLP classifier.",
    "classifier_channels": ("Channels of the conv classifier's 3x3 blocks, comma-separated (2x2 pooling between "
                            "them)."),
    "m1_latent_dim": "Size of M1's latent code (models m1 and m1+m2).",
    "m1_hidden": "Hidden layer sizes of M1's encoder and decoder (models m1 and m1+m2).",
    "m1_features": "What the M2 stage of m1+m2 trains on of M1's codes: draws of q(z1|x) (sample) or their means "
                   "(mean). Predicting, encoding and the export take the means either way.",
    "epochs": "Passes over the unlabelled data.",
    "m1_epochs": "Epochs of the M1 stage of m1+m2.",
    "batch_size": "Unlabelled examples per step.",
    "labelled_batch_size": "Labelled examples per step (drawn again and again from the few).",
    "lr": "Adam learning rate.",
    "lr_schedule": ("constant; cosine: decay to 0 over training; one-cycle: warm up over the first tenth, then decay "
                    "(use it with --ema)."),
    "weight_decay": ("Decoupled (AdamW) weight decay of the classifier q(y|x)'s weight matrices and kernels: each "
                     "step scales them by 1 - lr * weight_decay, e.g. 0.05 (0: off); meant to keep q(y|x) from "
                     "growing overconfident on the few labels (no gain measured yet: docs/models.md). The generative "
                     "model is not decayed."),
    "alpha": ("Classification weight of the generative models (m2, adgm, m1+m2); the loss uses alpha * N_total / "
              "N_labelled. supervised, fixmatch and m1 train q(y|x) on the labels' cross-entropy alone."),
    "labelled_bound": ("How the generative models (m2, adgm, m1+m2) weigh the labelled examples' bound against the "
                       "unlabelled ones': batch (each step's labelled batch as much as its unlabelled batch, so a "
                       "labelled example as much as N_unlabelled / N_labelled unlabelled ones) or share (each "
                       "example alike, as in the paper: the generative model cannot fit the few labelled rows at the "
                       "others' expense)."),
    "vat": ("Virtual adversarial training of q(y|x) (m2, m1+m2): its weight relative to the classification term (0: "
            "off)."),
    "vat_epsilon": "Length (L2) of the adversarial input perturbation of --vat.",
    "augment": ("Train on randomly shifted views of image inputs, and with shift-flip also mirrored ones (mirroring "
                "suits clothes or photos, not digits or text, whose mirror images are other things)."),
    "consistency": ("m2 or fixmatch, with --augment: weight of consistency training (FixMatch) relative to the "
                    "classification term (m2's alpha * N_total / N_labelled, fixmatch's 1), so that one value keeps "
                    "the two terms' balance in either model: q(y|x) must give a heavily distorted view of an "
                    "unlabelled image the class it confidently gives the image (0: off). Classes q(y|x) over-predicts "
                    "are made harder to become targets (distribution alignment)."),
    "consistency_threshold": ("Confidence (after distribution alignment) from which q(y|x)'s class for an unlabelled "
                              "image becomes a target of --consistency."),
    "adaptive_threshold": ("With --consistency, replace the fixed --consistency-threshold by FreeMatch's "
                           "self-adaptive one: it starts low and follows q(y|x)'s running confidence, lower for the "
                           "classes q(y|x) is still unsure of."),
    "ema": ("Keep and evaluate a moving average of the weights with this decay per step, e.g. 0.999 (0: the last "
            "weights). Smooths the noise of consistency training; the decay warms up over the first steps, and the "
            "average's batch-norm statistics are taken from the clean training images at the end."),
    "kl_warmup_epochs": "Epochs over which the KL weight rises linearly to 1: epoch e of W weighs it e/W (0: none).",
    "seed": "Seed of the label choice, initialisation and batches.",
    "device": "auto: a CUDA GPU when there is one; cuda:N: the GPU numbered N.",
    "precision": ("bfloat16: matmuls and convolutions in bfloat16 under autocast (weights, losses and Adam stay "
                  "float32); faster where the hardware has bfloat16 units. BENCHMARKS.md has its speed and accuracy."),
    "compile": ("Compile the loss with torch.compile (a slow first step, then fewer kernel launches); falls back, "
                "with a warning, where no compiler works."),
    "checkpoint_every": "Epochs between checkpoints that --resume continues from.",
    "threads": ("CPU threads to compute with (auto: torch's count, the cores or OMP_NUM_THREADS). config.json "
                "records the count a CPU run used, and --resume takes it again: a seed repeats a run exactly only on "
                "the same count."),
    "version": "The format of config.json.",
}


def shown_default(field: str, python: bool = False) -> str:
    """A field's default as help shows it: Config's (on the command line None is auto, whose help says what
    it picks), and any data set's preset that differs (your own --data's too); ``python``: as Python writes
    the values."""
    def shown(value: Any, none: str) -> str:
        return repr(value) if python else option_text(value, none) or "none"  # () as none

    presets = [f"{name}: {shown(p[field], 'all')}" for name, p in
               (*PRESETS.items(), ("your own data" if python else "--data", OWN_DATA_PRESET),
                ("a CSV table" if python else "--data FILE.csv", TABLE_PRESET)) if field in p]
    return shown(getattr(Config, field), "auto") + (f"; {', '.join(presets)}" if presets else "")


def python_spelling(text: str) -> str:
    """``text`` with the options it names (--kl-warmup, --data) as the Config fields they set."""
    fields = {option_flag(f.name): f.name for f in dataclasses.fields(Config)}
    return re.sub(r"--[a-z][a-z0-9-]*", lambda flag: fields.get(flag[0], flag[0]), text)


def _fields_doc() -> str:
    """Config's fields with what each means and, where a user sets it, its defaults: for help(ssvae.Config)."""
    lines = ["", "", "    Fields (the defaults are Config's, then the presets' where they differ):", ""]
    for f in dataclasses.fields(Config):
        set_by_user = f.name not in FIELDS_WITHOUT_OPTION or f.name in PYTHON_ONLY
        lines.append(f"    {f.name}" + (f" [default: {shown_default(f.name, python=True)}]" if set_by_user else ""))
        lines += textwrap.wrap(python_spelling(SETTING_HELP[f.name]), 104, initial_indent=" " * 8,
                               subsequent_indent=" " * 8)
    return "\n".join(lines)


Config.__doc__ += _fields_doc()


__all__ = ["Config", "ConfigError", "EDITABLE_FOR_RESUME", "FIELDS_WITHOUT_OPTION", "PATH_FIELDS", "MODEL_KINDS",
           "LIKELIHOODS", "CLASSIFIERS", "AUGMENTATIONS", "LR_SCHEDULES", "TRAINING_PRECISIONS", "OWN_DATA_PRESET",
           "TABLE_PRESET", "TABLE_FILES", "LABELLED_BOUNDS", "PRESETS", "is_table", "both_spellings", "option_flag",
           "option_text", "setting_name", "shown_default", "SETTING_HELP"]
