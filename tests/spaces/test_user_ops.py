"""A user op (a dilated convolution) added from a user module named by the space."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

import nasc
from nasc.errors import NascError
from nasc.grammar import load_space

FIXTURES = Path(__file__).parent / "fixtures"
SPACE = str(FIXTURES / "dilated.lark")


def test_user_op_compiles_to_the_hand_written_network():
    compiled = nasc.compile("dilconv 1 dilconv 3 dilconv 2", space=SPACE, input_shape=(3, 16, 16))
    convs = [nn.Conv2d(c, 8, 3, padding=d, dilation=d, bias=False)
             for c, d in ((3, 1), (8, 3), (8, 2))]
    reference = nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    assert compiled.nasc.params == sum(p.numel() for p in reference.parameters())
    assert compiled.nasc.params == sum(p.numel() for p in compiled.parameters())
    for mine, theirs in zip(compiled.parameters(), reference.parameters(), strict=True):
        mine.data.copy_(theirs.data)
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(compiled(x), reference(x))


def test_a_missing_op_module_is_a_located_error(tmp_path):
    grammar = tmp_path / "dilated.lark"
    grammar.write_text((FIXTURES / "dilated.lark").read_text().replace(
        '"dilconv_ops"', '"no_such_ops"'))
    with pytest.raises(NascError) as info:
        load_space(grammar)
    message = str(info.value)
    assert message.startswith(f"{grammar}:12:5: error: space semantics: op module 'no_such_ops'")
    assert "\n" not in message


def test_an_op_module_that_raises_is_one_line(tmp_path):
    shutil.copy(FIXTURES / "dilated.lark", tmp_path / "dilated.lark")
    (tmp_path / "dilconv_ops.py").write_text("raise ValueError('broken on purpose')\n")
    with pytest.raises(NascError, match="failed to import: ValueError: broken on purpose"):
        load_space(tmp_path / "dilated.lark")


def test_an_argument_the_op_does_not_take_is_located(tmp_path):
    grammar = tmp_path / "dilated.lark"
    shutil.copy(FIXTURES / "dilconv_ops.py", tmp_path / "dilconv_ops.py")
    grammar.write_text((FIXTURES / "dilated.lark").read_text().replace(
        "dilation = 2,", "dilation = 2, groups = 2,"))
    with pytest.raises(NascError, match=r"dilated.lark:16:\d+: error: space semantics: ops.2: "
                                        r"op 'dilconv' takes no argument 'groups'"):
        load_space(grammar)
