"""A table's columns of categories (text that rows share: "red", "blue"): read as one-hot input columns in
their place, kept in the config and model.json, read so again by predict, the runtime and a DataFrame."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import ssvae
from ssvae import runtime
from ssvae.cli import main
from ssvae.data import DataError, Dataset, check_gaps, load_source
from ssvae.data import csv_files
from ssvae.data.csv_files import MAX_CATEGORIES, CsvColumns, read_csv
from ssvae.models.m2 import M2
from ssvae.models.networks import mlp
from ssvae.objectives import log_likelihood
from ssvae.run_data import load_data


def test_a_column_of_text_that_rows_share_is_read_as_one_hot_columns_in_its_place(tmp_path):
    """Sorted categories, spaces around a value not counted; a missing cell is a gap in every one-hot column."""
    (tmp_path / "t.csv").write_text("size,colour,weight,label\n1.5,red,3,0\n2, blue ,4,1\n2.5,,5,\n3,red,6,1\n")
    source = load_source(data=str(tmp_path / "t.csv"))
    assert source.columns == ("size", "colour=blue", "colour=red", "weight")
    assert source.categories == {"colour": ("blue", "red")}
    np.testing.assert_array_equal(source.train.x, np.array(
        [[1.5, 0, 1, 3], [2, 1, 0, 4], [2.5, np.nan, np.nan, 5], [3, 0, 1, 6]], np.float32))


def test_one_hot_and_the_columns_a_model_reads_of_a_table():
    rows = runtime.one_hot(["b", "a", " b", None, "NA", float("nan")], ("a", "b"), "c", "t")
    np.testing.assert_array_equal(rows, [[0, 1], [1, 0], [0, 1]] + [[np.nan, np.nan]] * 3)
    assert runtime.table_columns(("x", "c=a", "c=b", "y"), {"c": ("a", "b")}) == ["x", "c", "y"]
    with pytest.warns(UserWarning, match=r"^t: column 'c' holds 2 categories the model never trained on \('z', "
                                         r"'y', first in row 1; it knows 'a', 'b'\): read as missing$"):
        rows = runtime.one_hot(["a", "z", "y", "z"], ("a", "b"), "c", "t")
    np.testing.assert_array_equal(rows, [[1, 0]] + [[np.nan, np.nan]] * 3)
    # what pandas makes of a CSV's text: TRUE and true as True, 2 as 2.0 in a column with gaps
    rows = runtime.one_hot([True, False, 2.0, np.float64(3.0)], ("2", "3", "FALSE", "TRUE"), "c", "t")
    np.testing.assert_array_equal(rows, np.eye(4)[[3, 2, 0, 1]])


def _gaussian(x: float, mean: float, logvar: float) -> float:
    return -0.5 * (math.log(2 * math.pi) + logvar + (x - mean) ** 2 / math.exp(logvar))


def test_one_hot_inputs_take_a_categorical_likelihood_against_float64():
    """A span of one-hot inputs gives x log softmax(logits), summed the log-probability of the row's category,
    the others their Gaussian terms; a gap (the span's inputs unobserved, filled with 0s) leaves it out."""
    rng = np.random.default_rng(0)
    x = np.array([[0.3, 0, 1, 0, -1.2], [0.5, 0, 0, 0, 0.1]])
    observed = np.array([[True] * 5, [True, False, False, False, True]])
    mean, logvar = rng.normal(size=(2, 3, 5)), 0.3 * rng.normal(size=(2, 3, 5))  # (B, K, D): every class
    params = torch.tensor(np.concatenate([mean, logvar], -1))
    got = log_likelihood(torch.tensor(x)[:, None], params, "gaussian", torch.tensor(observed), ((1, 4),)).numpy()
    for b, k in np.ndindex(2, 3):
        want = sum(_gaussian(x[b, d], mean[b, k, d], logvar[b, k, d]) for d in (0, 4))
        if b == 0:  # category 1 of 3
            want += mean[b, k, 2] - math.log(sum(math.exp(v) for v in mean[b, k, 1:4]))
        assert got[b, k] == pytest.approx(want, rel=1e-12)


def test_the_runtime_scores_a_category_by_its_probability_and_draws_one_by_it():
    """The decoder's means of one-hot inputs are probabilities: x log p is the term, and a draw with noise
    picks one category a row, at their rates."""
    x = np.array([[0.3, 0, 1, 0], [np.nan, np.nan, np.nan, 2.0]])
    mean = np.array([[0.1, 0.2, 0.5, 0.3], [0.0, 0.2, 0.5, 0.3]])
    np.testing.assert_allclose(runtime.log_gaussian(x, mean, np.zeros((2, 4)), ((1, 3),)),
                               [_gaussian(0.3, 0.1, 0) + math.log(0.5) + _gaussian(0, 0.3, 0), _gaussian(2.0, 0.3, 0)],
                               rtol=1e-12)
    probabilities = np.tile(np.float32([[5.0, 0.2, 0.8]]), (20_000, 1))
    draws = runtime.observed("gaussian", probabilities, np.zeros_like(probabilities), np.random.default_rng(0),
                             ((1, 3),))
    noise = np.random.default_rng(0)
    spread = noise.standard_normal(probabilities.shape)  # the Gaussian's draws first, then one a row and span
    np.testing.assert_allclose(draws[:, 0], np.float32(5 + spread[:, 0]))
    np.testing.assert_array_equal(draws[:, 1:], np.eye(2)[(noise.random(20_000) >= 0.2).astype(int)])
    assert draws[:, 2].mean() == pytest.approx(0.8, abs=0.01)


def test_standardisation_leaves_one_hot_inputs_as_they_are():
    """Shift 0 and scale 1 for the span, so that a row's one-hot inputs stay 0 and 1 and a gap there is 0s."""
    model = M2(4, 2, 2, (8,), mlp((4, 8, 2)), "gaussian", 1.0, categories=((1, 3),))
    x = torch.tensor([[1.0, 1, 0, 10], [3, 0, 1, 30], [5, float("nan"), float("nan"), 20]])
    model.fit_standardisation(x)
    np.testing.assert_allclose(model.input_shift, [3, 0, 0, 20])
    np.testing.assert_allclose(model.input_scale, [2, 1, 1, 10])
    np.testing.assert_allclose(model.prepare(x), [[-1, 1, 0, -1], [0, 0, 1, 1], [1, 0, 0, 0]])


def _names(n: int) -> str:
    return "".join(f"name{k},{k},{k % 2}\n" for k in range(n))


@pytest.mark.parametrize("text, message", [
    ("name,a,label\n" + _names(3), r"t.csv: row 0 \(line 2\), column 'name' holds 'name0', and most rows a text of "
     r"their own, as names and dates have, not categories that rows share: if it is no input, leave it out with "
     r"--ignore-columns name \(ignore_columns=\['name'\] in Python\)$"),
    ("name,a,label\n" + _names(MAX_CATEGORIES + 1) * 2, r"t.csv: row 0 \(line 2\), column 'name' holds 'name0', one "
     r"of 101 different texts, more than the 100 categories a column may have, not categories that rows share"),
    ("a,label\n1,0\n2,1\nx,0\nx,1\n", r"t.csv: row 2 \(line 4\), column 'a' holds 'x': the column holds numbers in "
     r"at least half its rows: correct the value \(empty where it is unknown\), or if it is no input, leave it out "
     r"with --ignore-columns a"),  # a number mistyped, not a category
    ('a,label\n"1,200",0\n"1,300",1\n"1,200",0\n', r"t.csv: row 0 \(line 2\), column 'a' holds '1,200': write "
     r"numbers without thousands separators \(1200\)"),  # numbers written otherwise are no categories
    ("colour,colour=red,label\nred,1,0\nblue,2,1\nred,3,0\n", r"t.csv: column 'colour=red' appears more than once"),
    ("name,a,label\n" + _names(10) + "name0,1,0\n", r"t.csv: row 0 \(line 2\), column 'name' holds 'name0', and most "
     r"rows a text of their own"),  # names, one of them twice
    ("ID,label\n1,0\n2,1\nx,0\n", r"t.csv: row 2 \(line 4\), column 'ID' holds 'x': name a column of row names 'id', "
     r"which is no input, or leave it out with --ignore-columns ID"),  # a typo among ids
])
def test_a_column_of_text_that_holds_no_categories_is_refused_with_the_fix(tmp_path, text, message):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        load_source(data=str(tmp_path / "t.csv"))


def test_columns_of_text_are_found_in_one_more_read_wherever_their_first_text_stands(tmp_path, monkeypatch):
    """Text first in row 5 of one column and in row 8 of another, blocks of 2 rows: every column of text is
    found in the first read, and the second reads them as categories, the numbers before them exact. 100
    categories are taken, as many as a column may have."""
    rows = [f"{k / 4},{'NA' if k < 5 else 'abc'[k % 3]},{'' if k < 8 else 'xy'[k % 2]},{k % 2}" for k in range(12)]
    (tmp_path / "t.csv").write_text("a,c,d,label\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(csv_files.CsvTable, "BLOCK", 2)
    reads, found = [], csv_files.CsvTable.text_found
    monkeypatch.setattr(csv_files.CsvTable, "text_found", lambda table: reads.append(found(table)) or reads[-1])
    source = load_source(data=str(tmp_path / "t.csv"))
    assert reads == [("c", "d"), ()]  # what each read found: both in the first
    assert source.columns == ("a", "c=a", "c=b", "c=c", "d=x", "d=y")
    np.testing.assert_array_equal(source.train.x[:, 0], np.arange(12, dtype=np.float32) / 4)
    np.testing.assert_array_equal(source.train.x[[4, 5, 8], 1:], [[np.nan] * 5, [0, 0, 1, np.nan, np.nan],
                                                                    [0, 0, 1, 1, 0]])
    (tmp_path / "many.csv").write_text("c,label\n" + "".join(f"v{k % MAX_CATEGORIES},{k % 2}\n" for k in range(200)))
    assert len(load_source(data=str(tmp_path / "many.csv")).categories["c"]) == MAX_CATEGORIES


def test_a_column_of_categories_named_like_classes_is_warned_of_and_one_hot_columns_need_no_spread(tmp_path):
    """'target' of text beside the label column would leak the class, as a column of numbers so named would;
    a one-hot column with one value among the training rows needs no mean and spread, a column of numbers
    does."""
    (tmp_path / "t.csv").write_text("target,a,label\nx,1,0\ny,2,1\nx,3,0\ny,4,1\n")
    with pytest.warns(UserWarning, match=r"column 'target' is read as input, though named like classes"):
        assert load_source(data=str(tmp_path / "t.csv")).columns == ("target=x", "target=y", "a")
    rows = Dataset(np.array([[1, 0, 1], [2, np.nan, np.nan], [3, np.nan, np.nan]], np.float32), np.zeros(3, np.int64),
                   ("k",))
    check_gaps(rows, "d", "gaussian", ("a", "c=x", "c=y"), categories={"c": ("x", "y")})
    with pytest.raises(DataError, match=r"columns 'c=x', 'c=y' hold fewer than two values"):
        check_gaps(rows, "d", "gaussian", ("a", "c=x", "c=y"))  # as numbers


def test_a_bernoulli_model_of_categories_is_refused_with_the_fix(tmp_path):
    (tmp_path / "t.csv").write_text("colour,a,label\nred,0.1,0\nblue,0.2,1\nred,0.3,0\nblue,0.4,1\n")
    with pytest.raises(DataError, match=r"t.csv: columns of categories \(colour\) take the categorical likelihood "
                                        r"of a Gaussian model: leave --likelihood \(likelihood= in Python\) out, or "
                                        r"set it to gaussian$"):
        ssvae.train(data=str(tmp_path / "t.csv"), likelihood="bernoulli", epochs=1, progress=False)


def test_a_model_reads_its_categories_by_name_and_an_unknown_one_as_missing(tmp_path):
    (tmp_path / "new.csv").write_text("weight,colour,size\n3,green,1\n4,red,2\n")
    model_columns = ("size", "colour=blue", "colour=red", "weight")
    roles = CsvColumns(categories={"colour": ("blue", "red")})
    with pytest.warns(UserWarning, match=r"new.csv: column 'colour' holds 1 category the model never trained on "
                                         r"\('green', first in row 0 \(line 2\); it knows 'blue', 'red'\): read as "
                                         r"missing$"):
        x, columns = read_csv(tmp_path / "new.csv", model_columns, roles).inputs()
    assert columns == model_columns
    np.testing.assert_array_equal(x, np.array([[1, np.nan, np.nan, 3], [2, 0, 1, 4]], np.float32))
    (tmp_path / "old.csv").write_text("weight,size\n3,1\n")
    with pytest.raises(DataError, match=r"old.csv has no column 'colour': the model reads columns size, colour, "
                                        r"weight, found by name in any order$"):
        read_csv(tmp_path / "old.csv", model_columns, roles).inputs()


@pytest.mark.parametrize("given", [[7, 0], [1, 1], [0.2, 0.2], [np.nan, 0], [-1, 2]])
def test_one_hot_inputs_given_as_numbers_must_hold_a_category_or_none(given):
    """An array (or a DataFrame of the one-hot columns) could hold anything in a column of categories' inputs:
    values in [0, 1] that sum to 1 are a category (one 1 among 0s, or probabilities as generate gives them),
    0s or NaN in them all a missing one (as pandas' get_dummies and onehot encoders give it); anything else
    is refused, naming the column and the row."""
    columns, categories = ("a", "shape=circle", "shape=square", "b"), {"shape": ("circle", "square")}
    good = np.array([[0.5, 1, 0, 2], [0.1, np.nan, np.nan, 3], [0.2, 0, 0, np.nan], [0, 0.25, 0.75, 1]], np.float32)
    np.testing.assert_array_equal(runtime.prepare_inputs(good, (4,), columns, None, 1, True, categories), good)
    bad = good.copy()
    bad[2, 1:3] = given
    with pytest.raises(runtime.InputRowError, match=r"^the one-hot columns of 'shape' hold other than a category "
                                                    r"\(first in row 2\): give each row a 1 in its category's column "
                                                    r"and 0 in the others, or 0s or NaN in them all for a missing "
                                                    r"category$"):
        runtime.prepare_inputs(bad, (4,), columns, None, 1, True, categories)


def _shapes(n: int, seed: int) -> pd.DataFrame:
    """Three classes told apart by a column of categories alone ("shape"; 5 % of rows another one), beside
    two columns of noise, one with gaps."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    shape = np.where(rng.random(len(y)) < 0.95, y, rng.integers(0, 3, len(y)))
    table = pd.DataFrame({"a": rng.normal(size=len(y)), "shape": np.array(["circle", "square", "star"])[shape],
                          "b": np.where(rng.random(len(y)) < 0.2, np.nan, rng.normal(size=len(y))), "label": y})
    return table


def test_a_table_of_categories_learns_exports_and_is_read_alike_everywhere(tmp_path, monkeypatch):
    """The class lies in the column of categories alone: 6 labels learn it. predict of the CSV, the runtime
    of a DataFrame (the columns in another order) and the run agree, as do the graphs' score and torch's bound
    with the same noise; generate writes categories back as text,
    which evaluate reads; a run reads its data again with its categories, one added since read as missing."""
    _shapes(300, 0).to_csv(tmp_path / "train.csv", index=False)
    test = _shapes(150, 1)
    test.to_csv(tmp_path / "test.csv", index=False)
    run = ssvae.train(data=str(tmp_path / "train.csv"), test_data=str(tmp_path / "test.csv"), labels=6, epochs=40,
                      hidden=(32,), classifier_hidden=(32,), latent_dim=2, out=str(tmp_path / "run"), progress=False)
    assert run.config.input_columns == ("a", "shape=circle", "shape=square", "shape=star", "b")
    assert run.config.categories == {"shape": ("circle", "square", "star")}
    accuracy = ssvae.evaluate(run)["accuracy"]
    assert accuracy > 0.7  # 0.77; chance is 1/3, the class lying in the categories alone
    inputs = test.drop(columns="label")
    ssvae.export(run, tmp_path / "model")
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert info["categories"] == {"shape": ["circle", "square", "star"]} and info["fills_missing"] is True
    model = runtime.load(tmp_path / "model")
    by_runtime = model.classify(inputs[["shape", "b", "a"]])
    np.testing.assert_allclose(by_runtime, run.classify(inputs), atol=1e-5)
    one_hot_made = pd.DataFrame(model.prepare(inputs), columns=list(model.input_columns))  # read as they are
    np.testing.assert_allclose(model.classify(one_hot_made), by_runtime, atol=1e-6)
    two_shapes = one_hot_made.assign(**{"shape=star": 1.0})  # the export and the run refuse it alike
    np.testing.assert_allclose(model.classify(model.generate(0, n=5)).sum(-1), 1, rtol=1e-5)  # probabilities: taken
    for reader, error in ((model, runtime.InputRowError), (run, DataError)):  # the run's errors are DataErrors
        with pytest.raises(error, match=r"^the one-hot columns of 'shape' .* \(first in row 0\)"):
            reader.classify(two_shapes)
    from tests.test_export import _shared_noise
    with monkeypatch.context() as patched, torch.no_grad():
        _shared_noise(patched, 40, 3, 2)
        want = -run.model.elbo(torch.as_tensor(model.prepare(inputs[:40]))).numpy()
    np.testing.assert_allclose(model.score(inputs[:40]), want, rtol=1e-4, atol=1e-2)
    generated = model.generate(0, n=5)  # each row's probabilities of the shapes
    np.testing.assert_allclose(generated[:, 1:4].sum(-1), 1, rtol=1e-6)
    runner = CliRunner()
    result = runner.invoke(main, ["predict", str(tmp_path / "model"), "--data", str(tmp_path / "test.csv"), "--out",
                                  str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_allclose(predicted[["p_0", "p_1", "p_2"]].to_numpy(), by_runtime, atol=1e-5)
    assert "\n  categories       shape: circle, square, star\n" in runner.invoke(main, ["info",
                                                                                    str(tmp_path / "model")]).output
    result = runner.invoke(main, ["train", "--data", str(tmp_path / "train.csv"), "--labels", "6", "--epochs", "1",
                                  "--out", str(tmp_path / "again")])
    assert result.exit_code == 0 and result.output.endswith("  |  labels seen 6  |  categories shape\n"), result.output
    result = runner.invoke(main, ["generate", str(tmp_path / "model"), "--per-class", "20", "--out",
                                  str(tmp_path / "g.csv")])
    assert result.exit_code == 0, result.output
    generated = pd.read_csv(tmp_path / "g.csv")
    assert list(generated.columns) == ["id", "label", "a", "shape", "b"]
    assert set(generated["shape"]) <= {"circle", "square", "star"}
    drawn = generated.groupby("label")["shape"].agg(lambda shapes: shapes.mode()[0])
    assert list(drawn) == ["circle", "square", "star"]  # each class drawn with its own shape
    assert ssvae.evaluate(tmp_path / "model", data=tmp_path / "g.csv")["accuracy"] > 0.6  # read back: 0.78, chance 1/3
    with (tmp_path / "train.csv").open("a") as f:
        f.write("0.5,hexagon,0.1,\n")  # an unlabelled row added since, of a shape not seen in training
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        again = load_data(run.config).train.x  # the run's data read again, in its columns
    assert any("column 'shape' holds 1 category the model never trained on ('hexagon'" in str(w.message)
               for w in seen)
    np.testing.assert_array_equal(again[-1], np.float32([0.5, np.nan, np.nan, np.nan, 0.1]))
    np.testing.assert_array_equal(again[:-1, 1:4], np.eye(3)[pd.Categorical(_shapes(300, 0)["shape"]).codes])
