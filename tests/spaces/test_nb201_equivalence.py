"""NAS-Bench-201 under nasc's one canonical form (issue 12, item 4): the 15,625 cells fall
into 6,585 classes (NAS-Bench-201's own analysis: 6,466; docs/compiler.md, "Canonical
form", says where the two differ). The cells are enumerated here, not read from ../shared.
"""

from __future__ import annotations

from nasc.api import arch_hash
from nasc.grammar import load_space

from .references import all_nb201_archs
from .test_compiled_spaces import NB201


def test_the_15625_cells_fall_into_6585_classes():
    space = load_space(NB201)
    archs = all_nb201_archs()
    assert len(archs) == 15_625
    assert len({arch_hash(arch, space) for arch in archs}) == 6_585


def test_classes_are_functional_equivalences():
    """Spot checks, each worked out by hand: dead nodes, zero edges, skip connections."""
    space = load_space(NB201)
    same = [
        # node 3 reads only node 0: what nodes 1 and 2 compute is dead
        ("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|none~2|",
         "|none~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|"),
        # conv(conv(x)) through node 1 or through node 2
        ("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|",
         "|none~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"),
        # avg(n1) = avg(x) when n1 = skip(x)
        ("|skip_connect~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~1|avg_pool_3x3~2|",
         "|skip_connect~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|avg_pool_3x3~2|"),
    ]
    for a, b in same:
        assert arch_hash(a, space) == arch_hash(b, space), (a, b)
    different = [
        # a batchnorm of zeros is its shift, a weight: not the same as no edge
        ("|none~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|skip_connect~2|",
         "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|skip_connect~2|"),
        # skip + conv of the same node is not conv twice
        ("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|",
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|"),
    ]
    for a, b in different:
        assert arch_hash(a, space) != arch_hash(b, space), (a, b)
