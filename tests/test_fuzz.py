"""Random arrays of random shapes and dtypes, handed to the runtime and the data loaders: every outcome is a
result or our own clear error, never another exception or a hang (hypothesis' deadline)."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ssvae
from ssvae import runtime
from ssvae.data import DataError, load_source
from ssvae.data.inputs import read_inputs

DTYPES = st.sampled_from([np.uint8, np.int8, np.int64, np.float16, np.float32, np.float64, np.bool_,
                          np.complex64, np.dtype("U3")])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=9)
FUZZ = settings(max_examples=int(os.environ.get("SSVAE_FUZZ_EXAMPLES", 150)), deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])


def arrays(dtype=DTYPES, shape=SHAPES):
    return hnp.arrays(dtype=dtype, shape=shape)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    run = ssvae.train(epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False)
    out = tmp_path_factory.mktemp("fuzz") / "model"
    ssvae.export(run, out)
    return runtime.load(out)


@FUZZ
@given(x=st.one_of(arrays(), arrays(shape=st.sampled_from([(3, 1, 8, 8), (2, 8, 8), (4, 64), (0, 64)]))))
def test_runtime_returns_probabilities_or_a_model_error(model, x):
    try:
        p = model.classify(x)
    except runtime.ModelError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert p.shape == (len(x), 10) and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    assert model.score(x).shape == (len(x),)


@FUZZ
@given(x=arrays(), y=arrays(dtype=st.sampled_from([np.int64, np.float32, np.uint8, np.dtype("U2")])))
@pytest.mark.filterwarnings("ignore::UserWarning")  # a loader's warning (images stored as numbers) is a result too
def test_npz_loaders_return_data_or_a_data_error(tmp_path, x, y):
    path = tmp_path / "fuzz.npz"
    np.savez(path, x=x, y=y)
    loads_or_says_why(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_garbage_files_load_or_give_a_one_line_data_error(tmp_path, data):
    for suffix in (".npz", ".npy", ".csv"):
        path = tmp_path / f"garbage{suffix}"
        path.write_bytes(data)
        loads_or_says_why(path)


def loads_or_says_why(path) -> None:
    """Both loaders of ``path`` give well-formed data or a one-line DataError."""
    try:
        source = load_source(data=str(path))
    except DataError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert source.train.x.dtype == np.float32 and len(source.train.x) == len(source.train.y)
        assert source.train.y.min() >= -1 and source.train.y.max() < len(source.train.class_names)
    try:
        inputs = read_inputs(str(path))
    except DataError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert len(inputs) == len(np.asarray(inputs.x[0:len(inputs)]))
