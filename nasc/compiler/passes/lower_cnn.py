"""Lowering, `cnn`: the AST becomes IR with the paper's rules made explicit.

    conv KHxKW F stride S   -> conv(padding=(KH//2, KW//2)) -> batchnorm -> relu
    maxpool/avgpool ...     -> maxpool/avgpool(padding=(KH//2, KW//2))
    from a,b,...            -> concat(a, b, ...)   (one input: read directly)
    no `from`               -> reads the image
    head                    -> concat(every layer no later layer reads)
                               -> global_avgpool -> linear(K, bias) -> output

Zero padding before a concat needs the shapes, so `insert_pads` adds it later.
"""

from __future__ import annotations

from nasc.compiler.ast import CnnArch, Layer
from nasc.compiler.ir import Graph


def lower_cnn(arch: CnnArch, input_shape: tuple[int, int, int], num_classes: int) -> Graph:
    """The IR of `arch` for images `input_shape` (C, H, W) and `num_classes` classes."""
    graph = Graph("cnn", {"input_shape": tuple(input_shape), "num_classes": num_classes})
    image = graph.add("input", name="x", shape=tuple(input_shape))
    outputs: list[int] = []
    read: set[int] = set()
    for number, layer in enumerate(arch.layers, start=1):
        sources = [outputs[i - 1] for i in layer.inputs] or [image]
        read.update(layer.inputs)
        operand = _join(graph, sources, f"layer{number}", number)
        outputs.append(_lower_layer(graph, layer, operand, number))
    unread = [outputs[i - 1] for i in range(1, len(outputs) + 1) if i not in read]
    features = _join(graph, unread, "head", None)
    pooled = graph.add("global_avgpool", features, name="head_pool")
    logits = graph.add("linear", pooled, name="head_fc", features=num_classes, bias=True)
    graph.add("output", logits, name="output")
    return graph


def _join(graph: Graph, sources: list[int], prefix: str, layer: int | None) -> int:
    if len(sources) == 1:
        return sources[0]
    return graph.add("concat", *sources, name=f"{prefix}_cat", layer=layer)


def _lower_layer(graph: Graph, layer: Layer, operand: int, number: int) -> int:
    kh, kw = layer.kernel
    padding = (kh // 2, kw // 2)
    prefix = f"layer{number}"
    if layer.op == "conv":
        conv = graph.add("conv", operand, name=f"{prefix}_conv", layer=number,
                         kernel=layer.kernel, filters=layer.filters, stride=layer.stride,
                         padding=padding)
        norm = graph.add("batchnorm", conv, name=f"{prefix}_bn", layer=number)
        return graph.add("relu", norm, name=f"{prefix}_relu", layer=number)
    return graph.add(layer.op, operand, name=f"{prefix}_{layer.op}", layer=number,
                     kernel=layer.kernel, stride=layer.stride, padding=padding)
