"""Data sources and the few-label split."""

import dataclasses
import gzip
import os
import re
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ssvae.data import UNLABELLED, DataError, Dataset, ModelInputs, Source, choose_split, load_labelled, load_source
from ssvae.config import Config
from ssvae.data import csv_files, images, sources
from ssvae.data.csv_files import CsvColumns
from ssvae.data.split import Split

# the first ten labels of each set's t10k file: MNIST's as published with it, Fashion-MNIST's as its file has
# them (checked against the file below)
FIRST_TEN_TEST_LABELS = {"mnist": (7, 2, 1, 0, 4, 1, 4, 9, 5, 9), "fashion-mnist": (9, 2, 1, 1, 6, 1, 4, 6, 5, 7)}


def test_digits_is_scaled_channel_first():
    source = load_source("digits")
    assert source.train.x.shape == (1797, 1, 8, 8) and source.train.x.dtype == np.float32
    assert source.train.x.min() == 0.0 and source.train.x.max() == 1.0  # 0..16 scaled by 1/16
    assert source.test is None and source.train.class_names == tuple("0123456789")


def _source(n_per_class=30, k=3, unlabelled=0):
    y = np.repeat(np.arange(k), n_per_class)
    y = np.concatenate([y, np.full(unlabelled, UNLABELLED)])
    x = np.random.default_rng(0).random((len(y), 4)).astype(np.float32)
    return Source(Dataset(x, y.astype(np.int64), tuple("abc"[:k])), None)


@pytest.mark.parametrize("labels, val_labels, message", [
    (2, 0, "1 of the 3 classes have no training label (a): the classifier can name them only by chance; raise "
           "--labels (labels= in Python) to at least 3"),
    (6, 4, "1 of the 3 classes have no training label (c): the classifier can name them only by chance; raise "
           "--labels (labels= in Python) to at least 7 or lower --val-labels (val_labels= in Python)"),
])
def test_too_few_labels_for_every_class_is_a_warning(labels, val_labels, message):
    with pytest.warns(UserWarning, match=re.escape(message)):
        split = choose_split(_source(), labels=labels, val_labels=val_labels, test_fraction=0.25, split_seed=0,
                             seed=0)
    assert len(split.labelled) == labels - val_labels
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one label a class or more: no warning
        choose_split(_source(), labels=3, val_labels=0, test_fraction=0.25, split_seed=0, seed=0)


def test_a_test_set_held_out_of_few_labels_is_a_warning():
    with pytest.warns(UserWarning, match=re.escape("the test set is 3 of the 12 labelled examples, held out of "
                                                   "training by --test-fraction 0.25 (test_fraction=0.25 in Python): "
                                                   "an accuracy on so few says little")):
        split = choose_split(_source(n_per_class=4), labels=None, val_labels=0, test_fraction=0.25, split_seed=0,
                             seed=0)
    assert len(split.test) == 3 and len(split.labelled) == 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # five test examples a class: no warning
        choose_split(_source(n_per_class=20), labels=None, val_labels=0, test_fraction=0.25, split_seed=0, seed=0)


def test_balanced_labels_are_exact_and_repeatable():
    source = _source(n_per_class=40, k=3, unlabelled=10)
    split = choose_split(source, labels=12, val_labels=3, test_fraction=0.25, split_seed=0, seed=5)
    y = source.train.y
    assert np.bincount(y[list(split.labelled)], minlength=3).tolist() == [3, 3, 3]
    assert np.bincount(y[list(split.validation)], minlength=3).tolist() == [1, 1, 1]
    assert np.bincount(y[list(split.test)], minlength=3).tolist() == [10, 10, 10]  # stratified 25%
    assert set(split.labelled).isdisjoint(split.validation) and set(split.labelled).isdisjoint(split.test)
    assert split == choose_split(source, 12, 3, 0.25, 0, 5)
    assert split.labelled != choose_split(source, 12, 3, 0.25, 0, 6).labelled
    assert split.test == choose_split(source, 12, 3, 0.25, 0, 6).test  # the test split has its own seed


def test_remainder_labels_go_one_each_to_distinct_classes():
    """8 labels of 3 classes: 2 each, and the 2 left over to two distinct classes the seed draws; whatever the
    seed, 8 distinct examples."""
    short = set()  # the class left with 2
    for seed in range(30):
        split = choose_split(_source(k=3), labels=8, val_labels=0, test_fraction=0.25, split_seed=0, seed=seed)
        counts = np.bincount(_source(k=3).train.y[list(split.labelled)])
        assert sorted(counts.tolist()) == [2, 3, 3] and len(set(split.labelled)) == 8, seed
        short.add(int(counts.argmin()))
    assert short == {0, 1, 2}


def test_partition_hides_labels_and_counts_every_label_seen():
    source = _source(n_per_class=40, k=3, unlabelled=10)
    split = choose_split(source, labels=12, val_labels=3, test_fraction=0.25, split_seed=0, seed=5)
    part = split.apply(source)
    assert split.labels_seen == 12 and len(part.labelled) == 9 and len(part.validation) == 3
    assert (part.unlabelled.y == UNLABELLED).all()
    assert len(part.unlabelled) == 130 - 30 - 12  # every other training input, the source's unlabelled too
    with_test = Source(source.train, Dataset(np.zeros((4, 4), np.float32), np.array([2, -1, 0, -1]), ("a", "b", "c")))
    tested = choose_split(with_test, labels=12, val_labels=0, test_fraction=0.25, split_seed=0, seed=5).apply(with_test)
    assert tested.labelled_test.y.tolist() == [2, 0]  # accuracy is measured on the labelled test examples alone
    assert Split.from_json(split.to_json()) == split


def test_labels_all_keeps_missing_labels_missing():
    split = choose_split(_source(n_per_class=40, unlabelled=10), labels=None, val_labels=0, test_fraction=0.25,
                         split_seed=0, seed=0)
    assert len(split.labelled) == 120 - 30  # every labelled example less the stratified test quarter
    assert max(split.labelled + split.test) < 120  # the 10 unlabelled examples (indices 120..129) stay unlabelled


def test_too_many_labels_is_a_clear_error():
    with pytest.raises(DataError) as error:
        choose_split(_source(), labels=1000, val_labels=0, test_fraction=0.25, split_seed=0, seed=0)
    assert str(error.value) == (  # 90 labels, of which a stratified quarter (23) is the test set
        "--labels 1000 (labels=1000 in Python) asks for more labels than the 67 available for training (23 of the 90 "
        "labelled examples are held out as the test set: give test data of your own with --test-data (test_data= in "
        "Python) to train on every label): lower it or use --labels all (labels=None in Python)")
    with_test = Source(_source().train, _source(n_per_class=2).train)  # a test set of its own: nothing held out
    with pytest.raises(DataError, match=r"^--labels 1000 \(labels=1000 in Python\) asks for more labels than the 90 "
                                        r"available for training: lower it"):
        choose_split(with_test, labels=1000, val_labels=0, test_fraction=0.25, split_seed=0, seed=0)
    with pytest.raises(DataError, match="^--val-labels 20 \\(val_labels=20 in Python\\) leaves no training label "
                                        "out of 20: lower it$"):
        choose_split(_source(), labels=20, val_labels=20, test_fraction=0.25, split_seed=0, seed=0)
    with pytest.raises(DataError, match="^the training examples have no label: label at least one training example "
                                        "of each class$"):
        choose_split(Source(Dataset(np.zeros((4, 2), np.float32), np.full(4, -1), ("a", "b")), None),
                     labels=2, val_labels=0, test_fraction=0.25, split_seed=0, seed=0)


def test_a_test_split_the_labels_cannot_fill_is_a_clear_error():
    # a class with one labelled example cannot be on both sides of a stratified split, whatever the test
    # fraction (scikit-learn's message numbered the class and the advice named --test-fraction); 6 examples
    # leave a test quarter of 2, too few for 3 classes (scikit-learn's reasons, kept in the message)
    one_of_c = Source(Dataset(np.zeros((7, 4), np.float32), np.array([0, 0, 0, 1, 1, 1, 2]), ("a", "b", "c")), None)
    for fraction in (0.1, 0.25, 0.9):
        with pytest.raises(DataError, match=r"^class 'c' has a single labelled example, and a class-balanced test "
                                            r"split needs two of each \(one to test, one to train on\): label "
                                            r"another, give --test-fraction 0 \(test_fraction=0 in Python\) to hold "
                                            r"out no test set and train on every label, or give test data with "
                                            r"--test-data \(test_data= in Python\)$"):
            choose_split(one_of_c, labels=None, val_labels=0, test_fraction=fraction, split_seed=0, seed=0)
    one_of_b_and_c = Source(Dataset(np.zeros((5, 4), np.float32), np.array([0, 0, 0, 1, 2]), ("a", "b", "c")), None)
    with pytest.raises(DataError, match=r"^classes 'b', 'c' have a single labelled example"):
        choose_split(one_of_b_and_c, labels=None, val_labels=0, test_fraction=0.25, split_seed=0, seed=0)
    # the refusal names the least test fraction that splits them, and 0, which holds out none
    advice = (r"--test-fraction 0.34 \(test_fraction=0.34 in Python\) holds out 3 of them and trains on 3, and "
              r"--test-fraction 0 \(test_fraction=0 in Python\) holds out no test set and trains on every label; "
              r"else label more examples of each class, or give test data with --test-data \(test_data= in Python\)$")
    with pytest.raises(DataError, match=r"^cannot hold out a class-balanced test share of 0.25 from 6 labelled "
                                        r"examples \(the 2 to test cannot hold one of each of the 3 classes\): "
                                        + advice):
        choose_split(_source(n_per_class=2), labels=None, val_labels=0, test_fraction=0.25, split_seed=0, seed=0)
    with pytest.raises(DataError, match=r"\(the 1 left to train on cannot hold one of each of the 3 classes\): "
                                        + advice):
        choose_split(_source(n_per_class=2), labels=None, val_labels=0, test_fraction=0.75, split_seed=0, seed=0)
    with pytest.warns(UserWarning, match="the test set is 3 of the 6 labelled examples"):  # as advised: it splits
        split = choose_split(_source(n_per_class=2), labels=None, val_labels=0, test_fraction=0.34, split_seed=0,
                             seed=0)
    assert len(split.labelled) == 3 and len(split.test) == 3
    split = choose_split(_source(n_per_class=2), labels=None, val_labels=0, test_fraction=0, split_seed=0, seed=0)
    assert len(split.labelled) == 6 and len(split.test) == 0


def test_npz_with_uint8_images_and_test_split(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (20, 5, 5), dtype=np.uint8)
    y = np.array([0, 1, -1, 2, -1] * 4)  # more unlabelled examples than a class has, as usual
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=x[:4], y_test=np.array([0, 1, 2, 0]))
    source = load_source(data=str(tmp_path / "d.npz"))
    assert source.train.x.shape == (20, 1, 5, 5)
    np.testing.assert_allclose(source.train.x[3, 0], x[3] / 255.0, rtol=1e-6)
    assert source.train.class_names == ("0", "1", "2") and (source.train.y == y).all()
    assert len(source.test) == 4


@pytest.mark.parametrize("test_arrays, message", [
    ({"x_test": np.zeros((4, 3, 3)), "y_test": np.array([0, 1, 0, 1])},
     r"x_test has examples of shape \(1, 3, 3\) but x of \(1, 2, 2\): give both the same shape"),
    ({"x_test": np.zeros((4, 2, 2)), "y_test": np.full(4, -1)},
     "y_test has no label .every entry is -1.: label the test examples, or leave x_test and y_test out"),
    ({"x_test": np.zeros((4, 2, 2))}, "has only one of x_test and y_test: give both"),
    ({"y_test": np.array([0, 1])}, "has only one of x_test and y_test: give both"),
])
def test_npz_test_set_that_cannot_test_the_model_is_refused(tmp_path, test_arrays, message):
    """Found while loading, not after a whole run has trained on x."""
    np.savez(tmp_path / "d.npz", x=np.zeros((6, 2, 2)), y=np.array([0, 1, -1, -1, -1, -1]), **test_arrays)
    with pytest.raises(DataError, match=message):
        load_source(data=str(tmp_path / "d.npz"))


def test_npz_label_out_of_range(tmp_path):
    np.savez(tmp_path / "k.npz", x=np.zeros((3, 2)), y=np.array([0, 1, 2]), class_names=np.array(["a", "b"]))
    with pytest.raises(DataError, match="label 2 needs 3 classes but class_names names 2: correct the label "
                                        r"\(-1 for unlabelled examples\) or give class_names a name for every class"):
        load_source(data=str(tmp_path / "k.npz"))  # the names are short, not the label wrong
    np.savez(tmp_path / "n.npz", x=np.zeros((3, 2)), y=np.array([0, 1, -2]))
    with pytest.raises(DataError, match="label -2 is outside 0..1; use -1 for unlabelled examples"):
        load_source(data=str(tmp_path / "n.npz"))


@pytest.mark.parametrize("y, message", [
    (np.array([0, 1, 1e30, 1]), "y holds 1e+30, which is no class index: number the classes 0..K-1, -1 for "
                                "unlabelled examples"),  # the cast to int64 made it -9223372036854775808
    (np.array([0, 1, np.inf, 1]), "y holds inf, which is no class index"),
    (np.array([0, 1, 255, 1], np.uint8), "y holds 255, which looks like -1 stored as uint8: save the labels as "
                                         "signed integers (y.astype(np.int64), then set the unlabelled ones to -1)"),
    (np.array([0, 1, 2 ** 63, 1], np.uint64), "y holds 9.22337e+18, which is no class index"),  # the cast wraps it
])
def test_npz_labels_no_class_could_have_are_named_as_given(tmp_path, y, message):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=y)
    with pytest.raises(DataError, match="^" + re.escape(f"{tmp_path / 'd.npz'}: {message}")):
        load_source(data=str(tmp_path / "d.npz"))


def test_uint8_labels_may_number_256_classes_and_named_classes_go_past_10000(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((256, 2)), y=np.arange(256).astype(np.uint8))
    assert len(load_source(data=str(tmp_path / "d.npz")).train.class_names) == 256
    np.savez(tmp_path / "many.npz", x=np.zeros((10002, 2)), y=np.arange(10002.0),  # float labels, as pandas keeps them
             class_names=np.array([f"c{k}" for k in range(10002)]))
    assert load_source(data=str(tmp_path / "many.npz")).train.class_names[-1] == "c10001"


@pytest.mark.parametrize("names, message", [
    (["a", ""], "class name '' is empty or breaks a line"),
    (["a", "  "], "class name '  ' is empty or breaks a line"),
    (["a", "b\r"], "class name 'b\\r' is empty or breaks a line"),
    (["a", "two\nlines"], "class name 'two\\nlines' is empty or breaks a line: give each class a name on one line"),
    (["a", "a"], "class_names repeats 'a': give each class its own name"),
    ([b"caf\xe9", b"b"], "class_names holds bytes that are not UTF-8 text: save the names as text "
                         "(np.array(names, dtype=str))"),  # a UnicodeDecodeError's traceback
])
def test_npz_class_names_that_cannot_head_a_column_are_refused(tmp_path, names, message):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]), class_names=np.array(names))
    with pytest.raises(DataError, match=re.escape(message)):
        load_source(data=str(tmp_path / "d.npz"))


