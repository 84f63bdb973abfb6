"""The front end: valid text becomes the AST; each error class is located and worded."""

import pytest

from nasc.compiler.ast import Inject, Node, RnnCell
from nasc.compiler.diagnostics import ArchError
from nasc.compiler.frontend import parse

PAPER_CNN = """conv 3x3 36
conv 3x5 48 from 1
conv 5x5 36 stride 2 from 1,2
maxpool 3x3 stride 2 from 3
"""

FIGURE5 = "rnn base 2\n0: add tanh\n1: mul relu\n2: mul sigmoid\ninject 0: add relu\ncell 1\n"


def errors(text: str, space: str | None = None) -> list[tuple[int, int, str]]:
    with pytest.raises(ArchError) as info:
        parse(text, space, filename="t.arch")
    return [(d.line, d.column, d.message) for d in info.value.diagnostics]


def test_paper_cnn_becomes_layers():
    arch = parse(PAPER_CNN).arch
    assert arch.to_json()["layers"] == [
        {"op": "conv", "kernel": [3, 3], "filters": 36, "stride": 1, "inputs": []},
        {"op": "conv", "kernel": [3, 5], "filters": 48, "stride": 1, "inputs": [1]},
        {"op": "conv", "kernel": [5, 5], "filters": 36, "stride": 2, "inputs": [1, 2]},
        {"op": "maxpool", "kernel": [3, 3], "filters": None, "stride": 2, "inputs": [3]},
    ]
    (third,) = arch.cell("layers").nodes[2]
    assert third.span.line == 3 and third.anchor_spans[1].column == 29
    assert third.text == "conv 5x5 36 stride 2"


def test_semicolons_comments_and_blank_lines_mean_the_same():
    text = "# header\n\nconv 3x3 36 ; conv 3x5 48 from 1 # skip\n\n;conv 5x5 36 stride 2 from 1 , 2\n"
    text += "maxpool 3x3 stride 2 from 3"
    assert parse(text).arch == parse(PAPER_CNN).arch


def test_canonical_text_round_trips():
    arch = parse(PAPER_CNN).arch
    assert str(arch) == ("conv 3x3 36; conv 3x5 48 from 1; conv 5x5 36 stride 2 from 1,2; "
                         "maxpool 3x3 stride 2 from 3")
    assert parse(str(arch)).arch == arch


def test_figure5_cell():
    parsed = parse(FIGURE5)
    assert parsed.space.name == "rnn"
    assert parsed.arch == RnnCell(2, (Node("add", "tanh"), Node("mul", "relu"),
                                      Node("mul", "sigmoid")), Inject(0, "add", "relu"), 1)
    assert parse(str(parsed.arch)).arch == parsed.arch


def test_nascell_json_form(examples):
    arch = parse((examples / "nascell.arch").read_text()).arch
    data = arch.to_json()
    assert data["base"] == 8 and len(data["nodes"]) == 15
    assert data["inject"] == {"node": 8, "combine": "add", "activation": "tanh"}
    assert data["cell"] == 12 and data["nodes"][12] == {"combine": "mul", "activation": "identity"}


@pytest.mark.parametrize(("text", "expected"), [
    ("conv 4x3 36", (1, 6, "kernel height must be one of 1, 3, 5, 7, got '4'")),
    ("conv 3x9 36", (1, 8, "kernel width must be one of 1, 3, 5, 7, got '9'")),
    ("conv 3x55 36", (1, 8, "kernel width must be one of 1, 3, 5, 7, got '55'")),
    ("conv 3x3 32", (1, 10, "filter count must be one of 24, 36, 48, 64, got '32'")),
    ("conv 3x3 36 stride 4", (1, 20, "stride must be one of 1, 2, 3, got '4'")),
    ("conv 3x3", (1, 9, "filter count must be one of 24, 36, 48, 64")),
    ("pool 3x3", (1, 1, "expected 'avgpool', 'conv', 'maxpool' or a new line, got 'pool'")),
    ("conv 3x3 36 junk", (1, 13, "expected 'from', 'stride', a new line or end of input, got 'junk'")),
])
def test_syntax_errors_are_located_and_worded(text, expected):
    assert errors(text)[0] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("conv 3x3 36 from 0", (1, 18, "there is no layer 0: layers are numbered from 1 "
                                   "(a layer without `from` reads the image)")),
    ("conv 3x3 36\nconv 3x3 36 from 2", (2, 18, "layer 2 cannot read itself")),
    ("conv 3x3 36\nconv 3x3 36 from 7", (2, 18, "layer 2 cannot read layer 7: `from` names "
                                                "earlier layers only (use 1-1)")),
    ("conv 3x3 36 from 2\nconv 3x3 36", (1, 18, "layer 1 cannot read layer 2: `from` names "
                                                "earlier layers only (it has no earlier layer)")),
    ("conv 3x3 36\nconv 3x3 36\nconv 1x1 24 from 1,2,1", (3, 22, "layer 1 is listed twice in `from`")),
])
def test_semantic_errors_are_located(text, expected):
    assert errors(text) == [expected]


