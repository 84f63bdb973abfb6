"""Semantics against their grammar: every name the `//%` lines read exists in the grammar,
and every op token the grammar can spell has an op. Run once, when a space loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasc.grammar.semantics import Semantics, Where, declared_lines, op_name


def check_against_grammar(semantics: Semantics, parser: Any, path: Path, text: str) -> None:
    """The names a semantics reads exist in its grammar; every op token has an op."""
    from nasc.grammar.terminals import literals, local_name

    if not declared_lines(text):
        return
    where = Where(path, text, declared_lines(text))
    trees = {local_name(str(r.alias or r.origin.name)) for r in parser.rules}
    terminals = {local_name(t.name): t for t in parser.terminals}
    if semantics.tree is not None:
        _check_tree(semantics, trees, terminals, where)
    for block in semantics.blocks.values():
        section = f"blocks.{block.name}"
        if block.rule not in trees:
            raise where.error(f"{section}: rule {block.rule!r} is no rule or alias of the "
                              f"grammar", key="rule", section=section)
        for name in (*block.args.values(), block.repeat):
            if name is not None and name not in terminals:
                raise where.error(f"{section}: {name!r} is no terminal of the grammar",
                                  key="args", section=section)
    for cell in semantics.cells.values():
        section = f"cells.{cell.name}"
        for key, names in (("rule", (cell.rule,)), ("node", cell.node),
                           ("edge", (cell.edge,) if cell.edge else ())):
            for name in names:
                if name not in trees:
                    raise where.error(f"{section}: {key} {name!r} is no rule or alias of the "
                                      f"grammar", key=key, section=section)
        for name in ((cell.op,) if cell.op else ()) + cell.source:
            if name not in terminals:
                raise where.error(f"{section}: {name!r} is no terminal of the grammar",
                                  key="op" if name == cell.op else "source", section=section)
        if cell.op is None:  # ops named by the node's rule
            missing = [n for n in cell.node if n not in semantics.ops]
            if missing:
                raise where.error(f"{section}: node rule {missing[0]!r} has no entry in [ops]",
                                  key="node", section=section)
            continue
        spelled = literals(terminals[cell.op]) or ()
        missing = [op_name(w) for w in spelled if op_name(w) not in semantics.ops]
        if missing:
            raise where.error(f"cells.{cell.name}: the grammar's {cell.op} can spell "
                              f"{missing[0]!r}, which [ops] does not define", key="op",
                              section=f"cells.{cell.name}")


def _check_tree(semantics: Semantics, trees: set[str], terminals: dict[str, Any],
                where: Where) -> None:
    """The [tree]'s rules and terminals exist; every combine (activation) its grammar can
    spell names an op of two operands (one)."""
    from nasc.compiler.ops import OPS
    from nasc.grammar.terminals import literals

    tree = semantics.tree
    assert tree is not None
    for key in ("node", "inject", "cell"):
        if getattr(tree, key) not in trees:
            raise where.error(f"tree: {key} {getattr(tree, key)!r} is no rule or alias of the "
                              f"grammar", key=key, section="tree")
    for key, names in (("combine", (tree.combine,)), ("activation", (tree.activation,)),
                       ("index", tree.index)):
        for name in names:
            if name not in terminals:
                raise where.error(f"tree: {name!r} is no terminal of the grammar", key=key,
                                  section="tree")
    for key, arity in (("combine", 2), ("activation", 1)):
        for word in literals(terminals[getattr(tree, key)]) or ():
            op = semantics.ops[word].op if word in semantics.ops else word
            if op not in OPS or OPS[op].arity not in (arity, None):
                raise where.error(f"tree: the grammar's {getattr(tree, key)} can spell "
                                  f"{word!r}, which names no op of {arity} operand(s)", key=key,
                                  section="tree")