def test_class_names_a_spreadsheet_takes_for_formulas_are_warned_of_and_numbers_are_not(tmp_path):
    """A class name such as '=HYPERLINK(...)' reaches the CSVs ssvae writes (predictions, generated rows) as it
    is, where a spreadsheet runs it as a formula: it trains, with a warning (an escaped name would no longer be
    the class's name when the file is read back); a negative or signed number is a name like any other."""
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]),
             class_names=np.array(['=HYPERLINK("http://example.com")', "@SUM(1)"]))
    with pytest.warns(UserWarning, match=r"class name '=HYPERLINK\(\"http://example.com\"\)' begins with '=', which a "
                                         r"spreadsheet opening ssvae's CSVs \(predictions, generated rows\) takes for a "
                                         r"formula: rename the class if those files go to a spreadsheet$") as warned:
        assert load_source(data=str(tmp_path / "d.npz")).train.class_names[1] == "@SUM(1)"
    assert [w.filename for w in warned] == [__file__]
    np.savez(tmp_path / "n.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]), class_names=np.array(["-2", "+0.5"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_source(data=str(tmp_path / "n.npz")).train.class_names == ("-2", "+0.5")


def test_a_class_folder_named_in_another_encoding_is_refused_before_its_images_are_read(tmp_path):
    """Linux keeps a folder name's bytes; one that is not UTF-8 trained, then failed the export (its class name
    cannot be written to model.json)."""
    for name in (b"caf\xe9", b"dog"):
        os.makedirs(os.path.join(bytes(tmp_path), name))
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(os.path.join(bytes(tmp_path), name, b"0.png"))
    with pytest.raises(DataError, match=re.escape("class name 'caf\\udce9' is not UTF-8 text (a folder named in "
                                                  "another encoding): rename it")):
        load_source(data=str(tmp_path))


def test_csv_label_names_on_two_lines_are_refused(tmp_path):
    (tmp_path / "t.csv").write_text('f,label\n1,"a\nb"\n2,c\n')
    with pytest.raises(DataError, match=re.escape("class name 'a\\nb' is empty or breaks a line")):
        load_source(data=str(tmp_path / "t.csv"))


def test_npz_images_of_a_few_grey_levels_are_told_to_be_scaled_by_their_top_level(tmp_path):
    """sklearn's digits hold levels 0..16: as floats they were told to be saved as uint8, which is divided by
    255 (they reached 0.063 and trained to 25.6 %); as uint8 nothing was said. Both now say x / 16."""
    x = (np.arange(6 * 9).reshape(6, 3, 3) % 17).astype(np.float64)
    y = np.array([0, 1] * 3)
    np.savez(tmp_path / "f.npz", x=x, y=y)
    with pytest.warns(UserWarning, match=r"x holds whole numbers from 0 to 16 as float64, which are used as they "
                                         r"are, .*: if they are images, save them as floats scaled to \[0, 1\] "
                                         r"\(x / 16, for levels 0..16; uint8 would be divided by 255\)"):
        load_source(data=str(tmp_path / "f.npz"))
    np.savez(tmp_path / "u.npz", x=x.astype(np.uint8), y=y)
    with pytest.warns(UserWarning, match=r"u.npz: x holds uint8 images of levels 0..16 at most, which are divided by "
                                         r"255 as 8-bit images are, so that they reach 0.063, not 1: if their levels "
                                         r"are 0..16, save them as floats scaled to \[0, 1\] \(x / 16\)$"):
        source = load_source(data=str(tmp_path / "u.npz"))
    assert source.train.x.max() == pytest.approx(16 / 255)


@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_npz_pixels_0_to_255_in_another_dtype_than_uint8_are_named_in_a_warning(tmp_path, dtype):
    """They are taken as numbers on their scale (uint8 would be scaled to [0, 1], with the likelihood of grey
    levels), and so are image files given to a model of them: the warning says to save them as uint8."""
    x = np.random.default_rng(0).integers(0, 256, (6, 3, 3)).astype(dtype)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1] * 3))
    with pytest.warns(UserWarning, match=rf"x holds whole numbers from {x.min():g} to {x.max():g} as "
                                         rf"{np.dtype(dtype)}, which "
                                         r"are used as they are, not as images \(and so are the image files .*\): "
                                         r"if they are images, save them as uint8 "
                                         r"\(x.astype\(np.uint8\)\)"):
        source = load_source(data=str(tmp_path / "d.npz"))
    assert source.train.x.max() == x.max()  # used as given
    for quiet in (x.astype(np.uint8), x / 255.0, x + 0.5, x - 1.0, np.minimum(x, 1),  # images, or not pixels
                  x + 1, x * 0.5 + 0.25, x.reshape(6, 9)):  # past 255, not whole, a table's whole numbers
        np.savez(tmp_path / "q.npz", x=quiet, y=np.array([0, 1] * 3))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_source(data=str(tmp_path / "q.npz"))


def test_csv_with_named_and_missing_labels(tmp_path):
    (tmp_path / "t.csv").write_text("f1,label,f2\n0.5,cat,1\n1.5,,2\n2.5,dog,3\n3.5,-1,4\n")
    source = load_source(data=str(tmp_path / "t.csv"))
    assert source.train.class_names == ("cat", "dog")
    assert source.train.y.tolist() == [0, -1, 1, -1]
    np.testing.assert_array_equal(source.train.x, [[0.5, 1], [1.5, 2], [2.5, 3], [3.5, 4]])


def test_a_csv_column_without_a_name_is_no_input_only_as_an_index_or_when_empty(tmp_path):
    """pandas' saved index (the first column) and a comma ending every line name no input; an unnamed column
    that holds values elsewhere was dropped unseen, and with it what told the classes apart."""
    (tmp_path / "index.csv").write_text(",a,label,\n0,1,0,\n1,4,1,\n")
    source = load_source(data=str(tmp_path / "index.csv"))
    assert source.columns == ("a",) and source.train.x.tolist() == [[1], [4]]
    (tmp_path / "blank.csv").write_text("a,,label\n1,,0\n4,7,1\n")
    with pytest.raises(DataError, match=r"^.*blank.csv: column 2 has no name in the header but row 1 \(line 3\) "
                                        r"holds '7' there: name it, or delete it if it is no input$"):
        load_source(data=str(tmp_path / "blank.csv"))


def test_csv_labels_as_pandas_and_r_write_them(tmp_path):
    """A label column with gaps comes out of pandas as floats (3.0, -1.0, empty) and out of R with NA: whole
    numbers are class indices, those spellings are missing (they became classes named "3.0", "NA")."""
    (tmp_path / "t.csv").write_text(",f1,label\n0,0.5,1.0\n1,1.5,-1.0\n2,2.5,NA\n3,3.5,0.0\n4,4.5,\n5,5.5,nan\n")
    source = load_source(data=str(tmp_path / "t.csv"))
    assert source.train.class_names == ("0", "1")
    assert source.train.y.tolist() == [1, -1, -1, 0, -1, -1]
    np.testing.assert_array_equal(source.train.x, [[0.5], [1.5], [2.5], [3.5], [4.5], [5.5]])  # no index column


def test_csv_class_names_that_pandas_reads_as_missing_are_named_in_a_warning(tmp_path):
    (tmp_path / "t.csv").write_text("f,label\n0,mild\n1,None\n2,severe\n3,Na\n4,\n5,NA\n")
    with pytest.warns(UserWarning) as warned:
        source = load_source(data=str(tmp_path / "t.csv"))
    assert [str(w.message).split(": ", 1)[1] for w in warned] == [  # after the file's path
        "2 label(s) 'NA', 'None' read as missing (unlabelled), as pandas reads them: rename the class if one of "
        "them is a class",
        "label(s) 'Na' are read as classes, though written like missing labels: leave the label empty (or NA) where "
        "an example has none"]  # the warning of marks such as '?' and 'unknown'; a class of sodium may ignore it
    assert source.train.class_names == ("Na", "mild", "severe")  # sodium: pandas keeps "Na" a value too
    assert source.train.y.tolist() == [1, -1, 2, 0, -1, -1]


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_classes_whose_names_differ_in_case_alone_are_named_in_a_warning_once_when_a_run_is_made(tmp_path):
    """A folder typed `sneaker/` beside `Sneaker/` (or a label typed so) made another class without a word. Every
    such group is named, once, when the run is made: not again when the run reads its data to be tested."""
    import ssvae
    from ssvae.run_data import new_run_data
    from ssvae.settings import config_for

    for folder in ("Sneaker", "sneaker", "Bag", "bag", "Coat"):
        (tmp_path / "images" / folder).mkdir(parents=True)
        for k in range(4):
            Image.fromarray(np.full((4, 4), 60 * k, np.uint8)).save(tmp_path / "images" / folder / f"{k}.png")
    settings = dict(labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False)
    with pytest.warns(UserWarning) as warned:
        ssvae.train(data=str(tmp_path / "images"), out=tmp_path / "run", **settings)
    assert [str(w.message) for w in warned if "differ in case" in str(w.message)] == [
        f"{tmp_path / 'images'}: classes 'Bag' and 'bag'; 'Sneaker' and 'sneaker' differ in case alone, so each is "
        f"a class of its own: if they are one (a typo in a folder's or a label's name), give them one name"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ssvae.evaluate(tmp_path / "run")
    (tmp_path / "t.csv").write_text("f,label\n" + "".join(f"{k},{label}\n" for k, label in enumerate(["cat", "dog",
                                                                                                    "Dog"] * 2)))
    with pytest.warns(UserWarning, match=r"t.csv: classes 'Dog' and 'dog' differ in case alone"):
        new_run_data(config_for(data=str(tmp_path / "t.csv"), test_fraction=0.5))
    (tmp_path / "t.csv").write_text("f,label\n0,cat\n1,dog\n2,cat\n3,dog\n")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        new_run_data(config_for(data=str(tmp_path / "t.csv"), test_fraction=0.5))
    assert not [w for w in warned if "differ in case" in str(w.message)]


@pytest.mark.parametrize("labels, message", [
    (["1", "2", "1", "2"], "t.csv: class '0' has no labelled example: number the classes 0..K-1 with no gap "
                           r"\(labels numbered from 1: subtract 1; -1 marks an unlabelled example, so classes -1 "
                           r"and 1 are written 0 and 1\), or label examples of it"),
    (["1", "3", "1", "3"], "t.csv: classes '0', '2' have no labelled example: "),
    (["0", "300000000", "1", "0"], "t.csv: label 300000000 would mean 300000001 classes: number the classes 0..K-1 "
                                   r"\(K <= 10000\)$"),
    (["-1", "", "NA", "-1.0"], r"t.csv: has no labelled example \(every label is -1 or missing\)"),
    (["cat", "cat", "", "-1"], "t.csv: at least two classes are needed, found 1: label examples of two or more"),
    pytest.param(["²", "--1", "cat", "²"], None,  # names, not numbers: no traceback ('--1': a formula's warning)
                 marks=pytest.mark.filterwarnings("ignore:.*takes for a formula:UserWarning")),
    (["0", "1", "2.5", "1"], r"t.csv: row 2 \(line 4\) has label '2.5', a number but not a whole one: number the "
                             r"classes 0..K-1, or name them with text$"),  # a typo was a class named '2.5'
    (["0", "inf", "1", "1.0"], r"t.csv: row 1 \(line 3\) has label 'inf', a number but not a whole one"),
    (["0", "2.5", "cat", "cat"], None),  # among names, a number is a name: ("0", "2.5", "cat")
])
def test_csv_labels_that_cannot_be_learnt_are_refused_on_loading(tmp_path, labels, message):
    (tmp_path / "t.csv").write_text("f,label\n" + "".join(f"{k},{label}\n" for k, label in enumerate(labels)))
    if message is None:
        assert load_source(data=str(tmp_path / "t.csv")).train.class_names == tuple(sorted(set(labels)))
        return
    with pytest.raises(DataError, match=message):
        load_source(data=str(tmp_path / "t.csv"))


@pytest.mark.parametrize("labels, stray", [
    (["0", "1", "zebra", "1", "0"], "row 2 (line 4) has label 'zebra'"),  # a typo, or a class given one label
    (["0", "1", "other", "", "", ""], "row 2 (line 4) has label 'other'"),  # one label a class
    (["0", "1", "other", "other", "1", "0"], None),  # a class of text that rows share, beside classes 0 and 1
    (["0", "1", "0", "1", "2.5", "cat", "cat"], None),  # among names, a number is a name
    (["0", "1", "0", "1", "?"], None),  # warned of as written like a missing label, not as a typo
    (["a", "b", "c", "0", "1"], None),  # most labels are text
])
def test_a_label_of_text_no_other_row_holds_among_class_numbers_is_warned_of(tmp_path, labels, stray):
    """A "zebra" among 0..K-1 became a class of one example, with nothing said; it is still a class (one label
    a class is how few labels go), with a warning that names its row."""
    (tmp_path / "t.csv").write_text("f,label\n" + "".join(f"{k},{label}\n" for k, label in enumerate(labels)))
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        names = load_source(data=str(tmp_path / "t.csv")).train.class_names
    assert names == tuple(sorted({label for label in labels if label}))
    said = [str(w.message) for w in warned if "a class of its own" in str(w.message)]
    assert said == ([] if stray is None else [f"{tmp_path / 't.csv'}: {stray}, a class of its own that no other row "
                                              f"holds, where most labels are class numbers: correct it if it is a "
                                              f"typo"])


def test_labels_of_nan_or_pandas_na_are_unlabelled_as_minus_one_is(tmp_path):
    """A float column of labels with NaN gaps (or pandas' nullable Int64 with <NA>), as pandas holds a column of
    labels only some rows have, was refused ("y holds NaN: mark unlabelled rows -1"): its gaps are unlabelled."""
    import pandas as pd

    from ssvae.data.sources import arrays_given, arrays_source

    x = np.random.default_rng(0).random((12, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2, -1, -1, -1, -1, -1, -1])
    with_gaps = np.where(y < 0, np.nan, y)
    np.savez(tmp_path / "gaps.npz", x=x, y=with_gaps)
    read = [load_source(data=str(tmp_path / "gaps.npz")).train] + [
        arrays_source(arrays_given((x, labels))).train for labels in (
            y, with_gaps, pd.Series(with_gaps), pd.Series(np.where(y < 0, None, y), dtype="Int64"))]
    assert all(r.y.tolist() == y.tolist() and r.class_names == ("0", "1", "2") for r in read)


def test_a_labelled_dataframe_is_told_to_be_saved_as_a_csv(tmp_path):
    """evaluate(data=DataFrame) was told to pass "arrays as data=(x, y)", which a table of categories cannot
    become, and train was told to df.to_csv('data.csv'), which writes the index as a column of inputs."""
    import pandas as pd

    import ssvae

    df = pd.DataFrame({"a": np.arange(10.0), "label": [0, 1] * 5})
    fix = ("save it with its column of classes as a CSV (df.to_csv('data.csv', index=False)), whose columns are read "
           "by name, and give its path")
    with pytest.raises(DataError, match=f"^data is a table \\(a DataFrame\\): {re.escape(fix)}$"):
        ssvae.evaluate(Path(__file__).resolve().parents[1] / "models/digits-m2", data=df)
    with pytest.raises(DataError, match=f"^data\\['x'\\] is a table \\(a DataFrame\\), whose column names held in "
                                        f"memory would be lost: {re.escape(fix)}, or give "):
        ssvae.train(data=(df[["a"]], df.label), out=tmp_path / "run")


def test_npz_classes_need_a_labelled_example_and_one_scale(tmp_path):
    x = np.zeros((4, 2, 2), np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([1, 2, 1, 2]))  # numbered from 1
    with pytest.raises(DataError, match="d.npz: class '0' has no labelled example"):
        load_source(data=str(tmp_path / "d.npz"))
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0, 1]), x_test=x.astype(np.float32), y_test=np.array([0, 1]))
    with pytest.raises(DataError, match="d.npz: x is uint8 but x_test is float32, and uint8 inputs are images 0..255 "
                                        "scaled to"):
        load_source(data=str(tmp_path / "d.npz"))
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0, 1]), class_names=np.array([b"cat", b"dog"]))
    assert load_source(data=str(tmp_path / "d.npz")).train.class_names == ("cat", "dog")  # not "b'cat'"
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 0, 1]), x_test=x, y_test=np.array([0, 1, 2, 2]))
    assert load_source(data=str(tmp_path / "d.npz")).train.class_names == ("0", "1", "2")  # 2: in the test set


def test_csv_rows_need_a_field_for_every_column_but_a_label_cut_off_the_end(tmp_path):
    (tmp_path / "t.csv").write_text("f1,f2,label\n0.5,1,cat\n1.5,2\n2.5,3,dog\n")  # row 2: label unknown
    source = load_source(data=str(tmp_path / "t.csv"))
    assert source.train.y.tolist() == [0, -1, 1]
    np.testing.assert_array_equal(source.train.x, [[0.5, 1], [1.5, 2], [2.5, 3]])
    for text, place, fields in (("f1,f2,label\n0.5,1,cat\n1.5\n", "row 1 \\(line 3\\)", 1),
                                ("f1,f2,label\n0.5,1,cat,7\n", "row 0 \\(line 2\\)", 4),
                                ("f1,label,f2\n0.5,cat\n", "row 0 \\(line 2\\)", 2),
                                ('f1,f2,label\n\n0.5,"1\n",cat\n\n1.5\n', "row 1 \\(line 6\\)", 1)):  # blank lines
        (tmp_path / "t.csv").write_text(text)                                      # and a quoted line break count
        with pytest.raises(DataError, match=f"t.csv: {place} has {fields} fields but the header names 3: give "
                                            f"every row one value for each column"):
            load_source(data=str(tmp_path / "t.csv"))


