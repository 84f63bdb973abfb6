"""The example spaces compile into the published networks: NAS-Bench-201 and DARTS.

Each compiled network is checked against the hand-written reference in
`references.py` (written from the papers, not from nasc's code): equal
parameter counts, equal output shapes, and equal outputs once the reference's
weights and BatchNorm statistics are copied across by registration order.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

import nasc
from nasc.api import summarize_arch

from .compare import assert_same_network
from .references import (
    DARTS_V2_TEXT,
    DARTSNetwork,
    NB201Network,
    all_nb201_archs,
    count_parameters,
    parse_genotype,
)

SPACES = Path(__file__).parents[2] / "examples" / "spaces"
NB201 = str(SPACES / "nb201.lark")
DARTS = str(SPACES / "darts.lark")

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
MIXED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
MIXED_1X1 = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|"


@pytest.mark.parametrize("arch", [ALL_CONV, ALL_NONE, MIXED, MIXED_1X1])
def test_nb201_matches_the_reference(arch):
    torch.manual_seed(0)
    assert_same_network(nasc.compile(arch, space=NB201), NB201Network(arch))


@pytest.mark.parametrize("arch, params", [(ALL_CONV, 1_531_546), (ALL_NONE, 73_306)])
def test_nb201_published_sizes(arch, params):
    assert summarize_arch(arch, space=NB201).params == params


def test_nb201_counts_of_a_few_hundred_cells_match_the_reference():
    """Counts come from the IR alone (no weights); the reference builds its weights."""
    archs = random.Random(0).sample(all_nb201_archs(), 120)
    for arch in archs:
        assert summarize_arch(arch, space=NB201).params == count_parameters(
            NB201Network(arch)), arch


def test_darts_v2_matches_the_reference():
    torch.manual_seed(0)
    compiled = nasc.compile(DARTS_V2_TEXT, space=DARTS)
    assert compiled.nasc.params == 3_349_342
    assert_same_network(compiled, DARTSNetwork(parse_genotype(DARTS_V2_TEXT)))


def test_darts_every_op_matches_the_reference(tmp_path):
    """A genotype using all eight ops, in both cells (strided ops in the reduce cell)."""
    ops = ["none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
           "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
    normal = [(ops[i], src) for i, src in enumerate([0, 1, 2, 0, 3, 1, 4, 2])]
    reduce = [(ops[(i + 3) % 8], src) for i, src in enumerate([1, 0, 0, 2, 1, 3, 0, 4])]
    text = (f"Genotype(normal={normal}, normal_concat=[2, 3, 4, 5], reduce={reduce}, "
            f"reduce_concat=range(2, 6))")
    torch.manual_seed(0)
    reference = DARTSNetwork(parse_genotype(text), C=8, layers=5)
    compiled = _small_darts(tmp_path, text, channels=8, cells=5)
    assert_same_network(compiled, reference)


def _small_darts(tmp_path: Path, text: str, channels: int, cells: int) -> torch.nn.Module:
    """The DARTS space with a smaller network, written as a user would: a copy of the file."""
    source = Path(DARTS).read_text()
    source = source.replace("filters = 108", f"filters = {3 * channels}")
    source = source.replace("stack = 20", f"stack = {cells}").replace(
        "channels = 36, reductions = [6, 13]",
        f"channels = {channels}, reductions = [{cells // 3}, {2 * cells // 3}]")
    path = tmp_path / "darts_small.lark"
    path.write_text(source)
    return nasc.compile(text, space=str(path))


def test_darts_cell_that_never_reads_its_first_input(tmp_path):
    """The published network computes preprocess0 even when no op reads it: same weights,
    same outputs (the IR keeps the value with a `discard` sink)."""
    normal = [("sep_conv_3x3", 1), ("skip_connect", 1)] + [("max_pool_3x3", 2)] * 2 + \
        [("dil_conv_3x3", 3), ("none", 2), ("avg_pool_3x3", 4), ("sep_conv_5x5", 1)]
    text = (f"Genotype(normal={normal}, normal_concat=[2, 3, 4, 5], reduce={normal}, "
            f"reduce_concat=[2, 3, 4, 5])")
    torch.manual_seed(0)
    compiled = _small_darts(tmp_path, text, channels=8, cells=4)
    assert compiled.nasc.ir.find("discard")
    assert_same_network(compiled, DARTSNetwork(parse_genotype(text), C=8, layers=4))
