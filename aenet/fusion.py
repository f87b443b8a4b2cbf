"""Fused CPU kernels for the backward pass of conv + bias + ReLU + max-pool layers.

Two rewrites, registered in aesara's ``specialize_device`` group with the
``cxx_only`` tag (the JAX backend never sees them):

``local_channel_sum``
    The bias gradient of a conv layer is ``g.sum(axis=(0, 2, 3))``, which
    aesara computes with a float64 accumulator element by element in a
    strided order.  :class:`ChannelSum` sums each contiguous ``(n, c)`` plane
    with eight float32 partial sums (vectorised) and adds the plane sums in
    float64, which keeps the accuracy of aesara's float64 accumulation to
    float32 precision at memory speed.

``local_max_pool_relu_grad``
    Below a max-pool, Lasagne's ``rectify`` (``maximum(x, 0)``) has the
    gradient ``eq(maximum(x, 0), x) * g``, where ``g`` is the max-pool
    gradient.  :class:`MaxPool2DReluGrad` computes both in one pass over the
    input, without writing the max-pool gradient out: the same values, bit
    for bit, as aesara's two Ops.
"""
import numpy as np
from aesara.graph.basic import Apply
from aesara.graph.rewriting.basic import copy_stack_trace, node_rewriter
from aesara.link.c.op import COp
from aesara.scalar import basic as aes
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.elemwise import Elemwise
from aesara.tensor.math import Sum
from aesara.tensor.rewriting.basic import register_specialize_device
from aesara.tensor.type import TensorType

from aenet.pool import MaxPool2DGrad, _MaxPoolBase

__all__ = ["ChannelSum", "MaxPool2DReluGrad", "local_channel_sum", "local_max_pool_relu_grad"]

_DTYPES = ("float32", "float64")


class ChannelSum(COp):
    """``x.sum(axis=all but 1)`` for a C-contiguous ``(n, c, ...)`` float tensor.

    Each ``(n, c)`` plane is summed with eight partial sums of ``x``'s dtype,
    the plane sums in float64; the result has ``x``'s dtype.
    """

    __props__ = ()

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim < 2 or x.type.dtype not in _DTYPES:
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
        return ["<stdlib.h>"]

    def c_code_cache_version(self):
        return (1,)

    def c_code(self, node, name, inputs, outputs, sub):
        (x,) = inputs
        (z,) = outputs
        ndim = node.inputs[0].type.ndim
        return """
        {
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s; }
            const npy_intp N = PyArray_DIMS(xc)[0], C = PyArray_DIMS(xc)[1];
            npy_intp S = 1;
            for (int i = 2; i < %(ndim)d; i++) S *= PyArray_DIMS(xc)[i];
            if (!%(z)s || PyArray_DIMS(%(z)s)[0] != C || !PyArray_IS_C_CONTIGUOUS(%(z)s)) {
                Py_XDECREF(%(z)s);
                %(z)s = (PyArrayObject*)PyArray_EMPTY(1, &C, PyArray_TYPE(xc), 0);
                if (!%(z)s) { Py_DECREF(xc); %(fail)s; }
            }
            double* acc = (double*)calloc(C > 0 ? C : 1, sizeof(double));
            if (!acc) { Py_DECREF(xc); PyErr_NoMemory(); %(fail)s; }
            const dtype_%(x)s* __restrict__ xp = (const dtype_%(x)s*)PyArray_DATA(xc);
            for (npy_intp n = 0; n < N; n++) {
                for (npy_intp c = 0; c < C; c++) {
                    const dtype_%(x)s* p = xp + (n * C + c) * S;
                    dtype_%(x)s lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                    npy_intp i = 0;
                    for (; i + 8 <= S; i += 8)
                        for (int j = 0; j < 8; j++) lane[j] += p[i + j];
                    double s = 0;
                    for (; i < S; i++) s += p[i];
                    s += ((double)lane[0] + lane[1]) + ((double)lane[2] + lane[3])
                       + ((double)lane[4] + lane[5]) + ((double)lane[6] + lane[7]);
                    acc[c] += s;
                }
            }
            dtype_%(z)s* zp = (dtype_%(z)s*)PyArray_DATA(%(z)s);
            for (npy_intp c = 0; c < C; c++) zp[c] = (dtype_%(z)s)acc[c];
            free(acc);
            Py_DECREF(xc);
        }
        """ % dict(x=x, z=z, ndim=ndim, fail=sub["fail"])


@node_rewriter([Sum])
def local_channel_sum(fgraph, node):
    """``Sum{axis=all but 1}`` of a float tensor (a conv bias gradient) -> :class:`ChannelSum`."""
    (x,) = node.inputs
    ndim = x.type.ndim
    if ndim < 3 or x.type.dtype not in _DTYPES or node.outputs[0].type.dtype != x.type.dtype:
        return None
    if node.op.axis is None or tuple(sorted(node.op.axis)) != (0,) + tuple(range(2, ndim)):
        return None
    if node.op.acc_dtype not in ("float64", x.type.dtype):
        return None
    out = ChannelSum()(x)
    copy_stack_trace(node.outputs[0], out)
    return [out]