def test_a_csv_cut_short_in_its_last_row_is_named_in_a_warning(tmp_path):
    """A file cut off in its last row, before the label, read that row as unlabelled (its last value cut too)
    without a word; a row written without its label and a line break after it is taken as before."""
    (tmp_path / "t.csv").write_text("f1,f2,label\n0.5,1,cat\n2.5,3,dog\n1.5,2")
    with pytest.warns(UserWarning, match=r"t.csv: its last row \(line 4\) ends before the 'label' column, with no "
                                         r"line break after it, as a file cut short ends: it is read as unlabelled"):
        assert load_source(data=str(tmp_path / "t.csv")).train.y.tolist() == [0, 1, -1]
    (tmp_path / "t.csv").write_text("f1,f2,label\n0.5,1,cat\n2.5,3,dog\n1.5,2\r\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_source(data=str(tmp_path / "t.csv")).train.y.tolist() == [0, 1, -1]


def test_an_excel_csv_naming_its_separator_and_names_holding_the_other_one(tmp_path):
    """Excel's "sep=;" first line is no header; a name with commas in a file separated by semicolons split
    the header as many ways as the comma did, which won the tie and found no 'label' column."""
    (tmp_path / "t.csv").write_text("sep=;\r\nf1;label\r\n0,5;a\r\n1;b\r\n")
    source = load_source(data=str(tmp_path / "t.csv"))
    np.testing.assert_array_equal(source.train.x, [[0.5], [1]])
    assert source.train.class_names == ("a", "b") and source.columns == ("f1",)
    (tmp_path / "t.csv").write_text("sep=;\nf1;label\n0,5;a\nx;b\n")
    with pytest.raises(DataError, match=r"t.csv: row 1 \(line 4\), column 'f1' holds 'x'"):
        load_source(data=str(tmp_path / "t.csv"))
    (tmp_path / "t.csv").write_text("Gewicht, kg;Größe, cm;label\n70,8;170,8;0\n71;171;1\n")
    source = load_source(data=str(tmp_path / "t.csv"))
    assert source.columns == ("Gewicht, kg", "Größe, cm") and source.train.y.tolist() == [0, 1]
    np.testing.assert_array_equal(source.train.x, np.array([[70.8, 170.8], [71, 171]], np.float32))


@pytest.mark.parametrize("labels, warned", [
    ([-1, 0, 1] * 4, True),  # ratings -1/0/1: two classes trained, one class read as unlabelled
    ([-1] * 8 + [0, 1] * 2, False),  # the most usual: more unlabelled examples than any class has
    ([-1] * 2 + [0, 1] * 4, False),  # a few labels missing, fewer than any class's
    ([-1, 0, 1, 1], False),  # one alone says nothing
])
def test_labels_of_minus_one_as_many_as_a_class_are_named_in_a_warning(tmp_path, labels, warned):
    (tmp_path / "t.csv").write_text("f,label\n" + "".join(f"{k},{label}\n" for k, label in enumerate(labels)))
    np.savez(tmp_path / "t.npz", x=np.arange(len(labels), dtype=np.float32)[:, None], y=np.array(labels))
    for name in ("t.csv", "t.npz"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            source = load_source(data=str(tmp_path / name))
        assert source.train.class_names == ("0", "1") and source.train.y.tolist() == labels
        assert [str(w.message) for w in caught] == ([
            f"{tmp_path / name}: {labels.count(-1)} examples labelled -1 are read as unlabelled (-1 marks an example "
            f"without a label), though they are as many as a class's: if -1 is a class, number the classes 0..K-1"]
            if warned else [])


def test_built_in_inputs_split_as_a_training_run_does():
    """`--split test` is the test split a run with the model's test_fraction and split_seed held out, `--split
    train` every other row: apart, together all 1,797 digits."""
    from ssvae.data.inputs import read_inputs

    test, train = (read_inputs(dataset="digits", split=split) for split in ("test", "train"))
    assert len(test) == 450 and len(train) == 1347 and not set(test.ids) & set(train.ids)
    assert sorted(int(i) for i in (*test.ids, *train.ids)) == list(range(1797))
    held_out = choose_split(load_source("digits"), None, 0, 0.25, 0, 0).test
    assert [int(i) for i in test.ids] == list(held_out)
    np.testing.assert_array_equal(train.x[0], load_source("digits").train.x[int(train.ids[0])])
    with pytest.raises(DataError, match="unknown data set 'cifar': choose one of digits, "):
        read_inputs(dataset="cifar")
    with pytest.raises(DataError, match="split 'val' is not one of test, train"):
        read_inputs(dataset="digits", split="val")


def test_csv_from_excel_with_byte_order_mark_and_blank_lines(tmp_path):
    # Excel's "CSV UTF-8" starts with a byte-order mark; a blank line at the end is common
    # the last row is separators alone, as Excel writes after formatted cells
    (tmp_path / "t.csv").write_bytes("label,f1\r\ncat,0.5\r\n\r\ndog,1.5\r\n\r\n, \r\n".encode("utf-8-sig"))
    source = load_source(data=str(tmp_path / "t.csv"))
    assert source.train.class_names == ("cat", "dog") and source.train.y.tolist() == [0, 1]
    np.testing.assert_array_equal(source.train.x, [[0.5], [1.5]])


def test_csv_separated_by_semicolons_with_decimal_commas_or_by_tabs(tmp_path):
    """Excel saves "CSV" with semicolons where the decimal mark is a comma (0,25): such a file was refused as
    having no 'label' column. Its numbers take the decimal comma; a class name keeps its commas."""
    (tmp_path / "excel.csv").write_bytes("\r\nid;label;f1;f2\r\n1;\"big, red\";0,25;-3\r\n2;;1,5e2;4.5\r\n3;small;7;0\r\n"
                                         .encode("utf-8-sig"))
    source = load_source(data=str(tmp_path / "excel.csv"))
    assert source.train.class_names == ("big, red", "small") and source.train.y.tolist() == [0, -1, 1]
    np.testing.assert_array_equal(source.train.x, np.array([[0.25, -3], [150, 4.5], [7, 0]], np.float32))
    assert source.columns == ("f1", "f2")
    (tmp_path / "tabs.csv").write_text("f1\tlabel\tf2\n0.5\ta\t1\n2,5\tb\t3\n")
    with pytest.raises(DataError, match=r"tabs.csv: row 1 \(line 3\), column 'f1' holds '2,5': a decimal comma is "
                                        r"read only where semicolons separate the fields"):
        load_source(data=str(tmp_path / "tabs.csv"))  # the decimal comma goes with semicolons only
    (tmp_path / "tabs.csv").write_text("f1\tlabel\tf2\n0.5\ta\t1\n2.5\tb\t3\n")
    np.testing.assert_array_equal(load_source(data=str(tmp_path / "tabs.csv")).train.x, [[0.5, 1], [2.5, 3]])
    (tmp_path / "tabs.tsv").write_text("f1\tlabel\tf2\n0.5\ta,b\t1\n2.5\tc\t3\n")  # .tsv: read, by tabs alone
    tsv = load_source(data=str(tmp_path / "tabs.tsv"))  # (the header splits alike by none, "a,b" by a comma)
    assert tsv.train.class_names == ("a,b", "c") and tsv.columns == ("f1", "f2")
    np.testing.assert_array_equal(tsv.train.x, [[0.5, 1], [2.5, 3]])
    # thousands separators: not a decimal comma, whose advice would read 1,000 as 1.0
    for separator, cell, fix in ((",", '"1,000"', "(1000), or, if its comma is a decimal mark, separate the fields "
                                                  "by semicolons"),
                                 (",", '"1,200.50"', "(1200.50)"), (",", "1 200", "(1200)"),
                                 (";", "1.200,50", "(1200,50)"), (";", "1.000.000", "(1000000)")):
        (tmp_path / "grouped.csv").write_text(f"f1{separator}label\n0{separator}a\n{cell}{separator}b\n")
        with pytest.raises(DataError, match=rf"grouped.csv: row 1 \(line 3\), column 'f1' holds "
                                            rf"'{re.escape(cell.strip(chr(34)))}': write numbers without thousands "
                                            rf"separators {re.escape(fix)}$"):
            load_source(data=str(tmp_path / "grouped.csv"))
    # the separator that splits the header into the most names: a name may hold a comma, quoted or not;
    # whole-number labels may have a decimal comma too, as pandas' to_csv(sep=";", decimal=",") writes them
    (tmp_path / "names.csv").write_text('weight, kg;"a,b";label\n0,5;1,5;1,0\n0,25;2;-1,0\n1;3;0,0\n')
    source = load_source(data=str(tmp_path / "names.csv"))
    assert source.columns == ("weight, kg", "a,b") and source.train.class_names == ("0", "1")
    assert source.train.y.tolist() == [1, -1, 0]
    (tmp_path / "tab-names.csv").write_text("a,b\tc;d\tlabel\n0.5\t1.5\tx\n1\t2\ty\n")
    assert load_source(data=str(tmp_path / "tab-names.csv")).columns == ("a,b", "c;d")
    (tmp_path / "one.csv").write_text("label\nx\ny\n")  # nothing to separate
    assert load_source(data=str(tmp_path / "one.csv")).train.class_names == ("x", "y")
    # inputs to predict, with no label to tell: names with commas split alike by commas, as its numbers do;
    # the separator that finds the model's columns wins
    from ssvae.data.inputs import read_inputs

    (tmp_path / "new.csv").write_text("id;L\u00e4nge, cm;Breite, cm\nr0;0,84;0,76\nr1;1,42;0,26\n")
    inputs = read_inputs(str(tmp_path / "new.csv"), columns=("L\u00e4nge, cm", "Breite, cm"))
    assert list(inputs.ids) == ["r0", "r1"] and inputs.x.tolist() == np.float32([[0.84, 0.76], [1.42, 0.26]]).tolist()


def test_csv_input_columns_are_named_without_spaces_and_refused_where_one_repeats(tmp_path):
    (tmp_path / "spaced.csv").write_text("id, a ,b , label\nr0,1,2,0\nr1,3,4,1\n")
    source = load_source(data=str(tmp_path / "spaced.csv"))
    assert source.columns == ("a", "b") and source.train.y.tolist() == [0, 1]
    (tmp_path / "twice.csv").write_text("a,a,b,label\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(DataError, match=r"twice.csv: column 'a' appears more than once: give each column its own "
                                        r"name, as its model finds its columns by name in the files it reads later$"):
        load_source(data=str(tmp_path / "twice.csv"))  # columns in another order would be read wrongly, unsaid
    x, names = csv_files.read_csv(tmp_path / "twice.csv", ("b",)).inputs()
    assert x.tolist() == [[3], [6]] and names == ("b",)
    with pytest.raises(DataError, match=r"twice.csv has column 'a' more than once: give each column its own "
                                        r"name, so that it is clear which the model reads$"):
        csv_files.read_csv(tmp_path / "twice.csv", ("b", "a")).inputs()


def test_a_large_csv_is_read_as_float32_block_by_block_not_held_as_text(tmp_path):
    """20,000 rows of 32 inputs (4.9 blocks): read exactly, with its peak memory near that of the float32 array
    (2.6 MB): as lists of strings the fields took about 40 MB. Gaps after the first block are NaN where they
    stand, and a value that is no number there is named by its row."""
    import tracemalloc

    x = np.arange(20_000 * 32, dtype=np.float32).reshape(20_000, 32) / 8  # exact in float32 and in text
    header = ",".join(f"c{k}" for k in range(32)) + ",id,label"
    rows = [[str(float(v)) for v in row] + [f"r{n}", ""] for n, row in enumerate(x)]
    lines = [",".join(row) for row in rows]
    (tmp_path / "big.csv").write_text("\n".join([header, *lines]) + "\n")
    tracemalloc.start()
    try:
        table = csv_files.read_csv(tmp_path / "big.csv")
        read, columns = table.inputs()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(read, x) and read.dtype == np.float32 and columns == tuple(f"c{k}" for k in range(32))
    assert table.column("id")[-1] == "r19999" and table.place(19_999) == "row 19999 (line 20001)"
    assert peak < 4 * x.nbytes, peak
    rows[5000][3], rows[7000][5] = "", "NA"
    lines = [",".join(row) for row in rows]
    (tmp_path / "big.csv").write_text("\n".join([header, *lines]) + "\n")
    gaps = x.copy()
    gaps[5000, 3] = gaps[7000, 5] = np.nan
    np.testing.assert_array_equal(csv_files.read_csv(tmp_path / "big.csv").inputs()[0], gaps)
    rows[9000][7] = "high"
    lines = [",".join(row) for row in rows]
    (tmp_path / "big.csv").write_text("\n".join([header, *lines]) + "\n")
    with pytest.raises(DataError, match=r"big.csv: row 9000 \(line 9002\), column 'c7' holds 'high': "):
        csv_files.read_csv(tmp_path / "big.csv").inputs()


def test_a_csv_with_two_faults_names_the_one_it_named_when_held_as_text(tmp_path):
    """Read row by row, a first row of the wrong width followed by good rows raised IndexError (no block of
    inputs begun), and a header naming 'label' twice was named before a quote left open; a differential test
    of 179 files against the reader that held every field as text found those two differences, now none."""
    from ssvae.data.inputs import read_inputs

    (tmp_path / "short.csv").write_text("a,b,label\n1\n3,4,1\n" + "5,6,\n" * 5000)
    short = str(tmp_path / "short.csv")
    for read in (lambda: load_source(data=short), lambda: read_inputs(short)):
        with pytest.raises(DataError, match=r"short.csv: row 0 \(line 2\) has 1 fields but the header names 3: give "
                                            r"every row one value for each column$"):
            read()
    (tmp_path / "both.csv").write_text('a,label,label\n1,0,1\n3,"4,1\n')
    with pytest.raises(DataError, match=r"both.csv: a quote \(\"\) opened on line 3 or after is never closed"):
        load_source(data=str(tmp_path / "both.csv"))


def test_image_folder_skips_other_sizes_than_most_and_32_bit_pixels(tmp_path):
    for name, value in (("cat", 10), ("dog", 200)):
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.fromarray(np.full((6, 4), value, np.uint8)).save(tmp_path / name / f"{i}.png")
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "cat" / "!first.png")  # sorts first
    Image.fromarray(np.full((6, 4), 0.5, np.float32)).save(tmp_path / "cat" / "float.tif")  # PIL would clip it
    (tmp_path / "unlabelled").mkdir()
    Image.fromarray(np.zeros((6, 4), np.uint8)).save(tmp_path / "unlabelled" / "u.png")
    with pytest.warns(UserWarning, match=r"skipped 2 image\(s\): cat/float.tif \(32-bit pixels: save it with 8 or "
                                         r"16 bits a channel\), cat/!first.png \(3x3, not 4x6\)"):
        source = load_source(data=str(tmp_path))
    assert source.train.x.shape == (5, 1, 6, 4)
    assert source.train.y.tolist() == [0, 0, 1, 1, -1]
    assert source.train.x[2, 0, 0, 0] == pytest.approx(200 / 255)


def test_images_none_of_which_can_be_used_are_one_error_that_says_why(tmp_path):
    """Not also a warning: the error names the reason, the size asked for where every readable image has
    another, else the first files skipped (named from ``where``) and why."""
    folder = tmp_path / "cat"
    folder.mkdir()
    sizes, truncated, junk, tiffs = [], [], [], []
    for k in range(3):
        sizes.append(folder / f"{k}.png")
        Image.fromarray(np.random.default_rng(k).integers(0, 256, (6, 6), dtype=np.uint8)).save(sizes[-1])
        truncated.append(folder / f"t{k}.png")
        truncated[-1].write_bytes(sizes[-1].read_bytes()[:55])  # its header reads, its pixels do not
        junk.append(folder / f"j{k}.png")
        junk[-1].write_bytes(b"not a png")
        tiffs.append(folder / f"f{k}.tif")
        Image.fromarray(np.zeros((6, 6), np.float32)).save(tiffs[-1])
    cases = [((sizes + junk[:1], (8, 4)), r"cat: none of its 3 readable image\(s\) is 8x4 pixels, the model's size: "
                                         r"resize them to it \(a model trained with --image-size resizes them "
                                         r"itself\)$"),
             ((truncated, (6, 6)), r"no readable images \(.*\); skipped cat/t0.png \(unreadable\), cat/t1.png "
                                   r"\(unreadable\), cat/t2.png \(unreadable\)$"),
             ((junk, None), r"no readable images \(.*\); skipped cat/j0.png \(unreadable\)"),
             ((tiffs, None), r"no readable images \(.*\); skipped cat/f0.tif \(32-bit pixels: save it with 8 or 16 "
                             r"bits a channel\)")]
    for (files, size), message in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(DataError, match=message):
                images.read_images(files, folder if size == (8, 4) else tmp_path, "L", size)
    with pytest.warns(UserWarning, match=r"skipped 1 image\(s\): cat/t0.png \(unreadable\)$"):  # one will do
        assert images.read_images([truncated[0], sizes[0]], tmp_path, "L")[1] == [1]


def test_inputs_from_a_folder_are_its_visible_image_files(tmp_path):
    """Hidden files and folders, __MACOSX and a folder named like an image are no inputs of predict or score."""
    from ssvae.data.inputs import read_inputs

    for name in ("a.png", ".ipynb_checkpoints/a.png", "__MACOSX/b.png", ".hidden.png", "sub/._c.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / name)
    (tmp_path / "old.png").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(read_inputs(str(tmp_path)).ids) == ["a.png"]


def test_csv_ids_that_do_not_tell_the_rows_apart_are_named_in_a_warning(tmp_path):
    """Repeated or empty ids went into predict's and score's rows without a word, and score sorts its rows: they
    could not be joined back to the inputs. Unique ids, or none (rows numbered), say nothing."""
    from ssvae.data.inputs import read_inputs

    (tmp_path / "repeated.csv").write_text("id,a\nr0,1\nr1,2\nr0,3\n,4\n r1 ,5\nr1,6\n")
    with pytest.warns(UserWarning, match=r"repeated.csv: the id column, which names the rows in the output, is empty "
                                         r"in 1 row\(s\) and gives 2 id\(s\) to several rows \('r0' to 2 rows\): "
                                         r"give each row an id of its own, or drop the column to number the rows "
                                         r"from 0$"):
        assert list(read_inputs(str(tmp_path / "repeated.csv")).ids) == ["r0", "r1", "r0", "", " r1 ", "r1"]
    (tmp_path / "pandas.csv").write_text(",a\n0,1\n0,2\n")  # pandas' index column, saved from a sliced frame
    with pytest.warns(UserWarning, match=r"the first \(unnamed\) column, which names the rows in the output, gives 1 "
                                         r"id\(s\) to several rows \('0' to 2 rows\)"):
        read_inputs(str(tmp_path / "pandas.csv"))
    (tmp_path / "kinds.csv").write_text("id,kind,a\nr0,x,1\nr1,x,2\n")  # a column --id-column chose
    with pytest.warns(UserWarning, match=r"kinds.csv: the 'kind' column, which names the rows in the output, gives 1 "
                                         r"id\(s\) to several rows \('x' to 2 rows\): give each row an id of its "
                                         r"own, or name another column with --id-column, or leave it out to number "
                                         r"the rows from 0$"):
        assert list(read_inputs(str(tmp_path / "kinds.csv"), columns=("a",), id_column="kind").ids) == ["x", "x"]
    (tmp_path / "named.csv").write_text("id,name,a,b\nr0,x,1,5\nr1,y,2,6\n")  # read by position
    inputs = read_inputs(str(tmp_path / "named.csv"), columns=(), id_column=" name ")  # spaced, as headers may be
    assert list(inputs.ids) == ["x", "y"] and inputs.x.tolist() == [[1, 5], [2, 6]]  # 'id' is no input either
    (tmp_path / "dated.csv").write_text("id,name,a,when\nr0,x,1,today\nr1,y,2,today\n")
    with pytest.raises(DataError, match=r"dated.csv: row 0 \(line 2\), column 'when' holds 'today': every column but "
                                        r"'id', 'name' and 'label' must be numeric$"):
        read_inputs(str(tmp_path / "dated.csv"), columns=(), id_column="name")
    with pytest.raises(DataError, match=r"^--id-column \(id_column= in Python\) needs the name of a column of the "
                                        r"CSV$"):
        read_inputs(str(tmp_path / "named.csv"), id_column=" ")
    (tmp_path / "unique.csv").write_text("id,a\nr0,1\nr1,2\n")
    (tmp_path / "none.csv").write_text("a\n1\n1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(read_inputs(str(tmp_path / "unique.csv")).ids) == ["r0", "r1"]
        assert list(read_inputs(str(tmp_path / "none.csv")).ids) == ["0", "1"]


def test_image_folder_classes_are_its_visible_folders_of_images_and_unlabelled_takes_either_spelling(tmp_path):
    for folder in ("cat", "dog", "Unlabeled", ".ipynb_checkpoints", "__MACOSX", "empty", "meta"):
        (tmp_path / folder).mkdir()
    for folder in ("cat", "dog", "Unlabeled", ".ipynb_checkpoints", "__MACOSX"):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / folder / "a.png")
    (tmp_path / "cat" / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS metadata")  # no image: never read
    for hidden in ("dog/.hidden.png", "meta/._a.png", "._stray.png"):  # meta holds no visible image: no class
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / hidden)
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "stray.png")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        source = load_source(data=str(tmp_path))
    assert [str(w.message) for w in seen if str(w.message).startswith(str(tmp_path))] == [
        f"{tmp_path}: 2 folder(s) with no image directly inside are not classes, and no image in them is read: "
        f"empty, meta (a class folder needs images directly inside, such as empty/a.png; its sub-folders are then "
        f"read with it)",
        f"{tmp_path}: 1 image(s) outside the class folders are not read (e.g. stray.png): move them into a class "
        f"folder, or into unlabelled/"]
    assert source.train.class_names == ("cat", "dog") and source.train.y.tolist() == [0, 1, -1]


def test_images_drawn_in_dark_ink_on_a_transparent_background_are_named_as_read_all_black(tmp_path):
    """Transparent pixels count as black, so black ink on a transparent background (a drawing app's export)
    read as an empty image without a word. One warning names such images; light ink on transparent, and
    opaque images however dark, read as they show."""
    from ssvae.data.inputs import read_inputs

    ink = np.zeros((8, 8), np.uint8)
    ink[2:6, 3] = 255  # a stroke, in the opacity
    opaque = np.full((8, 8), 255, np.uint8)
    for name, (colour, alpha) in {"black-ink.png": (0, ink), "grey-ink.png": (10, ink), "white-ink.png": (255, ink),
                                  "soft-ink.png": (0, ink // 3), "dark.png": (5, opaque)}.items():
        Image.fromarray(np.dstack([np.full((8, 8), colour, np.uint8)] * 3 + [alpha])).save(tmp_path / name)
    navy = np.dstack([np.zeros((8, 8), np.uint8)] * 2 + [np.full((8, 8), 128, np.uint8), ink])  # grey: 15 at most
    Image.fromarray(navy).save(tmp_path / "navy-ink.png")
    with pytest.warns(UserWarning) as warned:
        inputs = read_inputs(str(tmp_path))
    assert [str(w.message) for w in warned] == [
        f"{tmp_path}: 4 image(s) drawn in dark ink on a transparent background are read as all black, as "
        f"transparent pixels count as black (e.g. black-ink.png): save them on an opaque background, in the colours "
        f"of the images the model knows (light ink on black for digits like MNIST's), to have them read as they look"]
    assert list(inputs.ids) == ["black-ink.png", "dark.png", "grey-ink.png", "navy-ink.png", "soft-ink.png",
                                "white-ink.png"]
    assert np.asarray(inputs.x)[5].max() == 255 and np.asarray(inputs.x)[0].max() == 0  # the white stroke shows


def test_a_16_bit_grey_png_with_a_transparent_grey_level_is_read_as_its_top_8_bits_that_level_black(tmp_path):
    """PIL's RGBA conversion of a 16-bit grey image clips it to 8 bits, turning it black and white: one that
    names a grey level transparent (a PNG's tRNS) was read so, and scored as an anomaly beside its copy."""
    from ssvae.data.inputs import read_inputs

    grey = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000  # 0..63,000: 8-bit 0..245
    Image.fromarray(grey).save(tmp_path / "plain.png")
    Image.fromarray(grey).save(tmp_path / "keyed.png", transparency=5000)  # the grey level of pixel 5
    x = np.asarray(read_inputs(str(tmp_path)).x)
    top = np.round(grey / 257).astype(np.uint8)
    np.testing.assert_array_equal(x[1, 0], top)  # plain.png
    np.testing.assert_array_equal(x[0, 0], np.where(grey == 5000, 0, top))  # keyed.png: pixel 5 transparent


def test_pillows_warnings_name_the_images_once_a_warning(tmp_path, monkeypatch):
    """Pillow warns of an image past its size limit (or of corrupt EXIF data) without naming the file, once a
    file: one warning now names how many and the first, beside the images read all the same."""
    from ssvae.data.inputs import read_inputs

    for name in ("a.png", "b.png"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / name)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40)  # 64 pixels: past it, and below twice it (an error)
    with pytest.warns(Image.DecompressionBombWarning) as warned:  # Pillow's category, kept
        inputs = read_inputs(str(tmp_path))
    assert [str(w.message) for w in warned] == [
        f"{tmp_path}: Pillow warned of 2 image(s) (e.g. a.png): Image size (64 pixels) exceeds limit of 40 pixels, "
        f"could be decompression bomb DOS attack."]
    assert list(inputs.ids) == ["a.png", "b.png"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # an app's filter holds: none is read
        with pytest.raises(DataError, match="no readable images"):
            read_inputs(str(tmp_path))


def test_netpbm_and_jfif_images_are_read_and_heic_or_raw_photos_are_named_in_one_warning(tmp_path):
    """A phone's HEIC photos and a camera's raw files were left out without a word: a class folder of them was
    merely "no class". One warning now names how many of the files read (or directly in a folder that is no
    class), their kinds and the fix, before the folder's other warnings; a single such file is refused with
    the fix. Netpbm (.pgm, as some face data sets come; 16-bit grey as its top 8 bits, as a PNG's; .pbm's 1 is
    black) and .jfif (JPEGs as some browsers save them) are read."""
    from ssvae.data.inputs import read_inputs

    for name in ("cat/b.png", "dog/c.jfif", "dog/d.ppm"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(np.full((4, 4), 255, np.uint8)).save(tmp_path / name, format="JPEG" if ".jfif" in name
                                                             else None)
    (tmp_path / "unlabelled").mkdir()
    (tmp_path / "cat" / "a.pgm").write_bytes(b"P5\n4 4\n65535\n" + np.full(16, 65535, ">u2").tobytes())  # 16-bit
    (tmp_path / "unlabelled" / "e.pbm").write_bytes(b"P1\n4 4\n" + b"0 0 0 0\n" * 3 + b"1 0 0 0\n")  # one black
    for name in ("cat/IMG_1.HEIC", "phone/IMG_2.heic", "phone/IMG_3.heic", "unlabelled/raw/f.CR2", "dog/.x.heic",
                 "venv/share/icons/a.svg"):  # a folder that is no class is looked into no deeper than its files
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"not read")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        source = load_source(data=str(tmp_path))
    assert [str(w.message) for w in seen][:2] == [
        f"{tmp_path}: 4 file(s) in image formats ssvae does not read are left out (.cr2, .heic; e.g. "
        f"{Path('cat', 'IMG_1.HEIC')}): convert them to PNG or JPEG to use them",
        f"{tmp_path}: 2 folder(s) with no image directly inside are not classes, and no image in them is read: "
        f"phone, venv (a class folder needs images directly inside, such as phone/a.png; its sub-folders are then "
        f"read with it)"]
    assert source.files == ("cat/a.pgm", "cat/b.png", "dog/c.jfif", "dog/d.ppm", "unlabelled/e.pbm")
    assert source.train.y.tolist() == [0, 0, 1, 1, -1]
    white = np.ones((5, 1, 4, 4), np.float32)
    white[4, 0, 3, 0] = 0.0  # the .pbm's one black pixel
    np.testing.assert_array_equal(source.train.x, white)  # every other pixel white, 16-bit and JPEG's too
    with pytest.warns(UserWarning, match=r"phone: 2 file\(s\) in image formats ssvae does not read are left out "
                                         r"\(\.heic; e\.g\. IMG_2\.heic\)"):
        with pytest.raises(DataError, match="phone: no readable images"):
            read_inputs(str(tmp_path / "phone"))
    with pytest.raises(DataError, match=r"IMG_2.heic: ssvae does not read .heic images: convert it to PNG or JPEG$"):
        read_inputs(str(tmp_path / "phone" / "IMG_2.heic"))
    (tmp_path / "unlabelled" / "usb.png").symlink_to("/mnt/usb/photo1.png")  # on a drive not mounted
    (tmp_path / "unlabelled" / ".x.png").symlink_to("/mnt/usb/photo2.png")  # hidden: not read, not said
    for where, link, read in ((tmp_path, Path("unlabelled", "usb.png"), lambda: load_source(data=str(tmp_path))),
                              (tmp_path / "unlabelled", "usb.png", lambda: read_inputs(str(tmp_path / "unlabelled")))):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            read()
        assert (f"{where}: 1 link(s) to images that are not there are left out (e.g. {link} -> /mnt/usb/photo1.png): "
                f"mount the drive they are on, or copy the images in") in [str(w.message) for w in seen]


def test_image_folder_classes_are_numbered_in_the_text_order_of_their_names_as_the_readme_says(tmp_path):
    """As torchvision's ImageFolder numbers them: folders 2 and 10 are classes "10" (0) and "2" (1)."""
    for name in ("2", "10", "B", "a"):
        (tmp_path / name).mkdir()
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / name / "x.png")
    train = load_source(data=str(tmp_path)).train
    assert train.class_names == ("10", "2", "B", "a") and train.y.tolist() == [0, 1, 2, 3]


def test_a_folders_images_take_one_order_and_ids_with_slashes_on_every_system():
    """Windows compares paths regardless of case, so the same folder's images came in another order there
    (and a seed labelled other ones, and the folder's digest differed), and ids held backslashes."""
    from pathlib import PurePosixPath, PureWindowsPath

    names = ["b.png", "B2.png", "a/c.png", "C.png", "a-b.png", "a.png"]
    expected = ["B2.png", "C.png", "a/c.png", "a-b.png", "a.png", "b.png"]  # part by part, capitals first
    for kind in (PurePosixPath, PureWindowsPath):
        root = kind("r")
        ordered = images.in_one_order([root / name for name in names])
        assert [images.file_id(f, root) for f in ordered] == expected, kind


def test_image_folders_are_read_with_their_sub_folders_and_linked_folders(tmp_path):
    """Images in sub-folders of a class or of unlabelled/ (batches, days) were skipped without a word, so a
    run could train with no unlabelled image; predict read them, but not a class folder that is a link.
    Now both read every image under a folder, a link to a folder once, hidden folders not."""
    from ssvae.data.inputs import read_inputs

    data, elsewhere = tmp_path / "data", tmp_path / "data-elsewhere"  # outside data, its name starting as data's
    for folder in ("data/a/day1", "data/unlabelled/batch1/part2", "data/unlabelled/.cache", "data-elsewhere/b"):
        (tmp_path / folder).mkdir(parents=True)
    for k, name in enumerate(("data/a/0.png", "data/a/day1/1.png", "data-elsewhere/b/2.png", "data/unlabelled/3.png",
                              "data/unlabelled/batch1/part2/4.png", "data/unlabelled/.cache/5.png")):
        Image.fromarray(np.full((4, 4), 10 * k, np.uint8)).save(tmp_path / name)
    (data / "b").symlink_to(elsewhere / "b", target_is_directory=True)
    (data / "a" / "day1" / "again").symlink_to(data / "a", target_is_directory=True)  # a loop: walked once
    (data / "ab").symlink_to(data / "a", target_is_directory=True)  # another name of class a: no class
    for name, target in (("up", data), ("sibling", data / "unlabelled"), ("disk", tmp_path)):  # not followed:
        (data / "a" / "day1" / name).symlink_to(target, target_is_directory=True)  # another part of data, or all
    (data / "venv" / "lib" / "tests").mkdir(parents=True)  # images deep inside, none directly: no class
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(data / "venv" / "lib" / "tests" / "icon.png")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        source = load_source(data=str(data))
    assert [str(w.message) for w in seen] == [
        f"{data}: ab: link(s) to other folders of {data}, not read (their images would take two labels)",
        f"{data}: 1 folder(s) with no image directly inside are not classes, and no image in them is read: venv (a "
        f"class folder needs images directly inside, such as venv/a.png; its sub-folders are then read with it)"]
    assert source.files == ("a/0.png", "a/day1/1.png", "b/2.png", "unlabelled/3.png", "unlabelled/batch1/part2/4.png")
    assert source.train.y.tolist() == [0, 0, 1, -1, -1]
    np.testing.assert_array_equal(source.train.x[:, 0, 0, 0] * 255, [0, 10, 20, 30, 40])
    assert list(read_inputs(str(data)).ids) == [*source.files[:3], "unlabelled/3.png",
                                                "unlabelled/batch1/part2/4.png", "venv/lib/tests/icon.png"]


@pytest.mark.parametrize("option, message", [
    ({"labels": None, "val_labels": 9}, "class 'c1' has 2 labelled example.s. to draw from but --val-labels 9 "
                                        ".val_labels=9 in Python. asks for 3 of it: lower it or add labelled examples "
                                        "of that class"),
    ({"labels": 9, "val_labels": 0}, "class 'c1' has 2 labelled example.s. to draw from but --labels 9 .labels=9 in "
                                     "Python. asks for 3 of it: lower it or add labelled examples of that class"),
])
def test_a_class_short_of_labels_names_itself_and_the_option_to_change(option, message):
    source = Source(Dataset(np.zeros((12, 2), np.float32), np.array([0] * 5 + [1] * 2 + [2] * 5),
                            ("c0", "c1", "c2")), Dataset(np.zeros((3, 2), np.float32), np.arange(3), ("c0", "c1", "c2")))
    with pytest.raises(DataError, match=message):
        choose_split(source, test_fraction=0.25, split_seed=0, seed=0, **option)


def _write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_files_on_disk_are_read_without_download(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 3)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    source = load_source("fashion-mnist", data_dir=str(tmp_path))
    assert source.train.x.shape == (6, 1, 28, 28) and len(source.test) == 3
    assert source.train.y.tolist() == [0, 1, 2, 3, 4, 5] and source.train.class_names[0] == "T-shirt/top"


def test_idx_files_are_read_gzipped_or_not_whatever_their_names_say(tmp_path):
    """A browser may unpack one download and keep ".gz" on another's name: the folder was not found (a
    download was tried) or the file "unreadable", though every file was there."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 3)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    whole = load_source("fashion-mnist", data_dir=str(tmp_path))
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels.with_suffix("").write_bytes(gzip.decompress(labels.read_bytes()))  # unpacked, under its own name
    labels.unlink()
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.decompress(images.read_bytes()))  # unpacked, under the .gz name
    source = load_source("fashion-mnist", data_dir=str(tmp_path))
    np.testing.assert_array_equal(source.train.x, whole.train.x)
    assert source.test.y.tolist() == whole.test.y.tolist() == [0, 1, 2]


def test_a_run_keeps_its_data_dir_absolute_and_finds_it_from_another_folder(tmp_path, monkeypatch):
    import ssvae

    rng = np.random.default_rng(0)
    (tmp_path / "fm").mkdir()
    for prefix, n in (("train", 40), ("t10k", 10)):
        _write_idx(tmp_path / "fm" / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / "fm" / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.chdir(tmp_path)
    ssvae.train(dataset="fashion-mnist", data_dir="fm", labels=20, epochs=1, hidden=(8,), classifier_hidden=(8,),
                latent_dim=2, progress=False, out="run")
    monkeypatch.chdir(tmp_path / "fm")  # "fm" relative to here is no folder: it was, where the run was trained
    run = ssvae.load(tmp_path / "run")
    assert run.config.data_dir == str(tmp_path / "fm") and len(run.partition().test) == 10


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[: len(data) // 2], "unreadable (Compressed file ended before the end-of-stream marker"),
    (lambda data: b"junk", "not a complete IDX file (4 bytes of data)"),  # read as it is, as gzip's bytes begin otherwise
    (lambda data: b"\x1f\x8b\x07" + bytes(7) + b"junk", "unreadable (Unknown compression method)"),
    (lambda data: gzip.compress(gzip.decompress(data)[:-1]), "not a complete IDX file (4,719 bytes of data)"),
    (lambda data: gzip.compress(b""), "not a complete IDX file (0 bytes of data)"),
])
def test_damaged_idx_files_are_named_with_what_is_wrong(tmp_path, damage, message):
    for prefix, n in (("train", 6), ("t10k", 6)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    images = tmp_path / "t10k-images-idx3-ubyte.gz"  # 16 header bytes and 6 x 784 pixels when whole
    images.write_bytes(damage(images.read_bytes()))
    with pytest.raises(DataError, match=re.escape(f"{images}: {message}") + ".*: copy or download it again"):
        load_source("fashion-mnist", data_dir=str(tmp_path))


@pytest.mark.parametrize("files, message", [
    ({"t10k-images-idx3-ubyte.gz": np.arange(6) % 10},
     r"t10k-images-idx3-ubyte holds \(6,\) and t10k-labels-idx1-ubyte \(6,\), not N images"),
    ({"train-labels-idx1-ubyte.gz": np.arange(5) % 10}, r"train-images-idx3-ubyte holds \(6, 28, 28\) and "
                                                         r"train-labels-idx1-ubyte \(5,\)"),
    ({"t10k-labels-idx1-ubyte.gz": np.array([0, 1, 200, 3, 4, 5])},
     r"t10k-labels-idx1-ubyte.gz: label 200 is outside fashion-mnist's classes 0..9: copy or download"),
    ({"t10k-labels-idx1-ubyte.gz": np.array([0, 1, 10, 3, 4, 5])},  # the first label past the ten classes
     r"t10k-labels-idx1-ubyte.gz: label 10 is outside fashion-mnist's classes 0..9: copy or download"),
    ({"t10k-images-idx3-ubyte.gz": np.zeros((6, 32, 32))},
     r"the training images are \(28, 28\) but the test images \(32, 32\)"),
])
def test_idx_files_that_do_not_belong_together_are_refused(tmp_path, files, message):
    """A labels file copied over an images file, or files of two data sets, are refused before training."""
    for prefix in ("train", "t10k"):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", np.zeros((6, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(6) % 10)
    for name, array in files.items():
        _write_idx(tmp_path / name, array)
    with pytest.raises(DataError, match=message):
        load_source("fashion-mnist", data_dir=str(tmp_path))


@pytest.mark.parametrize("files_of, given", [("fashion-mnist", "mnist"), ("mnist", "fashion-mnist"),
                                             ("mnist", "kmnist")])
def test_the_files_of_one_data_set_given_for_another_are_refused(tmp_path, files_of, given):
    """MNIST's and Fashion-MNIST's files share their names; their first ten test labels tell them apart."""
    first = FIRST_TEN_TEST_LABELS[files_of]
    for prefix, labels in (("train", np.arange(12) % 10), ("t10k", [*first, 0, 1])):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", np.zeros((12, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.array(labels))
    with pytest.raises(DataError, match=f"holds {files_of}'s files \\(its test labels begin "
                                        f"{', '.join(map(str, first))}\\), not "
                                        f"{given}'s: pass --dataset {files_of} .dataset='{files_of}' in Python., or "
                                        f"a --data-dir .data_dir= in Python. with {given}'s files"):
        load_source(given, data_dir=str(tmp_path))
    assert len(load_source(files_of, data_dir=str(tmp_path)).test) == 12


def test_the_fashion_mnist_labels_above_are_its_test_files_first(fashion_mnist_dir):
    test = load_source("fashion-mnist", data_dir=str(fashion_mnist_dir)).test
    first = FIRST_TEN_TEST_LABELS["fashion-mnist"]
    assert sources.TORCHVISION_SETS["fashion-mnist"].first_test_labels == first == tuple(test.y[:10].tolist())


def test_missing_idx_files_without_data_dir_say_where_to_put_them(monkeypatch, tmp_path):
    monkeypatch.setitem(sources.TORCHVISION_SETS, "mnist", dataclasses.replace(sources.TORCHVISION_SETS["mnist"],
                                                                             system_folder=str(tmp_path / "none")))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*--data-dir"):
        load_source("mnist")


def test_missing_path_and_unknown_suffix(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_source(data=str(tmp_path / "nope.npz"))
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError, match="give an .npz, a .csv or a folder"):
        load_source(data=str(tmp_path / "a.txt"))


def test_uncompressed_npz_and_npy_are_read_a_batch_at_a_time(tmp_path):
    from ssvae.data.inputs import RowFile, read_inputs

    x = np.random.default_rng(0).integers(0, 256, (50, 1, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "plain.npz", x=x)
    np.save(tmp_path / "plain.npy", x)
    np.savez_compressed(tmp_path / "packed.npz", x=x)
    (tmp_path / "renamed.npz").write_bytes((tmp_path / "plain.npy").read_bytes())  # an .npy under .npz's name
    for name in ("plain.npz", "plain.npy", "renamed.npz"):
        inputs = read_inputs(str(tmp_path / name))
        assert isinstance(inputs.x, RowFile) and len(inputs) == 50 and inputs.ids[49] == "49"
        np.testing.assert_array_equal(inputs.x[10:13], x[10:13])
        np.testing.assert_array_equal(inputs.x[45:60], x[45:])
    packed = read_inputs(str(tmp_path / "packed.npz"))
    np.testing.assert_array_equal(packed.x, x)
    data = (tmp_path / "plain.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) - 100])
    with pytest.raises(DataError, match="ends early"):
        read_inputs(str(tmp_path / "cut.npy")).x[40:50]


def test_an_npz_array_of_python_objects_is_named_unreadable_not_cut_short(tmp_path):
    """A pickled object array holds fewer bytes than its header declares (8 a reference, memoised): that is no
    sign of a file cut short, and the error says what the array is."""
    np.savez(tmp_path / "objects.npz", x=np.array([["a"] * 8] * 1000, dtype=object), y=np.arange(1000) % 2,
             allow_pickle=True)
    with pytest.raises(DataError, match=r"objects.npz: array 'x' cannot be read \(Object arrays cannot be loaded "
                                        r"when allow_pickle=False\); save it as numbers"):
        load_source(None, str(tmp_path / "objects.npz"))


def test_a_run_keeps_its_data_and_test_data_absolute_and_finds_them_from_another_folder(tmp_path, monkeypatch):
    import ssvae

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", x=rng.random((40, 3)).astype(np.float32), y=np.arange(40) % 2)
    np.savez(tmp_path / "test.npz", x=rng.random((10, 3)).astype(np.float32), y=np.arange(10) % 2)
    monkeypatch.chdir(tmp_path)
    ssvae.train(data="train.npz", test_data="test.npz", labels=10, epochs=1, hidden=(8,), classifier_hidden=(8,),
                latent_dim=2, progress=False, out="run")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    run = ssvae.load(tmp_path / "run")
    assert (run.config.data, run.config.test_data) == (str(tmp_path / "train.npz"), str(tmp_path / "test.npz"))
    assert ssvae.evaluate(run)["n_test"] == 10


def test_npz_channel_last_images_become_channel_first_pixel_for_pixel(tmp_path):
    """(N, H, W, C) moves its channels to axis 1, pixel for pixel: a reshape to that shape would scramble them."""
    x = np.arange(2 * 5 * 4 * 3, dtype=np.uint8).reshape(2, 5, 4, 3)  # H = 5: not a channel count
    np.savez(tmp_path / "rgb.npz", x=x, y=np.array([0, 1]))
    got = load_source(data=str(tmp_path / "rgb.npz")).train.x
    assert got.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(got, np.moveaxis(x, -1, 1).astype(np.float32) / 255.0)


def test_bernoulli_refuses_inputs_below_zero_and_gaussian_takes_them():
    from ssvae.data.dataset import check_inputs

    data = Dataset(np.array([[-0.5, 0.5], [0.0, 1.0]], np.float32), np.array([0, 1]), ("a", "b"))
    with pytest.raises(DataError, match=r"range over \[-0.5, 1\] but the bernoulli likelihood needs \[0, 1\]"):
        check_inputs(data, "d", "bernoulli")
    check_inputs(data, "d", "gaussian")


def test_a_fingerprint_changes_when_only_labels_change():
    """Relabelled examples are other data: a run's split must not be applied to them."""
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    a, b = Dataset(x, np.array([0, 1, 0, 1]), ("a", "b")), Dataset(x, np.array([1, 0, 0, 1]), ("a", "b"))
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint(("p", "q", "r", "s")) != b.fingerprint(("p", "q", "r", "s"))
    assert a.fingerprint() == Dataset(x.copy(), np.array([0, 1, 0, 1]), ("a", "b")).fingerprint()


def test_the_inputs_digest_is_of_the_inputs_alone_in_any_order_and_of_no_inputs_too():
    """The same inputs whatever their labels, order or layout (images or rows of pixels); duplicates count; a
    dataset of no rows has a digest too, where reshape(0, -1) raised "cannot reshape array of size 0"."""
    x = np.arange(12, dtype=np.float32).reshape(3, 1, 2, 2)
    digest = Dataset(x, np.array([0, 1, 0]), ("a", "b")).inputs_digest()
    assert Dataset(x[::-1].reshape(3, 4), np.array([-1, -1, 1]), ("a", "b")).inputs_digest() == digest
    assert Dataset(x[[0, 0, 1]], np.array([0, 1, 0]), ("a", "b")).inputs_digest() != digest
    empty = Dataset(np.zeros((0, 1, 2, 2), np.float32), np.zeros(0, np.int64), ("a", "b")).inputs_digest()
    assert empty == Dataset(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), ("a", "b")).inputs_digest()
    assert empty != Dataset(np.zeros((0, 5), np.float32), np.zeros(0, np.int64), ("a", "b")).inputs_digest()


def test_a_built_in_set_with_a_test_file_reads_its_train_or_test_file(tmp_path):
    from ssvae.data.inputs import read_inputs

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 3)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    test, train = (read_inputs(dataset="fashion-mnist", data_dir=str(tmp_path), split=split)
                   for split in ("test", "train"))
    assert (len(test), len(train)) == (3, 6) and list(train.ids) == [str(i) for i in range(6)]


