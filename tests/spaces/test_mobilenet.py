"""The MobileNet-style example space against a hand-written MobileNetV2 / MnasNet network.

The reference is written here from the papers (Sandler et al. 2018: inverted residual
with linear bottleneck; Tan et al. 2019: squeeze-and-excitation inside the block), not
from nasc's code. Modules register in forward order, so weights copy across by order.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nasc

from .compare import assert_same_network

SPACE = str(Path(__file__).parents[2] / "examples" / "spaces" / "mobilenet.lark")
STAGES = [(16, 1), (24, 1), (32, 2), (64, 2), (96, 1), (160, 2), (320, 1)]  # (channels, stride)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.reduce, self.expand = nn.Linear(channels, reduced), nn.Linear(reduced, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.expand(F.relu(self.reduce(x.mean((2, 3))))))  # (B, C)
        return x * s[:, :, None, None]


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, expansion: int, kernel: int, stride: int,
                 se: bool) -> None:
        super().__init__()
        hidden = c_in * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden,
                             bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        if se:
            layers.append(SqueezeExcite(hidden, max(1, int(c_in * 0.25))))
        layers += [nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


def reference(stages: list[tuple[int, int, int, bool]], classes: int = 10) -> nn.Module:
    """stages: (expansion, kernel, repeats, se) per stage."""
    layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32),
                               nn.ReLU()]
    c_in = 32
    for (expansion, kernel, repeats, se), (c_out, stride) in zip(stages, STAGES, strict=True):
        for r in range(repeats):
            layers.append(InvertedResidual(c_in, c_out, expansion, kernel,
                                           stride if r == 0 else 1, se))
            c_in = c_out
    layers += [nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, classes)]
    return nn.Sequential(*layers)


def _text(stages: list[tuple[int, int, int, bool]]) -> str:
    return "; ".join(f"e{e} k{k} x{r}" + (" se" if se else "") for e, k, r, se in stages)


MOBILENET_V2 = [(1, 3, 1, False), (6, 3, 2, False), (6, 3, 3, False), (6, 3, 4, False),
                (6, 3, 3, False), (6, 3, 3, False), (6, 3, 1, False)]
MIXED = [(1, 5, 1, True), (3, 3, 2, False), (6, 7, 1, True), (3, 5, 2, False),
         (1, 3, 1, True), (6, 5, 1, False), (3, 7, 1, True)]


def test_mobilenet_v2_has_its_cifar_size():
    assert nasc.compile(_text(MOBILENET_V2), space=SPACE).nasc.params == 2_236_682


@pytest.mark.parametrize("stages", [MOBILENET_V2, MIXED], ids=["v2", "mixed-se"])
def test_compiled_equals_the_reference(stages):
    torch.manual_seed(0)
    compiled, ref = nasc.compile(_text(stages), space=SPACE), reference(stages)
    assert_same_network(compiled, ref)
