import pytest

from ssvae import Config

# Small networks and few epochs: enough to exercise every path in seconds.
TINY = dict(hidden=(32,), classifier_hidden=(32,), m1_hidden=(32,), latent_dim=4, m1_latent_dim=8,
            epochs=1, m1_epochs=1, batch_size=200)


@pytest.fixture
def tiny_config() -> Config:
    return Config(**TINY)