def test_folder_inputs_of_a_model_of_wide_images_keep_height_and_width(tmp_path):
    """A model of images 4 high and 6 wide reads those, and skips one 6 high and 4 wide (PIL says (W, H))."""
    from ssvae.data.inputs import read_inputs

    for name, shape, value in (("a", (4, 6), 10), ("b", (4, 6), 20), ("c", (6, 4), 30)):
        Image.fromarray(np.full(shape, value, np.uint8)).save(tmp_path / f"{name}.png")
    with pytest.warns(UserWarning, match=r"c.png \(4x6, not 6x4\)"):
        inputs = read_inputs(str(tmp_path), image_shape=(1, 4, 6))
    assert list(inputs.ids) == ["a.png", "b.png"] and inputs.x.shape == (2, 1, 4, 6)


def test_float_rows_of_a_big_file_are_read_from_their_place(tmp_path):
    """A memory-mapped .npy or stored .npz of floats (4 or 8 bytes a value) reads rows 10..12 as they are."""
    from ssvae.data.inputs import RowFile, read_inputs

    x = np.arange(50 * 3, dtype=np.float32).reshape(50, 3)
    np.save(tmp_path / "f.npy", x)
    np.savez(tmp_path / "f.npz", x=x.astype(np.float64))
    for name, want in (("f.npy", x), ("f.npz", x.astype(np.float64))):
        inputs = read_inputs(str(tmp_path / name))
        assert isinstance(inputs.x, RowFile)
        np.testing.assert_array_equal(inputs.x[10:13], want[10:13])


