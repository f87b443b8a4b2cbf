"""Shape arithmetic that ``jax.jit`` accepts: host-evaluated integer shapes and static ``SpecifyShape``."""

import jax
import numpy as np
from aesara.compile import optdb
from aesara.graph.basic import Apply, Constant
from aesara.graph.features import ReplaceValidate
from aesara.graph.op import Op
from aesara.graph.rewriting.basic import GraphRewriter
from aesara.link.jax.dispatch import jax_funcify
from aesara.tensor.basic import MakeVector, ScalarFromTensor, TensorFromScalar
from aesara.tensor.elemwise import DimShuffle, Elemwise
from aesara.tensor.shape import Shape, Shape_i, SpecifyShape
from aesara.tensor.subtensor import Subtensor


# -- static shapes ----------------------------------------------------------------
#
# XLA shapes are static, and under ``jax.jit`` ``x.shape`` is a tuple of Python
# ints.  But aesara computes many shapes symbolically (each Op's
# ``infer_shape``: e.g. the gradient of a flatten after a pooling reshapes to
# ``(rows - 2) // 2 + 1``), and its JAX backend evaluates that integer
# arithmetic with ``jax.numpy``, whose results are traced values that
# ``reshape`` and friends reject.  The rewrite below wraps every node of such
# arithmetic (integer scalars and vectors computed only from shapes and
# constants) in :class:`HostShapeOp`, which NumPy evaluates while JAX traces:
# the values stay concrete, and the compiled XLA program never sees them.

_HOST_OPS = (Elemwise, DimShuffle, MakeVector, ScalarFromTensor, TensorFromScalar, Subtensor)


class HostShapeOp(Op):
    """``op`` applied to integer shape values, evaluated with NumPy when JAX traces the graph."""

    __props__ = ("op",)

    def __init__(self, op):
        self.op = op

    def make_node(self, *inputs):
        node = self.op.make_node(*inputs)
        return Apply(self, list(node.inputs), [out.type() for out in node.outputs])

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, _host_perform(self.op, node.inputs, inputs)):
            storage[0] = value

    def __str__(self):
        return f"HostShape{{{self.op}}}"


def _host_perform(op, input_vars, values):
    """``op``'s Python implementation on ``values`` (ints, NumPy or concrete JAX arrays)."""
    node = op.make_node(*input_vars)
    # Copies: an in-place Elemwise would otherwise overwrite a value other nodes read.
    storage = {var: [np.array(value, dtype=var.type.dtype)] for var, value in zip(node.inputs, values)}
    storage.update({var: [None] for var in node.outputs})
    computed = {var: [var not in node.outputs] for var in storage}
    op.make_py_thunk(node, storage, computed, [])()
    return [storage[var][0] for var in node.outputs]


@jax_funcify.register(HostShapeOp)
def jax_funcify_HostShapeOp(op, node=None, **kwargs):
    inner = op.op.make_node(*node.inputs)
    traced = jax_funcify(op.op, node=inner, **kwargs)

    def host_shape(*values):
        if any(isinstance(v, jax.core.Tracer) for v in values):
            return traced(*values)  # not a shape after all: compute it in the XLA program
        outputs = _host_perform(op.op, inner.inputs, values)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return host_shape


class StaticSpecifyShape(SpecifyShape):
    """``SpecifyShape`` checked against the static shape while JAX traces the graph.

    aesara's JAX version compares the whole shape, unspecified (None)
    dimensions included, so it fails on e.g. ``(None, 1, None, None)``.
    """


@jax_funcify.register(StaticSpecifyShape)
def jax_funcify_StaticSpecifyShape(op, node=None, **kwargs):
    def specify_shape(x, *shape):
        for axis, (actual, expected) in enumerate(zip(x.shape, shape)):
            if expected is None or isinstance(expected, jax.core.Tracer):
                continue
            if actual != int(np.asarray(expected)):
                raise AssertionError(f"SpecifyShape: axis {axis} has length {actual}, expected {int(expected)}")
        return x

    return specify_shape


def _is_shape_value(var):
    dtype = getattr(var.type, "dtype", "")
    return dtype.startswith(("int", "uint", "bool")) and getattr(var.type, "ndim", 0) <= 1


class HostShapes(GraphRewriter):
    """Wrap the integer arithmetic on shapes and constants in :class:`HostShapeOp`,
    and check ``SpecifyShape`` against the static shape (:class:`StaticSpecifyShape`)."""

    def add_requirements(self, fgraph):
        fgraph.attach_feature(ReplaceValidate())

    def apply(self, fgraph):
        static = set()

        def is_static(var):
            return isinstance(var, Constant) or var in static

        for node in fgraph.toposort():
            if type(node.op) is SpecifyShape:
                checked = StaticSpecifyShape().make_node(*node.inputs).outputs
                fgraph.replace_all_validate(list(zip(node.outputs, checked)), reason="aenet_host_shapes")
            elif isinstance(node.op, (Shape, Shape_i, HostShapeOp)):
                static.update(node.outputs)
            elif (
                isinstance(node.op, _HOST_OPS)
                and all(is_static(v) for v in node.inputs)
                and all(_is_shape_value(v) for v in node.outputs)
            ):
                wrapped = HostShapeOp(node.op).make_node(*node.inputs).outputs
                fgraph.replace_all_validate(list(zip(node.outputs, wrapped)), reason="aenet_host_shapes")
                static.update(wrapped)


# After aesara's own JAX rewrites (position 100), which turn the shape of a
# Reshape into a JAXShapeTuple that passes these values through untraced.
optdb.register("aenet_jax_host_shapes", HostShapes(), "jax", position=100.5)

