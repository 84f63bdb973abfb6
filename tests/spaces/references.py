"""Hand-written PyTorch references for NAS-Bench-201 and DARTS, from the papers' definitions.

Written independently of nasc's compiler, from NAS-Bench-201 (Dong & Yang, ICLR 2020) and
DARTS (Liu, Simonyan & Yang, ICLR 2019), so that the compiled example spaces
(``examples/spaces/nb201.lark``, ``examples/spaces/darts.lark``) can be checked against them:
equal parameter counts, equal output shapes and, after :func:`copy_by_order`, equal outputs.

Registration order
------------------
Every module registers its parameters and buffers in the order its forward pass runs them,
so two networks that register in execution order pair up tensor by tensor. A BatchNorm2d
holds ``weight, bias`` (parameters) and ``running_mean, running_var, num_batches_tracked``
(buffers); a Conv2d has ``weight`` only (no bias anywhere except the final Linear).

NB201Network (``stem``, ``cells``, ``lastact``, ``classifier``):

- ``stem``: conv3x3 (3 -> C, padding 1, no bias), BN(C).
- ``cells``: 3N + 2 entries: N cells at C, a residual block C -> 2C, N cells at 2C,
  a residual block 2C -> 4C, N cells at 4C.
- a cell's ``edges`` in the order they appear in the string (node 1's edges, then node 2's,
  then node 3's; within a node, left to right). ``nor_conv_kxk`` = conv(k, padding k//2,
  no bias), BN; ``none``, ``skip_connect`` and ``avg_pool_3x3`` have no tensors.
  Node j = sum of its edges in string order, ``((e0 + e1) + e2)``; the cell returns the
  last node.
- residual block: ``conv_a`` (ReLU, conv3x3 stride 2, BN), ``conv_b`` (ReLU, conv3x3, BN),
  then ``shortcut`` (avgpool 2x2 stride 2, conv1x1 no bias); output = branch + shortcut.
- ``lastact``: BN(4C), ReLU; global average pooling; ``classifier``: Linear(4C, classes).

DARTSNetwork (``stem``, ``cells``, ``classifier``):

- ``stem``: conv3x3 (3 -> 3C, padding 1, no bias), BN(3C).
- per cell: ``preprocess0`` (ReLU, conv1x1, BN; or FactorizedReduce after a reduction
  cell), ``preprocess1`` (ReLU, conv1x1, BN), then ``ops`` in the genotype's order (node 0's
  two ops, node 1's two, ...). Node = op_a(state_a) + op_b(state_b); output = channel
  concatenation of the ``*_concat`` states in the listed order.
- sep_conv_kxk: ``dw1, pw1, bn1, dw2, pw2, bn2``; dil_conv_kxk: ``dw, pw, bn``;
  FactorizedReduce (also skip_connect at stride 2): ``conv1, conv2, bn``; pools, identity and
  zero hold nothing.
- global average pooling; ``classifier``: Linear(cell channels, classes). No auxiliary head,
  no drop-path.

FactorizedReduce pads the input by one zero row and column at the bottom/right before the
one-pixel shift, so an odd H gives ceil(H / 2) on both branches (like a padded stride-2
3x3 conv or pool); for even H this is exactly DARTS's ``conv2(x[:, :, 1:, 1:])``.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections import namedtuple
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=[2, 3, 4, 5])"
)


# ---------------------------------------------------------------------------- shared ops


class Zero(nn.Module):
    """The ``none`` op: zeros shaped like the input, subsampled by ``stride``."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stride
        return torch.zeros_like(x[:, :, ::s, ::s])  # (B, C, ceil(H/s), ceil(W/s))