def test_column_major_arrays_are_read_in_their_rows_order(tmp_path):
    """A Fortran-ordered .npy or .npz member cannot be read a row at a time from disk: it is loaded whole, its
    rows as numpy gives them."""
    from ssvae.data.inputs import read_inputs

    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    np.savez(tmp_path / "f.npz", x=np.asfortranarray(x))
    for name in ("f.npy", "f.npz"):
        np.testing.assert_array_equal(np.asarray(read_inputs(str(tmp_path / name)).x[:]), x)


def test_channel_first_images_as_narrow_as_a_channel_count_keep_their_layout(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (20, 3, 5, 4), dtype=np.uint8)  # width 4, like RGBA's channels
    np.savez(tmp_path / "narrow.npz", x=x, y=np.arange(20) % 2)
    got = load_source(data=str(tmp_path / "narrow.npz")).train
    assert got.input_shape == (3, 5, 4)
    np.testing.assert_array_equal(got.x, x.astype(np.float32) / 255.0)


def test_a_split_sees_a_value_changed_in_any_row_and_a_runs_older_fingerprint_still_matches():
    """The sampled fingerprint (``data``, which older ssvae reads) sees every third row of 3,000; the one of
    every value (``data_values``) sees the others too. A run without the latter is checked on the former."""
    from ssvae.data.sources import Source

    x, y = np.zeros((3000, 2), np.float32), np.zeros(3000, np.int64)
    source = Source(Dataset(x, y, ("a",)), None)
    split = Split((0,), (), (1,), source.fingerprint(), source.fingerprint(every_value=True))
    assert split.made_from(source) and Split.from_json(split.to_json()) == split
    for row, sampled in ((1500, True), (1501, False)):
        changed = x.copy()
        changed[row] += 1
        other = Source(Dataset(changed, y, ("a",)), None)
        assert (other.fingerprint() != source.fingerprint()) == sampled
        assert not split.made_from(other)
        older = dataclasses.replace(split, data_values=None)  # a run from before data_values: its sample's reach
        assert older.made_from(other) == (not sampled)


def test_a_split_shows_its_counts_not_its_indices():
    """A notebook cell showing run.split printed every index: 129,000 characters for 20,000 rows."""
    assert repr(Split(tuple(range(100)), (100, 101), tuple(range(200, 20_000)))) == (
        "Split(labelled=100, validation=2, test=19800)")
    assert repr(Split((0,), (), None)) == "Split(labelled=1, validation=0, test=its source's)"


def test_numbered_ids_index_as_a_sequence_does():
    from ssvae.data.inputs import NumberedIds

    ids = NumberedIds(5)
    assert (ids[0], ids[-1], list(ids[1:3])) == ("0", "4", ["1", "2"])
    with pytest.raises(IndexError):
        ids[-6]
    with pytest.raises(IndexError):
        ids[5]


def test_csv_label_and_id_columns_spelt_otherwise_are_named(tmp_path):
    """'Label' is no label column (the error says to name it with --label-column where it holds the classes);
    'ID', pandas' 'Unnamed: 0', 'patient_id', a column counting the rows or 'target' would be learnt from as
    inputs (a warning says so, and how to leave them out); 'y' is a feature like any."""
    for name in ("Label", "class", "Target", "y"):
        (tmp_path / "l.csv").write_text(f"f,{name}\n1,0\n2,1\n")
        with pytest.raises(DataError, match=rf"l.csv: needs a header row with a 'label' column \(found '{name}': if it "
                                            rf"holds the classes, pass --label-column {name} \(label_column='{name}' "
                                            rf"in Python\)\)$"):
            load_source(data=str(tmp_path / "l.csv"))

    def fix(option: str, python: str) -> str:
        return (f"name a column of row names 'id', which is no input, or leave them out with --ignore-columns "
                f"{option} (ignore_columns={python} in Python), so that the model does not learn from them")
    counted = [f"{k % 3},{100_000 + k},{k},{k * k},{k},{k},{k % 2}" for k in range(20)]
    cases = (  # the file, what it is warned of, its inputs
        ("Unnamed: 0,ID,y,target,label\n0,7,1,0,0\n1,8,2,1,1\n2,9,3,0,0\n3,10,4,1,1\n",
         ["columns 'Unnamed: 0', 'ID' are read as inputs, though named like row names or pandas' saved index: "
          + fix("'Unnamed: 0,ID'", "['Unnamed: 0', 'ID']"),
          "column 'target' is read as input, though named like classes: if it holds them (the 'label' column gives "
          "the classes), leave it out with --ignore-columns target (ignore_columns=['target'] in Python), so that "
          "the model does not learn from it"], ("Unnamed: 0", "ID", "y", "target")),
        ("id,x,y,label\n7,1,2,0\n8,2,3,1\n", [], ("x", "y")),
        # patient_id, PatientID or a column one up each row (ids numbered by a database) were learnt from without
        # a word: a reviewer's wine table with new ids fell from 95.5 % to 43.3 %; valid and acid end so but are
        # no ids, and a column one up each row over fewer than 20 rows is too few to tell from a measurement
        ("a,n,patient_id,valid,PatientID,acid,label\n" + "\n".join(counted) + "\n",
         ["columns 'patient_id', 'PatientID' are read as inputs, though named like row names or pandas' saved "
          "index: " + fix("patient_id,PatientID", "['patient_id', 'PatientID']"),
          "columns 'n', 'acid' are read as inputs, though counting the rows, one up each row, as ids do: "
          + fix("n,acid", "['n', 'acid']")],
         ("a", "n", "patient_id", "valid", "PatientID", "acid")),
        ("a,n,valid,label\n" + "\n".join(f"{k % 3},{k},{k * k},{k % 2}" for k in range(19)) + "\n", [],
         ("a", "n", "valid")))
    for text, warned, columns in cases:
        (tmp_path / "t.csv").write_text(text)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            assert load_source(data=str(tmp_path / "t.csv")).columns == columns
        assert [str(w.message).split(": ", 1)[1] for w in seen] == warned


