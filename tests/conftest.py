import os
from pathlib import Path

import pytest

import ssvae
from ssvae import Config

# .ci/run installs every optional part (npm packages, chromium) and has Fashion-MNIST: there, any skip fails
# the run, so that a part gone missing cannot leave a check unrun unnoticed. The skips stay listed as skips,
# with their reasons (the fix) in full.
NO_SKIPS = os.environ.get("SSVAE_NO_SKIPS") == "1"


def pytest_terminal_summary(terminalreporter):
    if NO_SKIPS and terminalreporter.stats.get("skipped"):
        terminalreporter.write_line("SSVAE_NO_SKIPS=1: every skip (each listed with its reason) fails this run", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if NO_SKIPS and session.exitstatus == 0 and reporter is not None and reporter.stats.get("skipped"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Small networks and few epochs: enough to exercise every path in seconds.
TINY = dict(hidden=(32,), classifier_hidden=(32,), m1_hidden=(32,), latent_dim=4, m1_latent_dim=8,
            epochs=1, m1_epochs=1, batch_size=200)


@pytest.fixture
def tiny_config() -> Config:
    return Config(**TINY)


@pytest.fixture
def interrupted_run():
    """Train a run into ``out`` and stop it (KeyboardInterrupt) in epoch ``stop_in`` of its last stage, after
    the previous epoch's checkpoint and before its own (``on_epoch`` comes before an epoch's checkpoint), so
    that metrics.csv holds one row more than the checkpoint."""
    def train(out: Path, stop_in: int, **settings) -> None:
        def stop(record: dict, network: object) -> None:
            if record["epoch"] == stop_in:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ssvae.train(out=out, on_epoch=stop, **settings)
    return train


# What a model kind needs on top of TINY: fixmatch learns from unlabelled images by consistency alone.
KIND_SETTINGS = {"fixmatch": dict(consistency=1.0, augment="shift")}


@pytest.fixture
def settings_for():
    """The ``ssvae.train`` settings that train model ``kind`` from the tiny config."""
    return lambda kind: {"model": kind, **KIND_SETTINGS.get(kind, {})}


# Fashion-MNIST's raw files: beside the checkout in shared/ (CI has them), or Debian's dataset-fashion-mnist
FASHION_MNIST = (Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion-mnist",
                 Path("/usr/share/datasets/fashion-mnist"))


@pytest.fixture
def fashion_mnist_dir() -> Path:
    """Where Fashion-MNIST's files are (skip the test where they are nowhere)."""
    folder = next((path for path in FASHION_MNIST if path.is_dir()), None)
    if folder is None:
        pytest.skip(f"Fashion-MNIST is in none of {', '.join(map(str, FASHION_MNIST))}")
    return folder
