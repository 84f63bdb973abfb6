"""Space semantics (`//%` lines): whatever they get wrong is a located error at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasc.errors import NascError
from nasc.grammar import load_space

NB201 = Path(__file__).parents[2] / "examples" / "spaces" / "nb201.lark"


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = NB201.read_text()
    assert old in text
    path = tmp_path / "space.lark"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, needle, message", [
    ('//% kind = "image-classifier"', '//% kind = "classifier"', "kind =",
     "kind must be one of 'image-classifier', 'recurrent-cell', got 'classifier'"),
    ("//% none = \"zero\"", "//% none = \"zeros\"", "none =", "ops.none: unknown op 'zeros'"),
    ("//% none = \"zero\"\n", "", "op = \"OP\"",
     "cells.cell: the grammar's OP can spell 'none', which [ops] does not define"),
    ('//% node = "node"', '//% node = "nodes"', 'node = "nodes"',
     "cells.cell: node 'nodes' is no rule or alias of the grammar"),
    ('//% merge = "sum"', '//% merge = "mean"', "merge =", "cells.cell: merge is one of"),
    ('//% inputs = 1', '//% inputs = 1\n//% colour = "red"', "colour",
     "cells.cell: unknown key 'colour'"),
    ('{ cell = "cell", repeat = 5 },', '{ cell = "cel", repeat = 5 },', "body = [",
     "network.body: no cell named 'cel'"),
    ('//% kind = "image-classifier"', '//% kind = "image-classifier"\n//% flavour = 1',
     "flavour", "unknown key 'flavour'"),
])
def test_semantics_errors_are_located(tmp_path, old, new, needle, message):
    path = _variant(tmp_path, old, new)
    with pytest.raises(NascError) as info:
        load_space(path)
    text = str(info.value)
    assert f"{path}:{_line_of(path, needle)}:" in text
    assert "error: space semantics: " + message in text and "\n" not in text


def test_toml_syntax_errors_point_at_the_grammar_line(tmp_path):
    path = _variant(tmp_path, '//% inputs = 1', '//% inputs = = 1')
    with pytest.raises(NascError, match=rf"^{path}:{_line_of(path, 'inputs = =')}:1: error: "
                                        r"space semantics: "):
        load_space(path)


def test_extends_reuses_a_builtin_and_stands_alone(tmp_path):
    path = tmp_path / "mine.lark"
    path.write_text('//% extends = "cnn"\n%import cnn (start, WS, COMMENT)\n%ignore WS\n')
    assert load_space(path).kind == "cnn"
    path.write_text('//% extends = "vgg"\n%import cnn (start, WS)\n%ignore WS\n')
    with pytest.raises(NascError, match=r"mine.lark:1:5: error: space semantics: extends 'vgg'"):
        load_space(path)
    path.write_text('//% extends = "cnn"\n//% kind = "recurrent-cell"\n'
                    '%import cnn (start, WS)\n%ignore WS\n')
    with pytest.raises(NascError, match="`extends` stands alone: 'kind' cannot be changed"):
        load_space(path)


def test_unexpected_whitespace_is_named_and_a_final_newline_is_no_error(tmp_path):
    """Issue 10: with whitespace not ignored, a file's final newline read `unexpected end of
    input, expected end of input`; a newline or space inside the string was called the end."""
    from nasc.api import ArchError, validate

    path = tmp_path / "ab.lark"
    path.write_text('start: "a" "b"\n')
    assert validate("ab\n", path).arch.text == "ab"
    for text, what in (("a\nb", "a new line"), ("a b", "a space")):
        with pytest.raises(ArchError, match=rf"<string>:1:2: error: expected 'b', got {what}"):
            validate(text, path)
    cell = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert str(validate(cell + "\n", NB201).arch) == cell


_CNN_IMPORT = ("//% extends = \"cnn\"\n%import cnn (start, layer, conv, maxpool, avgpool, kernel, "
               "stride, inputs, KERNEL_HEIGHT, KERNEL_WIDTH, FILTER_COUNT, STRIDE, LAYER_NUMBER, "
               "_SEP, WS, COMMENT)\n%ignore WS\n%ignore COMMENT\n")


@pytest.mark.parametrize("extra, text, message", [
    ('%extend ?layer: dilconv\ndilconv: "dilconv" kernel FILTER_COUNT\n',
     "conv 3x3 24; dilconv 3x3 24", "reads layers conv, maxpool and avgpool, not 'dilconv'"),
    ('%extend ?layer: pool\npool: "pool" kernel SIZE -> maxpool\nSIZE: "2"\n',
     "conv 3x3 24; pool 3x3 2", "maxpool reads no SIZE, but its rule has a token '2'"),
])
def test_a_cnn_extension_the_semantics_cannot_read_is_one_line(tmp_path, extra, text, message):
    """Issue 10: a new layer kind crashed validate with AttributeError (checks.py); a bare
    token in a rule aliased `-> maxpool` compiled as a filter count without an error."""
    from nasc.api import validate

    path = tmp_path / "extended.lark"
    path.write_text(_CNN_IMPORT + extra)
    with pytest.raises(NascError, match=message) as info:
        validate(text, path)
    assert "\n" not in str(info.value)
