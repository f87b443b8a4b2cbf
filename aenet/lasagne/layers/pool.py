"""Pooling and upscaling (Lasagne's ``lasagne.layers.pool``).

The feature-wise, global and spatial pyramid poolings live in
:mod:`aenet.lasagne.layers.pool_global` and are exported from here too.
"""
import warnings

import aesara.tensor as at
import numpy as np

from aenet.lasagne.layers.base import Layer
from aenet.lasagne.layers.conv import check_input_ndim
from aenet.lasagne.layers.pool_global import (
    FeaturePoolLayer,
    FeatureWTALayer,
    GlobalPoolLayer,
    SpatialPyramidPoolingLayer,
)
from aenet.lasagne.utils import as_tuple

with warnings.catch_warnings():  # aesara.tensor.signal is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.signal.pool import pool_2d, pool_3d

__all__ = [
    "MaxPool1DLayer",
    "MaxPool2DLayer",
    "MaxPool3DLayer",
    "Pool1DLayer",
    "Pool2DLayer",
    "Pool3DLayer",
    "Upscale1DLayer",
    "Upscale2DLayer",
    "Upscale3DLayer",
    "FeaturePoolLayer",
    "FeatureWTALayer",
    "GlobalPoolLayer",
    "SpatialPyramidPoolingLayer",
    "pool_output_length",
]

POOL_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def pool_output_length(input_length, pool_size, stride, pad, ignore_border):
    """Output length of pooling along one axis (None if the input's or the pool's is).

    With ``ignore_border`` only windows that fit inside the (padded) input
    count; without it a last, partial window is kept, and ``pad`` must be 0.

    >>> pool_output_length(11, 3, 2, 0, False)
    5
    """
    if input_length is None or pool_size is None:
        return None
    if ignore_border:
        return (input_length + 2 * pad - pool_size) // stride + 1
    if pad != 0:
        raise ValueError("pad=%r needs ignore_border=True" % (pad,))
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


class _PoolLayer(Layer):
    """Pooling over the last ``n`` axes of a ``(batch, channels, ...)`` input."""

    n = None

    def __init__(self, incoming, pool_size, stride, pad, ignore_border, mode, **kwargs):
        super().__init__(incoming, **kwargs)
        check_input_ndim(self.input_shape, self.n, "%s (%dD pooling)" % (type(self).__name__, self.n))
        self.pool_size = as_tuple(pool_size, self.n, int)
        self.stride = self.pool_size if stride is None else as_tuple(stride, self.n, int)
        self.pad = as_tuple(pad, self.n, int)
        self.ignore_border = ignore_border
        self.mode = mode
        if mode not in POOL_MODES:
            raise ValueError("mode must be one of %s, got mode=%r" % (", ".join(POOL_MODES), mode))
        if any(p >= s for p, s in zip(self.pad, self.pool_size)):
            raise ValueError("pad=%r must be smaller than pool_size=%r" % (pad, pool_size))
        if any(self.pad) and not ignore_border:
            raise ValueError("pad=%r needs ignore_border=True" % (pad,))

    def get_output_shape_for(self, input_shape):
        spatial = tuple(
            pool_output_length(length, size, stride, pad, self.ignore_border)
            for length, size, stride, pad in zip(input_shape[-self.n:], self.pool_size, self.stride, self.pad)
        )
        return tuple(input_shape[: -self.n]) + spatial

    def _pool_keywords(self):
        return dict(ws=self.pool_size, stride=self.stride, pad=self.pad, ignore_border=self.ignore_border,
                    mode=self.mode)


class Pool1DLayer(_PoolLayer):
    """Pool1DLayer(incoming, pool_size, stride=None, pad=0, ignore_border=True,
    mode='max', **kwargs)

    Pooling over the last axis of a ``(batch, channels, length)`` input: the
    maximum (``mode='max'``), sum or mean of windows of ``pool_size``, moved
    by ``stride`` (default ``pool_size``).  ``'average_inc_pad'`` divides by
    the window size, ``'average_exc_pad'`` by the number of input elements in
    the window.  See :class:`Pool2DLayer` for ``pad`` and ``ignore_border``.

    >>> Pool1DLayer((None, 4, 11), pool_size=3, stride=2, mode='average_inc_pad').output_shape
    (None, 4, 5)
    """

    n = 1

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, mode="max", **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)

    def get_output_for(self, input, **kwargs):
        keywords = self._pool_keywords()
        keywords.update(ws=self.pool_size + (1,), stride=self.stride + (1,), pad=self.pad + (0,))
        return pool_2d(at.shape_padright(input, 1), **keywords)[:, :, :, 0]


class Pool2DLayer(_PoolLayer):
    """Pool2DLayer(incoming, pool_size, stride=None, pad=(0, 0),
    ignore_border=True, mode='max', **kwargs)

    Pooling over ``pool_size`` windows of the last two axes of a
    ``(batch, channels, rows, cols)`` input, moved by ``stride`` (default:
    ``pool_size``, i.e. non-overlapping).  ``mode`` is ``'max'``, ``'sum'``,
    ``'average_inc_pad'`` or ``'average_exc_pad'``.  ``pad`` widens the input
    at each border (with values that never win a maximum, or zeros); it must
    be smaller than ``pool_size`` and needs ``ignore_border=True``.
    ``ignore_border=False`` keeps partial windows at the bottom and right
    edges.

    >>> Pool2DLayer((None, 16, 28, 28), pool_size=2, mode='average_exc_pad').output_shape
    (None, 16, 14, 14)
    """

    n = 2

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, mode="max", **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)

    def get_output_for(self, input, **kwargs):
        return pool_2d(input, **self._pool_keywords())