class ReLUConvBN(nn.Module):
    """ReLU, conv (no bias), BN: NB201's ``nor_conv`` and DARTS's 1x1 preprocessing."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(F.relu(x)))  # (B, C_out, H/stride, W/stride)


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters (buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


def _sum(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """Left-to-right sum ``((t0 + t1) + t2)``, with no leading ``0 +``."""
    it = iter(tensors)
    total = next(it)
    for t in it:
        total = total + t
    return total


# ---------------------------------------------------------------------------- NAS-Bench-201

_NB201_CONV = re.compile(r"nor_conv_(\d+)x\1")
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def parse_nb201(arch: str) -> list[list[tuple[str, int]]]:
    """Read a NAS-Bench-201 cell string into, per node 1..n, its ``(op, source)`` edges.

    ``|a~0|+|b~0|c~1|`` -> ``[[('a', 0)], [('b', 0), ('c', 1)]]``; sources must be earlier nodes.
    """
    nodes = []
    for j, part in enumerate(arch.strip().split("+"), start=1):
        if len(part) < 2 or part[0] != "|" or part[-1] != "|":
            raise ValueError(f"node {j} of {arch!r}: expected '|op~i|...|', got {part!r}")
        edges = []
        for token in part[1:-1].split("|"):
            op, sep, src = token.partition("~")
            if not sep or not src.isdigit() or int(src) >= j:
                raise ValueError(f"node {j} of {arch!r}: bad edge {token!r} (need op~i, i < {j})")
            if op not in NB201_OPS and not _NB201_CONV.fullmatch(op):
                raise ValueError(f"node {j} of {arch!r}: unknown op {op!r}")
            edges.append((op, int(src)))
        nodes.append(edges)
    return nodes


def all_nb201_archs(ops: Sequence[str] = NB201_OPS) -> list[str]:
    """Every 4-node NB201 cell string over ``ops`` (5 ops: 5^6 = 15,625), edge 1<-0 slowest."""
    archs = []
    for a, b, c, d, e, f in itertools.product(ops, repeat=6):
        archs.append(f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|")
    return archs


def nb201_op(name: str, C: int) -> nn.Module:
    """One NB201 edge op at C channels, stride 1."""
    conv = _NB201_CONV.fullmatch(name)
    if conv:
        return ReLUConvBN(C, C, int(conv.group(1)))
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity()
    if name == "none":
        return Zero()
    raise ValueError(f"unknown NB201 op {name!r}")


class NB201Cell(nn.Module):
    """A NAS-Bench-201 cell: node 0 is the input, node j = sum of its edges, output = last."""

    def __init__(self, nodes: Sequence[Sequence[tuple[str, int]]], C: int) -> None:
        super().__init__()
        self.sources = [[src for _, src in edges] for edges in nodes]
        self.edges = nn.ModuleList(nb201_op(op, C) for edges in nodes for op, _ in edges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = [x]  # each (B, C, H, W)
        ops = iter(self.edges)
        for sources in self.sources:
            states.append(_sum(next(ops)(states[i]) for i in sources))
        return states[-1]


class ResidualBlock(nn.Module):
    """NB201's stage transition: ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, + avgpool2x2/2-conv1x1."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.conv_b(self.conv_a(x))  # (B, C_out, H/2, W/2)
        return branch + self.shortcut(x)


class NB201Network(nn.Module):
    """The NAS-Bench-201 CIFAR network for one cell string (``N`` cells per stage)."""

    def __init__(self, arch: str, num_classes: int = 10, C: int = 16, N: int = 5) -> None:
        super().__init__()
        nodes = parse_nb201(arch)
        self.arch = arch
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage:
                cells.append(ResidualBlock(width // 2, width))
            cells.extend(NB201Cell(nodes, width) for _ in range(N))
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU())
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, C, H, W)
        for cell in self.cells:
            x = cell(x)  # (B, 4C, H/4, W/4) after the last stage
        x = self.lastact(x)
        x = x.mean(dim=(2, 3))  # (B, 4C)
        return self.classifier(x)  # (B, classes)


# ---------------------------------------------------------------------------- DARTS

_SEP = re.compile(r"sep_conv_(\d+)x\1")
_DIL = re.compile(r"dil_conv_(\d+)x\1")
_FIELDS = Genotype._fields


