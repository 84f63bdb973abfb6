"""Explicit padding: every concat operand smaller than the largest gets a `pad` node.

The paper's rule: a layer's inputs are zero-padded at the bottom and right to
the largest height and width among them, then concatenated along channels.
Needs shapes (run `infer_shapes` first); the result is renumbered so the text
form reads top to bottom, and marked `meta["padded"]` so `verify` checks that
every concat's operands now agree.
"""

from __future__ import annotations

from nasc.compiler.ir import Graph


def insert_pads(graph: Graph) -> Graph:
    """A copy of `graph` with `pad` nodes before concats whose operands differ in size."""
    return pad_concats(graph.copy())


def pad_concats(graph: Graph) -> Graph:
    """`insert_pads` in place (the pipeline's form: it owns the graph); returns `graph`, or
    its renumbered copy where nodes were inserted."""
    concats = [n for n in graph.order() if graph.op(n) == "concat" and _needs_pad(graph, n)]
    for n in concats:
        _pad_operands(graph, n)
    if concats or not _numbered(graph):  # else renumbering would rebuild an equal graph
        graph = graph.renumbered()
    graph.meta["padded"] = True
    return graph


def _numbered(graph: Graph) -> bool:
    """Ids are 0..n-1 in order and no node waits to be moved (`before`)."""
    nodes = graph.nx._node
    in_order = all(n == i and "before" not in nodes[n] for i, n in enumerate(nodes))
    return in_order and graph._next == len(nodes)


def _needs_pad(graph: Graph, concat: int) -> bool:
    shape = graph.shape(concat)
    return len(shape) == 3 and any(graph.shape(a)[1:] != shape[1:] for a in graph.args(concat))


def _pad_operands(graph: Graph, concat: int) -> None:
    _, height, width = graph.shape(concat)
    data = graph.node(concat)
    prefix = data["name"].removesuffix("_cat")
    new_args = []
    for arg in data["args"]:
        channels, h, w = graph.shape(arg)
        if (h, w) == (height, width):
            new_args.append(arg)
            continue
        source = graph.node(arg)["layer"]
        pad = graph.add("pad", arg, name=f"{prefix}_pad{source}", layer=data["layer"],
                        before=concat, pad=(0, width - w, 0, height - h))
        graph.meta_of(pad)["shape"] = (channels, height, width)
        new_args.append(pad)
    if tuple(new_args) != data["args"]:
        graph.nx.remove_edges_from([(a, concat) for a in data["args"]])
        data["args"] = tuple(new_args)
        graph.nx.add_edges_from((a, concat) for a in new_args)
