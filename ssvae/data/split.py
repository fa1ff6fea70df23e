"""Few-label selection: which examples are tested on, which labels training sees, which validate.

Honest accounting: validation labels come out of the label budget, never on top of it, and the test
split of a source without one is fixed by its own seed so that runs with other seeds share it. The chosen
indices are saved in the run directory (`labels.json`) so a run can be repeated exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ssvae.config import both_spellings, setting_name
from ssvae.data.dataset import Dataset, DataError, Partition
from ssvae.errors import listed, user_stacklevel
from ssvae.data.sources import Source


@dataclass(frozen=True)
class Split:
    """Indices into the source's training set; ``test`` is None where the source has its own test set, and empty
    where the run held out none (``test_fraction`` 0: every label trains, and no test set is measured). ``data`` is
    that training set's `Source.fingerprint` (None in runs older than it), ``data_values`` its fingerprint of every
    value (None in runs older than it): a run checks both where it has them; an older ssvae, which reads ``data``
    alone, still reads the run. ``named`` is the `Source.labelled_fingerprint` of the examples the split names
    (`named_rows`) and of the source's own test set (None in runs older than it): a run whose other examples, those
    it trained on without labels, changed since (images added to ``unlabelled/``) is still tested on them.
    ``inputs`` is the `Dataset.inputs_digest` of the training set: of every input without its labels, in any order
    (None in runs older than it): data to test on that hold those inputs, whatever their labels and order, are no
    held-out data. ``files`` names the examples of ``labelled``, ``validation`` and ``test`` by their ids, in the
    same order, where the source has file names (a folder's images; None otherwise, and in runs older than it):
    which images a run trained and was tested on with labels, to read in labels.json, to find them where images
    labelled since moved them in the folder's order (`found_by_name`, which ``named`` still checks) and to name
    those that are gone."""

    labelled: tuple[int, ...]
    validation: tuple[int, ...]
    test: tuple[int, ...] | None
    data: str | None = None
    data_values: str | None = None
    named: str | None = None
    inputs: str | None = None
    files: dict[str, tuple[str, ...]] | None = field(default=None, hash=False)  # a dict: not hashed

    def made_from(self, source: Source) -> bool:
        """Whether ``source`` holds the data this split was made from, as far as its fingerprints tell."""
        return (self.data is None or self.data == source.fingerprint()) and (
            self.data_values is None or self.data_values == source.fingerprint(every_value=True))

    def holds_inputs_of(self, source: Source) -> bool:
        """Whether ``source``'s training set holds every input this split's did (``inputs``), whatever their labels
        and order: data to test on that are the run's training examples. A split older than ``inputs`` tells it by
        all its fingerprints, labels included."""
        if self.inputs is not None:
            return self.inputs == source.train.inputs_digest()
        return self.data is not None and self.made_from(source)

    @property
    def named_rows(self) -> tuple[int, ...]:
        """The examples the split names (labelled, validation and test), in the order of the training set."""
        return tuple(sorted((*self.labelled, *self.validation, *(self.test or ()))))

    def names_the_same_examples(self, source: Source) -> bool:
        """Whether ``source`` holds, at the split's indices, the examples it named when it was made, and the
        same test set of its own (False for a split older than ``named``), whatever its other examples."""
        rows = self.named_rows
        return self.named is not None and rows[-1] < len(source.train) and \
            self.named == source.labelled_fingerprint(rows)

    @property
    def untested(self) -> bool:
        """Whether the run held out no test set (``test_fraction`` 0, data without one of their own): it has no
        test accuracy until it is tested on labelled data of one's own."""
        return self.test == ()

    @property
    def roles(self) -> dict[str, tuple[int, ...]]:
        """The examples of each role, by its name in labels.json: labelled, validation and test (none where the
        source has its own test set)."""
        return {"labelled": self.labelled, "validation": self.validation, "test": self.test or ()}

    def gone_files(self, source: Source) -> list[str]:
        """The files the split names that ``source`` no longer holds (none without ``files``)."""
        if not self.files or not source.files:
            return []
        held = set(source.files)
        return [name for names in self.files.values() for name in names if name not in held]

    def found_by_name(self, source: Source) -> Split | None:
        """This split with each example it names found by its file name in ``source``, where images were added
        to or moved between a folder's class folders since (labelled in an active-learning loop), which moves
        every example after them to another place in the folder's order; None where it names no files or one
        is gone. Whether they are the examples it named, `names_the_same_examples` of the result tells."""
        if not self.files or not source.files:
            return None
        place = {name: i for i, name in enumerate(source.files)}
        found = {role: tuple(place.get(name, -1) for name in self.files.get(role, ())) for role in self.roles}
        if any(-1 in rows or len(rows) != len(self.roles[role]) for role, rows in found.items()):
            return None
        return dataclasses.replace(self, labelled=found["labelled"], validation=found["validation"],
                                   test=None if self.test is None else found["test"])

    def apply(self, source: Source) -> Partition:
        train = source.train
        used = set(self.labelled) | set(self.validation) | set(self.test or ())
        pool = np.array([i for i in range(len(train)) if i not in used], dtype=np.int64)
        test = self._test_set(source)
        if test is None and not self.untested:
            raise DataError("the split names no test examples and the source has no test set")
        validation = train.subset(np.array(self.validation, dtype=np.int64)) if self.validation else None
        return Partition(
            labelled=train.subset(np.array(self.labelled, dtype=np.int64)),
            unlabelled=train.subset(pool).without_labels(),
            validation=validation,
            test=test,
        )

    def _test_set(self, source: Source) -> Dataset | None:
        """The examples the split tests on: those it held out, else the source's own test set (None: neither)."""
        if self.test is None:
            return source.test
        return None if self.untested else source.train.subset(np.array(self.test, dtype=np.int64))

    def __repr__(self) -> str:  # the dataclass's lists every index: 100,000 characters for 20,000 rows
        test = "its source's" if self.test is None else len(self.test) or "none held out"
        return f"Split(labelled={len(self.labelled)}, validation={len(self.validation)}, test={test})"

    @property
    def labels_seen(self) -> int:
        """Every label the run could use: training labels plus validation labels."""
        return len(self.labelled) + len(self.validation)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def digest(self) -> str:
        """A digest of the chosen indices: what a checkpoint keeps of the split it trained on."""
        return hashlib.sha256(json.dumps([self.labelled, self.validation, self.test]).encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> Split:
        """The split a run saved; a ValueError names the key that holds anything but distinct example indices,
        or the keys that share one (an example both trained on and tested on would inflate the accuracy)."""
        values = json.loads(text)
        test = values["test"]
        split = cls(_indices(values, "labelled"), _indices(values, "validation"),
                    None if test is None else _indices(values, "test"), values.get("data"), values.get("data_values"),
                    values.get("named"), values.get("inputs"), _file_names(values.get("files")))
        sets = split.roles
        if shared := [f"{a} and {b}" for a, b in itertools.combinations(sets, 2) if set(sets[a]) & set(sets[b])]:
            raise ValueError(f"{listed(shared)} share examples")
        return split


def _file_names(files: Any) -> dict[str, tuple[str, ...]] | None:
    """A split's ``files`` as labels.json holds them, or None where they are not lists of names by role (a
    hand-edited file): the run then finds its examples by their places alone, as one older than them."""
    if not isinstance(files, dict) or not all(isinstance(names, list) and all(isinstance(n, str) for n in names)
                                              for names in files.values()):
        return None
    return {role: tuple(names) for role, names in files.items()}


def _indices(values: dict, key: str) -> tuple[int, ...]:
    """``values[key]`` as example indices: a list of distinct whole numbers from 0, at least one where a run
    needs one (its labels); the test examples may be none (a run that held out no test set)."""
    indices = values[key]
    if not isinstance(indices, list) or not all(type(i) is int and i >= 0 for i in indices):
        raise ValueError(f"{key} must be a list of example indices (whole numbers from 0)")
    if len(set(indices)) < len(indices):
        raise ValueError(f"{key} names an example twice")
    if not indices and key == "labelled":
        raise ValueError(f"{key} names no example")
    return tuple(indices)


def balanced_sample(y: np.ndarray, pool: np.ndarray, n: int, class_names: tuple[str, ...], rng: np.random.Generator,
                    field: str = "labels") -> np.ndarray:
    """``n`` indices from ``pool``, n // K of each class; the remainder goes one each to randomly chosen classes.
    ``field`` is the setting that asked for ``n``: the error for a class with too few names it."""
    n_classes = len(class_names)
    counts = np.full(n_classes, n // n_classes)
    counts[rng.choice(n_classes, n % n_classes, replace=False)] += 1
    chosen = []
    for k in range(n_classes):
        members = pool[y[pool] == k]
        if len(members) < counts[k]:
            raise DataError(f"class {class_names[k]!r} has {len(members)} labelled example(s) to draw from but "
                            f"{both_spellings(field, n)} asks for {counts[k]} of it: lower it or add labelled "
                            f"examples of that class")
        chosen.append(rng.choice(members, counts[k], replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


# the setting that holds out no test set, advised where the labels are too few to hold one out of
NO_TEST_SET = both_spellings("test_fraction", 0)
SMALL_TEST = 5  # held-out examples a class below which a test accuracy says little, and its labels are missed


def _check_two_labels_a_class(train: Dataset) -> None:
    """A class-balanced test split takes a labelled example of every class with any, and leaves one to train
    on: a class with a single label cannot be split, whatever the test fraction above 0 (scikit-learn's own
    error numbers the class and suggests nothing)."""
    counts = np.bincount(train.y[train.labelled], minlength=len(train.class_names))
    if single := [train.class_names[k] for k in np.flatnonzero(counts == 1)]:
        named = listed([repr(name) for name in single])
        raise DataError(f"{'classes' if len(single) > 1 else 'class'} {named} {'have' if len(single) > 1 else 'has'} "
                        f"a single labelled example, and a class-balanced test split needs two of each (one to "
                        f"test, one to train on): label another, give {NO_TEST_SET} to hold out no test set and "
                        f"train on every label, or give test data with {setting_name('test_data')}")


def choose_split(source: Source, labels: int | None, val_labels: int, test_fraction: float,
                 split_seed: int, seed: int) -> Split:
    """The test split (seeded by ``split_seed``), then ``labels`` class-balanced labels (seeded by ``seed``),
    of which ``val_labels`` are set aside for model selection."""
    train: Dataset = source.train
    labelled = train.labelled
    if len(labelled) == 0:
        given_test = " (a test set's labels only test the model)" if source.test is not None else ""
        raise DataError(f"the training examples have no label{given_test}: label at least one training example of "
                        f"each class")
    test = None
    if source.test is None:
        test, labelled = _hold_out_test(train, labelled, test_fraction, split_seed) if test_fraction else \
            (np.array([], dtype=np.int64), labelled)
    rng = np.random.default_rng(seed)
    if labels is not None:
        if labels > len(labelled):
            held = "" if test is None or not len(test) else (
                f" ({len(test)} of the {len(test) + len(labelled)} labelled examples are held out as the test set: "
                f"give test data of your own with {setting_name('test_data')} to train on every label)")
            raise DataError(f"{both_spellings('labels', labels)} asks for more labels than the {len(labelled)} "
                            f"available for training{held}: lower it or use {both_spellings('labels', None)}")
        labelled = balanced_sample(train.y, labelled, labels, train.class_names, rng)
    validation = np.array([], dtype=np.int64)
    if val_labels:
        if val_labels >= len(labelled):
            raise DataError(f"{both_spellings('val_labels', val_labels)} leaves no training label out of "
                            f"{len(labelled)}: lower it")
        validation = balanced_sample(train.y, labelled, val_labels, train.class_names, rng, "val_labels")
        labelled = np.setdiff1d(labelled, validation)
    _warn_of_classes_without_labels(train, labelled, labels, val_labels)
    split = Split(
        labelled=tuple(int(i) for i in labelled),
        validation=tuple(int(i) for i in validation),
        test=None if test is None else tuple(int(i) for i in test),
        data=source.fingerprint(),
        data_values=source.fingerprint(every_value=True),
        inputs=source.train.inputs_digest(),
    )
    if source.files:  # test data of their own (--test-data) are no part of them
        split = dataclasses.replace(split, files={role: tuple(source.files[i] for i in rows)
                                                  for role, rows in split.roles.items()
                                                  if role != "test" or split.test is not None})
    return dataclasses.replace(split, named=source.labelled_fingerprint(split.named_rows))


def _hold_out_test(train: Dataset, labelled: np.ndarray, test_fraction: float,
                   split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified ``test_fraction`` of the ``labelled`` examples, seeded by ``split_seed``, and the rest:
    (test, labelled), each sorted. A warning where the test set is too small to say much."""
    from sklearn.model_selection import train_test_split  # here: importing scikit-learn takes a while

    _check_two_labels_a_class(train)
    try:
        keep, held_out = train_test_split(labelled, test_size=test_fraction, random_state=split_seed,
                                          stratify=train.y[labelled])
    except ValueError as error:  # too few labelled examples for every class to be in both parts
        n_classes = len(np.unique(train.y[labelled]))
        reason = _classes_left_out(len(labelled), n_classes, test_fraction) or str(error)
        raise DataError(f"cannot hold out a class-balanced test share of {test_fraction:g} from "
                        f"{len(labelled)} labelled examples ({reason}): {_fraction_advice(len(labelled), n_classes)}; "
                        f"else label more examples of each class, or give test data with "
                        f"{setting_name('test_data')}") \
            from error
    warn_if_small_test(len(held_out), len(train.class_names),
                       f"the test set is {len(held_out)} of the {len(labelled)} labelled examples, held out of "
                       f"training by {both_spellings('test_fraction', test_fraction)}",
                       f"training does without their labels, so label more examples, or give labelled test data of "
                       f"your own with {setting_name('test_data')}")
    return np.sort(held_out), np.sort(keep)


def warn_if_small_test(n: int, n_classes: int, what: str, fix: str) -> None:
    """A warning where a test set of ``n`` labelled examples (``what`` names it) holds fewer than `SMALL_TEST`
    a class on average, held out of the labels or given: an accuracy on so few says little."""
    if n < SMALL_TEST * n_classes:
        warnings.warn(f"{what}: an accuracy on so few says little; {fix}", stacklevel=user_stacklevel())


def _fraction_advice(n: int, n_classes: int) -> str:
    """Which test fraction of ``n`` labelled examples of ``n_classes`` classes would split them (the least of two
    decimals whose test and training parts each hold one of every class, as `_classes_left_out` counts them:
    0.5 does where every class has two, as `_check_two_labels_a_class` makes sure), and that 0 trains on every
    label."""
    works = next((f / 100 for f in range(1, 100) if _classes_left_out(n, n_classes, f / 100) is None), 0.5)
    held = math.ceil(works * n)
    return (f"{both_spellings('test_fraction', works)} holds out {held} of them and trains on {n - held}, and "
            f"{NO_TEST_SET} holds out no test set and trains on every label")


def _classes_left_out(n: int, n_classes: int, test_fraction: float) -> str | None:
    """Why a stratified split of ``n`` examples (scikit-learn's: ceil(fraction * n) to test) cannot give each
    part one of every class, in words; None where that is not why."""
    n_test = math.ceil(test_fraction * n)
    for count, part in ((n_test, "to test"), (n - n_test, "left to train on")):
        if count < n_classes:
            return f"the {count} {part} cannot hold one of each of the {n_classes} classes"
    return None


def _warn_of_classes_without_labels(train: Dataset, labelled: np.ndarray, labels: int | None, val_labels: int) -> None:
    """A warning naming the classes none of the ``labelled`` training examples has: the classifier could only
    guess them."""
    n_classes = len(train.class_names)
    if missing := sorted(set(range(n_classes)) - set(train.y[labelled].tolist())):
        names = listed([train.class_names[k] for k in missing])
        fix = "label examples of each class" if labels is None else \
            f"raise {setting_name('labels')} to at least {n_classes + val_labels}" + \
            (f" or lower {setting_name('val_labels')}" if val_labels else "")
        warnings.warn(f"{len(missing)} of the {n_classes} classes have no training label ({names}): the classifier "
                      f"can name them only by chance; {fix}", stacklevel=user_stacklevel())


__all__ = ["SMALL_TEST", "Split", "choose_split", "warn_if_small_test"]
