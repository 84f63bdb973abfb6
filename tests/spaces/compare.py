"""One check for every example space: the compiled network is its hand-written reference."""

from __future__ import annotations

import torch

from .references import copy_by_order, count_parameters


def _randomize_bn(module: torch.nn.Module, seed: int) -> None:
    """Non-trivial running statistics, so that a mis-paired BatchNorm shows in the outputs."""
    generator = torch.Generator().manual_seed(seed)
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.running_mean.copy_(torch.randn(layer.num_features, generator=generator))
            layer.running_var.copy_(torch.rand(layer.num_features, generator=generator) + 0.5)


def assert_same_network(compiled: torch.nn.Module, reference: torch.nn.Module,
                        classes: int = 10) -> None:
    """Equal parameter counts (the compiler's, counted without weights, too), and equal
    outputs in eval mode once the reference's weights and statistics are copied across."""
    assert count_parameters(compiled) == count_parameters(reference)
    assert compiled.nasc.params == count_parameters(reference)
    _randomize_bn(reference, 1)
    copy_by_order(reference, compiled)
    compiled.eval()
    reference.eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = reference(x), compiled(x)
    assert got.shape == expected.shape == (2, classes)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
