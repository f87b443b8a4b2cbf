"""Graph matching shared by aenet's CPU rewrites."""
from aesara.tensor.elemwise import Elemwise

__all__ = ["FLOAT_DTYPES", "commuted_operands", "is_elemwise"]

#: the dtypes aenet's C Ops compute in
FLOAT_DTYPES = ("float32", "float64")


def is_elemwise(var, scalar_type):
    """Whether ``var`` is the output of an ``Elemwise`` of ``scalar_type``."""
    node = var.owner
    return node is not None and isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, scalar_type)


def commuted_operands(node, scalar_type):
    """Both orders of a two-input ``Elemwise`` of ``scalar_type``'s inputs, else ()."""
    if not isinstance(node.op.scalar_op, scalar_type) or len(node.inputs) != 2:
        return ()
    return (tuple(node.inputs), tuple(node.inputs[::-1]))