def test_training_examples_without_a_label_are_named_apart_from_a_labelled_test_set(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.full(4, -1), x_test=np.zeros((2, 2)), y_test=np.arange(2))
    with pytest.raises(DataError, match=r"^the training examples have no label \(a test set's labels only test the "
                                        r"model\): label at least one training example of each class$"):
        choose_split(load_source(data=str(tmp_path / "d.npz")), 2, 0, 0.25, 0, 0)


def test_a_csv_names_its_label_column_and_the_columns_to_leave_out(tmp_path):
    """A table as it comes: classes in 'species', names and dates in columns of text, a column 'label' that is
    a feature here. --label-column and --ignore-columns read it as it is; a name not in the header is refused,
    not passed over; a model reads its own label column, and a file without it is told to rename one."""
    (tmp_path / "t.csv").write_text("name,size,label,species,date,weight\n"
                                    "ann,1.5,7,cat,2026-01-02,3\nbo,2,8,,2026-01-03,4\ncy,2.5,9,dog,2026-01-04,5\n")
    with pytest.warns(UserWarning, match=r"column 'label' is read as input, though named like classes: if it holds "
                                         r"them \(the 'species' column gives the classes\), leave it out with "
                                         r"--ignore-columns label"):
        source = load_source(data=str(tmp_path / "t.csv"), roles=CsvColumns("species", ("name", "date")))
    assert source.columns == ("size", "label", "weight")
    np.testing.assert_array_equal(source.train.x, np.array([[1.5, 7, 3], [2, 8, 4], [2.5, 9, 5]], np.float32))
    assert source.train.y.tolist() == [0, UNLABELLED, 1] and source.train.class_names == ("cat", "dog")
    # the option names again the column it already ignores
    with pytest.raises(DataError, match=r"t.csv: row 0 \(line 2\), column 'date' holds '2026-01-02', and most rows "
                                        r"a text of their own, as names and dates have, not categories that rows "
                                        r"share: if it is no input, leave it out with --ignore-columns name,date "
                                        r"\(ignore_columns=\['name', 'date'\] in Python\)$"):
        load_source(data=str(tmp_path / "t.csv"), roles=CsvColumns("species", ("name",)))
    with pytest.raises(DataError, match=r"t.csv: has no column 'Date' to ignore \(--ignore-columns, ignore_columns= "
                                        r"in Python\): its columns are name, size, label, species, date, weight$"):
        load_source(data=str(tmp_path / "t.csv"), roles=CsvColumns("species", ("name", "Date")))
    with pytest.raises(DataError, match=r"t.csv: needs a header row with a 'kind' column \(found 'label': if it holds "
                                        r"the classes, pass --label-column label \(label_column='label' in "
                                        r"Python\)\)$"):
        load_source(data=str(tmp_path / "t.csv"), roles=CsvColumns("kind", ("name", "date")))
    (tmp_path / "plain.csv").write_text("size,weight,kind\n1,2,cat\n")
    with pytest.raises(DataError, match=r"plain.csv: needs a header row with a 'label' column: name the column of "
                                        r"classes with --label-column NAME \(label_column= in Python\)$"):
        load_source(data=str(tmp_path / "plain.csv"))
    with pytest.raises(DataError, match=r"t.csv: needs a header row with a 'specie' column \(found 'species': if it "
                                        r"holds the classes, pass --label-column species"):  # a close spelling
        load_source(data=str(tmp_path / "t.csv"), roles=CsvColumns("specie", ("name", "date")))
    with pytest.raises(DataError, match=r"--label-column \(label_column= in Python\) names a column of a CSV, and "
                                        r"\S*/d.npz is not one: leave it out$"):
        load_source(data=str(tmp_path / "d.npz"), roles=CsvColumns("species"))
    model = ModelInputs((2,), ("weight", "size"), 1, label_column="species")
    with pytest.raises(DataError, match=r"typo.csv: row 0 \(line 2\), column 'weight' holds 'heavy': the model reads "
                                        r"this column as numbers, as it trained on them: correct the value$"):
        (tmp_path / "typo.csv").write_text("size,weight,species\n1,heavy,cat\n")
        load_labelled(tmp_path / "typo.csv", model, ("cat", "dog"))
    test = load_labelled(tmp_path / "t.csv", model, ("cat", "dog"))
    np.testing.assert_array_equal(test.x, np.array([[3, 1.5], [5, 2.5]], np.float32))
    assert test.y.tolist() == [0, 1]
    (tmp_path / "plain.csv").write_text("size,weight,Species\n1,2,cat\n")
    with pytest.raises(DataError, match=r"plain.csv: needs a header row with a 'species' column \(found 'Species': if "
                                        r"it holds the classes, rename it 'species', as the model reads its labels "
                                        r"there\)$"):
        load_labelled(tmp_path / "plain.csv", model, ("cat", "dog"))


def test_labelled_data_to_test_a_model_on_are_read_its_way(tmp_path):
    """A CSV to test a model of columns a, b on: found by name among others, rows without a label dropped,
    classes numbered as the model numbers them (the file has two of its three, in another order)."""
    (tmp_path / "test.csv").write_text("id,label,b,extra,a\nr0,dog,1.5,9,-1\nr1,,2,9,0\nr2,cat,3,9,4.25\n")
    test = load_labelled(tmp_path / "test.csv", ModelInputs((2,), ("a", "b")), ("bird", "cat", "dog"))
    np.testing.assert_array_equal(test.x, np.array([[-1.0, 1.5], [4.25, 3.0]], np.float32))
    assert test.y.tolist() == [2, 1] and test.class_names == ("bird", "cat", "dog")
    with pytest.raises(DataError, match=r"test.csv: class 'dog' is not one of the model's classes \(bird, cat\): "
                                        r"label the examples with those names$"):
        load_labelled(tmp_path / "test.csv", ModelInputs((2,), ("a", "b")), ("bird", "cat"))
    with pytest.raises(DataError, match=r"test.csv has no column 'c': the model reads columns a, c"):
        load_labelled(tmp_path / "test.csv", ModelInputs((2,), ("a", "c")), ("cat", "dog"))
    (tmp_path / "one.csv").write_text("a,b,label\n1,2,cat\n3,4,cat\n")  # one class will do to test on
    assert load_labelled(tmp_path / "one.csv", ModelInputs((2,), ("a", "b")), ("cat", "dog")).y.tolist() == [0, 0]
    (tmp_path / "unlabelled.csv").write_text("a,b,label\n1,2,\n")
    with pytest.raises(DataError, match=r"unlabelled.csv: has no labelled example"):
        load_labelled(tmp_path / "unlabelled.csv", ModelInputs((2,), ("a", "b")), ("cat", "dog"))


@pytest.mark.parametrize("names, present, model_names, numbers", [
    (("0", "1"), [0, 1], ("cat", "dog", "fox"), [0, 1]),  # numbered labels of a model with named classes
    (("cat", "fox"), [0, 1], ("cat", "dog", "fox"), [0, 2]),
    (("0", "1"), [0, 1], ("1", "0"), [1, 0]),  # a model whose classes are numbers: by name
    (("0", "1", "2", "3"), [1, 3], ("1", "2", "3"), [-1, 0, -1, 2]),  # labels 1 and 3 alone: 0 and 2 unasked
    (("0", "1", "2"), [0, 2], ("cat", "dog"), "label 2 is outside the model's classes 0..1 (cat, dog): correct it"),
    (("0", "1"), [0, 1], ("1", "2"), "class '0' is not one of the model's classes (1, 2): label the examples"),
    (("a", "b", "c"), [0, 1, 2], ("c",), "classes 'a', 'b' are not among the model's classes (c): label the examples"),
])
def test_a_data_files_classes_are_the_models_by_name_or_by_number(names, present, model_names, numbers):
    """Only the classes with examples (``present``) are matched: numbered labels 1..3 name classes 0..3.
    Numbers matched to named classes are shown in a warning (a CSV's classes are sorted by name)."""
    if isinstance(numbers, str):
        with pytest.raises(DataError, match=f"^t.npz: {re.escape(numbers)}"):
            sources._class_numbers(names, np.array(present), model_names, Path("t.npz"))
        return
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert sources._class_numbers(names, np.array(present), model_names, Path("t.npz")).tolist() == numbers
    by_number = model_names == ("cat", "dog", "fox") and names[0] == "0"
    assert [str(w.message) for w in seen] == (
        ["t.npz: its labels are numbers, taken as the model's class numbers: 0 = cat, 1 = dog"] if by_number else [])


def test_images_of_other_sizes_are_resized_as_pillow_resizes_them_where_asked(tmp_path):
    """--image-size: every image at (width, height) 6x4, by Pillow's bilinear resize, the one of that size as
    it is; without it, those of another size are skipped."""
    rng = np.random.default_rng(0)
    shapes = {"small.png": (2, 3), "big.png": (9, 12), "same.png": (4, 6)}  # (height, width) as numpy has them
    for name, shape in shapes.items():
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(tmp_path / name)
    files = [tmp_path / name for name in shapes]
    x, kept = images.read_images(files, tmp_path, "L", (6, 4), resize=True)
    assert x.shape == (3, 1, 4, 6) and kept == [0, 1, 2]
    for row, file in zip(x, files):
        expected = Image.open(file).convert("L")
        expected = expected if expected.size == (6, 4) else expected.resize((6, 4), Image.Resampling.BILINEAR)
        np.testing.assert_array_equal(row[0], np.asarray(expected))
    with pytest.warns(UserWarning, match=r"skipped 2 image\(s\): small.png \(3x2, not 6x4\), big.png \(12x9, "
                                         r"not 6x4\)"):
        assert images.read_images(files, tmp_path, "L", (6, 4))[1] == [2]


def test_a_folder_to_test_a_model_on_is_read_in_its_colours_and_size(tmp_path):
    """One class folder will do, colour images become grey as the model's, an image of another size is
    skipped and unlabelled/ is not read."""
    (tmp_path / "b").mkdir()
    (tmp_path / "unlabelled").mkdir()
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    Image.fromarray(red).save(tmp_path / "b" / "red.png")
    Image.new("L", (4, 4)).save(tmp_path / "b" / "small.png")
    Image.new("L", (8, 8)).save(tmp_path / "unlabelled" / "u.png")
    with pytest.warns(UserWarning, match=r"skipped 1 image\(s\): b/small.png \(4x4, not 8x8\)"):
        test = load_labelled(tmp_path, ModelInputs((1, 8, 8)), ("a", "b"))
    grey = np.asarray(Image.fromarray(red).convert("L"), np.float32) / 255
    np.testing.assert_array_equal(test.x, grey[None, None])
    assert test.y.tolist() == [1]
    with pytest.raises(DataError, match=r"needs one sub-folder of images per class \(at least one\): its images lie "
                                        r"directly inside, with no class folder to label them: put them in one "
                                        r"folder a class to test on them \(ssvae predict labels images that have "
                                        r"none\)$"):
        load_labelled(tmp_path / "b", ModelInputs((1, 8, 8)), ("a", "b"))


def test_class_folders_one_level_too_deep_are_named_with_the_fix(tmp_path):
    """labelled/CLASS/ beside unlabelled/, as other tools lay data out: the error says to move them up, where
    it said only that class folders were needed."""
    for folder in ("labelled/cat", "labelled/dog", "unlabelled"):
        (tmp_path / folder).mkdir(parents=True)
        Image.new("L", (8, 8)).save(tmp_path / folder / "a.png")
    with pytest.warns(UserWarning, match="folder.s. with no image directly inside are not classes, and no image in "
                                         "them is read: labelled"), \
            pytest.raises(DataError) as error:
        load_source(data=str(tmp_path))
    assert str(error.value) == (f"{tmp_path}: needs one sub-folder of images per class (at least two) and optionally "
                                f"'unlabelled/': labelled/ holds folders of images (cat, dog): if they are the "
                                f"classes, move them up into {tmp_path}")
    shutil.rmtree(tmp_path / "labelled" / "dog")  # a single folder inside is no set of classes: no hint
    with pytest.warns(UserWarning), pytest.raises(DataError, match="optionally 'unlabelled/'$"):
        load_source(data=str(tmp_path))
    layout = tmp_path / "split"  # torchvision's layout: two sets of the classes
    for folder in ("train/cat", "train/dog", "test/cat", "test/dog", "other/cat", "other/dog"):
        (layout / folder).mkdir(parents=True)
        Image.new("L", (8, 8)).save(layout / folder / "a.png")
    with pytest.warns(UserWarning), pytest.raises(DataError) as error:
        load_source(data=str(layout))
    assert str(error.value).endswith(f"optionally 'unlabelled/': train/ and test/ hold folders of images: if they "
                                     f"are the classes, pass --data {layout / 'train'} --test-data {layout / 'test'} "
                                     f"(data=, test_data= in Python)")
    shutil.rmtree(layout / "test")  # other/ beside train/, and no unlabelled/: nothing says they are the classes
    with pytest.warns(UserWarning), pytest.raises(DataError, match="optionally 'unlabelled/'$"):
        load_source(data=str(layout))


def test_test_data_of_a_source_that_has_its_own_test_set_are_refused(tmp_path):
    from ssvae.run_data import load_data

    rng = np.random.default_rng(0)
    x = rng.random((20, 3)).astype(np.float32)
    np.savez(tmp_path / "own.npz", x=x, y=np.arange(20) % 2, x_test=x[:4], y_test=np.array([1, 1, 1, 1]))
    np.savez(tmp_path / "plain.npz", x=x, y=np.arange(20) % 2)
    source = load_data(Config(data=str(tmp_path / "plain.npz"), test_data=str(tmp_path / "own.npz")))
    np.testing.assert_array_equal(source.test.x, x[:4])  # an .npz's x_test, where it has one, is the test set
    assert source.test.y.tolist() == [1, 1, 1, 1] and source.test.class_names == ("0", "1")
    with pytest.raises(DataError, match=r"own.npz has x_test and y_test of its own, and --test-data .*plain.npz "
                                        r"would be a second: give one of them$"):
        load_data(Config(data=str(tmp_path / "own.npz"), test_data=str(tmp_path / "plain.npz")))
    for prefix, n in (("train", 6), ("t10k", 3)):  # Fashion-MNIST's files, made here
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    with pytest.raises(DataError, match=r"^fashion-mnist has a test split of its own, and --test-data"):
        load_data(Config(dataset="fashion-mnist", data_dir=str(tmp_path), test_data=str(tmp_path / "plain.npz")))


def test_test_data_of_another_shape_name_the_training_data_as_what_they_must_fit(tmp_path):
    """Before training no model exists: test data of another shape are measured against the training data's."""
    from ssvae.run_data import load_data

    np.savez(tmp_path / "train.npz", x=np.zeros((8, 5), np.float32), y=np.arange(8) % 2)
    np.savez(tmp_path / "test.npz", x=np.zeros((4, 4), np.float32), y=np.arange(4) % 2)
    with pytest.raises(DataError, match=r"^\S*test.npz: inputs of shape \(4, 4\) do not fit the model trained on "
                                        r"\S*train.npz: it takes \(N, 5\)$"):
        load_data(Config(data=str(tmp_path / "train.npz"), test_data=str(tmp_path / "test.npz")))
    with pytest.raises(DataError, match=r"^\S*test.npz: inputs of shape \(4, 4\) do not fit the model trained on "
                                        r"digits: it takes \(N, 1, 8, 8\), "):
        load_data(Config(test_data=str(tmp_path / "test.npz")))


