"""Property tests: valid architectures round-trip; any text gives ok or located errors."""

from hypothesis import given, settings
from hypothesis import strategies as st

from nasc.compiler.ast import ACTIVATIONS, COMBINES, Inject, Node, RnnCell
from nasc.compiler.diagnostics import ArchError
from nasc.compiler.frontend import parse


@st.composite
def cnn_archs(draw, max_layers: int = 12) -> tuple[str, list[dict]]:
    """A `cnn` string and the layers (as `to_json` gives them) it means."""
    count = draw(st.integers(1, max_layers))
    lines, layers = [], []
    for number in range(1, count + 1):
        op = draw(st.sampled_from(["conv", "maxpool", "avgpool"]))
        kernel = [draw(st.sampled_from([1, 3, 5, 7])), draw(st.sampled_from([1, 3, 5, 7]))]
        filters = draw(st.sampled_from([24, 36, 48, 64])) if op == "conv" else None
        stride = draw(st.sampled_from([1, 2, 3]))
        earlier = list(range(1, number))
        inputs = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        line = f"{op} {kernel[0]}x{kernel[1]}" + (f" {filters}" if filters else "")
        line += (f" stride {stride}" if stride != 1 else "")
        lines.append(line + (" from " + ",".join(map(str, inputs)) if inputs else ""))
        layers.append({"op": op, "kernel": kernel, "filters": filters, "stride": stride,
                       "inputs": inputs})
    return "; ".join(lines), layers


@st.composite
def rnn_cells(draw) -> RnnCell:
    base = draw(st.sampled_from([2, 8]))
    size = 2 * base - 1
    node = st.builds(Node, st.sampled_from(COMBINES), st.sampled_from(ACTIVATIONS))
    nodes = tuple(draw(st.lists(node, min_size=size, max_size=size)))
    inject = Inject(draw(st.integers(0, size - 1)), draw(st.sampled_from(COMBINES)),
                    draw(st.sampled_from(ACTIVATIONS)))
    return RnnCell(base, nodes, inject, draw(st.integers(0, size - 1)))


def assert_ok_or_located(text: str) -> None:
    """The front end's contract: an AST, or located errors inside the text; nothing else."""
    try:
        parse(text, filename="p.arch")
    except ArchError as exc:
        lines = text.split("\n")
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.file == "p.arch" and d.message
            assert 1 <= d.line <= len(lines), (d, text)
            assert 1 <= d.column <= len(lines[d.line - 1]) + 1, (d, text)
            assert str(exc).startswith("p.arch:")


@settings(max_examples=150, deadline=None)
@given(cnn_archs())
def test_cnn_round_trip(case):
    text, layers = case
    arch = parse(text).arch
    assert arch.to_json()["layers"] == layers
    assert parse(str(arch)).arch == arch
    assert parse(text.replace("; ", "\n")).arch == arch


@settings(max_examples=80, deadline=None)
@given(rnn_cells())
def test_rnn_round_trip(cell):
    assert parse(str(cell)).arch == cell


MUTATIONS = st.sampled_from(["delete", "insert", "replace", "swap"])
ALPHABET = st.sampled_from(list("0123456789x,;: \n#abcdefmnoprstvw") + ["from", "conv", "\t", "é"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(cnn_archs(6).map(lambda case: case[0]), rnn_cells()), st.lists(st.tuples(MUTATIONS, st.integers(0, 10**6),
                                                               ALPHABET), min_size=1, max_size=4))
def test_mutated_strings_are_ok_or_located(arch, mutations):
    text = str(arch)
    for kind, where, piece in mutations:
        i = where % (len(text) + 1)
        if kind == "delete":
            text = text[:i] + text[i + 1:]
        elif kind == "insert":
            text = text[:i] + piece + text[i:]
        elif kind == "replace":
            text = text[:i] + piece + text[i + len(piece):]
        elif len(text) > 1:
            j = (where // 7) % len(text)
            chars = list(text)
            chars[i % len(text)], chars[j] = chars[j], chars[i % len(text)]
            text = "".join(chars)
    assert_ok_or_located(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_is_ok_or_located(text):
    assert_ok_or_located(text)
