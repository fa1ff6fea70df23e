"""What a new run trains and tests on: the data its config names (with its test data), the config filled
from them (paths, shape, classes, likelihood, threads) and the label split. `ssvae.train` makes a run of
them; a trained run reads its data again through `load_data`."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import torch

from ssvae.config import PATH_FIELDS, Config, setting_name
from ssvae.data import (DataError, ModelInputs, Source, Split, check_gaps, check_inputs, choose_split, load_labelled,
                        load_source, observed_range)
from ssvae.data.csv_files import CsvColumns
from ssvae.data.digests import same_data
from ssvae.data.sources import ARRAYS_NAME, warn_if_data_dir_unused, warn_of_alike_class_names
from ssvae.data.split import SMALL_TEST, warn_if_small_test
from ssvae.errors import user_stacklevel
from ssvae.training import resolve_device


def new_run_data(config: Config, source: Source | None = None) -> tuple[Config, Source, Split]:
    """What a new run of ``config`` trains and tests on, as `train` makes it: the config filled from the data
    (`_fitted`), the data with their test set, and the label split. The data are those the config names, or
    ``source`` where given (arrays held in memory, which the run folder keeps where the config names them).
    For tools that must see the very examples a run sees, such as the benchmarks' scikit-learn baselines."""
    warn_if_data_dir_unused(config.dataset, config.data_dir)
    in_memory = source is not None
    name = str(ARRAYS_NAME) if in_memory else config.data or config.dataset  # as given, for messages
    for field, unset, what in (("image_size", None, "reads a folder of images"),
                               ("label_column", "label", "names a column of a CSV"),
                               ("ignore_columns", (), "names columns of a CSV")):
        if in_memory and getattr(config, field) != unset:
            raise DataError(f"{setting_name(field)} {what}, and the data are arrays held in memory: leave it out")
    if source is None:
        source = load_source(config.dataset, config.data, config.data_dir, config.image_size, roles=csv_roles(config))
    config = config.replace(pixel_inputs=pixel_inputs(config, source.train.x))  # from these data, never a config's
    warn_of_alike_class_names(source.train.class_names, name)
    source = with_test_data(source, config, name)  # read as the model will read inputs
    if source.test is not None and config.dataset is None:  # said once, when a run is made, not at each read
        _warn_if_trained_on_test(config, source, in_memory, name)
    if config.test_data is not None:
        warn_if_small_test(len(source.test), len(source.test.class_names),
                           f"--test-data {config.test_data} holds {len(source.test)} labelled example(s), fewer "
                           f"than {SMALL_TEST} a class on average", "give more labelled test data")
    config = _fitted(config, source, name)
    split = choose_split(source, config.labels, config.val_labels, config.test_fraction, config.split_seed,
                         config.seed)
    check_gaps(source.train, name, config.likelihood, source.columns, split.test or (), config.ignore_columns,
               source.categories)
    return config, source, split


def _fitted(config: Config, source: Source, name: str) -> Config:
    """``config`` filled from the data it loaded (``name`` in messages), once they are checked: paths made
    absolute (so that the run finds its data from anywhere), the inputs' shape, classes and columns, the
    likelihood "auto" chooses, and the thread count."""
    test_name = config.test_data
    # before "auto" looks at the range, which it then fits
    check_inputs(source.train, name, config.likelihood, columns=source.columns)
    own = [source.train.x] + ([source.test.x] if source.test is not None and test_name is None else [])
    likelihood = resolve_likelihood(config, *own)  # test data of one's own take the training data's
    if source.categories and likelihood == "bernoulli":
        raise DataError(f"{name}: columns of categories ({', '.join(source.categories)}) take the categorical "
                        f"likelihood of a Gaussian model: leave {setting_name('likelihood')} out, or set it to "
                        f"gaussian")
    if source.test is not None:
        check_inputs(source.test, test_name or name, likelihood, test_data=test_name is not None,
                     columns=source.columns)
    paths = {field: str(Path(path).resolve()) for field in PATH_FIELDS
             if (path := getattr(config, field)) is not None}
    return config.replace(
        **paths, input_shape=source.train.input_shape, class_names=source.train.class_names,
        input_columns=source.columns, categories=source.categories, likelihood=likelihood,
        threads=config.threads or cpu_threads(config.device))


def load_data(config: Config) -> Source:
    """The data a run's ``config`` names: its source (a folder's images read in the channels and size of its
    input shape), with its test data (``test_data``) where it names some (`with_test_data`)."""
    return with_test_data(load_source(config.dataset, config.data, config.data_dir, config.image_size,
                                      config.input_shape, csv_roles(config)), config)


