"""Compiler passes: one per module, each a pure function over the IR.

    lower_space(arch, input_shape, num_classes) -> Graph  AST -> IR (declared semantics)
    lower_tree(cell, input_size, hidden_size) -> Graph    AST -> IR (a recurrent [tree])
    infer_shapes(graph) -> Graph                          meta["shape"] on every node
    insert_pads(graph) -> Graph                           explicit zero padding before concats
    count(graph) -> Graph                                 meta["params"], meta["macs"]
"""

from nasc.compiler.passes.counts import count
from nasc.compiler.passes.lower_tree import lower_tree
from nasc.compiler.passes.pads import insert_pads
from nasc.compiler.passes.shapes import infer_shapes

__all__ = ["count", "infer_shapes", "insert_pads", "lower_tree"]
