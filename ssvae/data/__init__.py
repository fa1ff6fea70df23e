"""Data with partial labels: every source becomes a `Source` (a training `Dataset`, a test `Dataset` where the
source has its own, and what a model must know to read it again), then a seeded `Split` says which labels
training may see. See `sources` for where data comes from and `split` for the few-label selection."""

from ssvae.data.dataset import (UNLABELLED, Dataset, DataError, Partition, check_gaps, check_inputs, observed_range,
                                to_model_range)
from ssvae.data.sources import BUILTIN, ModelInputs, Source, load_labelled, load_source
from ssvae.data.split import Split, choose_split

__all__ = [
    "UNLABELLED", "BUILTIN", "Dataset", "DataError", "ModelInputs", "Partition", "Source", "Split", "check_gaps",
    "check_inputs", "choose_split", "observed_range", "load_labelled", "load_source", "to_model_range",
]