def test_test_data_are_read_as_the_model_reads_its_inputs(tmp_path):
    """uint8 numbers of a table model are not divided by 255; test data of another shape, or with inf (counted
    over the file's rows, the unlabelled ones too), are refused with the file's name; NaN is a gap, kept where
    the model fills gaps."""
    rows = np.array([[3, 200], [16, 0], [1, 2]], np.uint8)
    np.savez(tmp_path / "u8.npz", x=rows, y=np.array([1, -1, 0]))
    with pytest.warns(UserWarning, match="u8.npz: its labels are numbers, taken as the model's class numbers: "
                                         "0 = x, 1 = y$"):
        table = load_labelled(tmp_path / "u8.npz", ModelInputs((2,), ("a", "b"), uint8_divisor=1), ("x", "y"))
    np.testing.assert_array_equal(table.x, [[3, 200], [1, 2]])
    images = load_labelled(tmp_path / "u8.npz", ModelInputs((1, 1, 2)), ("0", "1"))  # pixels: 0..255 -> [0, 1]
    np.testing.assert_array_equal(images.x, np.array([[[[3, 200]]], [[[1, 2]]]], np.float32) / 255)
    with pytest.raises(DataError, match=r"u8.npz: inputs of shape \(3, 2\) do not fit this model: it takes "
                                        r"\(N, 1, 8, 8\)"):
        load_labelled(tmp_path / "u8.npz", ModelInputs((1, 8, 8)), ("x", "y"))
    np.savez(tmp_path / "inf.npz", x=np.array([[0.0, 1], [2, 3], [np.inf, 4]]), y=np.array([-1, 0, 1]))
    with pytest.raises(DataError, match=r"inf.npz: 1 input row\(s\) contain inf, .* \(first: row 2\)"):
        load_labelled(tmp_path / "inf.npz", ModelInputs((2,)), ("x", "y"))
    (tmp_path / "inf.csv").write_text("b,a,label\n0,1,0\n2,inf,1\n")  # read by the model's columns, in its order
    with pytest.raises(DataError, match=r"inf.csv: 1 input row\(s\) contain inf, .* \(first: row 1, column 'a'\)"):
        load_labelled(tmp_path / "inf.csv", ModelInputs((2,), ("a", "b"), uint8_divisor=1), ("x", "y"))
    np.savez(tmp_path / "gaps.npz", x=np.array([[0.0, 1], [2, 3], [np.nan, 4]]), y=np.array([-1, 0, 1]))
    with pytest.warns(UserWarning, match="gaps.npz: its labels are numbers"):  # a gap, which a table model fills
        gaps = load_labelled(tmp_path / "gaps.npz", ModelInputs((2,), fills_missing=True), ("x", "y"))
    with pytest.raises(DataError, match=r"gaps.npz: 1 input row\(s\) hold NaN, a missing value \(first: row 2\): this "
                                        r"model takes none"):
        load_labelled(tmp_path / "gaps.npz", ModelInputs((2,)), ("x", "y"))
    np.testing.assert_array_equal(gaps.x, np.array([[2, 3], [np.nan, 4]], np.float32))
    with pytest.raises(DataError, match=r"gone.csv: no such file or folder; check the path of the test data"):
        load_labelled(tmp_path / "gone.csv", ModelInputs((2,)), ("x", "y"))


def test_a_data_warning_names_the_callers_line_however_deep_in_ssvae_it_is_raised(tmp_path):
    """A fixed stacklevel counted the frames of one path (load_source -> _load_path -> _load_csv -> csv_labels)
    and named a line of ssvae on another; warnings now name the first line outside ssvae (user_stacklevel)."""
    (tmp_path / "t.csv").write_text("a,label\n1,cat\n2,unlabelled\n3,dog\n4,cat\n")
    with pytest.warns(UserWarning, match="read as classes, though written like missing labels") as warned:
        load_source(data=str(tmp_path / "t.csv"))
    assert [w.filename for w in warned] == [__file__]


def test_only_files_inside_the_package_folder_count_as_ssvaes_own():
    """Code of a file whose path merely begins like the package's (ssvae_demo.py beside ssvae/) is the user's:
    its line is the one a warning names; code of a file inside the package is skipped to its caller."""
    from ssvae import errors, runtime

    package = runtime.OWN_CODE.rstrip(os.sep)
    for filename, level in ((package + "_demo.py", 1), (os.path.join(package, "inside.py"), 2)):
        scope = {"user_stacklevel": errors.user_stacklevel}
        exec(compile("level = user_stacklevel()", filename, "exec"), scope)
        assert scope["level"] == level, filename


def test_test_data_of_fewer_than_five_examples_a_class_are_warned_of_at_the_caller(tmp_path):
    """As a held-out share that small is: one test example gave "test accuracy 0.0000 on 1 examples" unremarked."""
    import ssvae

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", x=rng.random((40, 4), np.float32), y=np.arange(40) % 2)
    for n, warned in ((9, True), (10, False)):  # 2 classes: 10 is 5 a class
        np.savez(tmp_path / "test.npz", x=rng.random((n, 4), np.float32), y=np.arange(n) % 2)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            ssvae.train(data=str(tmp_path / "train.npz"), test_data=str(tmp_path / "test.npz"), epochs=1,
                        hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False)
        small = [w for w in seen if str(w.message).startswith("--test-data")]
        assert [(str(w.message), w.filename) for w in small] == [
            (f"--test-data {tmp_path / 'test.npz'} holds 9 labelled example(s), fewer than 5 a class on average: an "
             f"accuracy on so few says little; give more labelled test data", __file__)] * warned


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_images_are_read_upright_as_viewers_show_them(tmp_path, suffix):
    """A camera stores a portrait photo sideways with an EXIF orientation (6: turn it 90 degrees clockwise)
    that every viewer applies: read as stored, a digit lay on its side and got a confident wrong class."""
    from PIL import Image

    from ssvae.data.images import read_images

    upright = (np.arange(24, dtype=np.uint8).reshape(6, 4) * 10)  # 6 high, 4 wide
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(tmp_path / f"turned{suffix}", exif=exif,
                                                                       quality=100)
    Image.fromarray(upright).save(tmp_path / f"plain{suffix}", quality=100)
    files = [tmp_path / f"turned{suffix}", tmp_path / f"plain{suffix}"]
    for size in (None, (4, 6)):  # the size is the upright one's: width 4, height 6
        x, kept = read_images(files, tmp_path, size=size)
        assert kept == [0, 1] and x.shape == (2, 1, 6, 4)
        np.testing.assert_allclose(x[:, 0], np.stack([upright, upright]), atol=0 if suffix == ".png" else 3)
    ascii_six = (b"Exif\0\0II*\0" + (8).to_bytes(4, "little") + (1).to_bytes(2, "little")  # a tag of text "6"
                 + bytes.fromhex("1201 0200 02000000") + b"6\0\0\0" + bytes(4))
    for n, tag in enumerate((0, 9, ascii_six)):  # no orientation: read as stored, as PIL's exif_transpose does
        if isinstance(tag, int):
            exif[0x0112] = tag
        Image.fromarray(upright).save(tmp_path / f"odd{n}{suffix}", exif=exif if isinstance(tag, int) else tag,
                                      quality=100)
    x, kept = read_images(sorted(tmp_path.glob(f"odd*{suffix}")), tmp_path)
    assert kept == [0, 1, 2] and x.shape == (3, 1, 6, 4)
    np.testing.assert_allclose(x[:, 0], np.stack([upright] * 3), atol=0 if suffix == ".png" else 3)


def test_labels_that_write_a_models_class_names_are_those_classes(tmp_path):
    """`ssvae generate --out s.csv` writes each example's class name: classes named 01 and 1 (image folders'
    names) or None come back as those classes, though alone 01 and 1 read as one number and None as missing."""
    (tmp_path / "s.csv").write_text("id,label,a\n0,01,1\n1,1,2\n2,None,3\n3,,4\n4,None,5\n")
    test = load_labelled(tmp_path / "s.csv", ModelInputs((1,)), ("01", "1", "None"))
    assert test.y.tolist() == [0, 1, 2, 2] and test.class_names == ("01", "1", "None")
    np.testing.assert_array_equal(test.x, np.array([[1], [2], [3], [5]], np.float32))
    test = load_labelled(tmp_path / "s.csv", ModelInputs((1,)), ("0", "1", "2"))  # not its names: read as before
    assert test.y.tolist() == [1, 1] and test.x[:, 0].tolist() == [1, 2]


def test_messages_list_the_first_few_items_and_count_the_rest():
    from ssvae.errors import listed

    assert listed(["a", "b"]) == "a, b"
    assert listed(list("abcdefgh")) == "a, b, c, d, e and 3 more"
    assert listed(list("abcd"), 3) == "a, b, c and 1 more"


