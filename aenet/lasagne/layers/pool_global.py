"""Feature-wise, global and spatial pyramid pooling (exported by :mod:`aenet.lasagne.layers.pool`)."""
import math
import numbers
import warnings

import aesara.tensor as at

from aenet.lasagne.layers.base import Layer
from aenet.lasagne.layers.conv import check_input_ndim

with warnings.catch_warnings():  # aesara.tensor.signal is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.signal.pool import pool_2d

__all__ = ["FeaturePoolLayer", "FeatureWTALayer", "GlobalPoolLayer", "SpatialPyramidPoolingLayer"]


def known_shape(input, input_shape):
    """``input``'s shape, with the sizes ``input_shape`` knows as ints (static shapes suit JAX)."""
    if len(input_shape) != input.ndim:
        input_shape = (None,) * input.ndim
    return [input.shape[k] if size is None else size for k, size in enumerate(input_shape)]


def _grouped_shape(shape, axis, pool_size):
    """``shape`` with axis ``axis`` split into ``(groups, pool_size)``."""
    return shape[:axis] + [shape[axis] // pool_size, pool_size] + shape[axis + 1:]


class _FeatureGroupLayer(Layer):
    """Groups of ``pool_size`` consecutive units along ``axis``."""

    def __init__(self, incoming, pool_size, axis=1, **kwargs):
        super().__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        units = self.input_shape[axis]
        if units is not None and units % pool_size:
            raise ValueError(
                "the %r units along axis %r are not a multiple of pool_size=%r" % (units, axis, pool_size)
            )

    def _grouped(self, input):
        input = at.as_tensor_variable(input)
        axis = self.axis % input.ndim
        shape = _grouped_shape(known_shape(input, self.input_shape), axis, self.pool_size)
        return input.reshape(shape, ndim=input.ndim + 1), axis


class FeaturePoolLayer(_FeatureGroupLayer):
    """FeaturePoolLayer(incoming, pool_size, axis=1, pool_function=aesara.tensor.max, **kwargs)

    Pools groups of ``pool_size`` consecutive units along ``axis`` (feature
    maps by default) into one with ``pool_function`` (maximum: maxout).  The
    length of that axis must be a multiple of ``pool_size``.

    >>> FeaturePoolLayer((None, 12, 5, 5), pool_size=3).output_shape
    (None, 4, 5, 5)
    """

    def __init__(self, incoming, pool_size, axis=1, pool_function=at.max, **kwargs):
        super().__init__(incoming, pool_size, axis, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        if shape[self.axis] is not None:
            shape[self.axis] //= self.pool_size
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        grouped, axis = self._grouped(input)
        return self.pool_function(grouped, axis=axis + 1)


class FeatureWTALayer(_FeatureGroupLayer):
    """FeatureWTALayer(incoming, pool_size, axis=1, **kwargs)

    Winner takes all within groups of ``pool_size`` consecutive units along
    ``axis``: the largest unit of each group (the first of equal ones) keeps
    its value, the others become 0.  The shape is unchanged.

    >>> FeatureWTALayer((None, 12), pool_size=4).output_shape
    (None, 12)
    """

    def get_output_for(self, input, **kwargs):
        input = at.as_tensor_variable(input)
        grouped, axis = self._grouped(input)
        winner = at.argmax(grouped, axis=axis + 1, keepdims=True)
        position = at.arange(self.pool_size).reshape([self.pool_size if k == axis + 1 else 1
                                                     for k in range(grouped.ndim)])
        mask = at.eq(winner, position).reshape(known_shape(input, self.input_shape), ndim=input.ndim)
        return input * at.cast(mask, input.dtype)


class GlobalPoolLayer(Layer):
    """GlobalPoolLayer(incoming, pool_function=aesara.tensor.mean, **kwargs)

    Pools each ``(batch, channel)`` over all the axes after the second with
    ``pool_function`` (mean by default).

    >>> GlobalPoolLayer((None, 8, 5, 5)).output_shape
    (None, 8)
    """

    def __init__(self, incoming, pool_function=at.mean, **kwargs):
        super().__init__(incoming, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape[:2])

    def get_output_for(self, input, **kwargs):
        input = at.as_tensor_variable(input)
        return self.pool_function(_flatten3(input, self.input_shape), axis=2)


def _flatten3(input, input_shape):
    """``input`` as ``(batch, channels, everything else)``."""
    shape = known_shape(input, input_shape)
    rest = shape[2:]
    return input.reshape(shape[:2] + [math.prod(rest) if all(isinstance(s, int) for s in rest) else -1], ndim=3)


SPP_MODES = ("max", "average_inc_pad", "average_exc_pad")


def _bin_bounds(length, bins, k):
    """Start and stop of bin ``k`` of ``bins`` over ``length``: they overlap when it does not divide."""
    if isinstance(length, numbers.Integral):
        return int(math.floor(k / bins * length)), int(math.ceil((k + 1) / bins * length))
    return at.floor(k / bins * length).astype("int32"), at.ceil((k + 1) / bins * length).astype("int32")


class SpatialPyramidPoolingLayer(Layer):
    """SpatialPyramidPoolingLayer(incoming, pool_dims=[4, 2, 1], mode='max',
    implementation='fast', **kwargs)

    Pools each map of a ``(batch, channels, rows, cols)`` input, whatever its
    size, into an ``n x n`` grid for each ``n`` of ``pool_dims`` and
    concatenates the grids (row by row) into ``(batch, channels, sum n**2)``.
    ``mode`` is ``'max'`` or a mean (``'average_inc_pad'`` /
    ``'average_exc_pad'``).  ``implementation='kaiming'`` uses bins from
    ``floor(k * size / n)`` to ``ceil((k + 1) * size / n)``, which always
    give an ``n x n`` grid; ``'fast'`` pools windows of ``ceil(size / n)``
    strided by ``size // n``, which gives one only for some sizes.

    >>> SpatialPyramidPoolingLayer((None, 8, 13, 17), pool_dims=[3, 1]).output_shape
    (None, 8, 10)
    """

    def __init__(self, incoming, pool_dims=[4, 2, 1], mode="max", implementation="fast", **kwargs):  # noqa: B006
        super().__init__(incoming, **kwargs)
        check_input_ndim(self.input_shape, 2, "SpatialPyramidPoolingLayer")
        if mode not in SPP_MODES:
            raise ValueError("Mode must be either 'max', 'average_inc_pad' or 'average_exc_pad'. Got %r" % (mode,))
        if implementation not in ("fast", "kaiming"):
            raise ValueError("implementation must be 'fast' or 'kaiming', got implementation=%r" % (implementation,))
        self.pool_dims = pool_dims
        self.mode = mode
        self.implementation = implementation

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], input_shape[1], sum(n * n for n in self.pool_dims))

    def get_output_for(self, input, **kwargs):
        input = at.as_tensor_variable(input)
        sizes = tuple(
            input.shape[2 + k] if known is None else known for k, known in enumerate(self.input_shape[2:])
        )
        level = self._grid if self.implementation == "kaiming" else self._windows
        return at.concatenate([level(input, sizes, n) for n in self.pool_dims], axis=2)

    def _grid(self, input, sizes, n):
        """The ``n x n`` bins, each pooled by a reduction over its slice."""
        reduce = at.max if self.mode == "max" else at.mean
        cells = []
        for row in range(n):
            top, bottom = _bin_bounds(sizes[0], n, row)
            for col in range(n):
                left, right = _bin_bounds(sizes[1], n, col)
                cells.append(reduce(input[:, :, top:bottom, left:right], axis=(2, 3)))
        return at.stack(cells, axis=2)

    def _windows(self, input, sizes, n):
        """One pooling with windows of ``ceil(size / n)`` strided by ``size // n``."""
        window = tuple((size + n - 1) // n for size in sizes)
        stride = tuple(size // n for size in sizes)
        if not all(isinstance(size, numbers.Integral) for size in sizes):
            window, stride = at.stack(window), at.stack(stride)
        pooled = pool_2d(input, ws=window, stride=stride, ignore_border=True, pad=(0, 0), mode=self.mode)
        return _flatten3(pooled, self.input_shape[:2] + (None, None))
