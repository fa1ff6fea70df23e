import os

import pytest

from ssvae import Config

# .ci/run installs every optional part (npm packages, chromium) and has Fashion-MNIST: there, a test that
# would skip for want of one fails instead, so that a part gone missing cannot leave a check unrun.
NO_SKIPS = os.environ.get("SSVAE_NO_SKIPS") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome, report.longrepr = "failed", f"skipped under SSVAE_NO_SKIPS=1: {reason}"

# Small networks and few epochs: enough to exercise every path in seconds.
TINY = dict(hidden=(32,), classifier_hidden=(32,), m1_hidden=(32,), latent_dim=4, m1_latent_dim=8,
            epochs=1, m1_epochs=1, batch_size=200)


@pytest.fixture
def tiny_config() -> Config:
    return Config(**TINY)


# What a model kind needs on top of TINY: fixmatch learns from unlabelled images by consistency alone.
KIND_SETTINGS = {"fixmatch": dict(consistency=1.0, augment="shift")}


@pytest.fixture
def settings_for():
    """The ``ssvae.train`` settings that train model ``kind`` from the tiny config."""
    return lambda kind: {"model": kind, **KIND_SETTINGS.get(kind, {})}
