"""JAX implementations of the aesara Ops in aenet's nets, and the JAX compile mode.

aesara 2.9.4 compiles to a GPU only through JAX (``mode="JAX"``), but ships no
JAX implementation for the convolution, pooling and softmax/cross-entropy Ops
that aenet's training, validation and prediction graphs contain.  Importing
this module registers them through aesara's public extension point,
:func:`aesara.link.jax.dispatch.jax_funcify`:

=================================================  ==========================================
``AbstractConv2d``                                 ``lax.conv_general_dilated``
``AbstractConv2d_gradWeights`` / ``_gradInputs``   transpose of that convolution
``Pool`` (max, sum, average_inc_pad/exc_pad)       ``lax.reduce_window``
``MaxPoolGrad``                                    every position equal to the max gets ``gz``
``AveragePoolGrad``                                transpose of the average/sum pool
``DownsampleFactorMaxGradGrad``                    gather of ``ggx`` at the max positions
``SoftmaxWithBias``                                softmax of ``x + b``
``CrossentropySoftmaxArgmax1HotWithBias``          row-wise NLL, softmax and argmax
``CrossentropySoftmax1HotWithBiasDx``              ``dy * (softmax - one_hot)``
``CrossentropyCategorical1Hot`` / ``...Grad``      ``-log p[y]`` and its gradient
``Argmax``                                         ``jnp.argmax`` over one or more axes
``BinomialRV`` (dropout masks)                     ``jax.random.binomial``
``NesterovStep`` (:mod:`aenet.momentum`)           the same arithmetic, in the same order
=================================================  ==========================================

Each one reproduces aesara's C code, including its corner cases: filter
flipping and the ``valid``/``full``/``half``/integer/asymmetric padding of the
convolution, ``ignore_border``, stride and padding of the pooling (padding
never wins a maximum), and ``MaxPoolGrad``'s ties: like the C code, it sends the
gradient to *every* input equal to the window's maximum, where JAX's own
gradient of ``reduce_window`` picks one.

:data:`JAX_MODE` is aesara's JAX mode without the CPU convolution rewrites
(``conv_opts``: aesara's ``CorrMM`` lowering, broken in 2.9.4, and aenet's
``cxx_only`` fix) and without ``AbstractConvCheck``, which rejects any
convolution those rewrites left in place; in JAX mode the abstract Ops are
exactly what the implementations below compile.  Two JAX-only rewrites make
aesara's shape handling fit ``jax.jit``: integer arithmetic on shapes is
evaluated by NumPy while tracing (:class:`HostShapeOp`), and ``SpecifyShape``
is checked against the static shape (:class:`StaticSpecifyShape`).

:class:`DeviceFunction` compiles a function whose shared variables (the
parameters, the optimizer state, random streams) stay on the device between
calls, which aesara's own Function does not do.
"""
import itertools
import math
import warnings
import weakref
from collections import OrderedDict

import aesara
import jax
import jax.numpy as jnp
import numpy as np
from aesara.compile import optdb
from aesara.compile.mode import get_mode
from aesara.compile.sharedvalue import SharedVariable
from aesara.graph.basic import Apply, Constant, clone_replace, graph_inputs
from aesara.graph.features import ReplaceValidate
from aesara.graph.op import Op
from aesara.graph.rewriting.basic import GraphRewriter
from aesara.link.jax.dispatch import jax_funcify, jax_typify
from aesara.link.jax.dispatch.random import jax_sample_fn
from aesara.tensor.basic import MakeVector, ScalarFromTensor, TensorFromScalar
from aesara.tensor.elemwise import DimShuffle, Elemwise
from aesara.tensor.math import Argmax
from aesara.tensor.random.basic import BinomialRV
from aesara.tensor.shape import Shape, Shape_i, SpecifyShape
from aesara.tensor.subtensor import Subtensor

from aenet import compat
from aenet.momentum import NesterovStep

