"""Lark tree -> typed AST, as the space's semantics say to read it.

Rules that a custom grammar `%import`s arrive namespaced (`cnn__conv`); the
names are made local first, so a custom space keeps the built-in semantics.
A recurrent [tree] reads into an `RnnCell` (`read_tree.py`), a [network]
skeleton's cells and blocks into a `SpaceArch` (`read_cells.py`).
"""

from __future__ import annotations

from lark import Tree

from nasc.compiler.ast import Arch
from nasc.compiler.read_cells import read_space_arch
from nasc.compiler.read_tree import read_tree_cell
from nasc.grammar.semantics import Semantics
from nasc.grammar.terminals import local_name


def build_ast(tree: Tree, text: str, semantics: Semantics) -> Arch:
    """Turn a parse tree into its AST, as the space's semantics say to read it."""
    for subtree in tree.iter_subtrees():
        subtree.data = local_name(str(subtree.data))
    if semantics.tree is not None:
        return read_tree_cell(tree, semantics)
    return read_space_arch(tree, text, semantics)