def csv_roles(config: Config) -> CsvColumns:
    """The roles of the columns of ``config``'s CSV: its label column, those it ignores, and those of categories,
    read again with the categories the run found, so that its inputs keep their columns."""
    return CsvColumns(config.label_column, config.ignore_columns, categories=config.categories)


def with_test_data(source: Source, config: Config, name: str | None = None) -> Source:
    """``source`` (``name`` in messages: by default the config's data) with ``config.test_data`` as its test set
    where the config names some, read as the model of the config reads its inputs (`load_labelled`: its shape,
    columns and uint8 scale)."""
    if config.test_data is None:
        return source
    name = name or config.data or config.dataset
    if source.test is not None:
        has = "x_test and y_test" if config.data is not None else "a test split"
        raise DataError(f"{name} has {has} of its own, and --test-data {config.test_data} would be a second: give "
                        f"one of them")
    if not Path(config.test_data).exists():
        raise DataError(f"{config.test_data}: no such file or folder; check the path given to --test-data")
    model = ModelInputs(source.train.input_shape, source.columns, config.uint8_divisor,
                        f"the model trained on {name}", resize=config.image_size is not None,
                        label_column=config.label_column, fills_missing=config.likelihood != "bernoulli",
                        categories=source.categories)
    return dataclasses.replace(source, test=load_labelled(config.test_data, model, source.train.class_names))


def _warn_if_trained_on_test(config: Config, source: Source, in_memory: bool, name: str) -> None:
    """A warning where the test set is the training set: ``--test-data`` names ``--data``'s file or folder, or
    a copy (`same_data`), or the test inputs (``--test-data``'s, or the data's own x_test) are all the training
    inputs, in any order (a CSV's columns or rows in another order, other labels). The run trains on those
    examples (on their labels where ``--labels`` keeps them), so its test accuracy is no held-out one. Inputs
    are compared whole (`Dataset.inputs_digest`), as rows alone would also match the repeated rows of a coarse
    table."""
    tested = f"--test-data {config.test_data}" if config.test_data is not None else f"x_test of {name}"
    if not in_memory and config.test_data is not None and config.data is not None \
            and same_data(config.data, config.test_data):
        given = f"is --data {config.data} or a copy of it"
    elif source.train.inputs_digest() == source.test.inputs_digest():
        data = f"the arrays held in memory ({ARRAYS_NAME})" if in_memory else f"--data {name}"
        given = "holds the inputs of x" if config.test_data is None else f"holds the inputs of {data}"
    else:
        return
    warnings.warn(f"{tested} {given}: the run trains on its examples, on their labels where --labels keeps them, "
                  f"so its test accuracy is not held out; give labelled data it does not train on",
                  stacklevel=user_stacklevel())


def pixel_inputs(config: Config, x: np.ndarray) -> bool:
    """Whether a model of training inputs ``x`` (uint8 ones already scaled to [0, 1]) takes images in [0, 1]:
    unless a table, where they all lie there. Else a model of real values (floats 0..255 too) takes uint8
    inputs and image files as the numbers they are (`Config.uint8_divisor`)."""
    return not config.table and _in_unit_range(x)


def _in_unit_range(*inputs: np.ndarray) -> bool:
    """Whether every value the ``inputs`` hold (missing ones aside) lies in [0, 1]."""
    return all(low >= 0.0 and high <= 1.0 for low, high in map(observed_range, inputs) if low == low)


def resolve_likelihood(config: Config, *inputs: np.ndarray) -> str:
    """``auto``: Gaussian for a table (a CSV; its columns in [0, 1] are proportions or scaled numbers, whose
    Bernoulli density fits them poorly: wine 89.6 % against 97.0 %, 12 labels), else Bernoulli where every
    input given (the training data's, and a source's own test set's) lies in [0, 1] (images), Gaussian for
    anything else."""
    if config.likelihood != "auto":
        return config.likelihood
    if config.table:
        return "gaussian"
    return "bernoulli" if _in_unit_range(*inputs) else "gaussian"


def cpu_threads(device: str) -> int | None:
    """The thread count a run on ``device`` records when none was asked for: torch's for the CPU, none for a
    GPU (whose sums do not depend on it)."""
    return torch.get_num_threads() if resolve_device(device).type == "cpu" else None


__all__ = ["load_data", "new_run_data", "pixel_inputs", "resolve_likelihood", "with_test_data", "cpu_threads"]
