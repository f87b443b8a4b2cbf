"""Threaded max-pooling and its gradient for aesara's C backend.

aesara's ``Pool`` and ``MaxPoolGrad`` C code index every element through
``PyArray_GETPTR4`` with the window sizes read at run time.
:class:`MaxPool2D` and :class:`MaxPool2DGrad` compute the same for the
common case (``mode='max'``, ``ignore_border=True``, no padding, constant
window and stride) on contiguous planes, with the window and stride compiled
in, an AVX2 path for float32 2x2 windows 2 apart, and the planes split over
OpenMP threads for large inputs.  Their C code is in ``c/max_pool*.c`` and
``c/pool_avx2.c``.  The rewrites below swap them in for aesara's Ops in
FAST_RUN with the ``cxx_only`` tag, so the JAX backend keeps aesara's Ops.

The gradient is Theano's (and aesara's): every input equal to its window's
maximum receives that window's output gradient, ties included, and
overlapping windows add up.  Windows of equal values (ReLU zeros) are common,
so this keeps training identical to Lasagne/Theano; the backward pass
compares each input to its window's maximum as it writes, so no argmax is
stored between the passes.
"""
import warnings

import numpy as np
from aesara.graph.basic import Apply, Constant
from aesara.graph.rewriting.basic import copy_stack_trace, node_rewriter
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.rewriting.basic import register_specialize_device
from aesara.tensor.type import TensorType

from aenet.cpu.graph import FLOAT_DTYPES
from aenet.cpu.threaded import PARALLEL_MIN_ELEMENTS, ThreadedCOp, c_source, c_source_version, c_template

with warnings.catch_warnings():  # aesara.tensor.signal is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.signal.pool import DownsampleFactorMaxGradGrad, MaxPoolGrad, Pool

__all__ = ["MaxPool2D", "MaxPool2DGrad", "local_max_pool_2d", "local_max_pool_2d_grad"]


def _pair(value, name):
    pair = tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be two positive ints, got {value!r}")
    return pair