def test_test_data_that_are_the_training_data_warn_once_when_the_run_is_made(tmp_path):
    """--test-data naming --data (or a copy, or its inputs with other labels or in another order) tested the run on
    its own training examples without a word. Another file warns not, though its rows repeat training rows, as a
    coarse table's rows do. The run warns when it is trained, not again each time it reads its data (evaluate,
    export)."""
    import ssvae

    x = np.random.default_rng(0).random((20, 3)).astype(np.float32)
    y = np.array([0, 1] * 5 + [-1] * 10)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    np.savez(tmp_path / "copy.npz", x=x, y=y)
    np.savez(tmp_path / "other.npz", x=x[:10], y=y[:10])
    settings = dict(data=str(tmp_path / "data.npz"), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,),
                    latent_dim=2, progress=False)
    for test in ("data.npz", "copy.npz"):
        with pytest.warns(UserWarning) as warned:
            ssvae.train(**settings, test_data=str(tmp_path / test), out=tmp_path / test.replace(".", "_"))
        assert [(str(w.message), w.filename) for w in warned] == [(
            f"--test-data {tmp_path / test} is --data {tmp_path / 'data.npz'} or a copy of it: the run trains on its "
            f"examples, on their labels where --labels keeps them, so its test accuracy is not held out; give "
            f"labelled data it does not train on", __file__)]
    np.savez(tmp_path / "relabelled.npz", x=x, y=np.array([1, 0] * 10))  # the inputs, with every label
    np.savez(tmp_path / "shuffled.npz", x=x[::-1], y=np.array([1, 0] * 10))  # and in another order
    for test in ("relabelled.npz", "shuffled.npz"):
        with pytest.warns(UserWarning) as warned:
            ssvae.train(**settings, test_data=str(tmp_path / test))
        assert [str(w.message) for w in warned] == [
            f"--test-data {tmp_path / test} holds the inputs of --data {tmp_path / 'data.npz'}: the run trains on "
            f"its examples, on their labels where --labels keeps them, so its test accuracy is not held out; give "
            f"labelled data it does not train on"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ssvae.evaluate(tmp_path / "copy_npz")
        ssvae.export(tmp_path / "copy_npz", tmp_path / "model")
        tested = ssvae.train(**settings, test_data=str(tmp_path / "other.npz"))
    assert len(tested.partition().test) == 10


def test_test_data_of_the_arrays_held_in_memory_warn(tmp_path):
    """train(data=(x, y), test_data=FILE) of the same inputs warned not: the check compared files, and the
    arrays' file is written after it. Replacing a run, it compared the test data with the arrays the old run
    kept, and warned of those."""
    import ssvae

    x = np.random.default_rng(0).random((20, 3)).astype(np.float32)
    y = np.array([0, 1] * 5 + [-1] * 10)
    np.savez(tmp_path / "same.npz", x=x, y=np.array([0, 1] * 10))
    settings = dict(labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False)
    with pytest.warns(UserWarning) as warned:
        ssvae.train(data=(x, y), test_data=str(tmp_path / "same.npz"), out=tmp_path / "run", **settings)
    assert [(str(w.message), w.filename) for w in warned] == [(
        f"--test-data {tmp_path / 'same.npz'} holds the inputs of the arrays held in memory (data): the run trains "
        f"on its examples, on their labels where --labels keeps them, so its test accuracy is not held out; give "
        f"labelled data it does not train on", __file__)]
    shutil.copy(tmp_path / "run" / "ssvae-arrays.npz", tmp_path / "kept.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ssvae.train(data=(x + 1, y), test_data=str(tmp_path / "kept.npz"), out=tmp_path / "run",
                    replace=True, **settings)  # other arrays: not those the replaced run kept
    with pytest.warns(UserWarning) as warned:  # the data's own test set, the training inputs again
        ssvae.train(data={"x": x, "y": y, "x_test": x, "y_test": np.array([0, 1] * 10)}, out=tmp_path / "own",
                    **settings)
    assert [(str(w.message), w.filename) for w in warned] == [(
        "x_test of data holds the inputs of x: the run trains on its examples, on their labels where --labels keeps "
        "them, so its test accuracy is not held out; give labelled data it does not train on", __file__)]


def test_classes_named_like_missing_labels_warn(tmp_path):
    """UCI's "?" for a missing label, or a folder "unlabelled_images", became a class without a word."""
    from PIL import Image

    (tmp_path / "q.csv").write_text("f1,label\n0.5,cat\n1.5,?\n2.5,dog\n3.5,?\n4.5,cat\n5.5,dog\n")
    with pytest.warns(UserWarning, match=r"q.csv: label\(s\) '\?' are read as classes, though written like missing "
                                         r"labels: leave the label empty \(or NA\)"):
        assert load_source(data=str(tmp_path / "q.csv")).train.class_names == ("?", "cat", "dog")
    for mark in ("unknown", "TBD", "none", "N/a "):  # a spreadsheet's word for a label not given yet
        (tmp_path / "m.csv").write_text(f"f1,label\n0.5,cat\n1.5,{mark}\n2.5,dog\n3.5,{mark}\n")
        with pytest.warns(UserWarning, match=rf"m.csv: label\(s\) '{mark.strip()}' are read as classes, though "
                                             rf"written like missing labels"):
            assert mark.strip() in load_source(data=str(tmp_path / "m.csv")).train.class_names
    (tmp_path / "signs.csv").write_text("f1,label\n0.5,+\n1.5,-\n2.5,+\n3.5,-\n")  # UCI's classes + and -
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_source(data=str(tmp_path / "signs.csv")).train.class_names == ("+", "-")
        (tmp_path / "known.csv").write_text("f1,label\n0.5,unknown soldier\n1.5,nonet\n")  # names that hold one
        assert load_source(data=str(tmp_path / "known.csv")).train.class_names == ("nonet", "unknown soldier")
    for name in ("cat", "dog", "Unlabelled_Images"):
        (tmp_path / "pictures" / name).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((4, 4), 40 * i, np.uint8)).save(tmp_path / "pictures" / name / f"{i}.png")
    with pytest.warns(UserWarning, match=r"pictures: folder\(s\) 'Unlabelled_Images' are read as classes, though "
                                         r"named like unlabelled images: name such a folder unlabelled/"):
        load_source(data=str(tmp_path / "pictures"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (tmp_path / "pictures" / "Unlabelled_Images").rename(tmp_path / "pictures" / "Unlabelled")
        assert load_source(data=str(tmp_path / "pictures")).train.class_names == ("cat", "dog")
    for name in ("a", "b"):  # the unlabelled images sorted into folders: read as classes, where given as --data
        (tmp_path / "pictures" / "Unlabelled" / name).mkdir()
        Image.fromarray(np.full((4, 4), 9, np.uint8)).save(tmp_path / "pictures" / "Unlabelled" / name / "0.png")
    with pytest.raises(DataError, match=rf"^{re.escape(str(tmp_path))}/pictures/Unlabelled is the folder of "
                                        rf"unlabelled images, whose sub-folders are no classes: give the folder that "
                                        rf"holds it beside the class folders \({re.escape(str(tmp_path))}/pictures\)$"):
        load_source(data=str(tmp_path / "pictures" / "Unlabelled") + "/")


def test_a_failed_download_names_the_networks_reason_and_leaves_no_folder_it_made(tmp_path, monkeypatch):
    """torchvision makes DIR/MNIST/raw (and DIR's missing parents) before it fails: a mistyped --data-dir
    must not leave them behind. Its error lists every address tried; the message keeps the reason."""
    import torchvision

    def offline(root: str, train: bool, download: bool) -> None:
        (Path(root) / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://a.example/mnist/, got:\n"
                           "<urlopen error [Errno -2] Name or service not known>\n")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    (tmp_path / "kept").mkdir()
    where = tmp_path / "kept" / "typo" / "data"
    with pytest.raises(DataError, match=rf"^mnist is not in {re.escape(str(where))} and could not be downloaded "
                                        r"\(urlopen error \[Errno -2\] Name or service not known\): put "
                                        r"train-images-idx3-ubyte.gz, .* in .* and run again$"):
        load_source("mnist", data_dir=str(where))
    assert [p.name for p in tmp_path.rglob("*")] == ["kept"]
    _write_idx(tmp_path / "kept" / "train-images-idx3-ubyte.gz", np.zeros((6, 28, 28)))  # a copy cut short
    _write_idx(tmp_path / "kept" / "t10k-labels-idx1-ubyte", np.arange(6))
    with pytest.raises(DataError, match=r"\): put train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz \(the others "
                                        r"are there\) in .*kept and run again$"):
        load_source("mnist", data_dir=str(tmp_path / "kept"))


def test_a_model_of_four_channel_arrays_refuses_image_files_in_one_line(tmp_path):
    """An .npz of RGBA arrays trains a model of 4 channels a pixel, while image files are read in grey or RGB:
    its RGBA images were read in grey and refused as "(3, 1, 8, 8) do not fit this model"."""
    from ssvae.data.inputs import read_inputs

    for name in ("a", "b"):
        (tmp_path / "images" / name).mkdir(parents=True)
        Image.new("RGBA", (8, 8), (10, 20, 30, 255)).save(tmp_path / "images" / name / "1.png")
    message = (f"{tmp_path / 'images'}: image files are read in grey or RGB, but the model takes 4 channels a pixel, "
               f"as the arrays it trained on had: give its inputs as an .npz or .npy array")
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        read_inputs(str(tmp_path / "images"), image_shape=(4, 8, 8))
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        load_labelled(tmp_path / "images", ModelInputs((4, 8, 8)), ("a", "b"))
    assert read_inputs(str(tmp_path / "images"), image_shape=(3, 8, 8)).x[0, :, 0, 0].tolist() == [10, 20, 30]


def test_palette_images_of_greys_are_grey_and_of_colours_colour(tmp_path):
    """A GIF or an indexed PNG is a palette image whatever its colours: one of greys is read as grey (it made a
    folder of grey GIFs three channels), one with a colour in its palette as colour, with the warning. Among
    grey images, one saved as RGB or RGBA whose pixels are greys (a screenshot) is grey too, and so are images
    that are all greys saved as RGB."""
    grey = (np.arange(16).reshape(4, 4) * 16).astype(np.uint8)
    for name in ("a", "b"):
        (tmp_path / "grey" / name).mkdir(parents=True)
        Image.fromarray(grey).convert("P").save(tmp_path / "grey" / name / "0.gif")
        Image.fromarray(grey).save(tmp_path / "grey" / name / "1.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no colour warning
        source = load_source(data=str(tmp_path / "grey"))
    assert source.train.input_shape == (1, 4, 4)
    np.testing.assert_array_equal(source.train.x[0, 0], (grey / 255).astype(np.float32))  # the GIF's greys
    red = np.zeros((4, 4, 3), np.uint8)
    red[0, 0] = (200, 0, 0)
    Image.fromarray(red).convert("P").save(tmp_path / "grey" / "a" / "2.png")
    with pytest.warns(images.ColourImages, match="1 of 5 images is in colour"):
        assert load_source(data=str(tmp_path / "grey")).train.input_shape == (3, 4, 4)
    (tmp_path / "grey" / "a" / "2.png").unlink()
    Image.fromarray(np.repeat(grey[..., None], 3, -1)).save(tmp_path / "grey" / "b" / "3.png")  # greys saved as RGB
    opaque = np.concatenate([np.repeat(grey[..., None], 3, -1), np.full((4, 4, 1), 255, np.uint8)], -1)
    Image.fromarray(opaque).save(tmp_path / "grey" / "b" / "4.png")  # and as RGBA
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no colour warning: their pixels are grey
        source = load_source(data=str(tmp_path / "grey"))
    assert source.train.input_shape == (1, 4, 4) and len(source.train) == 6
    for name in ("b/3.png", "b/4.png"):
        np.testing.assert_array_equal(source.train.x[source.files.index(name), 0], (grey / 255).astype(np.float32))
    for name in ("a/0.gif", "a/1.png", "b/0.gif", "b/1.png"):  # every image greys saved as RGB: grey all the same
        Image.fromarray(np.repeat(grey[..., None], 3, -1)).save(tmp_path / "grey" / name, format="PNG")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = load_source(data=str(tmp_path / "grey"))
    assert source.train.input_shape == (1, 4, 4)
    np.testing.assert_array_equal(source.train.x[:, 0], np.stack([(grey / 255).astype(np.float32)] * 6))
    Image.fromarray(red).save(tmp_path / "grey" / "a" / "1.png")  # one of them in colour: all read in colour
    assert load_source(data=str(tmp_path / "grey")).train.input_shape == (3, 4, 4)


def test_a_csv_quote_never_closed_is_named_as_such(tmp_path):
    """A quote left open swallows the rest of the file into one field, which Python's csv stops at 131,072
    characters: the advice to save the file as UTF-8 sent users the wrong way."""
    rows = "".join(f"{k},{k % 2}\n" for k in range(30000))
    (tmp_path / "t.csv").write_text('a,label\n"1,0\n' + rows)
    with pytest.raises(DataError, match=r"t.csv: a field runs on past 131,072 characters, most likely from a quote "
                                        r"\(\"\) that is never closed: check the quotes around that point$"):
        load_source(data=str(tmp_path / "t.csv"))
    (tmp_path / "small.csv").write_text('a,label\n0.5,1\n"1,0\n2,1\n3,0\n')  # it read as one unlabelled row
    with pytest.raises(DataError, match=r"small.csv: a quote \(\"\) opened on line 3 or after is never closed, so the "
                                        r"rest of the file is read as one value: check the quotes there$"):
        load_source(data=str(tmp_path / "small.csv"))
    (tmp_path / "quirk.csv").write_text('a,label\n"0.5" ,1\n"1,0\n2,1\n')  # a lenient quirk above it: no matter
    with pytest.raises(DataError, match=r"quirk.csv: a quote \(\"\) opened on line 3 or after is never closed"):
        load_source(data=str(tmp_path / "quirk.csv"))
    (tmp_path / "closed.csv").write_text('a,label\n0.5,1\n3,"one\ntwo"\n')  # closed: a name on two lines
    with pytest.raises(DataError, match=r"class name 'one\\ntwo' is empty or breaks a line"):
        load_source(data=str(tmp_path / "closed.csv"))


def test_npz_of_16_bit_images_is_named_in_a_warning(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.full((4, 3, 3), 4000, np.uint16), y=np.array([0, 1, 0, 1]))
    with pytest.warns(UserWarning, match=r"d.npz: x holds uint16 values up to 4000, which are used as they are, while "
                                         r"a 16-bit image file is read as its top 8 bits: if they are 16-bit images, "
                                         r"save them as \(x >> 8\).astype\(np.uint8\)"):
        load_source(data=str(tmp_path / "d.npz"))


def test_a_folder_is_the_same_data_as_its_copy_by_its_images_names_and_sizes(tmp_path):
    """A copy of a folder is the same data; so is one with other files beside the images (a run folder that
    `train --data .` wrote inside, a grid saved beside the class folders, which a run does not read), and one
    whose images were labelled or relabelled (moved between sub-folders); an image of other pixels (of another
    size, or of the same: uncompressed), a renamed image or one more image is other data."""
    from ssvae.data.digests import data_digest, same_data

    rng = np.random.default_rng(0)
    for k, name in enumerate(["a/0.png", "a/1.png", "b/2.png", "unlabelled/3.png"]):
        (tmp_path / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)).save(tmp_path / "data" / name)
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    (tmp_path / "copy" / "run").mkdir()
    (tmp_path / "copy" / "run" / "config.json").write_text("{}")
    (tmp_path / "copy" / "notes.txt").write_text("not an image")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "copy" / "samples.png")
    assert same_data(tmp_path / "data", tmp_path / "copy") and same_data(tmp_path / "data", tmp_path / "data")
    (tmp_path / "copy" / "unlabelled" / "3.png").rename(tmp_path / "copy" / "b" / "3.png")  # labelled
    (tmp_path / "copy" / "a" / "1.png").rename(tmp_path / "copy" / "b" / "1.png")  # relabelled
    assert same_data(tmp_path / "data", tmp_path / "copy")
    variants = {"pixels": lambda d: Image.fromarray(np.zeros((4, 4), np.uint8)).save(d / "a/0.png"),
                "renamed": lambda d: (d / "b/2.png").rename(d / "b/5.png"),
                "added": lambda d: shutil.copy(d / "a/0.png", d / "unlabelled/4.png")}
    for name, change in variants.items():
        shutil.copytree(tmp_path / "data", tmp_path / name)
        change(tmp_path / name)
        assert not same_data(tmp_path / "data", tmp_path / name), name
    for name in ("pgm", "other_pgm"):  # uncompressed images of one size: each file's size is the same
        for k in range(4):
            (tmp_path / name / "a").mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(tmp_path / name / "a" / f"{k}.pgm")
    assert not same_data(tmp_path / "pgm", tmp_path / "other_pgm")  # other pixels, told by the files' ends
    (tmp_path / "file.png").write_bytes((tmp_path / "data" / "a/0.png").read_bytes())
    assert not same_data(tmp_path / "data", tmp_path / "file.png")  # a file is no folder, whatever the digests
    assert not same_data(tmp_path / "data", tmp_path / "missing")
    assert data_digest(tmp_path / "file.png") == data_digest(tmp_path / "data" / "a/0.png") != \
        data_digest(tmp_path / "data")
    assert re.fullmatch(r"[0-9a-f]{16}", data_digest(tmp_path / "data"))


def test_a_csv_header_naming_label_or_id_twice_or_a_comment_above_it_is_named(tmp_path):
    """Two 'label' columns trained on the first and dropped the second unseen; a '# note' line above the
    header was read as a header of one column, and its message spoke only of the first row's fields."""
    (tmp_path / "labels.csv").write_text("id,a,label,label\nr0,1,0,x\nr1,2,1,y\n")
    (tmp_path / "ids.csv").write_text("id,a,id,label\nr0,1,s0,0\nr1,2,s1,1\n")
    (tmp_path / "note.csv").write_text("# my data\nid,a,b,label\nr0,1,2,0\nr1,2,3,1\n")
    (tmp_path / "notes.csv").write_text("# my data, v2\nid,a,b,label\nr0,1,2,0\nr1,2,3,1\n")  # a comma: 2 names
    for name, message in (("labels", "the header names 2 columns 'label' (columns 3, 4): keep one, and rename or "
                                     "delete the others"),
                          ("ids", "the header names 2 columns 'id' (columns 1, 3): keep one, and rename or delete "
                                  "the others"),
                          ("note", "row 0 (line 2) has 4 fields but the header names 1: line 1 ('# my data') was "
                                   "read as the header: delete the comment lines above the header"),
                          ("notes", "row 0 (line 2) has 4 fields but the header names 2: line 1 ('# my data') was "
                                    "read as the header: delete the comment lines above the header")):
        with pytest.raises(DataError, match=f"^{re.escape(str(tmp_path / f'{name}.csv'))}: {re.escape(message)}$"):
            load_source(data=str(tmp_path / f"{name}.csv"))
    (tmp_path / "three.csv").write_text("a,b,c\n1,2\n")  # no comment: the usual fix
    with pytest.raises(DataError, match="has 2 fields but the header names 3: give every row one value for each"):
        csv_files.read_csv(tmp_path / "three.csv")


def test_npz_labels_in_a_column_are_read_and_text_or_fractions_are_named(tmp_path):
    """y of shape (N, 1) was refused; names were told only their dtype (<U1), fractions a dtype that whole
    numbers of the same dtype pass with."""
    x = np.random.default_rng(0).random((20, 4)).astype(np.float32)
    np.savez(tmp_path / "column.npz", x=x, y=(np.arange(20) % 2)[:, None])
    np.savez(tmp_path / "flat.npz", x=x, y=np.arange(20) % 2)
    column, flat = (load_source(data=str(tmp_path / f"{name}.npz")).train for name in ("column", "flat"))
    np.testing.assert_array_equal(column.y, flat.y)
    assert column.class_names == flat.class_names == ("0", "1")
    np.savez(tmp_path / "names.npz", x=x, y=np.array(["cat", "dog"] * 10))
    with pytest.raises(DataError, match=r"names.npz: y holds text \(<U3\), and an .npz's labels are class indices: "
                                        r"save them as integer class indices, -1 for unlabelled rows, with the names "
                                        r"in class_names .* or give the data as a CSV, whose labels may be names$"):
        load_source(data=str(tmp_path / "names.npz"))
    np.savez(tmp_path / "halves.npz", x=x, y=np.arange(20) % 2 + np.where(np.arange(20) == 7, 0.25, 0.0))
    with pytest.raises(DataError, match=r"halves.npz: y holds fractions \(first: 1.25\), not class indices: number "
                                        r"the classes 0..K-1, -1 for unlabelled examples$"):
        load_source(data=str(tmp_path / "halves.npz"))


def test_a_data_dir_given_for_digits_is_named_as_unread(tmp_path):
    """scikit-learn bundles digits: --data-dir was accepted and ignored, hiding a --dataset left at its default."""
    import ssvae
    from ssvae.data.inputs import read_inputs

    message = (f"digits comes with scikit-learn, so --data-dir {tmp_path} (data_dir={str(tmp_path)!r} in Python) is "
               f"not read: leave it out, or name the data set the folder holds instead of digits")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        read_inputs(None, "digits", tmp_path)  # as predict reads them: checked, then read, and warned of once
    assert [str(w.message) for w in warned] == [message]
    with pytest.warns(UserWarning, match=f"^{re.escape(message)}$") as warned:
        ssvae.train(dataset="digits", data_dir=tmp_path, labels=20, epochs=1, hidden=(8,), classifier_hidden=(8,),
                    latent_dim=2, progress=False)
    assert [w.filename for w in warned if "scikit-learn" in str(w.message)] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_inputs(None, "digits", None)
    # no data set named at all: --data-dir of Fashion-MNIST's files trained digits, 400 epochs, after a warning
    with pytest.raises(ssvae.ConfigError, match=r"^data_dir \(--data-dir\) is read by the data sets ssvae does not "
                                                r"bundle \(fashion-mnist, mnist, kmnist\), and no data set is named: "
                                                r"name the one the folder holds, e.g. --dataset fashion-mnist "):
        ssvae.train(data_dir=tmp_path, progress=False)


def test_unlabelled_only_keeps_the_rows_without_a_label_with_their_ids_among_all(tmp_path, monkeypatch):
    """What `ssvae predict --unlabelled-only` reads: a CSV's rows whose label column is empty, NA or -1 (any
    other text is a class), an .npz's whose y is -1 (read as training reads y: a column too; a file larger
    than a batch a batch at a time), a training folder's unlabelled/ images; ids are the rows' numbers among
    all, or their id column. A source that cannot tell which inputs lack a label, and one whose inputs all
    have one, are refused: predicting them all would pass labelled inputs off as unlabelled."""
    from ssvae.data.inputs import RowFile, read_inputs

    (tmp_path / "t.csv").write_text("a,species\n0,\n1,cat\n2,NA\n3,-1\n4,-1.0\n5, \n6,dog\n7,None\n")
    inputs = read_inputs(tmp_path / "t.csv", label_column="species", unlabelled_only=True)
    assert list(inputs.ids) == ["0", "2", "3", "4", "5", "7"] and inputs.x[:, 0].tolist() == [0, 2, 3, 4, 5, 7]
    (tmp_path / "ids.csv").write_text("id,a,label\nr0,0,x\nr1,1,\nr2,2,y\n")
    inputs = read_inputs(tmp_path / "ids.csv", unlabelled_only=True)
    assert (list(inputs.ids), inputs.x.tolist()) == (["r1"], [[1.0]])
    assert read_inputs(tmp_path / "ids.csv").x.shape == (3, 1)  # without the flag: every row
    monkeypatch.setattr(RowFile, "BATCH", 2)  # stored raw, read a batch at a time: 6 rows in 3 batches
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    for y, kept in ((np.array([-1, 0, 1, -1, 2, -1]), [0, 3, 5]),
                    (np.array([[-1.0], [0], [1], [-1], [2], [0]]), [0, 3])):  # a column of floats, as training reads
        np.savez(tmp_path / "d.npz", x=x, y=y)
        inputs = read_inputs(tmp_path / "d.npz", unlabelled_only=True)
        assert list(inputs.ids) == [str(k) for k in kept]
        np.testing.assert_array_equal(inputs.x, x[kept])
    for folder in ("cat", "dog", "Unlabelled"):
        (tmp_path / "images" / folder).mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "images" / folder / "a.png")
    assert list(read_inputs(tmp_path / "images", unlabelled_only=True).ids) == ["Unlabelled/a.png"]
    assert len(read_inputs(tmp_path / "images")) == 3
    np.savez(tmp_path / "x.npz", x=x)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "all.csv").write_text("a,label\n1,x\n2,y\n")
    (tmp_path / "other.csv").write_text("a,Species\n1,cat\n2,\n")
    fix = r", so --unlabelled-only \(unlabelled_only= in Python\) finds no input known to lack a label: leave it " \
          r"out to predict every input$"
    for data, label_column, why in (
            ("all.csv", "label", "every input has a label"),
            ("other.csv", "species", r"has no 'species' column, the model's column of classes \(found 'Species': if "
                                     r"it holds the classes, rename it 'species', as the model reads its labels "
                                     r"there\)"),
            ("x.npz", "label", "holds no array y of labels"),
            ("x.npy", "label", "holds inputs alone, an array without labels"),
            ("images/cat", "label", "has no unlabelled/ folder of images, as a training folder's images without a "
                                    "label are kept"),
            ("images/cat/a.png", "label", "an image alone holds no label")):
        with pytest.raises(DataError, match=rf"{re.escape(data)}: {why}{fix}"):
            read_inputs(tmp_path / data, columns=("a",), label_column=label_column, unlabelled_only=True)
    with pytest.raises(DataError, match=rf"^digits: every example of a built-in data set is labelled{fix}"):
        read_inputs(dataset="digits", unlabelled_only=True)
