"""Hand-written PyTorch equivalents of the CNN strings in test_cnn_equivalence.py.

Each module is written out layer by layer, the way someone would build the
network by hand from the paper's rules, with submodules named like the
compiler's so the state dicts line up.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def pad_to(x: Tensor, height: int, width: int) -> Tensor:
    """Zero-pad (B, C, h, w) at the bottom and right to (B, C, height, width)."""
    return F.pad(x, (0, width - x.shape[3], 0, height - x.shape[2]))


def join(*xs: Tensor) -> Tensor:
    """The paper's rule: pad every input to the largest H and W, concatenate on channels."""
    height, width = max(x.shape[2] for x in xs), max(x.shape[3] for x in xs)
    return torch.cat([pad_to(x, height, width) for x in xs], dim=1)


class ConvBnRelu(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int], stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, (kernel[0] // 2, kernel[1] // 2),
                              bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class Net(nn.Module):
    """Base: subclasses register `layerK_conv` / `layerK_bn` / pools and a `head_fc`."""

    def conv(self, k: int, c_in: int, c_out: int, kernel: tuple[int, int], stride: int = 1
             ) -> None:
        block = ConvBnRelu(c_in, c_out, kernel, stride)
        self.add_module(f"layer{k}_conv", block.conv)
        self.add_module(f"layer{k}_bn", block.bn)

    def run(self, k: int, x: Tensor) -> Tensor:
        conv, bn = getattr(self, f"layer{k}_conv"), getattr(self, f"layer{k}_bn")
        return F.relu(bn(conv(x)))

    def head(self, *xs: Tensor) -> Tensor:
        return self.head_fc(join(*xs).mean((2, 3)))


class StridePad(Net):
    """conv 3x3 24; conv 5x5 36 stride 2; conv 3x3 48 from 1,2"""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.conv(1, c, 24, (3, 3))
        self.conv(2, c, 36, (5, 5), 2)
        self.conv(3, 60, 48, (3, 3))
        self.head_fc = nn.Linear(48, k)

    def forward(self, x: Tensor) -> Tensor:
        a = self.run(1, x)
        b = self.run(2, x)  # no `from`: reads the image
        return self.head(self.run(3, join(a, b)))


class DeepSkip(Net):
    """examples/deep_skip.arch"""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.conv(1, c, 24, (3, 3))
        self.conv(2, c, 36, (5, 5), 2)
        self.conv(3, 60, 48, (3, 3))
        self.layer4_avgpool = nn.AvgPool2d(3, 2, 1)
        self.conv(5, 48, 64, (1, 1))
        self.layer6_maxpool = nn.MaxPool2d(3, 1, 1)
        self.head_fc = nn.Linear(48 + 64 + 36, k)

    def forward(self, x: Tensor) -> Tensor:
        l1 = self.run(1, x)
        l2 = self.run(2, x)
        l3 = self.run(3, join(l1, l2))
        l4 = self.layer4_avgpool(l3)
        l5 = self.run(5, l3)
        l6 = self.layer6_maxpool(l2)
        return self.head(l4, l5, l6)


class Asymmetric(Net):
    """conv 1x7 24; conv 7x1 36 from 1; conv 1x1 48 from 1,2"""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.conv(1, c, 24, (1, 7))
        self.conv(2, 24, 36, (7, 1))
        self.conv(3, 60, 48, (1, 1))
        self.head_fc = nn.Linear(48, k)

    def forward(self, x: Tensor) -> Tensor:
        l1 = self.run(1, x)
        l2 = self.run(2, l1)
        return self.head(self.run(3, torch.cat([l1, l2], dim=1)))


class UnconnectedHead(Net):
    """conv 3x3 24 stride 3; maxpool 3x3 stride 2 from 1; conv 5x5 36; avgpool 5x5 stride 3 from 3"""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.conv(1, c, 24, (3, 3), 3)
        self.layer2_maxpool = nn.MaxPool2d(3, 2, 1)
        self.conv(3, c, 36, (5, 5))
        self.layer4_avgpool = nn.AvgPool2d(5, 3, 2)
        self.head_fc = nn.Linear(24 + 36, k)

    def forward(self, x: Tensor) -> Tensor:
        l2 = self.layer2_maxpool(self.run(1, x))
        l4 = self.layer4_avgpool(self.run(3, x))
        return self.head(l2, l4)  # layers 2 and 4: read by no later layer


class PoolFirst(Net):
    """maxpool 3x3 stride 2; conv 3x3 24 from 1; avgpool 1x1 from 2; conv 3x5 36 stride 2 from 1,3"""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.layer1_maxpool = nn.MaxPool2d(3, 2, 1)
        self.conv(2, c, 24, (3, 3))
        self.layer3_avgpool = nn.AvgPool2d(1, 1, 0)
        self.conv(4, c + 24, 36, (3, 5), 2)
        self.head_fc = nn.Linear(36, k)

    def forward(self, x: Tensor) -> Tensor:
        l1 = self.layer1_maxpool(x)  # channels pass through
        l3 = self.layer3_avgpool(self.run(2, l1))
        return self.head(self.run(4, torch.cat([l1, l3], dim=1)))


class Paper(Net):
    """examples/paper_cnn.arch"""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.conv(1, c, 36, (3, 3))
        self.conv(2, 36, 48, (3, 5))
        self.conv(3, 84, 36, (5, 5), 2)
        self.layer4_maxpool = nn.MaxPool2d(3, 2, 1)
        self.head_fc = nn.Linear(36, k)

    def forward(self, x: Tensor) -> Tensor:
        l1 = self.run(1, x)
        l2 = self.run(2, l1)
        return self.head(self.layer4_maxpool(self.run(3, torch.cat([l1, l2], dim=1))))


class EvenKernel(Net):
    """conv 2x2 24; conv 3x3 24 stride 2 from 1; conv 1x1 36 from 1,2; maxpool 2x2 stride 2 from 1

    Even kernels (a custom grammar could allow them): padding KH//2 = 1 grows
    the output by one row and column.
    """

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.conv(1, c, 24, (2, 2))
        self.conv(2, 24, 24, (3, 3), 2)
        self.conv(3, 48, 36, (1, 1))
        self.layer4_maxpool = nn.MaxPool2d(2, 2, 1)
        self.head_fc = nn.Linear(36 + 24, k)

    def forward(self, x: Tensor) -> Tensor:
        l1 = self.run(1, x)
        l2 = self.run(2, l1)
        l3 = self.run(3, join(l1, l2))
        return self.head(l3, self.layer4_maxpool(l1))
