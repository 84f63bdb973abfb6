"""Space semantics: what the strings of a grammar mean, declared in the grammar file.

Lines that start with `//%` hold TOML (Lark reads them as comments):

    //% kind = "image-classifier"           # or "recurrent-cell"
    //% [ops]                                # an op token's text -> an op and its arguments
    //% none = "zero"
    //% nor_conv_3x3 = { op = "relu_conv_bn", kernel = 3 }
    //% [cells.cell]                         # a DAG read from the tree of a rule
    //% rule = "start"
    //% ...
    //% [network]                            # the fixed skeleton the cells fill
    //% body = [{ op = "conv", kernel = 3, filters = 16 }, { cell = "cell", repeat = 5 }]

or one line that reuses a built-in space's semantics (for grammars that
`%import` and narrow it): `//% extends = "cnn"`. A grammar without `//%`
lines is validity-only: its strings validate and sample, they do not compile.
Everything this module refuses is a located `FILE:LINE:COL` error when the
space loads. See docs/language.md, "Writing a space".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasc.errors import NascError

try:
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

KINDS = {"image-classifier": "cnn", "recurrent-cell": "rnn"}
MERGES = ("sum", "concat")
OUTPUTS = ("last", "concat", "unread")
_PREFIX = re.compile(r"^[ \t]*//%[ \t]?(.*)$")


@dataclass(frozen=True)
class OpUse:
    """An op as a space uses it: a registered name and its arguments, then the ops that
    follow it in a chain. An argument `"@NAME"` (or a list of them) is read from the
    token of terminal NAME in the node that uses the op."""

    op: str
    args: dict[str, Any] = field(default_factory=dict)
    then: tuple[OpUse, ...] = ()

    def __repr__(self) -> str:
        chain = "".join(f" -> {u.op}" for u in self.then)
        return f"OpUse({self.op}{chain})"

    def steps(self) -> tuple[OpUse, ...]:
        return (OpUse(self.op, self.args), *self.then)

    def read_args(self) -> list[str]:
        """The arguments this op reads from its node's tokens (`@NAME`), in order."""
        return [k for k, v in self.args.items() if _terminals_read(v)]

    def terminals_read(self) -> set[str]:
        """The terminals whose tokens any step of the chain reads (`@NAME` -> NAME)."""
        return {t for step in self.steps() for v in step.args.values()
                for t in _terminals_read(v)}


def _terminals_read(value: Any) -> list[str]:
    """The terminals an argument's value reads: `"@NAME"`, or a list of them."""
    values = value if isinstance(value, list) else [value]
    return [v[1:] for v in values if isinstance(v, str) and v.startswith("@")]


def resolve(value: Any, tokens: dict[str, str], classes: int | None = None) -> Any:
    """An argument's value: "classes" (the class count), a token's text (`@NAME`, a
    number where it is one; None if the node has no such token), or as given."""
    if value == "classes" and classes is not None:
        return classes
    if isinstance(value, list):
        values = [resolve(v, tokens, classes) for v in value]
        return None if None in values else tuple(values)
    if isinstance(value, str) and value.startswith("@"):
        text = tokens.get(value[1:])
        return None if text is None else (int(text) if text.isdigit() else text)
    return value


@dataclass(frozen=True)
class CellSpec:
    """How to read a DAG cell from the subtree of `rule` (see docs/language.md)."""

    name: str
    rule: str
    node: tuple[str, ...]  # rules (or aliases) whose subtrees are the nodes
    edge: str | None  # None: layer mode, each node is one op (on its anchors)
    op: str | None  # the terminal whose text names the op; None: the node's rule name
    source: tuple[str, ...]  # terminals whose text is a source; () = the previous state
    inputs: int = 1
    merge: str = "sum"
    output: str = "last"  # "last" | "concat" (all nodes) | "unread" (nodes nothing reads)
    anchors: str = "merge"  # layer mode: "merge" (the op reads them) | "skip" (added after)
    default_source: str = "previous"  # layer mode, no anchors: "previous" | "input"
    after: str | None = None  # an op applied to every node's value last (ENAS: batchnorm)
    reductions: tuple[int, ...] = ()  # after these nodes, every state is reduced
    reduction: str = "factorized_reduce"
    first_source: int = 0  # the lowest state an anchor may name
    label: str | None = None  # layer mode: what a node is called ("layer": `layer3_conv`)
    anchor_word: str | None = None  # how the grammar spells an anchor list (`from`)

    def what(self, index: int) -> str:
        """Node `index` as messages name it: `layer 3`, or `cell 'c': node 3`."""
        return f"{self.label} {index}" if self.label else f"cell {self.name!r}: node {index}"

    def __repr__(self) -> str:
        return f"CellSpec({self.name}: rule {self.rule}, {self.inputs} input(s))"