with warnings.catch_warnings():  # aesara.tensor.nnet and .signal are deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet.abstract_conv import (
        AbstractConv2d,
        AbstractConv2d_gradInputs,
        AbstractConv2d_gradWeights,
        border_mode_to_pad,
    )
    from aesara.tensor.nnet.basic import (
        CrossentropyCategorical1Hot,
        CrossentropyCategorical1HotGrad,
        CrossentropySoftmax1HotWithBiasDx,
        CrossentropySoftmaxArgmax1HotWithBias,
        SoftmaxWithBias,
    )
    from aesara.tensor.signal.pool import (
        AveragePoolGrad,
        DownsampleFactorMaxGradGrad,
        MaxPoolGrad,
        Pool,
    )

__all__ = [
    "JAX_MODE",
    "EXCLUDED_REWRITES",
    "DeviceFunction",
    "HostShapeOp",
    "StaticSpecifyShape",
    "pool_output_shape",
]

# fast_run rewrites for aesara's C backend only, which JAX mode must skip.
EXCLUDED_REWRITES = ("conv_opts", "AbstractConvCheck")

JAX_MODE = get_mode("JAX").excluding(*EXCLUDED_REWRITES)

_CONV_DIMENSIONS = ("NCHW", "OIHW", "NCHW")


# -- helpers ----------------------------------------------------------------------


def _static_ints(value, what):
    """``value`` (a constant, or a concrete array while tracing) as a tuple of ints."""
    try:
        return tuple(int(v) for v in np.asarray(value).ravel())
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError, TypeError):
        raise NotImplementedError(
            f"JAX needs {what} known when the function is compiled; it is computed "
            "from the data here. Pass it as a constant."
        ) from None


def _constant_ints(var):
    """The value of a constant graph input as a tuple of ints, or None if it is not constant."""
    if isinstance(var, Constant):
        return tuple(int(v) for v in np.asarray(var.data).ravel())
    return None


def _as_dtype(x, dtype):
    """``x`` in ``dtype`` (no copy when it already is)."""
    return x if x.dtype == dtype else x.astype(dtype)


def _canonical(dtype):
    """``dtype`` as JAX stores it (int64 is int32 while 64-bit types are disabled)."""
    return jax.dtypes.canonicalize_dtype(dtype)


def _lowest(dtype):
    """The value that never wins a maximum: -inf, or the smallest integer."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    return np.iinfo(dtype).min


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


# -- convolution ------------------------------------------------------------------


def _check_conv_op(op):
    if op.unshared:
        raise NotImplementedError("aenet has no JAX implementation of unshared convolutions")
    if op.convdim != 2:
        raise NotImplementedError(f"aenet's JAX convolutions are 2-D, got convdim={op.convdim}")


def _conv2d(op, img, kern):
    """``AbstractConv2d`` with ``op``'s flags: a convolution when ``filter_flip``, else a correlation."""
    dilated = tuple((k - 1) * d + 1 for k, d in zip(kern.shape[2:], op.filter_dilation))
    padding = [tuple(p) for p in border_mode_to_pad(op.border_mode, 2, dilated)]
    if op.filter_flip:
        kern = kern[:, :, ::-1, ::-1]
    return jax.lax.conv_general_dilated(
        img,
        kern,
        window_strides=tuple(op.subsample),
        padding=padding,
        rhs_dilation=tuple(op.filter_dilation),
        dimension_numbers=_CONV_DIMENSIONS,
        feature_group_count=op.num_groups,
    )


@jax_funcify.register(AbstractConv2d)
def jax_funcify_AbstractConv2d(op, node=None, **kwargs):
    _check_conv_op(op)

    def abstract_conv2d(img, kern):
        return _conv2d(op, img, kern)

    return abstract_conv2d


