"""Fused CPU kernels for conv + bias + ReLU + max-pool layers.

Three rewrites, registered in aesara's ``specialize_device`` group with the
``cxx_only`` tag (the JAX backend never sees them):

``local_channel_sum``
    The bias gradient of a conv layer is ``g.sum(axis=(0, 2, 3))``, which
    aesara computes with a float64 accumulator element by element in a
    strided order.  :class:`ChannelSum` sums each contiguous ``(n, c)`` plane
    with eight float32 partial sums (vectorised) and adds the plane sums in
    float64, which keeps the accuracy of aesara's float64 accumulation to
    float32 precision at memory speed.

``local_relu_max_pool``
    ``MaxPool2D(maximum(a, 0))`` (Lasagne's ``rectify`` under a max-pool)
    becomes :class:`ReluMaxPool2D` ``(a)``, which applies the ReLU while it
    pools: the full-size ReLU output is never written.

``local_max_pool_relu_grad``
    The ReLU's gradient under a max-pool, ``eq(maximum(a, 0), a) * g`` with
    ``g`` the max-pool gradient, becomes :class:`MaxPool2DReluGrad`
    ``(a, z, gz)``: one pass over ``a`` instead of the ReLU output, the
    max-pool gradient and the mask.

All of them give aesara's values bit for bit, except :class:`ChannelSum`,
whose summation order differs (float32 rounding of the same float64-accurate
sum).  :class:`ChannelSum`'s C code is ``c/channel_sum.c``; the pooling Ops
fill in :mod:`aenet.cpu.pool`'s templates with the ReLU applied.
"""
import numpy as np
from aesara.graph.basic import Apply
from aesara.graph.rewriting.basic import copy_stack_trace, node_rewriter
from aesara.scalar import basic as aes
from aesara.tensor.basic import NotScalarConstantError, as_tensor_variable, get_scalar_constant_value
from aesara.tensor.elemwise import Elemwise
from aesara.tensor.math import Sum
from aesara.tensor.rewriting.basic import register_specialize_device
from aesara.tensor.type import TensorType

from aenet.cpu.graph import FLOAT_DTYPES, commuted_operands, is_elemwise
from aenet.cpu.pool import MaxPool2D, MaxPool2DGrad
from aenet.cpu.threaded import PARALLEL_MIN_ELEMENTS, ThreadedCOp, c_source_version, c_template

__all__ = [
    "ChannelSum",
    "MaxPool2DReluGrad",
    "ReluMaxPool2D",
    "local_channel_sum",
    "local_max_pool_relu_grad",
    "local_relu_max_pool",
]


class ChannelSum(ThreadedCOp):
    """``x.sum(axis=all but 1)`` for a C-contiguous ``(n, c, ...)`` float tensor.

    Each ``(n, c)`` plane is summed with eight partial sums of ``x``'s dtype,
    the plane sums in float64; the result has ``x``'s dtype.
    """

    __props__ = ()

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim < 2 or x.type.dtype not in FLOAT_DTYPES:
            raise TypeError(f"ChannelSum needs a float32/float64 tensor of >= 2 dims, got {x.type}")
        return Apply(self, [x], [TensorType(x.type.dtype, shape=(x.type.shape[1],))()])

    def infer_shape(self, fgraph, node, shapes):
        return [(shapes[0][1],)]

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        axes = (0,) + tuple(range(2, x.ndim))
        outputs[0][0] = np.asarray(x.sum(axis=axes, dtype=np.float64), dtype=x.dtype)

    def grad(self, inputs, grads):
        (x,) = inputs
        pattern = ["x", 0] + ["x"] * (x.type.ndim - 2)
        from aesara.tensor.basic import zeros_like

        return [zeros_like(x) + grads[0].dimshuffle(pattern)]

    def c_headers(self, **kwargs):
        return ["<stdlib.h>"] + super().c_headers(**kwargs)

    def c_code_cache_version(self):
        return (3, PARALLEL_MIN_ELEMENTS, c_source_version("channel_sum.c")) + self.threads_version()

    def c_code(self, node, name, inputs, outputs, sub):
        (x,) = inputs
        (z,) = outputs
        ndim = node.inputs[0].type.ndim
        return c_template(
            "channel_sum.c", x=x, z=z, ndim=ndim, fail=sub["fail"], min_par=PARALLEL_MIN_ELEMENTS
        )


@node_rewriter([Sum])
def local_channel_sum(fgraph, node):
    """``Sum{axis=all but 1}`` of a float tensor (a conv bias gradient) -> :class:`ChannelSum`."""
    (x,) = node.inputs
    ndim = x.type.ndim
    if ndim < 3 or x.type.dtype not in FLOAT_DTYPES or node.outputs[0].type.dtype != x.type.dtype:
        return None
    if node.op.axis is None or tuple(sorted(node.op.axis)) != (0,) + tuple(range(2, ndim)):
        return None
    if node.op.acc_dtype not in ("float64", x.type.dtype):
        return None
    out = ChannelSum()(x)
    copy_stack_trace(node.outputs[0], out)
    return [out]