@dataclass(frozen=True)
class BlockSpec:
    """A sequence of blocks read from the subtrees of `rule`: each one op applied with
    arguments read from its tokens (`args`: argument -> terminal), `fixed` arguments per
    position, repeated as many times as the `repeat` terminal says."""

    name: str
    rule: str
    op: str  # a registered op, or a terminal whose text [ops] maps to one
    args: dict[str, str] = field(default_factory=dict)
    repeat: str | None = None
    fixed: tuple[dict[str, Any], ...] = ()

    def __repr__(self) -> str:
        return f"BlockSpec({self.name}: {self.op} per {self.rule})"


@dataclass(frozen=True)
class TreeSpec:
    """A recurrent cell as a complete binary tree (Zoph & Le's Figure 5): the subtrees of
    rule `node`, leaves first and the root last, each combining its two inputs by the op
    its `combine` token names, then applying its `activation` token's op; the `inject`
    rule feeds c_{t-1} into the node its `index` token names; the `cell` rule names the
    node whose value before its activation is c_t."""

    node: str
    combine: str
    activation: str
    inject: str
    cell: str
    index: tuple[str, ...]

    def __repr__(self) -> str:
        return f"TreeSpec(node {self.node}, inject {self.inject}, cell {self.cell})"


@dataclass(frozen=True)
class Semantics:
    """A space's declared meaning: the network kind, how it lowers, its ops and skeleton."""

    kind: str  # "cnn" (image classifier) | "rnn" (recurrent cell)
    lowering: str  # "tree" (a recurrent cell's [tree]) | "skeleton" (a [network] body)
    ops: dict[str, OpUse] = field(default_factory=dict)
    cells: dict[str, CellSpec] = field(default_factory=dict)
    blocks: dict[str, BlockSpec] = field(default_factory=dict)
    body: tuple[dict[str, Any], ...] = ()
    source: str = ""  # the `//%` lines, as declared (for error locations)
    tree: TreeSpec | None = None

    def __repr__(self) -> str:
        return f"Semantics({self.kind}, {self.lowering}, {len(self.cells)} cell(s))"

    @property
    def repeats_cells(self) -> bool:
        """The skeleton places a cell more than once (NB201's 15 cells, DARTS's stack)."""
        return any("stack" in step or step.get("repeat", 1) > 1 for step in self.body)


class Where:
    """Maps keys of the TOML block back to lines of the grammar file."""

    def __init__(self, path: Path, text: str, lines: list[tuple[int, str]]) -> None:
        self.path, self.lines = path, lines
        raw = text.splitlines()
        self.columns = {n: len(raw[n - 1]) - len(t) for n, t in lines}  # the `//% ` prefix

    def error(self, message: str, key: str | None = None, line: int | None = None,
              section: str | None = None) -> NascError:
        """A located error: at `line`, or at `key` (the first after header `[section]`)."""
        row, col = line or (self.lines[0][0] if self.lines else 1), 1
        lines = self.lines
        if section is not None:
            header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]")
            start = next((i for i, (_, t) in enumerate(lines) if header.search(t)), 0)
            lines = lines[start:]
        if key is not None:
            pattern = re.compile(rf"^\s*(\[+\s*)?([\w.\"]*\.)?\"?{re.escape(key)}\"?\s*[=\]]")
            for number, text in lines:
                if pattern.search(text):
                    row, col = number, self.columns[number] + text.find(key) + 1
                    break
        return NascError(f"{self.path}:{row}:{col}: error: space semantics: {message}")


def op_name(token: str) -> str:
    """An op token's text as [ops] names it: `'sep_conv_3x3'` (quoted, as DARTS writes
    genotypes) is `sep_conv_3x3`."""
    token = token.strip()
    if len(token) > 1 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token