class Pool3DLayer(_PoolLayer):
    """Pool3DLayer(incoming, pool_size, stride=None, pad=(0, 0, 0),
    ignore_border=True, mode='max', **kwargs)

    Pooling over the last three axes of a ``(batch, channels, depth, rows,
    cols)`` input; see :class:`Pool2DLayer`.

    >>> Pool3DLayer((None, 2, 8, 9, 10), pool_size=2).output_shape
    (None, 2, 4, 4, 5)
    """

    n = 3

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, mode="max",
                 **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)

    def get_output_for(self, input, **kwargs):
        return pool_3d(input, **self._pool_keywords())


class MaxPool1DLayer(Pool1DLayer):
    """MaxPool1DLayer(incoming, pool_size, stride=None, pad=0,
    ignore_border=True, **kwargs): :class:`Pool1DLayer` with ``mode='max'``.

    >>> MaxPool1DLayer((None, 4, 11), pool_size=2).output_shape
    (None, 4, 5)
    """

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool2DLayer(Pool2DLayer):
    """MaxPool2DLayer(incoming, pool_size, stride=None, pad=(0, 0),
    ignore_border=True, **kwargs)

    Maximum over ``pool_size`` windows of the last two axes of a
    ``(batch, channels, rows, cols)`` input, moved by ``stride`` (default:
    ``pool_size``, i.e. non-overlapping).  ``pad`` widens the input at each
    border with values that never win the maximum; it must be smaller than
    ``pool_size`` and needs ``ignore_border=True``.  ``ignore_border=False``
    keeps partial windows at the bottom and right edges.

    >>> MaxPool2DLayer((None, 16, 28, 28), pool_size=2).output_shape
    (None, 16, 14, 14)
    """

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool3DLayer(Pool3DLayer):
    """MaxPool3DLayer(incoming, pool_size, stride=None, pad=(0, 0, 0),
    ignore_border=True, **kwargs): :class:`Pool3DLayer` with ``mode='max'``.

    >>> MaxPool3DLayer((None, 2, 8, 9, 10), pool_size=(2, 3, 5)).output_shape
    (None, 2, 4, 3, 2)
    """

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, **kwargs):
        super().__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


def _repeat(input, factor, axis, length):
    """Each element ``factor`` times along ``axis``: a gather when the ``length`` is known (JAX-friendly)."""
    if factor == 1:
        return input
    if length is None:
        return at.repeat(input, factor, axis=axis)
    index = (slice(None),) * axis + (np.arange(length * factor) // factor,)
    return input[index]


class _UpscaleLayer(Layer):
    """Upscaling of the last ``n`` axes by integer factors."""

    n = None

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super().__init__(incoming, **kwargs)
        self.scale_factor = as_tuple(scale_factor, self.n, int)
        if any(factor < 1 for factor in self.scale_factor):
            raise ValueError("scale_factor must be >= 1, got scale_factor=%r" % (scale_factor,))
        if mode not in ("repeat", "dilate"):
            raise ValueError("mode must be 'repeat' or 'dilate', got mode=%r" % (mode,))
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        lead = len(input_shape) - self.n
        scaled = tuple(
            None if length is None else length * factor
            for length, factor in zip(input_shape[lead:], self.scale_factor)
        )
        return tuple(input_shape[:lead]) + scaled

    def get_output_for(self, input, **kwargs):
        input = at.as_tensor_variable(input)
        lead = input.ndim - self.n
        if all(factor == 1 for factor in self.scale_factor):
            return input
        if self.mode == "repeat":
            lengths = self.input_shape[lead:] if len(self.input_shape) == input.ndim else (None,) * self.n
            for axis, factor, length in zip(range(lead, input.ndim), self.scale_factor, lengths):
                input = _repeat(input, factor, axis, length)
            return input
        shape = [input.shape[axis] for axis in range(lead)]
        shape += [input.shape[lead + k] * factor for k, factor in enumerate(self.scale_factor)]
        spots = (slice(None),) * lead + tuple(slice(None, None, factor) for factor in self.scale_factor)
        return at.set_subtensor(at.zeros(shape, dtype=input.dtype)[spots], input)


class Upscale1DLayer(_UpscaleLayer):
    """Upscale1DLayer(incoming, scale_factor, mode='repeat', **kwargs)

    Lengthens the last axis of a ``(batch, channels, length)`` input by
    ``scale_factor``: ``mode='repeat'`` repeats each element, ``'dilate'``
    puts each at the start of its block and zeros in between.

    >>> Upscale1DLayer((None, 3, 7), scale_factor=2).output_shape
    (None, 3, 14)
    """

    n = 1


class Upscale2DLayer(_UpscaleLayer):
    """Upscale2DLayer(incoming, scale_factor, mode='repeat', **kwargs)

    Enlarges the last two axes of a ``(batch, channels, rows, cols)`` input by
    ``scale_factor`` (an int or a pair); see :class:`Upscale1DLayer`.

    >>> Upscale2DLayer((None, 3, 7, 5), scale_factor=(2, 3), mode='dilate').output_shape
    (None, 3, 14, 15)
    """

    n = 2


class Upscale3DLayer(_UpscaleLayer):
    """Upscale3DLayer(incoming, scale_factor, mode='repeat', **kwargs)

    Enlarges the last three axes of a 5-D input by ``scale_factor`` (an int
    or a triple); see :class:`Upscale1DLayer`.

    >>> Upscale3DLayer((None, 3, 2, 7, 5), scale_factor=2).output_shape
    (None, 3, 4, 14, 10)
    """

    n = 3

