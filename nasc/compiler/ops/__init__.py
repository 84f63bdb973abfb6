"""The op registry: primitives (shape, count, module) and composites (expansions).

    OPS                  name -> Op, the IR's set of operations
    register(Op(...))    add a user op (see docs/compiler.md, "Adding an op")
    import_ops(name, dir) a space's `//% modules`; entry points in group `nasc.ops` load here
    COMPOSITES           name -> expansion into primitives (relu_conv_bn, sep_conv, ...)
"""

from nasc.compiler.ops import primitives as _primitives  # noqa: F401  (registers the built-ins)
from nasc.compiler.ops.composites import COMPOSITES, Composite, expand, register_composite
from nasc.compiler.ops.registry import OPS, Op, ShapeError, get_op, register, same_shape
from nasc.compiler.ops.user import import_ops, load_entry_points

load_entry_points()

__all__ = ["COMPOSITES", "OPS", "Composite", "Op", "ShapeError", "expand", "get_op",
           "import_ops", "load_entry_points", "register", "register_composite", "same_shape"]
