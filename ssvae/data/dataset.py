"""The one in-memory form of data: inputs, labels (-1 for unlabelled) and class names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNLABELLED = -1


class DataError(ValueError):
    """Input data that cannot be used; the message names the problem and the fix."""


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


@dataclass(frozen=True)
class Partition:
    """What one run trains and tests on, after the label budget has been applied."""

    labelled: Dataset
    unlabelled: Dataset  # labels hidden (all UNLABELLED)
    validation: Dataset | None
    test: Dataset

    @property
    def labels_seen(self) -> int:
        """Every label the run could use: training labels plus validation labels."""
        return len(self.labelled) + (len(self.validation) if self.validation is not None else 0)


def to_model_range(x: np.ndarray) -> np.ndarray:
    """Inputs as float32: uint8 images 0..255 are scaled to [0, 1]; floats are kept as they are."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float32)
    raise DataError(f"inputs of dtype {x.dtype} are not numbers: give uint8 images or floats")