def declared_lines(text: str) -> list[tuple[int, str]]:
    """The `//%` lines of a grammar: (line number, TOML text)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _PREFIX.match(line)
        if match:
            found.append((number, match.group(1)))
    return found


def read_semantics(text: str, path: Path, builtin: dict[str, Semantics]) -> Semantics | None:
    """The semantics a grammar declares, None for a validity-only grammar."""
    lines = declared_lines(text)
    if not lines:
        return None
    where = Where(path, text, lines)
    try:
        table = tomllib.loads("\n".join(t for _, t in lines))
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        row = lines[int(found[1]) - 1][0] if found and int(found[1]) <= len(lines) else None
        raise where.error(str(exc).split(" (at")[0], line=row) from None
    if "extends" in table:
        return _extends(table, builtin, where)
    return _build(table, where)


def _extends(table: dict[str, Any], builtin: dict[str, Semantics], where: Where) -> Semantics:
    name = table["extends"]
    if set(table) != {"extends"}:
        extra = sorted(set(table) - {"extends"})[0]
        raise where.error(f"`extends` stands alone: {extra!r} cannot be changed", key=extra)
    if name not in builtin:
        raise where.error(f"extends {name!r}: no built-in space of that name "
                          f"(one of {', '.join(sorted(builtin))})", key="extends")
    return builtin[name]


_TOP = {"kind", "ops", "cells", "blocks", "network", "modules", "tree"}


def _build(table: dict[str, Any], where: Where) -> Semantics:
    for key in table:
        if key not in _TOP:
            raise where.error(f"unknown key {key!r} (expected one of "
                              f"{', '.join(sorted(_TOP | {'extends'}))})", key=key)
    for module in table.get("modules", ()):
        _import_ops(module, where)
    kind = table.get("kind")
    if kind not in KINDS:
        raise where.error(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}",
                          key="kind" if "kind" in table else None)
    tree = _tree(table["tree"], where) if "tree" in table else None
    lowering = "tree" if tree else "skeleton"
    if (tree is not None) != (KINDS[kind] == "rnn"):
        raise where.error("a recurrent-cell space declares its cell as a [tree], an image "
                          "classifier its network as a [network] body",
                          key="tree" if tree else "kind")
    ops = {text: _op_use(text, value, where) for text, value in table.get("ops", {}).items()}
    cells = {name: _cell(name, spec, where) for name, spec in table.get("cells", {}).items()}
    blocks = {name: _blocks(name, spec, ops, where)
              for name, spec in table.get("blocks", {}).items()}
    network = table.get("network", {})
    if lowering == "skeleton" and not network.get("body"):
        raise where.error("a skeleton space needs [network] with a `body` list", key="network")
    body = tuple(network.get("body", ()))
    for step in body:
        _check_step(step, cells, blocks, where)
    return Semantics(KINDS[kind], lowering, ops, cells, blocks, body,
                     "\n".join(t for _, t in where.lines), tree)


_TREE_KEYS = ("node", "combine", "activation", "inject", "cell", "index")


def _tree(spec: Any, where: Where) -> TreeSpec:
    if not isinstance(spec, dict):
        raise where.error("tree: a table of " + ", ".join(_TREE_KEYS), key="tree")
    for key in spec:
        if key not in _TREE_KEYS:
            raise where.error(f"tree: unknown key {key!r} (expected {', '.join(_TREE_KEYS)})",
                              key=key, section="tree")
    for key in _TREE_KEYS:
        if key not in spec:
            raise where.error(f"tree: missing `{key}`", key="tree")
    return TreeSpec(spec["node"], spec["combine"], spec["activation"], spec["inject"],
                    spec["cell"], _names(spec["index"]))


def _import_ops(module: Any, where: Where) -> None:
    """Run a user's op module: `NAME.py` beside the grammar, else an importable module."""
    from nasc.compiler.ops.user import import_ops

    if not isinstance(module, str):
        raise where.error(f"modules: a module name is a string, got {module!r}", key="modules")
    try:
        import_ops(module, where.path.parent)
    except NascError as exc:
        raise where.error(str(exc), key="modules") from None


def _op_use(text: str, value: Any, where: Where) -> OpUse:
    from nasc.compiler.ops import COMPOSITES, OPS

    if isinstance(value, str):
        value = {"op": value}
    if isinstance(value, list) and value:
        steps = [_op_use(text, step, where) for step in value]
        return OpUse(steps[0].op, steps[0].args, tuple(steps[1:]))
    if not isinstance(value, dict) or not isinstance(value.get("op"), str):
        raise where.error(f"ops.{text}: give an op name or a table with `op = \"NAME\"`",
                          key=text)
    args = {k: v for k, v in value.items() if k != "op"}
    name = value["op"]
    if name not in OPS and name not in COMPOSITES:
        raise where.error(f"ops.{text}: unknown op {name!r} (registered: "
                          f"{', '.join(sorted({*OPS, *COMPOSITES}))})", key=text)
    _check_args(name, args, f"ops.{text}", where, text)
    return OpUse(name, args)


def _check_args(op: str, args: dict[str, Any], what: str, where: Where, key: str) -> None:
    from nasc.compiler.ops.composites import accepts

    taken = accepts(op)
    for arg in args:
        if arg not in taken:
            raise where.error(f"{what}: op {op!r} takes no argument {arg!r} (it takes "
                              f"{', '.join(sorted(taken)) or 'none'})", key=key)


_CELL_KEYS = {"rule", "node", "edge", "op", "source", "inputs", "merge", "output", "anchors",
              "default_source", "after", "reductions", "reduction", "first_source", "label",
              "anchor_word"}


