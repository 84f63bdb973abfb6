"""The hand-written NB201 and DARTS references: published sizes, shapes, order, weight copy."""

import pytest
import torch
from torch import nn

from .references import (
    DARTS_V2_TEXT,
    DARTSNetwork,
    FactorizedReduce,
    Genotype,
    NB201Cell,
    NB201Network,
    all_nb201_archs,
    copy_by_order,
    count_parameters,
    parse_genotype,
    parse_nb201,
)

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
MIXED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
MIXED_1X1 = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_1x1~2|"
DARTS_V2 = parse_genotype(DARTS_V2_TEXT)


def _run_eval(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Output in eval mode, without autograd."""
    net.eval()
    with torch.no_grad():
        return net(x)


# ---------------------------------------------------------------------------- NAS-Bench-201


# By hand, cells excluded: stem 3*16*9 + 2*16 = 464; residual blocks
# (16*32*9 + 64 + 32*32*9 + 64 + 16*32) = 14,464 and (32*64*9 + 128 + 64*64*9 + 128 + 32*64)
# = 57,600; last BN 128; linear 64*10 + 10 = 650: 73,306 (the published all-`none` size).
# One nor_conv_3x3 edge, over the 5 cells of each stage: 5 * ((9*16^2 + 32) + (9*32^2 + 64)
# + (9*64^2 + 128)) = 5 * 48,608 = 243,040; one nor_conv_1x1 edge: 5 * ((16^2 + 32)
# + (32^2 + 64) + (64^2 + 128)) = 5 * 5,600 = 28,000.
@pytest.mark.parametrize(
    ("arch", "expected"),
    [
        (ALL_CONV, 1_531_546),  # published: 73,306 + 6 * 243,040
        (ALL_NONE, 73_306),  # published
        (MIXED, 802_426),  # 73,306 + 3 * 243,040
        (MIXED_1X1, 372_346),  # 73,306 + 243,040 + 2 * 28,000
    ],
)
def test_nb201_parameter_counts(arch: str, expected: int) -> None:
    assert count_parameters(NB201Network(arch)) == expected


def test_nb201_parses_the_benchmark_string() -> None:
    assert parse_nb201(MIXED) == [
        [("nor_conv_3x3", 0)],
        [("nor_conv_3x3", 0), ("avg_pool_3x3", 1)],
        [("skip_connect", 0), ("nor_conv_3x3", 1), ("skip_connect", 2)],
    ]


def test_all_nb201_archs_enumerates_the_benchmark_space() -> None:
    archs = all_nb201_archs()
    assert len(set(archs)) == 15_625
    assert ALL_CONV in archs and ALL_NONE in archs and MIXED in archs
    assert all(len(parse_nb201(a)) == 3 for a in archs[::97])


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("|skip_connect~1|+|none~0|none~1|", r"bad edge 'skip_connect~1' \(need op~i, i < 1\)"),
        ("|conv~0|", r"unknown op 'conv'"),
        ("|skip_connect~0|+none~0|", r"node 2 .* expected '\|op~i\|...\|'"),
        ("|skip_connect0|", r"bad edge 'skip_connect0'"),
    ],
)
def test_nb201_rejects_malformed_strings(arch: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nb201(arch)


def test_nb201_cell_sums_edges_and_returns_the_last_node() -> None:
    x = torch.randn(2, 4, 5, 5)  # (B, C, H, W)
    # node1 = x, node2 = x + node1 = 2x, node3 = 0 + 0 + node2 = 2x
    doubling = NB201Cell(parse_nb201("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"), 4)
    assert torch.equal(doubling(x), 2 * x)
    zero = NB201Cell(parse_nb201(ALL_NONE), 4)
    assert torch.equal(zero(x), torch.zeros_like(x))


def test_nb201_average_pool_excludes_padding() -> None:
    cell = NB201Cell(parse_nb201("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"), 1)
    out = cell(torch.ones(1, 1, 4, 4))
    assert torch.equal(out, torch.ones(1, 1, 4, 4))  # corners average 4 ones, not 4/9


@pytest.mark.parametrize("arch", [ALL_CONV, ALL_NONE, MIXED])
def test_nb201_output_shape(arch: str) -> None:
    assert _run_eval(NB201Network(arch), torch.randn(2, 3, 32, 32)).shape == (2, 10)


# ---------------------------------------------------------------------------- DARTS


def test_darts_v2_parameter_count() -> None:
    assert count_parameters(DARTSNetwork(DARTS_V2, C=36)) == 3_349_342


def test_darts_v2_output_shape_and_cell_widths() -> None:
    net = DARTSNetwork(DARTS_V2, C=36)
    assert _run_eval(net, torch.randn(2, 3, 32, 32)).shape == (2, 10)
    widths = [cell.multiplier * cell.preprocess1.conv.out_channels for cell in net.cells]
    assert widths == [144] * 6 + [288] * 7 + [576] * 7
    assert net.classifier.in_features == 576


def test_parse_genotype_reads_the_published_text() -> None:
    assert DARTS_V2.normal[:2] == [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)]
    assert DARTS_V2.normal[-1] == ("dil_conv_3x3", 2)
    assert DARTS_V2.reduce[2] == ("skip_connect", 2)
    assert DARTS_V2.normal_concat == DARTS_V2.reduce_concat == [2, 3, 4, 5]
    ranged = parse_genotype(DARTS_V2_TEXT.replace("[2, 3, 4, 5]", "range(2, 6)"))
    assert ranged == DARTS_V2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Genotype(normal=__import__('os').getcwd(), normal_concat=[2], reduce=[], reduce_concat=[2])", "malformed"),
        ("Genotype(normal=[], normal_concat=[2])", "missing reduce, reduce_concat"),
        ("Genotype(normal=[('skip_connect', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])", "even-length"),
        ("Genotype(normal=[], normal_concat=[2], reduce=[], reduce_concat=[2], extra=1)", "unknown Genotype field 'extra'"),
        ("Genotype(normal=[], normal_concat=2, reduce=[], reduce_concat=[2])", "normal_concat: expected a list"),
        ("Genotype(normal=[", "not a Genotype"),
        ("Other(normal=[])", "expected Genotype"),
    ],
)
def test_parse_genotype_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_genotype(text)


def test_darts_cell_rejects_a_forward_reference() -> None:
    bad = Genotype([("skip_connect", 2), ("skip_connect", 0)], [2], DARTS_V2.reduce, [2, 3, 4, 5])
    with pytest.raises(ValueError, match=r"op 0 reads state 2: node 0 sees states 0..1"):
        DARTSNetwork(bad, C=4, layers=3)


@pytest.mark.parametrize(("size", "out"), [(8, 4), (7, 4), (1, 1)])
def test_factorized_reduce_halves_odd_and_even_inputs(size: int, out: int) -> None:
    fr = FactorizedReduce(6, 10)
    assert fr(torch.randn(2, 6, size, size)).shape == (2, 10, out, out)


def test_factorized_reduce_matches_the_unpadded_definition_on_even_inputs() -> None:
    fr = FactorizedReduce(3, 4).eval()
    x = torch.randn(2, 3, 6, 6)
    r = torch.relu(x)
    expected = fr.bn(torch.cat([fr.conv1(r), fr.conv2(r[:, :, 1:, 1:])], dim=1))
    with torch.no_grad():
        assert torch.equal(fr(x), expected)


def test_darts_reduction_cells_agree_on_odd_sizes() -> None:
    every_op = Genotype(
        normal=[("sep_conv_5x5", 0), ("dil_conv_5x5", 1), ("avg_pool_3x3", 0), ("none", 2)],
        normal_concat=[2, 3],
        reduce=[("skip_connect", 0), ("none", 1), ("dil_conv_3x3", 1), ("avg_pool_3x3", 2)],
        reduce_concat=[2, 3],
    )
    net = DARTSNetwork(every_op, C=4, layers=5)
    assert _run_eval(net, torch.randn(1, 3, 33, 33)).shape == (1, 10)  # 33 -> 17 -> 9


# ---------------------------------------------------------------------------- order and copy


def _leaf_order(net: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the modules holding tensors directly, in the order the forward pass calls them."""
    called: list[str] = []
    hooks = [
        m.register_forward_pre_hook(lambda _m, _a, name=name: called.append(name))
        for name, m in net.named_modules()
        if any(True for _ in m.parameters(recurse=False)) or any(True for _ in m.buffers(recurse=False))
    ]
    _run_eval(net, x)
    for h in hooks:
        h.remove()
    return called


def _registered_order(net: nn.Module) -> list[str]:
    """Owners of the parameters, then of the buffers, in registration order, deduplicated."""
    owners = [n.rpartition(".")[0] for n, _ in [*net.named_parameters(), *net.named_buffers()]]
    return list(dict.fromkeys(owners))


@pytest.mark.parametrize(
    "make",
    [lambda: NB201Network(MIXED_1X1, N=2), lambda: DARTSNetwork(DARTS_V2, C=8, layers=5)],
    ids=["nb201", "darts_v2"],
)
def test_registration_order_is_execution_order(make) -> None:
    net = make()
    assert _leaf_order(net, torch.randn(1, 3, 32, 32)) == _registered_order(net)


def test_darts_cell_order_names() -> None:
    cell = DARTSNetwork(DARTS_V2, C=8, layers=5).cells[2]  # a normal cell after a reduction
    names = [n for n, _ in cell.named_parameters()]
    assert names[:5] == ["preprocess0.conv1.weight", "preprocess0.conv2.weight",
                         "preprocess0.bn.weight", "preprocess0.bn.bias", "preprocess1.conv.weight"]
    assert names[7:15] == [f"ops.0.{p}" for p in ("dw1.weight", "pw1.weight", "bn1.weight",
                                                   "bn1.bias", "dw2.weight", "pw2.weight",
                                                   "bn2.weight", "bn2.bias")]


def _copied_outputs_match(make) -> None:
    """Two differently seeded instances agree in eval mode once weights and stats are copied."""
    torch.manual_seed(0)
    src = make()
    src.train()
    src(torch.randn(4, 3, 32, 32))  # move the running statistics off their defaults
    torch.manual_seed(1)
    dst = make()
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(_run_eval(src, x), _run_eval(dst, x))
    copied = copy_by_order(src, dst)
    assert copied == len(list(src.parameters())) + len(list(src.buffers()))
    assert torch.equal(_run_eval(src, x), _run_eval(dst, x))


@pytest.mark.parametrize("arch", [ALL_CONV, MIXED_1X1])
def test_copy_by_order_nb201(arch: str) -> None:
    _copied_outputs_match(lambda: NB201Network(arch))


def test_copy_by_order_darts_v2() -> None:
    _copied_outputs_match(lambda: DARTSNetwork(DARTS_V2, C=36))


def test_copy_by_order_names_the_first_shape_mismatch_and_copies_nothing() -> None:
    src, dst = NB201Network(MIXED_1X1), NB201Network(MIXED)
    before = [t.clone() for t in dst.parameters()]
    with pytest.raises(
        AssertionError,
        match=r"parameters #3: source cells\.0\.edges\.0\.conv\.weight \(16, 16, 1, 1\) != "
              r"destination cells\.0\.edges\.0\.conv\.weight \(16, 16, 3, 3\)",
    ):
        copy_by_order(src, dst)
    assert all(torch.equal(a, b) for a, b in zip(before, dst.parameters(), strict=True))


def test_copy_by_order_names_the_first_extra_tensor() -> None:
    src = NB201Network(ALL_NONE)
    dst = nn.Sequential(NB201Network(ALL_NONE), nn.Linear(10, 2))
    with pytest.raises(
        AssertionError,
        match=r"parameters #21: destination 1\.weight \(2, 10\) has no counterpart "
              r"\(source has 21 parameters, destination 23\)",
    ):
        copy_by_order(src, dst)


def test_copy_by_order_rejects_another_darts_genotype() -> None:
    other = DARTS_V2._replace(normal=[("sep_conv_5x5", i % 2) for i in range(8)])
    with pytest.raises(AssertionError, match=r"source cells\.0\.ops\.0\.dw1\.weight \(8, 1, 3, 3\) != "
                                             r"destination cells\.0\.ops\.0\.dw1\.weight \(8, 1, 5, 5\)"):
        copy_by_order(DARTSNetwork(DARTS_V2, C=8, layers=5), DARTSNetwork(other, C=8, layers=5))
