"""A recurrent cell declared as a [tree] in the grammar file: the built-in `rnn` is one,
and a user's grammar with its own rule names, spellings and [ops] takes the same path."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nasc import api
from nasc.errors import NascError
from nasc.grammar import load_space

# Figure 5's cell written in a different language: its own words for the ops (mapped
# through [ops]), its own rule names, one node per `;`.
POLISH = '''//% kind = "recurrent-cell"
//% [ops]
//% plus = "add"
//% times = "mul"
//% flat = "identity"
//% [tree]
//% node = "vertex"
//% combine = "MIX"
//% activation = "SQUASH"
//% inject = "memory_in"
//% cell = "memory_out"
//% index = ["SLOT"]
start: vertex ";" vertex ";" vertex ";" memory_in ";" memory_out
vertex: MIX SQUASH
memory_in: "c_in" SLOT MIX SQUASH
memory_out: "c_out" SLOT
MIX: "plus" | "times"
SQUASH: "flat" | "tanh" | "relu" | "sigmoid"
SLOT: "0" | "1" | "2"
%ignore " "
'''
FIGURE5 = "rnn base 2; 0: add tanh; 1: mul relu; 2: mul sigmoid; inject 0: add relu; cell 1"
SAME_IN_POLISH = "plus tanh; times relu; times sigmoid; c_in 0 plus relu; c_out 1"


def test_a_user_tree_grammar_reads_and_compiles_like_the_builtin(tmp_path: Path) -> None:
    space = tmp_path / "polish.lark"
    space.write_text(POLISH)
    ours = api.load_arch(SAME_IN_POLISH, space)[0]
    builtin = api.load_arch(FIGURE5, "rnn")[0]
    assert ours == builtin
    a = api.compile_cell(SAME_IN_POLISH, space, input_size=5, hidden_size=7)
    b = api.compile_cell(FIGURE5, "rnn", input_size=5, hidden_size=7)
    b.load_state_dict(a.state_dict())
    x, h, c = torch.randn(3, 5), torch.randn(3, 7), torch.randn(3, 7)
    for got, want in zip(a(x, (h, c)), b(x, (h, c)), strict=True):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("old, new, message", [
    ('SQUASH: "flat"', 'SQUASH: "gelu"', "tree: the grammar's SQUASH can spell 'gelu', which "
                                         "names no op of 1 operand"),
    ('//% inject = "memory_in"', '//% inject = "memin"', "tree: inject 'memin' is no rule"),
    ('//% index = ["SLOT"]', '//% index = ["SLOTS"]', "tree: 'SLOTS' is no terminal"),
    ('//% cell = "memory_out"', '//% cells = "memory_out"', "tree: unknown key 'cells'"),
    ('//% [tree]', '//% [trees]', "unknown key 'trees'"),
])
def test_a_tree_declaration_error_is_located(tmp_path: Path, old: str, new: str,
                                             message: str) -> None:
    space = tmp_path / "bad.lark"
    space.write_text(POLISH.replace(old, new, 1))
    with pytest.raises(NascError, match=message) as info:
        load_space(str(space))
    assert str(info.value).startswith(f"{space}:") and "\n" not in str(info.value)
