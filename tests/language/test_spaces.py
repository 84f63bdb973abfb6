"""Loading search spaces: built-in names, custom `.lark` files, and grammars that don't load."""

import pytest

import nasc
from nasc.errors import NascError
from nasc.grammar import detect_space, list_spaces, load_space
from nasc.grammar.terminals import literals


def test_builtin_spaces_load_by_name():
    cnn, rnn = load_space("cnn"), load_space("rnn")
    assert (cnn.kind, rnn.kind) == ("cnn", "rnn")
    assert literals(cnn.terminals["KERNEL_HEIGHT"]) == ("1", "3", "5", "7")
    assert literals(cnn.terminals["FILTER_COUNT"]) == ("24", "36", "48", "64")
    assert literals(cnn.terminals["LAYER_NUMBER"]) is None  # unbounded: sampled by anchors
    assert literals(rnn.terminals["ACTIVATION"]) == ("identity", "relu", "sigmoid", "tanh")


def test_custom_space_overrides_imported_terminals(examples):
    space = load_space(examples / "small_cnn.lark")
    assert (space.name, space.kind) == ("small_cnn", "cnn")
    assert literals(space.terminals["KERNEL_HEIGHT"]) == ("3", "5")
    assert {"conv", "maxpool", "inputs"} <= space.rule_names()


def test_space_is_recognised_from_text():
    assert detect_space("rnn base 2\n0: add tanh") == "rnn"
    assert detect_space("# a cell\n\n  rnn  base 8") == "rnn"
    assert detect_space("conv 3x3 36") == "cnn"
    assert detect_space("rnnbase 2") == "cnn"


def test_unknown_space_name():
    with pytest.raises(NascError, match=r"unknown space 'transformer': use one of cnn, rnn"):
        load_space("transformer")


def test_missing_grammar_file(tmp_path):
    with pytest.raises(NascError, match="no such grammar file"):
        load_space(tmp_path / "nope.lark")


def test_grammar_with_syntax_error_is_located(tmp_path):
    path = tmp_path / "bad.lark"
    path.write_text('%import cnn (start, FILTER_COUNT)\n%override FILTER_COUNT "24"\n')
    with pytest.raises(NascError) as info:
        load_space(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2:24: grammar does not load: Unexpected token")
    assert "\n" not in message


def test_grammar_importing_a_missing_module(tmp_path):
    path = tmp_path / "bad.lark"
    path.write_text("%import nosuchspace (start)\n")
    with pytest.raises(NascError, match="grammar does not load"):
        load_space(path)


def test_grammar_beside_a_file_that_hides_larks_common_says_so(tmp_path):
    (tmp_path / "common.lark").write_text("%import common.WS\nstart: \"x\"\n")
    path = tmp_path / "mine.lark"
    path.write_text('%import common.NUMBER\nstart: NUMBER\n')
    with pytest.raises(NascError, match="such as common.lark, hides Lark's own"):
        load_space(path)


def test_grammar_without_known_rules_is_validity_only(tmp_path):
    path = tmp_path / "plain.lark"
    path.write_text('// as many a as you like\nstart: "a"+\n%ignore " "\n')
    space = load_space(path)
    assert (space.kind, space.description) == ("none", "as many a as you like")


def test_rule_names_never_choose_the_semantics(tmp_path):
    """Issue 10: rules named `cell`/`node`/`conv` once turned a grammar into an rnn or cnn
    space by their names; now only declared `//%` semantics give a grammar a meaning."""
    path = tmp_path / "names.lark"
    path.write_text('start: conv | cell node\nconv: "c"\ncell: "r"\nnode: "n"\n')
    space = load_space(path)
    assert (space.kind, space.semantics) == ("none", None)
    with pytest.raises(NascError, match="declares no semantics"):
        nasc.compile("rn", space=path)


def test_list_spaces_includes_examples(examples):
    names = [s.name for s in list_spaces(examples)]
    assert names[:2] == ["cnn", "rnn"] and "small_cnn" in names


def test_overriding_a_name_that_was_not_imported_says_how(tmp_path):
    path = tmp_path / "bad.lark"
    path.write_text('%import cnn (start)\n%override FILTER_COUNT: "24"\n')
    with pytest.raises(NascError, match=r"list it in the %import"):
        load_space(path)