@jax_funcify.register(AbstractConv2d_gradWeights)
def jax_funcify_AbstractConv2d_gradWeights(op, node=None, **kwargs):
    """The kernel gradient: the transpose of the convolution, as a function of the kernel."""
    _check_conv_op(op)
    constant_shape = _constant_ints(node.inputs[2]) if node is not None else None

    def abstract_conv2d_grad_weights(img, topgrad, shape):
        spatial = constant_shape or _static_ints(shape, "the kernel shape of a conv2d gradient")
        kshp = (topgrad.shape[1], img.shape[1] // op.num_groups) + spatial
        transpose = jax.linear_transpose(
            lambda kern: _conv2d(op, img, kern), jax.ShapeDtypeStruct(kshp, img.dtype)
        )
        return transpose(_as_dtype(topgrad, img.dtype))[0]

    return abstract_conv2d_grad_weights


@jax_funcify.register(AbstractConv2d_gradInputs)
def jax_funcify_AbstractConv2d_gradInputs(op, node=None, **kwargs):
    """The image gradient: the transpose of the convolution, as a function of the image."""
    _check_conv_op(op)
    constant_shape = _constant_ints(node.inputs[2]) if node is not None else None

    def abstract_conv2d_grad_inputs(kern, topgrad, shape):
        spatial = constant_shape or _static_ints(shape, "the image shape of a conv2d gradient")
        imshp = (topgrad.shape[0], kern.shape[1] * op.num_groups) + spatial
        transpose = jax.linear_transpose(
            lambda img: _conv2d(op, img, kern), jax.ShapeDtypeStruct(imshp, kern.dtype)
        )
        return transpose(_as_dtype(topgrad, kern.dtype))[0]

    return abstract_conv2d_grad_inputs


# -- pooling ----------------------------------------------------------------------


def pool_output_shape(length, ws, stride, pad, ignore_border):
    """Pooled length along one axis, as aesara's C code computes it."""
    padded = length + 2 * pad
    if ignore_border:
        return 0 if padded < ws else (padded - ws) // stride + 1
    if stride >= ws:
        return (padded - 1) // stride + 1
    return max(0, (padded - 1 - ws + stride) // stride) + 1


class _Geometry:
    """Where the windows of a pooling lie, for the last ``nd`` axes of ``shape``."""

    def __init__(self, shape, nd, ws, stride, pad, ignore_border):
        if not (len(ws) == len(stride) == len(pad) == nd):
            raise ValueError(f"pooling needs {nd} window sizes, strides and pads, got {ws}, {stride}, {pad}")
        if len(shape) < nd:
            raise NotImplementedError(f"pooling over {nd} axes needs {nd} or more dimensions, got {len(shape)}")
        self.lead = len(shape) - nd
        self.spatial = tuple(shape[self.lead:])
        self.ws, self.stride, self.pad = ws, stride, pad
        self.out = tuple(
            pool_output_shape(n, w, s, p, ignore_border)
            for n, w, s, p in zip(self.spatial, ws, stride, pad)
        )
        # Padded length that holds every window, partial ones (ignore_border=False) included.
        self.padded = tuple(
            max(n + 2 * p, (z - 1) * s + w) if z else n + 2 * p
            for n, w, s, p, z in zip(self.spatial, ws, stride, pad, self.out)
        )
        self.empty = 0 in self.out

    def padding(self):
        """lax padding config (low, high, interior) that places the input in the padded frame."""
        config = [(0, 0, 0)] * self.lead
        config += [(p, L - n - p, 0) for n, p, L in zip(self.spatial, self.pad, self.padded)]
        return config

    def pad_input(self, x, value):
        return jax.lax.pad(x, np.array(value, x.dtype), self.padding())

    def unpad(self, x):
        index = (slice(None),) * self.lead
        index += tuple(slice(p, p + n) for p, n in zip(self.pad, self.spatial))
        return x[index]

    def offsets(self):
        """Every position inside a window, as a tuple of per-axis offsets."""
        return itertools.product(*(range(w) for w in self.ws))

    def window_slice(self, offset):
        """The elements at ``offset`` inside every window, in the padded frame."""
        index = (slice(None),) * self.lead
        index += tuple(
            slice(o, o + s * (z - 1) + 1, s) for o, s, z in zip(offset, self.stride, self.out)
        )
        return index

    def scatter_config(self, offset):
        """lax padding config that puts one value per window back at ``offset`` in the padded frame."""
        config = [(0, 0, 0)] * self.lead
        config += [
            (o, L - (o + s * (z - 1) + 1), s - 1)
            for o, s, z, L in zip(offset, self.stride, self.out, self.padded)
        ]
        return config

    def tiles(self):
        """True when windows tile the input: stride == window and no padding."""
        return self.stride == self.ws and not any(self.pad)

    def counts(self, mode, ignore_border, dtype):
        """Divisor of each window for the average modes, as the C code computes it."""
        if mode == "average_inc_pad" and ignore_border:
            return np.asarray(math.prod(self.ws), dtype=dtype)
        per_axis = []
        for n, w, s, p, z in zip(self.spatial, self.ws, self.stride, self.pad, self.out):
            start = np.arange(z) * s
            per_axis.append(np.minimum(start + w, n + p) - np.maximum(start, p))
        counts = per_axis[0]
        for axis in per_axis[1:]:
            counts = np.multiply.outer(counts, axis)
        return counts.astype(dtype)


def _pool_params(op, node):
    """The constant ``(ws, stride, pad)`` of a pooling node, or None for those given at run time."""
    if node is None:
        return None
    params = [_constant_ints(v) for v in node.inputs[-3:]]
    return None if any(p is None for p in params) else params


def _pool(x, geometry, mode, ignore_border):
    """``Pool`` on ``x``; ``geometry`` describes its windows."""
    g = geometry
    if g.empty:
        return jnp.zeros(x.shape[: g.lead] + g.out, x.dtype)
    window = (1,) * g.lead + g.ws
    strides = (1,) * g.lead + g.stride
    # NumPy init values: JAX recognizes max/add with a concrete identity as its
    # reduce_window_max/sum primitives, which it can differentiate and transpose.
    if mode == "max":
        low = np.array(_lowest(x.dtype), x.dtype)
        return jax.lax.reduce_window(g.pad_input(x, low), low, jax.lax.max, window, strides, "VALID")
    zero = np.array(0, x.dtype)
    total = jax.lax.reduce_window(g.pad_input(x, zero), zero, jax.lax.add, window, strides, "VALID")
    if mode == "sum":
        return total
    return total / g.counts(mode, ignore_border, x.dtype)


@jax_funcify.register(Pool)
def jax_funcify_Pool(op, node=None, **kwargs):
    nd, mode, ignore_border = op.ndim, op.mode, op.ignore_border
    constant = _pool_params(op, node)

    def pool(x, ws, stride, pad):
        ws, stride, pad = constant or [
            _static_ints(v, "pooling sizes") for v in (ws, stride, pad)
        ]
        geometry = _Geometry(x.shape, nd, ws, stride, pad, ignore_border)
        return _pool(x, geometry, mode, ignore_border)

    return pool


def _max_pool_grad(x, maxout, gz, geometry):
    """Sum ``gz`` into every position of each window whose value equals the window's max."""
    g = geometry
    gz = _as_dtype(gz, x.dtype)
    if g.empty:
        return jnp.zeros_like(x)
    low = _lowest(x.dtype)
    if g.tiles():
        # Windows tile the input: crop (or pad) it to whole windows, split each pooled
        # axis into (window, offset) and compare, all in one elementwise pass.
        frame = [(0, z * w - n, 0) for n, z, w in zip(g.spatial, g.out, g.ws)]
        tiled = jax.lax.pad(x, jnp.array(low, x.dtype), [(0, 0, 0)] * g.lead + frame)
        split = tiled.shape[: g.lead] + tuple(d for z, w in zip(g.out, g.ws) for d in (z, w))
        expand = (Ellipsis,) + tuple(i for _ in g.ws for i in (slice(None), None))
        blocks = tiled.reshape(split)
        grad = jnp.where(blocks == maxout[expand], gz[expand], jnp.zeros((), x.dtype))
        back = [(0, 0, 0)] * g.lead + [(0, -high, 0) for _, high, _ in frame]
        return jax.lax.pad(grad.reshape(tiled.shape), jnp.zeros((), x.dtype), back)
    padded = g.pad_input(x, low)
    zero = jnp.array(0, x.dtype)
    grad = None
    for offset in g.offsets():
        hits = jnp.where(padded[g.window_slice(offset)] == maxout, gz, zero)
        part = jax.lax.pad(hits, zero, g.scatter_config(offset))
        grad = part if grad is None else grad + part
    return g.unpad(grad)


@jax_funcify.register(MaxPoolGrad)
def jax_funcify_MaxPoolGrad(op, node=None, **kwargs):
    nd, ignore_border = op.ndim, op.ignore_border
    constant = _pool_params(op, node)

    def max_pool_grad(x, maxout, gz, ws, stride, pad):
        ws, stride, pad = constant or [
            _static_ints(v, "pooling sizes") for v in (ws, stride, pad)
        ]
        geometry = _Geometry(x.shape, nd, ws, stride, pad, ignore_border)
        return _max_pool_grad(x, maxout, gz, geometry)

    return max_pool_grad


@jax_funcify.register(AveragePoolGrad)
def jax_funcify_AveragePoolGrad(op, node=None, **kwargs):
    """The sum and average pools are linear: their gradient is their transpose."""
    nd, mode, ignore_border = op.ndim, op.mode, op.ignore_border
    constant = _pool_params(op, node)

    def average_pool_grad(x, gz, ws, stride, pad):
        ws, stride, pad = constant or [
            _static_ints(v, "pooling sizes") for v in (ws, stride, pad)
        ]
        geometry = _Geometry(x.shape, nd, ws, stride, pad, ignore_border)
        transpose = jax.linear_transpose(
            lambda v: _pool(v, geometry, mode, ignore_border), jax.ShapeDtypeStruct(x.shape, x.dtype)
        )
        return transpose(_as_dtype(gz, x.dtype))[0]

    return average_pool_grad


@jax_funcify.register(DownsampleFactorMaxGradGrad)
def jax_funcify_DownsampleFactorMaxGradGrad(op, node=None, **kwargs):
    """Per window, the sum of ``ggx`` over the positions equal to the window's max."""
    nd, ignore_border = op.ndim, op.ignore_border
    constant = _pool_params(op, node)

    def max_pool_grad_grad(x, maxout, ggx, ws, stride, pad):
        ws, stride, pad = constant or [
            _static_ints(v, "pooling sizes") for v in (ws, stride, pad)
        ]
        g = _Geometry(x.shape, nd, ws, stride, pad, ignore_border)
        if g.empty:
            return jnp.zeros_like(maxout)
        padded = g.pad_input(x, _lowest(x.dtype))
        ggx = g.pad_input(_as_dtype(ggx, x.dtype), 0)
        zero = jnp.array(0, x.dtype)
        total = None
        for offset in g.offsets():
            index = g.window_slice(offset)
            part = jnp.where(padded[index] == maxout, ggx[index], zero)
            total = part if total is None else total + part
        return total

    return max_pool_grad_grad


# -- softmax, cross-entropy and argmax ------------------------------------------


def _one_hot(y_idx, n_classes):
    """Boolean ``(rows, n_classes)`` mask of ``y_idx``, without a scatter."""
    return y_idx[:, None] == jnp.arange(n_classes, dtype=y_idx.dtype)[None, :]


def _softmax_rows(row):
    """Row-wise softmax, its row max and normalizer, as aesara's C code computes them."""
    row_max = jnp.max(row, axis=1, keepdims=True)
    e = jnp.exp(row - row_max)
    total = jnp.sum(e, axis=1, keepdims=True)
    return e * (1 / total), row_max[:, 0], total[:, 0]


@jax_funcify.register(SoftmaxWithBias)
def jax_funcify_SoftmaxWithBias(op, **kwargs):
    def softmax_with_bias(x, b):
        return _softmax_rows(x + b[None, :])[0]

    return softmax_with_bias


@jax_funcify.register(CrossentropySoftmaxArgmax1HotWithBias)
def jax_funcify_CrossentropySoftmaxArgmax1HotWithBias(op, **kwargs):
    def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
        row = x + b[None, :]
        sm, row_max, total = _softmax_rows(row)
        true_logit = jnp.sum(jnp.where(_one_hot(y_idx, row.shape[1]), row, 0), axis=1)
        nll = -true_logit + row_max + jnp.log(total)
        am = jnp.argmax(row, axis=1).astype(y_idx.dtype)
        return nll, sm, am

    return crossentropy_softmax_argmax_1hot_with_bias


@jax_funcify.register(CrossentropySoftmax1HotWithBiasDx)
def jax_funcify_CrossentropySoftmax1HotWithBiasDx(op, **kwargs):
    def crossentropy_softmax_1hot_with_bias_dx(dy, sm, y_idx):
        dy = _as_dtype(jnp.reshape(dy, (-1, 1)), sm.dtype)  # a scalar or one value per row
        return dy * sm - jnp.where(_one_hot(y_idx, sm.shape[1]), dy, jnp.zeros((), sm.dtype))

    return crossentropy_softmax_1hot_with_bias_dx


@jax_funcify.register(CrossentropyCategorical1Hot)
def jax_funcify_CrossentropyCategorical1Hot(op, **kwargs):
    def crossentropy_categorical_1hot(coding, one_of_n):
        picked = jnp.sum(jnp.where(_one_hot(one_of_n, coding.shape[1]), coding, 0), axis=1)
        return -jnp.log(picked)

    return crossentropy_categorical_1hot


@jax_funcify.register(CrossentropyCategorical1HotGrad)
def jax_funcify_CrossentropyCategorical1HotGrad(op, **kwargs):
    def crossentropy_categorical_1hot_grad(g_y, coding, one_of_n):
        g_y = _as_dtype(g_y, coding.dtype)[:, None]
        mask = _one_hot(one_of_n, coding.shape[1])
        return jnp.where(mask, -g_y / jnp.where(mask, coding, 1), jnp.zeros((), coding.dtype))

    return crossentropy_categorical_1hot_grad


@jax_funcify.register(NesterovStep)
def jax_funcify_NesterovStep(op, node=None, **kwargs):
    """The new parameter and velocity, in the C code's order of operations."""

    def nesterov_step(param, velocity, grad, learning_rate, momentum):
        step = learning_rate * grad
        new_velocity = momentum * velocity - step
        return (momentum * new_velocity + param) - step, new_velocity

    return nesterov_step


@jax_funcify.register(Argmax)
def jax_funcify_Argmax(op, node=None, **kwargs):
    """Index of the maximum over ``op.axis``; several axes count as one, flattened in order."""
    axis = op.axis
    out_dtype = _canonical(node.outputs[0].dtype if node is not None else "int64")

    def argmax(x):
        axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in axis)
        keep = tuple(a for a in range(x.ndim) if a not in axes)
        moved = jnp.transpose(x, keep + axes)
        flat = moved.reshape(moved.shape[: len(keep)] + (-1,))
        return jnp.argmax(flat, axis=-1).astype(out_dtype)

    return argmax


# -- random masks (DropoutLayer) ------------------------------------------------


@jax_sample_fn.register(BinomialRV)
def jax_sample_fn_binomial(op):
    """``binomial(n, p)`` draws, from the random key the JAX linker threads through the graph."""

    def sample_fn(rng, size, dtype, n, p):
        key, sampling_key = jax.random.split(rng["jax_state"], 2)
        shape = None if size is None else tuple(size)
        if shape is None:
            shape = jnp.broadcast_shapes(jnp.shape(n), jnp.shape(p))
        p = jnp.asarray(p, jnp.result_type(float))
        sample = jax.random.binomial(sampling_key, jnp.asarray(n, p.dtype), p, shape=shape)
        rng["jax_state"] = key
        return rng, sample.astype(_canonical(dtype))

    return sample_fn


# -- functions whose shared variables stay on the device ------------------------

# The device copy of each shared variable used by a DeviceFunction: one per
# variable, read and updated by every DeviceFunction, like a GPU shared variable
# in Theano.  The host value is only refreshed by ``sync``.
_device_values = weakref.WeakKeyDictionary()


class DeviceFunction:
    """``aesara.function(inputs, outputs, updates=updates)`` for JAX, with its state on the device.

    aesara's own Function writes every update back through ``TensorType.filter``,
    i.e. into a NumPy array on the host, and hands every shared variable to XLA
    again at the next call: all parameters (and a data set held in a shared
    variable) go to the device and back at every step.  Here the shared
    variables of the graph become inputs, their updates (``updates`` and the
    ``default_update`` of random streams) outputs, of one aesara function
    compiled in :data:`JAX_MODE`.  Their values stay JAX arrays on the device
    between calls, one copy per shared variable for all DeviceFunctions (a
    training step updates the weights a validation function then reads).

    Inputs may be JAX arrays already on the device (no copy) or anything NumPy
    accepts (cast to the input's dtype, like ``allow_input_downcast=True``).
    Outputs are JAX arrays, computed asynchronously: reading one (``float``,
    ``np.asarray``) waits for it.  :meth:`sync` copies the device values back
    into the shared variables (before reading or saving them on the host);
    :meth:`reload` sends values set on the shared variables to the device.
    Random streams continue on the device; their host generators are not
    advanced.
    """

    def __init__(self, inputs, outputs, updates=None, mode=None):
        self.inputs = list(inputs)
        self.single = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single else list(outputs)
        updates = OrderedDict(updates or {})
        self.shared = self._shared_variables(self.outputs, updates)
        self.updated = list(updates)
        stand_ins = [var.type() for var in self.shared]
        for var, stand_in in zip(self.shared, stand_ins):
            stand_in.name = var.name
        rebuilt = clone_replace(self.outputs + list(updates.values()), replace=dict(zip(self.shared, stand_ins)))
        self.function = aesara.function(
            stand_ins + self.inputs, rebuilt, mode=mode or JAX_MODE, on_unused_input="ignore"
        )
        self.function.trust_input = True  # values are passed to XLA as they are
        self._dtypes = [_canonical(var.type.dtype) for var in self.inputs]
        for var in self.shared:
            if var not in _device_values:
                _device_values[var] = _device_value(var.get_value(borrow=True))

    @staticmethod
    def _shared_variables(outputs, updates):
        """The shared variables the graph reads or updates; adds their default updates to ``updates``."""
        shared, pending = [], outputs + list(updates.keys()) + list(updates.values())
        while pending:
            found = [
                v for v in graph_inputs(pending) if isinstance(v, SharedVariable) and v not in shared
            ]
            shared += found
            pending = []
            for var in found:
                default = getattr(var, "default_update", None)
                if var not in updates and default is not None:
                    updates[var] = default
                    pending.append(default)
        shared += [var for var in updates if var not in shared]
        return shared

    @property
    def values(self):
        """The device values of :attr:`shared`."""
        return [_device_values[var] for var in self.shared]

    def reload(self):
        """Send the shared variables' current host values to the device."""
        for var in self.shared:
            _device_values[var] = _device_value(var.get_value(borrow=True))

    def sync(self):
        """Copy the device values of the updated shared variables into them (tensors only)."""
        for var in self.updated:
            value = _device_values[var]
            if isinstance(value, jax.Array):
                var.set_value(np.asarray(value))

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise TypeError(f"expected {len(self.inputs)} inputs, got {len(args)}")
        args = [
            value if isinstance(value, jax.Array) and value.dtype == dtype else jnp.asarray(value, dtype=dtype)
            for value, dtype in zip(args, self._dtypes)
        ]
        results = self.function(*self.values, *args)
        n = len(self.outputs)
        for var, value in zip(self.updated, results[n:]):
            _device_values[var] = value
        return results[0] if self.single else list(results[:n])


compat.patch_jax_random()


def _device_value(value):
    """A shared variable's value as the JAX graph takes it: an array, or a random key state."""
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        return jax_typify(value)
    return jnp.asarray(value)