def _out_len(size, window, stride):
    return max((size - window) // stride + 1, 0)


def _pooled_views(x, ws, stride):
    """Yield ``(k, l, rows, cols)``: each window offset and the slices it takes of the last two axes."""
    oh = _out_len(x.shape[-2], ws[0], stride[0])
    ow = _out_len(x.shape[-1], ws[1], stride[1])
    for k in range(ws[0]):
        for l in range(ws[1]):
            rows = slice(k, k + (oh - 1) * stride[0] + 1, stride[0]) if oh else slice(0, 0)
            cols = slice(l, l + (ow - 1) * stride[1] + 1, stride[1]) if ow else slice(0, 0)
            yield k, l, rows, cols


class _MaxPoolBase(ThreadedCOp):
    __props__ = ("ws", "stride")

    def __init__(self, ws=(2, 2), stride=None):
        self.ws = _pair(ws, "ws")
        self.stride = self.ws if stride is None else _pair(stride, "stride")

    @property
    def overlapping(self):
        return self.stride[0] < self.ws[0] or self.stride[1] < self.ws[1]

    def c_headers(self, **kwargs):
        return ["<string.h>", "<math.h>"] + super().c_headers(**kwargs)

    def c_support_code(self, **kwargs):
        return super().c_support_code(**kwargs) + c_source("pool_avx2.c")

    def c_code_cache_version(self):
        sources = c_source_version("pool_avx2.c", *self._c_templates)
        return (6, PARALLEL_MIN_ELEMENTS, sources) + self.threads_version()

    def _vectorized(self, node):
        """The AVX2 path covers float32, 2x2 windows 2 apart (the common max-pool)."""
        return node.inputs[0].type.dtype == "float32" and self.ws == (2, 2) and self.stride == (2, 2)

    def _c_constants(self):
        return dict(wh=self.ws[0], ww=self.ws[1], sh=self.stride[0], sw=self.stride[1])


class MaxPool2D(_MaxPoolBase):
    """Max over ``ws`` windows of the last two axes, ``stride`` apart, no padding.

    The output of aesara's ``pool_2d(x, ws, ignore_border=True, stride=stride,
    mode='max')``, bit for bit (the same comparisons in the same order).
    """

    _c_templates = ("max_pool.c", "max_pool_avx2.c")

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim < 2 or x.type.dtype not in FLOAT_DTYPES:
            raise TypeError(f"MaxPool2D needs a float32/float64 tensor of >= 2 dims, got {x.type}")
        shape = x.type.shape[:-2] + (None, None)
        return Apply(self, [x], [TensorType(x.type.dtype, shape=shape)()])

    def infer_shape(self, fgraph, node, shapes):
        (xs,) = shapes
        from aesara.tensor.math import maximum

        outs = [
            maximum((xs[-2 + i] - self.ws[i]) // self.stride[i] + 1, 0) for i in range(2)
        ]
        return [tuple(xs[:-2]) + tuple(outs)]

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        z = None
        for k, l, rows, cols in _pooled_views(x, self.ws, self.stride):
            window = x[..., rows, cols]
            z = window.copy() if z is None else np.where(window > z, window, z)
        outputs[0][0] = z.astype(x.dtype, copy=False)

    def L_op(self, inputs, outputs, grads):
        (x,) = inputs
        return [MaxPool2DGrad(self.ws, self.stride)(x, outputs[0], grads[0])]

    def _c_value(self, element, x):
        """The C expression of the value pooled at ``element`` (a subclass may transform it)."""
        return element

    def _c_vvalue(self, vector):
        """The same for an AVX2 vector of 8 floats."""
        return vector

    def _c_vector_loop(self, node, x, z):
        if not self._vectorized(node):
            return ""
        v = self._c_vvalue
        # max_ps(a, m) is (a > m ? a : m), the scalar loop's comparison, NaN included;
        # full blocks of 8 outputs, then the rest with masked loads and stores
        body = """
                        __m256 m = %s;
                        m = _mm256_max_ps(%s, m);
                        m = _mm256_max_ps(%s, m);
                        m = _mm256_max_ps(%s, m);
""" % (v("aenet_even(p0, p1)"), v("aenet_odd(p0, p1)"), v("aenet_even(q0, q1)"), v("aenet_odd(q0, q1)"))
        return c_template("max_pool_avx2.c", body=body)

    def c_code(self, node, name, inputs, outputs, sub):
        (x,) = inputs
        (z,) = outputs
        ndim = node.inputs[0].type.ndim
        return c_template(
            "max_pool.c",
            x=x, z=z, ndim=ndim, fail=sub["fail"], first=self._c_value("w[0]", x),
            vector=self._c_vector_loop(node, x, z), min_par=PARALLEL_MIN_ELEMENTS,
            value=self._c_value("w[k * W + l]", x), **self._c_constants()
        )


class MaxPool2DGrad(_MaxPoolBase):
    """Gradient of :class:`MaxPool2D`: ``gz`` to every input equal to its window's max.

    Inputs ``x`` (the pooled input), ``z`` (the pooled output) and ``gz``;
    the result of aesara's ``MaxPoolGrad`` for the same window and stride.
    """

    _c_templates = ("max_pool_grad.c", "max_pool_grad_avx2.c")

    def make_node(self, x, z, gz):
        x, z, gz = (as_tensor_variable(v) for v in (x, z, gz))
        if x.type.dtype not in FLOAT_DTYPES or not x.type.ndim == z.type.ndim == gz.type.ndim >= 2:
            raise TypeError(f"MaxPool2DGrad needs float tensors of equal ndim, got {x.type}, {z.type}, {gz.type}")
        if not x.type.dtype == z.type.dtype == gz.type.dtype:
            raise TypeError(f"MaxPool2DGrad needs one dtype, got {x.type}, {z.type}, {gz.type}")
        return Apply(self, [x, z, gz], [x.type()])

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, outputs):
        x, z, gz = inputs
        gx = np.zeros_like(x)
        # offsets in reverse order add each input's windows in window order,
        # as the C code and aesara's MaxPoolGrad do
        for k, l, rows, cols in reversed(list(_pooled_views(x, self.ws, self.stride))):
            window = x[..., rows, cols]
            gx[..., rows, cols] += np.where(window == z, gz, 0).astype(x.dtype)
        outputs[0][0] = gx

    def L_op(self, inputs, outputs, grads):
        x, z, gz = inputs
        (ggx,) = grads
        from aesara.tensor.basic import zeros_like

        ggz = DownsampleFactorMaxGradGrad(ignore_border=True, ndim=2)(
            x, z, ggx, self.ws, self.stride, (0, 0)
        )
        return [zeros_like(x), zeros_like(z), ggz]

    def _c_condition(self, a, m):
        """C condition for input value ``a`` to receive the gradient of its window's max ``m``."""
        return f"{a} == {m}"

    def _c_vcondition(self, a, m):
        """The same as an AVX2 mask (``a == m`` is false for NaN, as _CMP_EQ_OQ)."""
        return f"_mm256_cmp_ps({a}, {m}, _CMP_EQ_OQ)"

    def _c_vector_loop(self, node):
        if not self._vectorized(node):
            return ""
        c = self._c_vcondition
        return c_template("max_pool_grad_avx2.c", c0=c("a0", "m0"), c1=c("a1", "m1"))

    def c_code(self, node, name, inputs, outputs, sub):
        x, z, gz = inputs
        (gx,) = outputs
        ndim = node.inputs[0].type.ndim
        consts = self._c_constants()
        cond = self._c_condition("a", "m")
        if self.overlapping:
            # windows share inputs: clear, then add each window's share in
            # window order (the order of aesara's MaxPoolGrad)
            store = "grow[k * W + l] += (%s) ? g : (dtype_%s)0;" % (cond, gx)
        else:
            store = "grow[k * W + l] = (%s) ? g : (dtype_%s)0;" % (cond, gx)
        return c_template(
            "max_pool_grad.c",
            x=x, z=z, gz=gz, gx=gx, ndim=ndim, fail=sub["fail"], store=store,
            vector=self._c_vector_loop(node), min_par=PARALLEL_MIN_ELEMENTS,
            overlapping=int(self.overlapping), **consts
        )


def _constant_pair(var):
    if not isinstance(var, Constant):
        return None
    data = np.asarray(var.data)
    if data.shape != (2,):
        return None
    return tuple(int(v) for v in data)


def _pool_params(op, ws, stride, pad):
    """``(ws, stride)`` when aenet's Ops can replace this aesara pool node, else None."""
    if op.mode != "max" or not op.ignore_border or op.ndim != 2:
        return None
    ws, stride, pad = _constant_pair(ws), _constant_pair(stride), _constant_pair(pad)
    if ws is None or stride is None or pad != (0, 0) or min(ws + stride) < 1:
        return None
    return ws, stride


@node_rewriter([Pool])
def local_max_pool_2d(fgraph, node):
    """aesara ``Pool`` (max, ignore_border, no padding) -> :class:`MaxPool2D`."""
    x, ws, stride, pad = node.inputs
    params = _pool_params(node.op, ws, stride, pad)
    if params is None or x.type.dtype not in FLOAT_DTYPES:
        return None
    out = MaxPool2D(*params)(x)
    copy_stack_trace(node.outputs[0], out)
    return [out]


@node_rewriter([MaxPoolGrad])
def local_max_pool_2d_grad(fgraph, node):
    """aesara ``MaxPoolGrad`` (ignore_border, no padding) -> :class:`MaxPool2DGrad`."""
    x, z, gz, ws, stride, pad = node.inputs
    params = _pool_params(node.op, ws, stride, pad)
    if params is None or x.type.dtype not in FLOAT_DTYPES:
        return None
    if not x.type.dtype == z.type.dtype == gz.type.dtype:
        return None
    out = MaxPool2DGrad(*params)(x, z, gz)
    copy_stack_trace(node.outputs[0], out)
    return [out]


for _rewrite in (local_max_pool_2d, local_max_pool_2d_grad):
    register_specialize_device(_rewrite, "cxx_only", "aenet_pool")
