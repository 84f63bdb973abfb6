"""The graph IR: a `networkx.DiGraph` of operations from one closed set.

Nodes are integers; each carries

    op      the name of a registered op (`nasc.compiler.ops.OPS`)
    args    the operand node ids, in order (edges mirror them)
    name    a unique Python identifier, used by code generation (`layer3_conv`)
    layer   the architecture layer (cnn, from 1) or tree node (rnn, from 0) it
            belongs to; None for the input, the head and the projections
    attrs   the operation's attributes (`kernel`, `filters`, `stride`, ...)
    meta    what the passes computed: `shape` (per sample, batch dimension
            left out), `params`, `macs`

`Graph.add` is the one factory: it checks the op, names the node and wires the
edges. `verify(graph)` checks the invariants every pass must keep; the pipeline
runs it on its result, and between passes too when `DEBUG_CHECKS` is on (the
test suite turns it on; so does `NASC_DEBUG_CHECKS=1`). `str(graph)` is the
readable text form:

    %3 = conv(%2) kernel=(3,5) filters=48 stride=1 padding=(1,2) : [48,32,32]  # layer2_conv
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from nasc.compiler.ops import OPS, Op
from nasc.errors import NascError

if TYPE_CHECKING:
    import networkx as nx

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# verify after lowering and after every pass, and lint the fx graph (else: verify once)
DEBUG_CHECKS = os.environ.get("NASC_DEBUG_CHECKS", "") not in ("", "0")


class IRError(NascError):
    """A broken IR invariant: a compiler bug (or a user op's), reported in one line."""


class Graph:
    """The IR of one architecture: `kind` ("cnn" | "rnn"), a DiGraph and graph-level meta."""

    def __init__(self, kind: str, meta: dict[str, Any] | None = None) -> None:
        import networkx  # here, not at import: `nasc validate` needs no graphs

        self.kind = kind
        self.nx: nx.DiGraph = networkx.DiGraph()
        self.meta: dict[str, Any] = dict(meta or {})
        self._names: set[str] = set()
        self._next = 0
        self._moved = 0  # nodes made with `before=` (out of id order until renumbered)

    def __repr__(self) -> str:
        return f"Graph({self.kind}, {self.nx.number_of_nodes()} nodes)"

    def __len__(self) -> int:
        return int(self.nx.number_of_nodes())

    def add(self, op: str, *args: int, name: str | None = None, layer: int | None = None,
            before: int | None = None, **attrs: Any) -> int:
        """Create node `op(args...)` with `attrs`; returns its id (the next integer).

        `before`: print and generate this node just ahead of node `before` (for
        passes that insert nodes); `renumbered()` then gives it an id in order.
        """
        if op not in OPS:
            raise IRError(f"unknown op {op!r} (not in the op registry)")
        for arg in args:
            if arg not in self.nx._node:
                raise IRError(f"{op}: operand %{arg} does not exist")
        node, self._next = self._next, self._next + 1
        self.nx.add_node(node, op=op, args=args, name=self._unique(name or op),
                         layer=layer, attrs=attrs, meta={})  # `**attrs` is a fresh dict
        if before is not None:
            self.nx._node[node]["before"] = before
            self._moved += 1
        if args:
            self.nx.add_edges_from([(arg, node) for arg in args])
        return node

    def _unique(self, name: str) -> str:
        if not _IDENT.fullmatch(name):
            raise IRError(f"node name {name!r} is not an identifier")
        unique, n = name, 1
        while unique in self._names:
            unique, n = f"{name}_{n}", n + 1
        self._names.add(unique)
        return unique

    # --- reading --------------------------------------------------------------
    # `nx._node[n]` is the node's attribute dict, as `nx.nodes[n]` returns it, without
    # building a view per call (these accessors run thousands of times per compile).
    def node(self, n: int) -> dict[str, Any]:
        return self.nx._node[n]  # type: ignore[no-any-return]

    def op(self, n: int) -> str:
        return str(self.nx._node[n]["op"])

    def args(self, n: int) -> tuple[int, ...]:
        return self.nx._node[n]["args"]  # type: ignore[no-any-return]

    def attrs(self, n: int) -> dict[str, Any]:
        return self.nx._node[n]["attrs"]  # type: ignore[no-any-return]

    def meta_of(self, n: int) -> dict[str, Any]:
        return self.nx._node[n]["meta"]  # type: ignore[no-any-return]

    def shape(self, n: int) -> tuple[int, ...]:
        shape = self.nx._node[n]["meta"].get("shape")
        if shape is None:
            raise IRError(f"%{n} has no shape: run the shapes pass first")
        return shape  # type: ignore[no-any-return]

    def users(self, n: int) -> list[int]:
        return sorted(self.nx.successors(n))

    def order(self) -> list[int]:
        """Nodes in id order, the order they were made: operands before their users.

        A node made with `before=m` (inserted by a pass) sorts just ahead of node m.
        `verify` checks that every edge goes forward in this order (so no cycles).
        """
        if not self._moved:  # ids are made in increasing order, and dicts keep it
            return list(self.nx._node)
        return sorted(self.nx._node, key=self.sort_key)

    def sort_key(self, n: int) -> tuple[int, int]:
        before = self.nx._node[n].get("before")  # the node dict itself: views are slow here
        return (n, 0) if before is None else (before, n - self._next)

    def find(self, op: str) -> list[int]:
        return [n for n in self.order() if self.op(n) == op]

    # --- rebuilding -----------------------------------------------------------
    def copy(self) -> Graph:
        """A deep-enough copy: node dicts, attrs and meta are fresh, values shared."""
        new = Graph(self.kind, self.meta)
        new.nx.add_nodes_from(
            (n, {**data, "attrs": dict(data["attrs"]), "meta": dict(data["meta"])})
            for n, data in self.nx._node.items())
        new.nx.add_edges_from((u, v) for u, users in self.nx._succ.items() for v in users)
        new._names, new._next, new._moved = set(self._names), self._next, self._moved
        return new

    def renumbered(self) -> Graph:
        """The same graph with ids 0..n-1 in topological order (after nodes were inserted)."""
        new = Graph(self.kind, self.meta)
        ids: dict[int, int] = {}
        for n in self.order():
            data = self.node(n)
            ids[n] = new.add(data["op"], *(ids[a] for a in data["args"]), name=data["name"],
                             layer=data["layer"], **data["attrs"])
            new.meta_of(ids[n]).update(data["meta"])
        return new

    # --- text -----------------------------------------------------------------
    def __str__(self) -> str:
        head = f"# nasc ir ({self.kind})"
        return "\n".join([head] + [self.format_node(n) for n in self.order()])

    def format_node(self, n: int) -> str:
        data = self.node(n)
        operands = ", ".join(f"%{a}" for a in data["args"])
        text = f"%{n} = {data['op']}({operands})"
        for key, value in data["attrs"].items():
            text += f" {key}={_fmt(value)}"
        meta = data["meta"]
        if "shape" in meta:
            text += " : [" + ",".join(str(d) for d in meta["shape"]) + "]"
        note = [data["name"]]
        note += [f"{k}={meta[k]}" for k in ("params", "macs") if meta.get(k)]
        return f"{text}  # {' '.join(note)}"


def _fmt(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "(" + ",".join(_fmt(v) for v in value) + ")"
    return str(value)


def verify(graph: Graph) -> None:
    """Check the invariants every pass keeps; raise IRError naming the first broken one.

    Every op is known, with its operand count and attributes; edges mirror the
    operands and go forward in `order()` (so the graph is acyclic); names are
    unique; every result is used; shapes, where known, are non-empty; after
    the pads pass, concat operands agree in height and width.
    """
    nodes, succ = graph.nx._node, graph.nx._succ  # plain dicts: views are slow here
    keys = {n: i for i, n in enumerate(graph.order())}
    for u, users in succ.items():
        for v in users:
            if keys[u] >= keys[v]:
                raise IRError(f"%{v} = {graph.op(v)} reads %{u}, which does not come before "
                              f"it (a cycle, or a node inserted out of order)")
    names: set[str] = set()
    has_output = False
    for n, data in nodes.items():
        _verify_node(graph, n, data)
        if data["name"] in names:
            raise IRError(f"%{n}: duplicate name {data['name']!r}")
        names.add(data["name"])
        if data["op"] in _OUTPUTS:
            has_output = True
        elif data["op"] not in _SINKS and not succ[n]:
            raise IRError(f"%{n} = {data['op']}: result is never used")
    if not has_output:
        raise IRError("the graph has no output")


_OUTPUTS = ("output", "state_out")
_SINKS = (*_OUTPUTS, "discard")  # a discarded value is computed, never read


def _verify_node(graph: Graph, n: int, data: dict[str, Any]) -> None:
    op, args = data["op"], data["args"]
    spec = OPS.get(op)
    if spec is None:
        raise IRError(f"%{n}: unknown op {op!r} (not in the op registry)")
    problem = _check(spec, data["attrs"], len(args))
    if problem:
        raise IRError(f"%{n} = {op}: {problem}")
    preds = graph.nx._pred[n]  # the adjacency dict itself: views are slow here
    operands = set(args)
    if len(preds) != len(operands) or not operands.issubset(preds):
        raise IRError(f"%{n} = {op}: edges do not match operands {args}")
    shape = data["meta"].get("shape")
    if shape is not None and min(shape, default=1) < 1:
        raise IRError(f"%{n} = {op}: empty shape {list(shape)}")
    if op == "concat" and graph.meta.get("padded"):
        sizes = {graph.shape(a)[1:] for a in args}
        if len(sizes) > 1:
            raise IRError(f"%{n} = concat: operands differ in height/width {sorted(sizes)}")


_PASSED: dict[tuple[Any, ...], Op] = {}  # (op, operands, attributes) -> the op that passed


def _check(spec: Op, attrs: dict[str, Any], operands: int) -> str | None:
    """`spec.check`, remembered for the attribute sets that passed: a network repeats a
    few of them many times (the key holds each value's type: `True` is not `1`)."""
    try:
        key = (spec.name, operands, tuple(attrs.items()), tuple(map(type, attrs.values())))
        if _PASSED.get(key) is spec:
            return None
    except TypeError:  # an unhashable value (an "any" attribute): check it every time
        return spec.check(attrs, operands)
    problem = spec.check(attrs, operands)
    if problem is None:
        if len(_PASSED) >= 4096:
            _PASSED.clear()
        _PASSED[key] = spec
    return problem
