"""The ENAS macro example space against a network written here from the ENAS paper
(Pham et al. 2018, macro search space): each layer applies its branch to the previous
layer, adds the layers its skip list names, then batch norm; after layers 4 and 8 every
layer so far is halved by a factorized reduction."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

import nasc

from .compare import assert_same_network
from .references import FactorizedReduce

SPACE = str(Path(__file__).parents[2] / "examples" / "spaces" / "enas_macro.lark")
C = 36


def _cbr(c_in: int, k: int, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, C, k, 1, k // 2, groups=groups, bias=False), nn.BatchNorm2d(C),
            nn.ReLU()]


def branch(op: str) -> nn.Module:
    """ENAS's branches: a 1x1 conv-BN-ReLU, then the op."""
    layers = _cbr(C, 1)
    if op.startswith("conv"):
        layers += _cbr(C, int(op[-1]))
    elif op.startswith("sep"):
        k = int(op[-1])
        layers += [nn.Conv2d(C, C, k, 1, k // 2, groups=C, bias=False), *_cbr(C, 1)]
    else:
        pool = nn.MaxPool2d if op == "maxpool" else nn.AvgPool2d
        layers.append(pool(3, 1, 1))
    return nn.Sequential(*layers)


class Reference(nn.Module):
    def __init__(self, layers: list[tuple[str, list[int]]]) -> None:
        super().__init__()
        self.plan = layers
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, 1, 1, bias=False), nn.BatchNorm2d(C))
        self.blocks = nn.ModuleList()
        for k, (op, _) in enumerate(layers, start=1):
            reduce = nn.ModuleList(FactorizedReduce(C, C) for _ in range(k)) \
                if k in (4, 8) else nn.ModuleList()
            self.blocks.append(nn.ModuleDict({"branch": branch(op), "bn": nn.BatchNorm2d(C),
                                              "reduce": reduce}))
        self.fc = nn.Linear(C, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        outputs: list[torch.Tensor] = []
        for (_, skips), block in zip(self.plan, self.blocks, strict=True):
            out = block["branch"](x)
            for i in skips:
                out = out + outputs[i - 1]
            outputs.append(block["bn"](out))
            if len(block["reduce"]):
                outputs = [r(o) for r, o in zip(block["reduce"], outputs, strict=True)]
            x = outputs[-1]
        return self.fc(x.mean((2, 3)))


def test_enas_macro_matches_the_reference():
    text = Path(SPACE).with_suffix(".arch").read_text()
    plan = []
    for layer in text.strip().split(";"):
        op, _, skips = layer.strip().partition(" from ")
        plan.append((op, [int(i) for i in skips.split(",")] if skips else []))
    torch.manual_seed(0)
    compiled, ref = nasc.compile(text, space=SPACE), Reference(plan)
    assert_same_network(compiled, ref)
