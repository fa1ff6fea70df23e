"""Random arrays of random shapes and dtypes, handed to the runtime and the data loaders: every outcome is a
result or our own clear error, never another exception or a hang (an alarm fails a test stuck for minutes in
Python code; a loop inside C code it cannot stop). The examples are drawn the same way on every run, so that
a failure in CI happens again here."""

import os
import signal

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
FUZZ = settings(max_examples=int(os.environ.get("SSVAE_FUZZ_EXAMPLES", 150)), derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
HANG = 300  # seconds: a test of 150 examples takes a few
pytestmark = pytest.mark.timeout(0)  # the alarm below stops a hang instead


class Hang(BaseException):
    """Raised by the alarm: a BaseException, not an Exception, so that neither a loader's ``except Exception`` (which would call
    it a clear error) nor hypothesis (which would run the example again to shrink it) takes it."""


@pytest.fixture(autouse=True)
def alarm():
    """A hang fails its test instead of stalling the suite (hypothesis' deadline is measured only after an
    example returns, and on a busy machine a slow example is no fault). It takes SIGALRM from pytest-timeout
    (whose failure hypothesis would catch, and then run the hanging example again to shrink it, with no
    timer left), which `pytestmark` turns off here."""
    def hung(signum, frame):
        raise Hang(f"a fuzz test ran for over {HANG} s: an input hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


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


def test_the_runtime_fuzzed_above_classifies_valid_inputs(model):
    """The fuzz test's other branch: inputs of the model's own shape, uint8 and float32, are classified."""
    x = np.random.default_rng(0).integers(0, 256, (4, 64), dtype=np.uint8)
    for inputs in (x, x.astype(np.float32) / 255, x.reshape(4, 1, 8, 8)):
        p = model.classify(inputs)
        assert p.shape == (4, 10) and np.isfinite(p).all()
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(model.classify(x), model.classify(x.astype(np.float32) / 255), atol=1e-6)


@st.composite
def labelled_files(draw):
    """x (float32 in [0, 1], of one to three dimensions an example) and y: every class 0..k-1 once, then
    labels or -1 at random."""
    k = draw(st.integers(2, 4))
    y = np.concatenate([np.arange(k), draw(hnp.arrays(np.int64, st.integers(0, 12), elements=st.integers(-1, k - 1)))])
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = draw(hnp.arrays(np.float32, (len(y), *shape), elements=st.floats(0, 1, width=32)))
    return x, y


def channel_first(x: np.ndarray) -> np.ndarray:
    """``x`` as the README says a model keeps images: (N, H, W) grey gains its channel axis, and (N, H, W, C)
    is channel-last where C is 1, 3 or 4 and H is not."""
    if x.ndim == 3:
        return x.reshape(len(x), 1, *x.shape[1:])
    if x.ndim == 4 and x.shape[1] not in (1, 3, 4) and x.shape[3] in (1, 3, 4):
        return x.transpose(0, 3, 1, 2)
    return x


@FUZZ
@given(files=labelled_files())
@pytest.mark.filterwarnings("ignore::UserWarning")  # -1 as common as a class, or few examples: a warning
def test_valid_npz_files_load_as_they_are(tmp_path, files):
    x, y = files
    path = tmp_path / "valid.npz"
    np.savez(path, x=x, y=y)
    source = load_source(data=str(path))
    np.testing.assert_array_equal(source.train.x, channel_first(x))
    np.testing.assert_array_equal(source.train.y, y)
    assert source.train.class_names == tuple(str(k) for k in range(y.max() + 1)) and source.test is None
    inputs = read_inputs(str(path))
    np.testing.assert_array_equal(np.asarray(inputs.x[0:len(inputs)]), x)


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