def _literal(node: ast.expr) -> object:
    """A literal, or ``range(a, b)`` (as later DARTS code prints concat lists) as a list."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        if node.keywords:
            raise ValueError("range() takes positional arguments only")
        return list(range(*(int(ast.literal_eval(a)) for a in node.args)))
    return ast.literal_eval(node)


def _edges(name: str, value: object) -> list[tuple[str, int]]:
    """Check a genotype op list: pairs ``(op name, state index)``, an even number of them."""
    ok = isinstance(value, list | tuple) and len(value) % 2 == 0 and all(
        isinstance(e, list | tuple) and len(e) == 2 and isinstance(e[0], str)
        and isinstance(e[1], int) for e in value
    )
    if not ok:
        raise ValueError(f"{name}: expected an even-length list of (op, index) pairs")
    return [(op, idx) for op, idx in value]


def _concat(name: str, value: object) -> list[int]:
    """Check a concat list: state indices."""
    if not isinstance(value, list | tuple) or not all(isinstance(i, int) for i in value):
        raise ValueError(f"{name}: expected a list of state indices")
    return list(value)


def parse_genotype(text: str) -> Genotype:
    """Read a published ``Genotype(normal=[...], normal_concat=[...], ...)`` without ``eval``."""
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"not a Genotype(...) expression: {exc.msg}") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "Genotype"):
        raise ValueError("expected Genotype(normal=..., normal_concat=..., reduce=..., ...)")
    values = dict(zip(_FIELDS, (_literal(a) for a in call.args), strict=False))
    for kw in call.keywords:
        if kw.arg not in _FIELDS:
            raise ValueError(f"unknown Genotype field {kw.arg!r}")
        values[kw.arg] = _literal(kw.value)
    missing = [f for f in _FIELDS if f not in values]
    if missing:
        raise ValueError(f"Genotype is missing {', '.join(missing)}")
    return Genotype(
        normal=_edges("normal", values["normal"]),
        normal_concat=_concat("normal_concat", values["normal_concat"]),
        reduce=_edges("reduce", values["reduce"]),
        reduce_concat=_concat("reduce_concat", values["reduce_concat"]),
    )


class SepConv(nn.Module):
    """DARTS sep_conv: (ReLU, dw k/stride, pw, BN), then (ReLU, dw k, pw, BN)."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int) -> None:
        super().__init__()
        pad = k // 2
        self.dw1 = nn.Conv2d(c_in, c_in, k, stride, pad, groups=c_in, bias=False)
        self.pw1 = nn.Conv2d(c_in, c_in, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.dw2 = nn.Conv2d(c_in, c_in, k, 1, pad, groups=c_in, bias=False)
        self.pw2 = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn1(self.pw1(self.dw1(F.relu(x))))  # (B, C_in, H/stride, W/stride)
        return self.bn2(self.pw2(self.dw2(F.relu(x))))  # (B, C_out, H/stride, W/stride)


class DilConv(nn.Module):
    """DARTS dil_conv: ReLU, dw k/stride with dilation 2 (padding k-1), pw, BN."""

    def __init__(self, c_in: int, c_out: int, k: int, stride: int, dilation: int = 2) -> None:
        super().__init__()
        pad = dilation * (k - 1) // 2  # 3x3 -> 2, 5x5 -> 4, as published
        self.dw = nn.Conv2d(c_in, c_in, k, stride, pad, dilation, groups=c_in, bias=False)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.pw(self.dw(F.relu(x))))  # (B, C_out, H/stride, W/stride)