def _relu(a):
    """aesara's ``maximum(a, 0)`` in numpy, NaN included."""
    with np.errstate(invalid="ignore"):
        return np.where(0 > a, np.zeros_like(a), np.where(a >= 0, a, np.nan)).astype(a.dtype)


def _c_relu(element, dtype):
    """The C expression aesara's ``maximum(element, 0)`` compiles to."""
    zero = f"(({dtype})0)"
    return f"({zero} > ({element}) ? {zero} : (({element}) >= {zero} ? ({element}) : ({dtype})NAN))"


class ReluMaxPool2D(MaxPool2D):
    """``MaxPool2D(maximum(a, 0))`` without writing the ReLU's output out."""

    def perform(self, node, inputs, outputs):
        super().perform(node, [_relu(inputs[0])], outputs)

    def L_op(self, inputs, outputs, grads):
        (a,) = inputs
        return [MaxPool2DReluGrad(self.ws, self.stride)(a, outputs[0], grads[0])]

    def c_headers(self, **kwargs):
        return super().c_headers(**kwargs) + ["<math.h>"]

    def c_code_cache_version(self):
        return (1,) + super().c_code_cache_version()

    def _c_value(self, element, x):
        return _c_relu(element, f"dtype_{x}")

    def _c_vvalue(self, vector):
        return f"aenet_relu({vector})"


class MaxPool2DReluGrad(MaxPool2DGrad):
    """``eq(y, a) * MaxPool2DGrad(y, z, gz)`` for ``y = maximum(a, 0)``, in one pass over ``a``.

    Inputs ``a`` (the ReLU's input), ``z`` (the pooled output) and ``gz``.
    ``eq(y, a)`` holds exactly where ``a >= 0``, and there ``y == a``, so the
    ReLU's output is never needed.  (``maximum(0, a)`` has another gradient at
    0 and is left alone.)
    """

    def perform(self, node, inputs, outputs):
        a, z, gz = inputs
        super().perform(node, [_relu(a), z, gz], outputs)
        with np.errstate(invalid="ignore"):
            outputs[0][0] = (outputs[0][0] * (a >= 0)).astype(a.dtype)

    def L_op(self, inputs, outputs, grads):
        raise NotImplementedError("MaxPool2DReluGrad has no second derivative")

    def c_code_cache_version(self):
        return (1,) + super().c_code_cache_version()

    def _c_condition(self, a, m):
        return f"{a} >= 0 && {a} == {m}"

    def _c_vcondition(self, a, m):
        return (
            f"_mm256_and_ps(_mm256_cmp_ps({a}, _mm256_setzero_ps(), _CMP_GE_OQ), "
            f"_mm256_cmp_ps({a}, {m}, _CMP_EQ_OQ))"
        )


def _relu_input(y):
    """``a`` when ``y`` is ``maximum(a, 0)`` (Lasagne's ``rectify``), else None."""
    if not is_elemwise(y, aes.ScalarMaximum) or len(y.owner.inputs) != 2:
        return None
    a, zero = y.owner.inputs
    if zero.type.broadcastable != (True,) * zero.type.ndim or a.type.dtype != y.type.dtype:
        return None
    try:
        return a if get_scalar_constant_value(zero) == 0 else None
    except NotScalarConstantError:
        return None


@node_rewriter([MaxPool2D])
def local_relu_max_pool(fgraph, node):
    """``MaxPool2D(maximum(a, 0))`` -> :class:`ReluMaxPool2D` ``(a)``."""
    if type(node.op) is not MaxPool2D:
        return None
    a = _relu_input(node.inputs[0])
    if a is None:
        return None
    out = ReluMaxPool2D(node.op.ws, node.op.stride)(a)
    copy_stack_trace(node.outputs[0], out)
    return [out]


@node_rewriter([Elemwise])
def local_max_pool_relu_grad(fgraph, node):
    """``mul(eq(y, a), MaxPool2DGrad(y, z, gz))`` with ``y = maximum(a, 0)`` -> one Op."""
    for mask, grad in commuted_operands(node, aes.Mul):
        if grad.owner is None or type(grad.owner.op) is not MaxPool2DGrad:
            continue
        if not is_elemwise(mask, aes.EQ):
            continue
        y, z, gz = grad.owner.inputs
        a = _relu_input(y)
        if a is None:
            continue
        if set(mask.owner.inputs) != {y, a} or len(mask.owner.inputs) != 2:
            continue
        if a.type.ndim != y.type.ndim or node.outputs[0].type.dtype != y.type.dtype:
            continue
        op = grad.owner.op
        out = MaxPool2DReluGrad(op.ws, op.stride)(a, z, gz)
        copy_stack_trace(node.outputs[0], out)
        return [out]
    return None


register_specialize_device(local_channel_sum, "cxx_only", "aenet_fusion")
register_specialize_device(local_max_pool_relu_grad, "cxx_only", "aenet_fusion")
register_specialize_device(local_relu_max_pool, "cxx_only", "aenet_fusion")
