"""The public face of the op registry, for users adding ops (see docs/compiler.md).

    from nasc.ops import Op, register, register_composite
"""

from nasc.compiler.ops import (
    COMPOSITES,
    OPS,
    Op,
    ShapeError,
    expand,
    get_op,
    register,
    register_composite,
    same_shape,
)

__all__ = ["COMPOSITES", "OPS", "Op", "ShapeError", "expand", "get_op", "register",
           "register_composite", "same_shape"]
