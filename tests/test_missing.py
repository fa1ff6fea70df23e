"""Missing inputs (NaN, a table's empty cells): read as gaps, filled with the training mean for the networks,
left out of p(x|y,z), and taken by the exported graphs."""

import json
import math
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ssvae
from ssvae import runtime
from ssvae.cli import main
from ssvae.data import DataError, Dataset, check_gaps
from ssvae.data.csv_files import read_csv
from ssvae.models.m2 import M2
from ssvae.models.networks import mlp
from ssvae.objectives import log_likelihood
from ssvae.report_text import _info_value


def _blobs(rng: np.random.Generator, n: int = 300, gaps: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Three classes of 6 inputs of unlike scales, with ``gaps`` of the values (none of column 5's, whole numbers)
    missing at random."""
    y = np.repeat(np.arange(3), n // 3)
    x = (rng.normal(size=(n, 6)) * [1, 10, 100, 0.1, 1, 1] + y[:, None] * [3, 30, 300, 0.3, 3, 0]).astype(np.float32)
    x[:, 5] = rng.integers(0, 5, n)
    x[:, :5][rng.random((n, 5)) < gaps] = np.nan
    return x, y


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_the_likelihood_sums_the_observed_inputs_alone(likelihood):
    """(B, D) inputs, (B, K, D) parameters: each row's sum over its observed inputs, worked out in float64."""
    rng = np.random.default_rng(0)
    x = rng.random((4, 5))
    observed = rng.random((4, 5)) < 0.6
    size = 5 if likelihood == "bernoulli" else 10
    params = rng.normal(size=(4, 3, size))
    got = log_likelihood(torch.tensor(x[:, None, :]), torch.tensor(params), likelihood, torch.tensor(observed))
    if likelihood == "bernoulli":
        p = 1 / (1 + np.exp(-params))
        terms = x[:, None] * np.log(p) + (1 - x[:, None]) * np.log(1 - p)
    else:
        mean, logvar = params[..., :5], np.maximum(params[..., 5:], -6.9)
        terms = -0.5 * (math.log(2 * math.pi) + logvar + (x[:, None] - mean) ** 2 / np.exp(logvar))
    want = (terms * observed[:, None, :]).sum(-1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    whole = log_likelihood(torch.tensor(x[:, None, :]), torch.tensor(params), likelihood)
    np.testing.assert_allclose(whole.numpy(), terms.sum(-1), rtol=1e-10)


def _m2(d: int = 6) -> M2:
    return M2(d, 3, 2, (8,), mlp((d, 8, 3)), "gaussian", vat_epsilon=1.0)


def test_standardisation_is_fitted_on_the_values_held_and_fills_a_gap_with_the_mean():
    x = np.array([[1.0, 2.0, np.nan], [3.0, np.nan, 5.0], [np.nan, 6.0, np.nan], [5.0, 7.0, np.nan]], np.float32)
    model = M2(3, 3, 2, (8,), mlp((3, 8, 3)), "gaussian", vat_epsilon=1.0)
    model.fit_standardisation(torch.tensor(x))
    np.testing.assert_allclose(model.input_shift.numpy(), [3.0, 5.0, 5.0])
    np.testing.assert_allclose(model.input_scale.numpy(), [2.0, np.std([2, 6, 7], ddof=1), 1.0])  # one value: 1
    a = model.prepare(torch.tensor(x)).numpy()
    np.testing.assert_allclose(a[:, 0], [-1.0, 0.0, 0.0, 1.0])  # row 2's gap at the mean, 0
    assert not np.isnan(a).any()
    np.testing.assert_array_equal(model.observed(torch.tensor(x)).numpy(), ~np.isnan(x))


def test_the_bound_of_a_row_with_gaps_takes_the_log_scales_of_its_observed_inputs_alone():
    """elbo(x) = the bound on the prepared inputs held, less the log-determinant of standardising those."""
    rng = np.random.default_rng(1)
    x, _ = _blobs(rng, 30)
    model = _m2()
    model.fit_standardisation(torch.tensor(x))
    xt = torch.tensor(x)
    observed = model.observed(xt)
    with torch.no_grad():
        torch.manual_seed(0)
        got = model.elbo(xt)
        torch.manual_seed(0)
        want = model.prepared_elbo(model.prepare(xt), observed) - (model.input_scale.log() * observed).sum(-1)
        torch.manual_seed(0)
        whole = model.prepared_elbo(model.prepare(xt), None)
    torch.testing.assert_close(got, want)
    assert torch.isfinite(got).all()
    gappy = ~observed.all(-1)
    assert gappy.any() and (got[gappy] != whole[gappy] - model.input_scale.log().sum()).all()


def test_a_table_with_gaps_learns_exports_and_its_graphs_fill_them_as_torch_does(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    x, y = _blobs(rng)
    test_x, test_y = _blobs(rng, 150)
    np.savez(tmp_path / "gaps.npz", x=x, y=y, x_test=test_x, y_test=test_y)
    run = ssvae.train(data=str(tmp_path / "gaps.npz"), labels=15, epochs=100, hidden=(32,), classifier_hidden=(32,),
                      latent_dim=2, batch_size=100, progress=False)
    assert run.config.likelihood == "gaussian" and run.config.fills_missing
    accuracy = float((run.classify(test_x).argmax(-1) == test_y).mean())
    assert accuracy > 0.9  # 30 % of the values gone, 5 labels a class: 0.947 (0.953 with none gone)
    ssvae.export(run, tmp_path / "model")
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert info["fills_missing"] is True
    for end, least_or_most in (("low", np.nanmin), ("high", np.nanmax)):  # of the values held, as float32 reads them
        np.testing.assert_array_equal(np.float32(info["training_range"][end]), least_or_most(x, 0))
    assert info["whole_inputs"] == [5]  # the gaps of the others do not make them whole
    model = runtime.load(tmp_path / "model")
    assert model.fills_missing
    info = CliRunner().invoke(main, ["info", str(tmp_path / "model")]).output
    assert "\n  fills_missing    yes: a missing input (NaN, an empty CSV cell) is filled with its training " \
           "mean\n" in info
    np.testing.assert_allclose(model.classify(test_x), run.classify(test_x), atol=1e-5)
    from tests.test_export import _shared_noise
    _shared_noise(monkeypatch, 40, 3, 2)
    with torch.no_grad():
        want = -run.model.elbo(torch.as_tensor(test_x[:40])).numpy()
    np.testing.assert_allclose(model.score(test_x[:40]), want, rtol=1e-4, atol=1e-2)
    infinite = test_x[:3].copy()
    infinite[1, 0] = np.inf
    with pytest.raises(runtime.NonFiniteInputError, match=r"^inputs contain inf, or numbers too large for float32 "
                                                          r"\(first in row 1\): clean or drop those rows$"):
        model.classify(infinite)


def test_info_says_whether_a_model_takes_gaps():
    assert _info_value("fills_missing", False) == "no: a missing input (NaN) is refused"


def test_the_runtime_scores_the_observed_inputs_alone():
    x = np.array([[1.0, np.nan], [1.0, 2.0]])
    mean, logvar = np.zeros((2, 2)), np.zeros((2, 2))
    one = -0.5 * math.log(2 * math.pi) - 0.5  # log N(1; 0, 1)
    np.testing.assert_allclose(runtime.log_gaussian(x, mean, logvar), [one, one - 0.5 * math.log(2 * math.pi) - 2])


def test_only_a_model_that_fills_gaps_takes_nan_and_neither_takes_inf():
    x = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(runtime.prepare_inputs(x, (3,), ("a", "b", "c"), fills_missing=True),
                                  x.astype(np.float32))
    with pytest.raises(runtime.NonFiniteInputError, match=r"^inputs contain NaN or inf, or numbers too large for "
                                                          r"float32, in column 'b' \(first in row 0\)"):
        runtime.prepare_inputs(x, (3,), ("a", "b", "c"))
    x[1, 2] = -np.inf
    with pytest.raises(runtime.NonFiniteInputError, match=r"^inputs contain inf, or numbers too large for float32, in "
                                                          r"column 'c' \(first in row 1\)"):
        runtime.prepare_inputs(x, (3,), ("a", "b", "c"), fills_missing=True)


def test_a_csvs_empty_and_na_cells_are_read_as_gaps_and_a_word_alone_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,label\n1,,3,0\n NA ,2,nan,1\n4,N/A,6,\n")
    x, columns = read_csv(path, training=True).inputs()
    np.testing.assert_array_equal(x, np.array([[1, np.nan, 3], [np.nan, 2, np.nan], [4, np.nan, 6]], np.float32))
    assert columns == ("a", "b", "c")
    path.write_text("a,b,label\n1,,0\n2,high,1\n")
    with pytest.raises(DataError, match=r"row 1 \(line 3\), column 'b' holds 'high', and most rows a text of their "
                                        r"own, as names and dates have, not categories that rows share"):
        read_csv(path, training=True).inputs()


def test_an_input_held_by_fewer_than_two_training_rows_is_refused_by_its_number_for_arrays():
    """A mean and spread need two values among the rows the model trains on: those held out for the test set
    do not count."""
    x = np.array([[1.0, np.nan, np.nan], [2.0, 5.0, np.nan], [3.0, 6.0, 7.0]], np.float32)
    with pytest.raises(DataError, match=r"^d: inputs 1, 2 hold fewer than two values in the training rows \(those the "
                                        r"test set leaves\), too few for a mean and spread to fill gaps by: leave them "
                                        r"out of the inputs$"):
        check_gaps(Dataset(x, np.array([0, 1, 0]), ("a", "b")), "d", "gaussian", held_out=[2])
    with pytest.raises(DataError, match=r"^d: input 2 holds fewer than two values"):
        check_gaps(Dataset(x, np.array([0, 1, 0]), ("a", "b")), "d", "gaussian")
    with pytest.raises(DataError, match=r"^d: column 'c' holds fewer than two values in the training rows \(those the "
                                        r"test set leaves\), too few for a mean and spread to fill gaps by: leave it "
                                        r"out with --ignore-columns name,c \(ignore_columns=\['name', 'c'\] in "
                                        r"Python\)$"):  # beside the column already left out
        check_gaps(Dataset(x, np.array([0, 1, 0]), ("a", "b")), "d", "gaussian", ("a", "b", "c"), [0], ("name",))
    x = np.array([[1.0, 4.0], [np.nan, np.nan], [3.0, 6.0], [2.0, np.nan]], np.float32)
    with pytest.warns(UserWarning, match=r"^d: 1 row\(s\) hold no input at all \(first: row 1\): the model learns "
                                         r"nothing of them"):
        check_gaps(Dataset(x, np.array([0, 1, 0, 1]), ("a", "b")), "d", "gaussian")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_gaps(Dataset(x[[0, 2], :1], np.array([0, 1]), ("a", "b")), "d", "bernoulli")  # no gap: nothing to say


def test_labelled_data_with_gaps_are_refused_by_a_model_that_does_not_fill_them_naming_the_files_row(tmp_path):
    """A Bernoulli model of flat rows (or an export from before gaps were filled): evaluate --data names the file
    and the row as the file counts them, unlabelled ones too (not the row among the labelled alone)."""
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 5)).astype(np.float32), np.arange(60) % 2
    np.savez(tmp_path / "unit.npz", x=x, y=y)
    run = ssvae.train(data=str(tmp_path / "unit.npz"), likelihood="bernoulli", epochs=1, hidden=(8,),
                      classifier_hidden=(8,), latent_dim=2, progress=False)
    assert not run.config.fills_missing
    ssvae.export(run, tmp_path / "model")
    assert json.loads((tmp_path / "model" / "model.json").read_text())["fills_missing"] is False
    x[15, 2] = np.nan
    np.savez(tmp_path / "gap.npz", x=x, y=np.where(np.arange(60) < 10, -1, y))
    for model in (run, tmp_path / "model"):
        with pytest.raises(DataError, match=r"gap.npz: 1 input row\(s\) hold NaN, a missing value \(first: row 15\): "
                                            r"this model takes none \(its graphs do not fill them\): fill or drop "
                                            r"them$"):
            ssvae.evaluate(model, data=str(tmp_path / "gap.npz"))
