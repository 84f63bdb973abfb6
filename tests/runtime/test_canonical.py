"""Canonical forms: equal keys exactly for architectures that compute the same function.

A key shared by two different networks makes the search reuse one's reward for the
other without training it, silently; so every attribute that changes the network must
change the key, and only weight permutations and spelling may leave it alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasc.grammar import load_space
from nasc.runtime.canonical import Canonicalizer

CNN_OPTIONS = {"input_shape": (1, 8, 8), "num_classes": 10}
RNN_OPTIONS = {"hidden_size": 8}


@pytest.fixture(scope="module")
def cnn() -> Canonicalizer:
    return Canonicalizer(load_space("cnn"), CNN_OPTIONS)


@pytest.fixture(scope="module")
def rnn() -> Canonicalizer:
    return Canonicalizer(load_space("rnn"), RNN_OPTIONS)


DIFFERENT = [  # (a, b, what differs): each pair was once at risk of sharing a key
    ("conv 3x3 24", "conv 3x3 24 stride 3", "stride"),
    ("conv 3x3 24", "conv 3x3 24 stride 2", "stride"),
    ("maxpool 3x3 stride 2", "maxpool 3x3 stride 3", "pool stride"),
    ("conv 3x5 24", "conv 5x3 24", "kernel orientation"),
    ("conv 1x7 36; conv 3x3 24 from 1", "conv 7x1 36; conv 3x3 24 from 1", "kernel orientation"),
    ("conv 3x3 24", "conv 3x3 36", "filters"),
    ("conv 3x3 24; conv 3x3 48 from 1", "conv 3x3 24; conv 3x3 36 from 1", "filters"),
    ("conv 3x3 24; conv 3x3 24", "conv 3x3 24; conv 3x3 24 from 1", "inputs"),
    ("conv 3x3 24; conv 5x5 24; conv 1x1 24 from 1",
     "conv 3x3 24; conv 5x5 24; conv 1x1 24 from 2", "inputs"),
    ("conv 3x3 24; conv 1x1 24 from 1; conv 3x3 24 from 2",
     "conv 3x3 24; conv 1x1 24 from 1; conv 3x3 24 from 1,2", "inputs"),
    ("maxpool 3x3", "avgpool 3x3", "op kind"),
    ("conv 3x3 24; maxpool 3x3 from 1", "conv 3x3 24; avgpool 3x3 from 1", "op kind"),
    ("conv 1x1 24", "maxpool 1x1", "op kind"),
]

SAME = [  # spelling, defaults, and the order of a concatenation's operands
    ("conv 3x3 24", "  conv 3x3 24   # a comment"),
    ("conv 3x3 24; conv 5x5 36 from 1", "conv 3x3 24\nconv 5x5 36 from 1\n"),
    ("maxpool 1x1", "maxpool 1x1 stride 1"),
    ("conv 3x3 24 stride 1", "conv 3x3 24"),
    ("conv 3x3 24; conv 5x5 36; conv 1x1 24 from 1,2",
     "conv 3x3 24; conv 5x5 36; conv 1x1 24 from 2,1"),
]


@pytest.mark.parametrize("a, b, what", DIFFERENT)
def test_architectures_that_differ_get_different_keys(cnn: Canonicalizer, a: str, b: str,
                                                      what: str) -> None:
    """Guards against dropping an attribute (stride, kernel size, filters) or an edge from
    the canonical form, and against keys that ignore the op kind."""
    ka, kb = cnn.key(a), cnn.key(b)
    assert not ka.startswith("text:") and not kb.startswith("text:")  # both compiled
    assert ka != kb, f"{what}: {a!r} and {b!r} share key {ka}"


@pytest.mark.parametrize("a, b", SAME)
def test_spellings_of_one_network_share_a_key(cnn: Canonicalizer, a: str, b: str) -> None:
    """Guards against keys taken from the text (which the search would train twice)."""
    assert cnn.key(a) == cnn.key(b)
    assert not cnn.key(a).startswith("text:")


def test_rnn_cells_differ_by_op_and_activation_but_not_by_operand_order(
        rnn: Canonicalizer) -> None:
    base = "rnn base 2; 0: add tanh; 1: mul relu; 2: mul sigmoid; inject 0: add relu; cell 1"
    assert rnn.key(base) == rnn.key(base.replace("; ", "\n"))
    for other in (base.replace("1: mul relu", "1: add relu"),
                  base.replace("2: mul sigmoid", "2: mul tanh"),
                  base.replace("inject 0: add relu", "inject 0: mul relu"),
                  base.replace("cell 1", "cell 2")):
        assert rnn.key(other) != rnn.key(base), other


def test_text_that_does_not_compile_is_keyed_by_its_text(cnn: Canonicalizer) -> None:
    bad = cnn.key("conv 3x3 24 from 4")
    assert bad.startswith("text:") and bad == cnn.key("conv 3x3 24 from 4")
    assert bad != cnn.key("conv 3x3 24 from 5")


def test_keys_agree_with_the_keys_already_stored() -> None:
    """A resumed search rebuilds the canonicalizer from stored (key, arch) pairs: the same
    architecture must get its stored key back, including a suffixed one."""
    first = Canonicalizer(load_space("cnn"), CNN_OPTIONS)
    keys = {a: first.key(a) for a in ("conv 3x3 24", "conv 5x3 36", "maxpool 3x3")}
    again = Canonicalizer(load_space("cnn"), CNN_OPTIONS, {k: a for a, k in keys.items()})
    assert {a: again.key(a) for a in keys} == keys
    # a hash collision (pretended: another network stored under this hash): the exact
    # isomorphism check keeps the two apart and the newcomer gets a suffixed key
    base = keys["conv 3x3 24"]
    clash = Canonicalizer(load_space("cnn"), CNN_OPTIONS, {base: "conv 5x5 24"})
    assert clash.key("conv 3x3 24") == base + "-1" and clash.collisions == 1
    assert clash.key("conv 3x3 24") == base + "-1"  # stable once assigned
    assert clash.collisions == 2  # each look-up compares with the other form again
    twice = Canonicalizer(load_space("cnn"), CNN_OPTIONS,
                          {base: "conv 5x5 24", base + "-1": "conv 7x7 24"})
    assert twice.key("conv 3x3 24") == base + "-2" and twice.collisions == 2


def test_keys_depend_on_the_data_shape() -> None:
    """The same text on other data is another network (input channels, classes)."""
    archs = ("conv 3x3 24", "rnn base 2; 0: add tanh; 1: mul relu; 2: mul sigmoid; "
             "inject 0: add relu; cell 1")
    cnn, rnn = load_space("cnn"), load_space("rnn")
    digits = Canonicalizer(cnn, CNN_OPTIONS).key(archs[0])
    assert Canonicalizer(cnn, {"input_shape": (3, 8, 8), "num_classes": 10}).key(archs[0]) != digits
    assert Canonicalizer(cnn, {"input_shape": (1, 8, 8), "num_classes": 5}).key(archs[0]) != digits
    assert Canonicalizer(rnn, {"hidden_size": 16}).key(archs[1]) != \
        Canonicalizer(rnn, RNN_OPTIONS).key(archs[1])


def test_keys_are_taken_in_the_search_space(tmp_path: Path) -> None:
    """A custom space is the one the text is compiled in: text outside it does not compile
    (a text key), although the built-in `cnn` would compile it."""
    space = tmp_path / "small.lark"
    space.write_text('//% extends = "cnn"\n%import cnn (start, KERNEL_HEIGHT, KERNEL_WIDTH, FILTER_COUNT, WS, '
                     'COMMENT)\n%ignore WS\n%ignore COMMENT\n%override KERNEL_HEIGHT: "3"\n')
    small = Canonicalizer(load_space(str(space)), CNN_OPTIONS)
    builtin = Canonicalizer(load_space("cnn"), CNN_OPTIONS)
    assert small.key("conv 5x5 24").startswith("text:")
    assert not builtin.key("conv 5x5 24").startswith("text:")
    assert small.key("conv 3x5 24") == builtin.key("conv 3x5 24")


LAYER = st.tuples(st.sampled_from(["conv", "maxpool", "avgpool"]),
                  st.sampled_from([1, 3, 5, 7]), st.sampled_from([1, 3, 5, 7]),
                  st.sampled_from([24, 36, 48, 64]), st.sampled_from([1, 2]))


def _text(layers: list[tuple[str, int, int, int, int]], inputs: list[list[int]]) -> str:
    lines = []
    for (op, h, w, filters, stride), src in zip(layers, inputs, strict=True):
        line = f"{op} {h}x{w}" + (f" {filters}" if op == "conv" else "")
        line += f" stride {stride}" if stride != 1 else ""
        lines.append(line + (" from " + ",".join(map(str, src)) if src else ""))
    return "; ".join(lines)


@st.composite
def networks(draw: st.DrawFn) -> tuple[list[tuple[str, int, int, int, int]], list[list[int]]]:
    layers = draw(st.lists(LAYER, min_size=1, max_size=4))
    inputs = [draw(st.lists(st.integers(1, i), unique=True, max_size=2)) if i else []
              for i in range(len(layers))]
    return layers, inputs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=networks(), where=st.integers(0, 3), field=st.integers(0, 4), data=st.data())
def test_changing_any_one_attribute_changes_the_key(net, where: int, field: int,  # type: ignore[no-untyped-def]
                                                    data: st.DataObject) -> None:
    layers, inputs = net
    canon = Canonicalizer(load_space("cnn"), CNN_OPTIONS)
    where %= len(layers)
    op, h, w, filters, stride = layers[where]
    choices = [["conv", "maxpool", "avgpool"], [1, 3, 5, 7], [1, 3, 5, 7], [24, 36, 48, 64],
               [1, 2, 3]]
    if op != "conv" and field == 3:
        field = 1  # a pool has no filter count
    old = layers[where][field]
    new = data.draw(st.sampled_from([c for c in choices[field] if c != old]))
    changed = list(layers)
    changed[where] = tuple(new if i == field else v  # type: ignore[assignment]
                           for i, v in enumerate(layers[where]))
    a, b = _text(layers, inputs), _text(changed, inputs)
    ka, kb = canon.key(a), canon.key(b)
    assert not ka.startswith("text:") and not kb.startswith("text:"), (a, b)
    assert ka != kb, (a, b)
    shuffled = [list(reversed(src)) for src in inputs]  # concatenation order: same network
    assert canon.key(_text(layers, shuffled)) == ka