def test_rnn_node_index_out_of_range():
    text = FIGURE5.replace("inject 0", "inject 5")
    assert errors(text) == [(5, 8, "node index must be one of 0, 1, 2, got '5'")]
    text = FIGURE5.replace("cell 1", "cell 14")
    assert errors(text) == [(6, 6, "node index must be one of 0, 1, 2, got '14'")]


def test_rnn_wrong_node_label_and_base():
    assert errors("rnn base 4") == [(1, 10, "expected '2' or '8', got '4'")]
    assert errors(FIGURE5.replace("1: mul", "2: mul"))[0][:2] == (3, 1)


def test_every_error_is_reported_in_one_run():
    text = "conv 4x3 36\nconv 3x3 36 from 1\nconv 3x3 99\nmaxpool 3x3 stride 7\n"
    assert [(line, col) for line, col, _ in errors(text)] == [(1, 6), (3, 10), (4, 20)]
    rnn = FIGURE5.replace("tanh", "tanx").replace("sigmoid", "sigmod")
    assert [(line, col) for line, col, _ in errors(rnn)] == [(2, 8), (4, 8)]


def test_all_semantic_errors_are_reported():
    text = "conv 3x3 36 from 3\nconv 3x3 36 from 0,1,1"
    assert [(line, col) for line, col, _ in errors(text)] == [(1, 18), (2, 18), (2, 22)]


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n", ";;;"])
def test_empty_architectures_are_errors(text):
    assert errors(text) == [(1, 1, "empty architecture: nothing to read")]


def test_unicode_and_control_characters_are_located():
    [(line, col, message)] = errors("conv 3x3 36\nconv 3×3 36")
    assert (line, col) == (2, 7) and "got '×'" in message


def test_formatted_error_has_line_and_caret():
    with pytest.raises(ArchError) as info:
        parse("conv 3x3 36\n\tconv 4x3 36", filename="a.arch")
    assert str(info.value) == ("a.arch:2:7: error: kernel height must be one of 1, 3, 5, 7, "
                               "got '4'\n  \tconv 4x3 36\n  \t     ^")


def test_custom_space_restricts_choices(examples):
    space = examples / "small_cnn.lark"
    assert parse("conv 3x5 48 from 1".replace(" from 1", ""), space).arch.layers[0].kernel == (3, 5)
    assert errors("conv 7x3 24", str(space)) == [(1, 6, "kernel height must be one of 3, 5, got '7'")]
    assert errors("conv 3x3 64", str(space)) == [(1, 10, "filter count must be one of 24, 36, 48, got '64'")]


def test_custom_space_can_drop_rules_and_extend_choices(examples):
    space = str(examples / "conv_only.lark")
    arch = parse("conv 3x3 96; conv 5x5 24 from 1", space).arch
    assert [layer.filters for layer in arch.layers] == [96, 24]
    assert errors("maxpool 3x3", space)[0] == (1, 1, "expected 'conv', got 'maxpool'")
    assert errors("conv 7x3 24", space)[0][2] == "kernel height must be one of 1, 3, 5, got '7'"


def test_no_error_is_reported_inside_a_repair():
    # 'v' is repaired to '24', which would make the kernel width read "12424": not the user's error
    assert errors("0con  1x1 24; conv 1x1v24") == [
        (1, 1, "expected 'avgpool', 'conv', 'maxpool' or a new line, got '0'"),
        (1, 23, "filter count must be one of 24, 36, 48, 64, got 'v'"),
    ]
