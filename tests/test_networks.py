"""The networks' layout choices change speed, never numbers."""

import copy

import torch

from ssvae.models.networks import ConvNet


def test_conv_classifier_runs_channels_last_with_the_numbers_of_the_plain_layout():
    torch.manual_seed(0)
    net = ConvNet((1, 12, 12), (4, 8), 3).double()
    plain = copy.deepcopy(net)
    plain.use_layout(torch.contiguous_format)
    assert net.features[4].weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.features[4].weight.is_contiguous(memory_format=torch.channels_last)
    a = torch.rand(5, 144, dtype=torch.float64)
    layouts = []
    for network in (net, plain):
        network.features[4].register_forward_hook(
            lambda _, __, out: layouts.append(out.is_contiguous(memory_format=torch.channels_last)))

    logits = net(a)
    expected = plain(a)
    torch.testing.assert_close(logits, expected, rtol=1e-12, atol=1e-12)
    assert layouts == [True, False]  # the second block's activations

    logits.square().sum().backward()
    expected.square().sum().backward()
    for (name, p), q in zip(net.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12, msg=name)
