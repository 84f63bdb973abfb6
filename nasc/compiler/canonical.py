"""The canonical form of an architecture: the one meaning of "same architecture".

`canonical_form(graph)` turns a compiled IR (after the passes, no weights)
into a labelled `networkx.DiGraph` that two spellings of one network share:

- each node labelled by its op and attributes (node names and weight names
  left out; an rnn `slice` loses its block index, which block of the shared
  projection a leaf reads being a permutation of weights);
- edges labelled by operand position, except into commutative ops (`add`,
  `mul`, `sum`, `concat`: their operand order only permutes weights), whose
  edges are labelled by how many times the operand is read (`*2`);
- `identity` nodes (a skip connection) replaced by their operand;
- zeros simplified away: a `zero` op, and any op that maps zero to zero
  whatever its weights (relu, identity, pools, pads, bias-free conv) applied to
  zeros, is a zero; zero terms of a sum are dropped (a sum left with one term
  is that term); a node whose value is zero becomes one `zero` source of its
  shape; then every node from which the output cannot be reached is removed.
  (A batchnorm of zeros is not zero: its shift is a weight.)

`form_hash` is a Weisfeiler-Lehman hash of the form; `isomorphic` the exact
check behind it. The runtime's dedup (`nasc.runtime.canonical`) and
`nasc.api.arch_hash` both use these.
"""

from __future__ import annotations

import warnings

import networkx as nx
from networkx.algorithms.isomorphism import categorical_edge_match, categorical_node_match

from nasc.compiler.ir import Graph

COMMUTATIVE = {"add", "mul", "sum", "concat"}
SUMS = {"add", "sum"}
ZERO_PRESERVING = {"relu", "tanh", "identity", "maxpool", "avgpool", "pad", "zero",
                   "global_avgpool"}
_DROP_ATTRS = {"weight", "name"}
SINKS = ("output", "state_out")


def canonical_form(graph: Graph) -> nx.DiGraph:
    """The labelled DiGraph of a compiled IR: equal for networks that compute alike."""
    zero = _zeros(graph)
    operands = {n: _live_operands(graph, n, zero) for n in graph.order()}
    alias = {n: operands[n][0] for n in graph.order() if not zero[n] and (
        graph.op(n) == "identity" or (graph.op(n) in SUMS and len(operands[n]) == 1))}
    out = nx.DiGraph()
    for n in graph.order():
        if n in alias:
            continue
        out.add_node(n, label=_label(graph, n, zero[n]))
        if zero[n]:
            continue  # a zero depends on nothing
        sources = [_resolve(arg, alias) for arg in operands[n]]
        if graph.op(n) in COMMUTATIVE:
            for arg in set(sources):
                out.add_edge(arg, n, port=f"*{sources.count(arg)}")
        else:
            for port, arg in enumerate(sources):
                out.add_edge(arg, n, port=str(port))
    sinks = [n for n in out if graph.op(n) in SINKS]
    live = set(sinks).union(*(nx.ancestors(out, s) for s in sinks))
    out.remove_nodes_from([n for n in list(out) if n not in live])
    return out


def _resolve(node: int, alias: dict[int, int]) -> int:
    while node in alias:
        node = alias[node]
    return node


def _zeros(graph: Graph) -> dict[int, bool]:
    zero: dict[int, bool] = {}
    for n in graph.order():
        op, args = graph.op(n), graph.args(n)
        if op == "zero":
            zero[n] = True
        elif op in SUMS or op == "concat":
            zero[n] = all(zero[a] for a in args)
        elif op == "mul":
            zero[n] = any(zero[a] for a in args)
        elif op in ("conv", "linear", "matmul"):
            zero[n] = zero[args[0]] and not graph.attrs(n).get("bias", False)
        else:
            zero[n] = op in ZERO_PRESERVING and bool(args) and all(zero[a] for a in args)
    return zero


def _live_operands(graph: Graph, n: int, zero: dict[int, bool]) -> list[int]:
    args = list(graph.args(n))
    if graph.op(n) in SUMS and not zero[n]:
        return [a for a in args if not zero[a]]
    return args


def _label(graph: Graph, n: int, is_zero: bool) -> str:
    if is_zero:
        return "zero shape=" + ",".join(map(str, graph.shape(n)))
    op = graph.op(n)
    attrs = {k: v for k, v in graph.attrs(n).items() if k not in _DROP_ATTRS}
    if op == "slice":
        attrs.pop("index", None)
    if op in SUMS:
        op = "sum"  # a binary add is a sum of two
    text = " ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
    return f"{op} {text}".strip()


def form_hash(form: nx.DiGraph, iterations: int = 4) -> str:
    """Weisfeiler-Lehman hash over node labels and edge ports."""
    with warnings.catch_warnings():  # networkx 3.5 notes its directed hashes changed
        warnings.simplefilter("ignore", UserWarning)
        return str(nx.weisfeiler_lehman_graph_hash(form, node_attr="label", edge_attr="port",
                                                   iterations=iterations, digest_size=16))


def isomorphic(a: nx.DiGraph, b: nx.DiGraph) -> bool:
    """Exact: same labels, same ports, same wiring."""
    return bool(nx.is_isomorphic(a, b, node_match=categorical_node_match("label", None),
                                 edge_match=categorical_edge_match("port", None)))