class MaxPool2DReluGrad(_MaxPoolBase):
    """``eq(y, a) * MaxPool2DGrad(y, z, gz)`` in one pass (``y = maximum(a, 0)``).

    Inputs ``y`` (the pooled input, a ReLU's output), ``a`` (the ReLU's
    input), ``z`` (the pooled output) and ``gz``.
    """

    def make_node(self, y, a, z, gz):
        y, a, z, gz = (as_tensor_variable(v) for v in (y, a, z, gz))
        types = (y.type, a.type, z.type, gz.type)
        if y.type.dtype not in _DTYPES or len({t.dtype for t in types}) != 1:
            raise TypeError(f"MaxPool2DReluGrad needs float tensors of one dtype, got {types}")
        if not y.type.ndim == a.type.ndim == z.type.ndim == gz.type.ndim >= 2:
            raise TypeError(f"MaxPool2DReluGrad needs tensors of equal ndim, got {types}")
        return Apply(self, [y, a, z, gz], [y.type()])

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, outputs):
        y, a, z, gz = inputs
        grad = MaxPool2DGrad(self.ws, self.stride)
        store = [[None]]
        grad.perform(None, (y, z, gz), store)
        outputs[0][0] = ((y == a) * store[0][0]).astype(y.dtype)

    def c_code_cache_version(self):
        return (1,)

    def c_code(self, node, name, inputs, outputs, sub):
        y, a, z, gz = inputs
        (gx,) = outputs
        pool_grad = MaxPool2DGrad(self.ws, self.stride).c_code(
            node, name, [y, z, gz], [gx], sub
        )
        # the same loops; each stored value is also masked by the ReLU's gradient
        ref = "(a == m) ? g : (dtype_%s)0" % gx
        masked = "((a == m) && (a == ap[k * W + l])) ? g : (dtype_%s)0" % gx
        assert pool_grad.count(ref) == 1
        code = pool_grad.replace(ref, masked)
        setup = """
                        const dtype_%(a)s* ap = aplane + i * %(sh)d * W + j * %(sw)d;
        """ % dict(a=a, **self._c_constants())
        anchor = "const dtype_%(z)s m = zplane[i * OW + j];" % dict(z=z)
        assert code.count(anchor) == 1
        code = code.replace(anchor, setup + anchor)
        plane = "const dtype_%(x)s* xplane = xp + p * H * W;" % dict(x=y)
        assert code.count(plane) == 1
        code = code.replace(
            plane, plane + "\n const dtype_%(a)s* aplane = ap0 + p * H * W;" % dict(a=a)
        )
        head = """
            PyArrayObject* ac = PyArray_GETCONTIGUOUS(%(a)s);
            if (!ac) { %(fail)s; }
            int a_bad = PyArray_NDIM(ac) != PyArray_NDIM(%(y)s);
            for (int i = 0; !a_bad && i < PyArray_NDIM(ac); i++)
                a_bad = PyArray_DIMS(ac)[i] != PyArray_DIMS(%(y)s)[i];
            if (a_bad) {
                Py_DECREF(ac);
                PyErr_SetString(PyExc_ValueError, "MaxPool2DReluGrad: the ReLU input and output differ in shape");
                %(fail)s;
            }
            const dtype_%(a)s* __restrict__ ap0 = (const dtype_%(a)s*)PyArray_DATA(ac);
        """ % dict(a=a, y=y, fail=sub["fail"])
        return "{\n" + head + code.replace(sub["fail"], "{ Py_DECREF(ac); %s }" % sub["fail"]) + "\nPy_DECREF(ac);\n}\n"


def _is_scalar_op(var, scalar_type):
    node = var.owner
    return (
        node is not None
        and isinstance(node.op, Elemwise)
        and isinstance(node.op.scalar_op, scalar_type)
    )


def _relu_input(y):
    """``a`` when ``y`` is ``maximum(a, 0)`` (Lasagne's rectify), else None."""
    if not _is_scalar_op(y, aes.ScalarMaximum):
        return None
    left, right = y.owner.inputs
    for a, zero in ((left, right), (right, left)):
        try:
            from aesara.tensor.basic import get_scalar_constant_value

            if get_scalar_constant_value(zero) == 0 and zero.type.broadcastable == (True,) * zero.type.ndim:
                return a
        except Exception:  # not a constant
            continue
    return None


@node_rewriter([Elemwise])
def local_max_pool_relu_grad(fgraph, node):
    """``mul(eq(y, a), MaxPool2DGrad(y, z, gz))`` with ``y = maximum(a, 0)`` -> one Op."""
    if not isinstance(node.op.scalar_op, aes.Mul) or len(node.inputs) != 2:
        return None
    for mask, grad in (node.inputs, node.inputs[::-1]):
        if grad.owner is None or type(grad.owner.op) is not MaxPool2DGrad:
            continue
        if not _is_scalar_op(mask, aes.EQ):
            continue
        y, z, gz = grad.owner.inputs
        a = _relu_input(y)
        if a is None or set(mask.owner.inputs) != {y, a} or len(mask.owner.inputs) != 2:
            continue
        if not (y.type.dtype == a.type.dtype == node.outputs[0].type.dtype):
            continue
        if a.type.shape != y.type.shape and len(a.type.shape) != len(y.type.shape):
            continue
        op = grad.owner.op
        out = MaxPool2DReluGrad(op.ws, op.stride)(y, a, z, gz)
        copy_stack_trace(node.outputs[0], out)
        return [out]
    return None


register_specialize_device(local_channel_sum, "cxx_only", "aenet_fusion")
register_specialize_device(local_max_pool_relu_grad, "cxx_only", "aenet_fusion")