class FactorizedReduce(nn.Module):
    """ReLU, two 1x1 stride-2 convs to C_out/2 (the second shifted one pixel), concat, BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even C_out, got {c_out}")
        self.conv1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)  # (B, C_in, H, W)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # (B, C_in, H, W), moved up-left
        y = torch.cat([self.conv1(x), self.conv2(shifted)], dim=1)  # (B, C_out, ceil(H/2), ceil(W/2))
        return self.bn(y)


def darts_op(name: str, C: int, stride: int) -> nn.Module:
    """One DARTS op at C channels (C in, C out), stride 1 or 2."""
    sep, dil = _SEP.fullmatch(name), _DIL.fullmatch(name)
    if sep:
        return SepConv(C, C, int(sep.group(1)), stride)
    if dil:
        return DilConv(C, C, int(dil.group(1)), stride)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(C, C)
    if name == "none":
        return Zero(stride)
    raise ValueError(f"unknown DARTS op {name!r}")


class DARTSCell(nn.Module):
    """A DARTS cell: states [s0, s1, node0, ...]; node = sum of two ops; output = concat."""

    def __init__(self, genotype: Genotype, c_pp: int, c_p: int, C: int,
                 reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        edges = genotype.reduce if reduction else genotype.normal
        self.concat = list(genotype.reduce_concat if reduction else genotype.normal_concat)
        self.indices = [idx for _, idx in edges]
        steps = len(edges) // 2
        for k, idx in enumerate(self.indices):
            if not 0 <= idx < 2 + k // 2:
                raise ValueError(f"op {k} reads state {idx}: node {k // 2} sees states 0..{1 + k // 2}")
        if not self.concat or any(not 0 <= i < 2 + steps for i in self.concat):
            raise ValueError(f"concat {self.concat} must name states 0..{1 + steps}")
        self.preprocess0 = FactorizedReduce(c_pp, C) if reduction_prev else ReLUConvBN(c_pp, C, 1)
        self.preprocess1 = ReLUConvBN(c_p, C, 1)
        self.ops = nn.ModuleList(
            darts_op(op, C, 2 if reduction and idx < 2 else 1) for op, idx in edges
        )
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]  # each (B, C, H, W)
        for k in range(0, len(self.ops), 2):
            a = self.ops[k](states[self.indices[k]])  # (B, C, H', W')
            b = self.ops[k + 1](states[self.indices[k + 1]])
            states.append(a + b)
        return torch.cat([states[i] for i in self.concat], dim=1)  # (B, len(concat) C, H', W')


class DARTSNetwork(nn.Module):
    """The DARTS CIFAR-10 evaluation network (no auxiliary head, no drop-path)."""

    def __init__(self, genotype: Genotype, C: int = 36, num_classes: int = 10,
                 layers: int = 20, stem_multiplier: int = 3) -> None:
        super().__init__()
        c_stem = stem_multiplier * C
        self.stem = nn.Sequential(
            nn.Conv2d(3, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem)
        )
        c_pp, c_p, c_cur = c_stem, c_stem, C
        cells, reduction_prev = [], False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            c_cur = 2 * c_cur if reduction else c_cur
            cell = DARTSCell(genotype, c_pp, c_p, c_cur, reduction, reduction_prev)
            cells.append(cell)
            c_pp, c_p, reduction_prev = c_p, cell.multiplier * c_cur, reduction
        self.cells = nn.ModuleList(cells)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)  # (B, 3C, H, W)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)  # (B, len(concat) C_cell, H_cell, W_cell)
        return self.classifier(s1.mean(dim=(2, 3)))  # (B, classes)


# ---------------------------------------------------------------------------- weight copy


def _pair_check(kind: str, src: list, dst: list) -> None:
    """Raise an AssertionError naming the first pair whose shapes differ, or the first extra."""
    for i, ((ns, ts), (nd, td)) in enumerate(zip(src, dst, strict=False)):
        if ts.shape != td.shape:
            raise AssertionError(
                f"{kind} #{i}: source {ns} {tuple(ts.shape)} != destination {nd} {tuple(td.shape)}"
            )
    if len(src) != len(dst):
        i = min(len(src), len(dst))
        side, (name, t) = ("source", src[i]) if len(src) > len(dst) else ("destination", dst[i])
        raise AssertionError(
            f"{kind} #{i}: {side} {name} {tuple(t.shape)} has no counterpart "
            f"(source has {len(src)} {kind}, destination {len(dst)})"
        )


def copy_by_order(src: nn.Module, dst: nn.Module) -> int:
    """Copy parameters, then buffers, from ``src`` to ``dst`` pairing them by registration order.

    Every pair is checked before anything is copied; returns the number of tensors copied.
    """
    params = list(src.named_parameters()), list(dst.named_parameters())
    buffers = list(src.named_buffers()), list(dst.named_buffers())
    _pair_check("parameters", *params)
    _pair_check("buffers", *buffers)
    with torch.no_grad():
        for pairs in (params, buffers):
            for (_, ts), (_, td) in zip(*pairs, strict=True):
                td.copy_(ts)
    return len(params[0]) + len(buffers[0])
