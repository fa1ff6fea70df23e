"""The benchmarks' arithmetic: the FLOP formula that bench_train's "share of matmul rate" rests on."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from ssvae.models import M2
from ssvae.models.networks import mlp
from ssvae.objectives import LossWeights
from tools.bench_train import step_flops


@pytest.mark.parametrize("d, h, c, z, k, b_l, b_u", [(16, 5, 4, 2, 3, 4, 6), (784, 500, 500, 4, 10, 100, 100)])
def test_step_flop_formula_equals_torch_flop_counter(d, h, c, z, k, b_l, b_u):
    model = M2(input_dim=d, n_classes=k, latent_dim=z, hidden=(h,), classifier=mlp((d, c, k)),
               likelihood="bernoulli", vat_epsilon=1.0)
    x_l, y_l, x_u = torch.rand(b_l, d), torch.arange(b_l) % k, torch.rand(b_u, d)
    with FlopCounterMode(display=False) as counter:
        model.loss(x_l, y_l, x_u, LossWeights(1.0, 2.0))["loss"].backward()
    assert counter.get_total_flops() == step_flops(d, h, c, z, k, b_l, b_u)
