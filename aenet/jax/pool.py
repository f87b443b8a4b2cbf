"""JAX implementations of aesara's pooling Ops and their gradients (``lax.reduce_window``)."""
import itertools
import math
import jax
import jax.numpy as jnp
import numpy as np
from aesara.link.jax.dispatch import jax_funcify

from aenet.jax.mode import as_dtype, constant_ints, lowest, signal_pool, static_ints

Pool, MaxPoolGrad = signal_pool.Pool, signal_pool.MaxPoolGrad
AveragePoolGrad, DownsampleFactorMaxGradGrad = signal_pool.AveragePoolGrad, signal_pool.DownsampleFactorMaxGradGrad

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


def _geometry(x, nd, ignore_border, params):
    """The :class:`_Geometry` of pooling ``x`` with ``params`` (window, stride, padding: constants or traced)."""
    ws, stride, pad = [static_ints(v, "pooling sizes") for v in params]
    return _Geometry(x.shape, nd, ws, stride, pad, ignore_border)


def _pool_params(op, node):
    """The constant ``(ws, stride, pad)`` of a pooling node, or None for those given at run time."""
    if node is None:
        return None
    params = [constant_ints(v) for v in node.inputs[-3:]]
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
        low = np.array(lowest(x.dtype), x.dtype)
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
        geometry = _geometry(x, nd, ignore_border, constant or (ws, stride, pad))
        return _pool(x, geometry, mode, ignore_border)

    return pool


def _max_pool_grad(x, maxout, gz, geometry):
    """Sum ``gz`` into every position of each window whose value equals the window's max."""
    g = geometry
    gz = as_dtype(gz, x.dtype)
    if g.empty:
        return jnp.zeros_like(x)
    low = lowest(x.dtype)
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
        geometry = _geometry(x, nd, ignore_border, constant or (ws, stride, pad))
        return _max_pool_grad(x, maxout, gz, geometry)

    return max_pool_grad


@jax_funcify.register(AveragePoolGrad)
def jax_funcify_AveragePoolGrad(op, node=None, **kwargs):
    """The sum and average pools are linear: their gradient is their transpose."""
    nd, mode, ignore_border = op.ndim, op.mode, op.ignore_border
    constant = _pool_params(op, node)

    def average_pool_grad(x, gz, ws, stride, pad):
        geometry = _geometry(x, nd, ignore_border, constant or (ws, stride, pad))
        transpose = jax.linear_transpose(
            lambda v: _pool(v, geometry, mode, ignore_border), jax.ShapeDtypeStruct(x.shape, x.dtype)
        )
        return transpose(as_dtype(gz, x.dtype))[0]

    return average_pool_grad


@jax_funcify.register(DownsampleFactorMaxGradGrad)
def jax_funcify_DownsampleFactorMaxGradGrad(op, node=None, **kwargs):
    """Per window, the sum of ``ggx`` over the positions equal to the window's max."""
    nd, ignore_border = op.ndim, op.ignore_border
    constant = _pool_params(op, node)

    def max_pool_grad_grad(x, maxout, ggx, ws, stride, pad):
        g = _geometry(x, nd, ignore_border, constant or (ws, stride, pad))
        if g.empty:
            return jnp.zeros_like(maxout)
        padded = g.pad_input(x, lowest(x.dtype))
        ggx = g.pad_input(as_dtype(ggx, x.dtype), 0)
        zero = jnp.array(0, x.dtype)
        total = None
        for offset in g.offsets():
            index = g.window_slice(offset)
            part = jnp.where(padded[index] == maxout, ggx[index], zero)
            total = part if total is None else total + part
        return total

    return max_pool_grad_grad