def _cell(name: str, spec: dict[str, Any], where: Where) -> CellSpec:
    unknown = set(spec) - _CELL_KEYS
    if unknown:
        raise where.error(f"cells.{name}: unknown key {sorted(unknown)[0]!r} (expected "
                          f"{', '.join(sorted(_CELL_KEYS))})", key=sorted(unknown)[0],
                          section=f"cells.{name}")
    for key in ("rule", "node") + (("op",) if "edge" in spec else ()):
        if key not in spec:
            raise where.error(f"cells.{name}: missing `{key}`", key=f"cells.{name}")
    cell = CellSpec(name, spec["rule"], _names(spec["node"]), spec.get("edge"), spec.get("op"),
                    _names(spec.get("source", ())), spec.get("inputs", 1),
                    spec.get("merge", "sum"), spec.get("output", "last"),
                    spec.get("anchors", "merge"), spec.get("default_source", "previous"),
                    spec.get("after"), tuple(spec.get("reductions", ())),
                    spec.get("reduction", "factorized_reduce"), spec.get("first_source", 0),
                    spec.get("label"), spec.get("anchor_word"))
    if cell.anchors not in ("merge", "skip") or cell.default_source not in ("previous", "input"):
        raise where.error(f"cells.{name}: anchors is merge or skip, default_source previous "
                          f"or input", key="anchors" if "anchors" in spec else "default_source",
                          section=f"cells.{name}")
    if cell.merge not in MERGES or cell.output not in OUTPUTS:
        raise where.error(f"cells.{name}: merge is one of {', '.join(MERGES)} and output one "
                          f"of {', '.join(OUTPUTS)}", key="merge" if "merge" in spec else None,
                          section=f"cells.{name}")
    if cell.inputs not in (1, 2):
        raise where.error(f"cells.{name}: inputs must be 1 or 2", key="inputs",
                          section=f"cells.{name}")
    return cell


_BLOCK_KEYS = {"rule", "op", "args", "repeat", "fixed"}


def _blocks(name: str, spec: dict[str, Any], ops: dict[str, OpUse], where: Where
            ) -> BlockSpec:
    from nasc.compiler.ops import COMPOSITES, OPS

    section = f"blocks.{name}"
    unknown = set(spec) - _BLOCK_KEYS
    if unknown:
        raise where.error(f"{section}: unknown key {sorted(unknown)[0]!r} (expected "
                          f"{', '.join(sorted(_BLOCK_KEYS))})", key=sorted(unknown)[0],
                          section=section)
    for key in ("rule", "op"):
        if not isinstance(spec.get(key), str):
            raise where.error(f"{section}: `{key}` names a {'rule' if key == 'rule' else 'op'}",
                              key=section)
    block = BlockSpec(name, spec["rule"], spec["op"], dict(spec.get("args", {})),
                      spec.get("repeat"), tuple(spec.get("fixed", ())))
    if block.op in OPS or block.op in COMPOSITES:
        named = dict.fromkeys((*block.args, *(k for fixed in block.fixed for k in fixed)))
        _check_args(block.op, named, section, where, "args")
    return block


def _names(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


_STEP_KEYS = {"op": {"name"}, "cell": {"repeat"}, "blocks": set(),
              "stack": {"normal", "reduce", "reductions", "channels", "preprocess",
                        "reduced_preprocess"}}


def _check_step(step: Any, cells: dict[str, CellSpec], blocks: dict[str, BlockSpec],
                where: Where) -> None:
    kinds = [k for k in _STEP_KEYS if isinstance(step, dict) and k in step]
    if len(kinds) != 1:
        raise where.error(f"network.body: each step has one of `op`, `cell`, `blocks`, "
                          f"`stack`, got {step!r}", key="body")
    kind = kinds[0]
    if kind == "op":
        args = {k: v for k, v in step.items() if k not in ("op", "name")}
        _op_use("body", {"op": step["op"], **args}, where)
        return
    unknown = set(step) - {kind} - _STEP_KEYS[kind]
    if unknown:
        raise where.error(f"network.body: a `{kind}` step takes no {sorted(unknown)[0]!r}",
                          key="body")
    missing = {"stack": ("normal", "reduce", "channels")}.get(kind, ())
    for key in missing:
        if key not in step:
            raise where.error(f"network.body: a `stack` step needs `{key}`", key="body")
    if kind == "blocks" and step["blocks"] not in blocks:
        raise where.error(f"network.body: no blocks named {step['blocks']!r} (declared: "
                          f"{', '.join(blocks) or 'none'})", key="body")
    for ref in (step.get("cell"), step.get("normal"), step.get("reduce")):
        if ref is not None and ref not in cells:
            raise where.error(f"network.body: no cell named {ref!r} (declared: "
                              f"{', '.join(cells) or 'none'})", key="body")
