"""Layers that only rearrange, pad or slice their input."""
import numbers

import numpy as np

from aenet.lasagne.theano_extensions.padding import pad_axis
from aenet.lasagne.layers.base import Layer
from aenet.lasagne.utils import as_dtype

__all__ = [
    "FlattenLayer",
    "flatten",
    "ReshapeLayer",
    "reshape",
    "DimshuffleLayer",
    "dimshuffle",
    "PadLayer",
    "pad",
    "SliceLayer",
]


def _size(dims):
    """Product of ``dims``, or None if one of them is unknown."""
    return None if None in dims else int(np.prod(dims))


class FlattenLayer(Layer):
    """FlattenLayer(incoming, outdim=2, **kwargs)

    Merges all axes from ``outdim - 1`` on into one.

    >>> FlattenLayer((None, 3, 8, 8)).output_shape
    (None, 192)
    """

    def __init__(self, incoming, outdim=2, **kwargs):
        super().__init__(incoming, **kwargs)
        if outdim < 1:
            raise ValueError("outdim must be at least 1, got %r" % (outdim,))
        self.outdim = outdim

    def _check_ndim(self, ndim):
        if self.outdim > ndim:
            raise ValueError("outdim must be in [1, %d] for a %d-dimensional input, got %r" % (ndim, ndim, self.outdim))

    def get_output_shape_for(self, input_shape):
        self._check_ndim(len(input_shape))
        keep = self.outdim - 1
        return tuple(input_shape[:keep]) + (_size(input_shape[keep:]),)

    def get_output_for(self, input, **kwargs):
        self._check_ndim(input.ndim)
        return input.flatten(self.outdim)


flatten = FlattenLayer


def _is_symbolic(value):
    from aesara.graph.basic import Variable

    return isinstance(value, Variable)


def _symbolic_scalar(entry):
    """Whether ``entry`` is an aesara integer scalar (a size known only at run time)."""
    from aesara.graph.basic import Variable

    return isinstance(entry, Variable) and entry.ndim == 0 and entry.dtype.startswith(("int", "uint"))


class ReshapeLayer(Layer):
    """ReshapeLayer(incoming, shape, **kwargs)

    Reshapes to ``shape``, whose entries are positive ints, at most one ``-1``
    (inferred from the rest), ``[i]``: the size of input axis ``i`` (an axis
    may be referred to more than once), or aesara integer scalars.

    >>> ReshapeLayer((None, 192), ([0], 3, 8, 8)).output_shape
    (None, 3, 8, 8)
    >>> ReshapeLayer((2, 3, 3), (-1, [1], [1])).output_shape
    (2, 3, 3)
    """

    def __init__(self, incoming, shape, **kwargs):
        super().__init__(incoming, **kwargs)
        shape = tuple(shape)
        for s in shape:
            valid_ref = isinstance(s, list) and len(s) == 1 and 0 <= s[0] < len(self.input_shape)
            valid_int = isinstance(s, (int, np.integer)) and (s > 0 or s == -1)
            if not (valid_ref or valid_int or _symbolic_scalar(s)):
                raise ValueError("invalid entry %r in shape %r" % (s, shape))
        if sum(1 for s in shape if isinstance(s, (int, np.integer)) and s == -1) > 1:
            raise ValueError("shape %r may contain -1 only once" % (shape,))
        self.shape = shape
        self.get_output_shape_for(self.input_shape)  # raises if the sizes do not match

    def get_output_shape_for(self, input_shape):
        input_shape = tuple(None if _is_symbolic(d) else d for d in input_shape)
        out = [input_shape[s[0]] if isinstance(s, list) else None if _symbolic_scalar(s) else int(s)
               for s in self.shape]
        # An unknown input axis the output refers to exactly once cancels out of both sizes.
        in_dims, out_dims = list(input_shape), list(out)
        for axis in {s[0] for s in self.shape if isinstance(s, list)}:
            refs = [k for k, s in enumerate(self.shape) if s == [axis]]
            if input_shape[axis] is None and len(refs) == 1:
                in_dims[axis], out_dims[refs[0]] = 1, 1
        inferred = [k for k, s in enumerate(self.shape) if not isinstance(s, list) and out[k] == -1]
        in_size = _size(in_dims)
        out_size = _size([d for k, d in enumerate(out_dims) if k not in inferred])
        if inferred:
            known = None not in (in_size, out_size)
            out[inferred[0]] = in_size // out_size if known else None
            out_size = out_size * out[inferred[0]] if known else None
        if None not in (in_size, out_size) and in_size != out_size:
            raise ValueError("cannot reshape input of shape %r to %r: the sizes do not match (%d against %d)"
                             % (tuple(input_shape), self.shape, in_size, out_size))  # fmt: skip
        return tuple(out)

    def get_output_for(self, input, **kwargs):
        shape = [input.shape[s[0]] if isinstance(s, list) else s for s in self.shape]
        return input.reshape(shape, ndim=len(shape))


reshape = ReshapeLayer


def _is_int(value):
    """Whether ``value`` is a python or numpy integer (and not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class DimshuffleLayer(Layer):
    """DimshuffleLayer(incoming, pattern, **kwargs)

    Reorders the input axes: ``pattern`` lists input axis indices, each at most
    once, and ``'x'`` for new axes of size 1.  An input axis left out of the
    pattern is dropped, which only axes of size 1 (or unknown size) allow.

    >>> DimshuffleLayer((2, 3, 5, 7), (3, 2, 1, 'x', 0)).output_shape
    (7, 5, 3, 1, 2)
    >>> DimshuffleLayer((7, 5, 3, 1, 2), (4, 2, 1, 0)).output_shape
    (2, 3, 5, 7)
    """

    def __init__(self, incoming, pattern, **kwargs):
        super().__init__(incoming, **kwargs)
        axes = [p for p in pattern if _is_int(p)]
        for p in pattern:
            if not (_is_int(p) or p == "x"):
                raise ValueError("pattern entries must be axis indices or 'x', got %r in %r" % (p, pattern))
        if len(set(axes)) != len(axes):
            raise ValueError("pattern %r uses an input axis more than once" % (pattern,))
        self.pattern = pattern
        self.get_output_shape_for(self.input_shape)  # raises for a bad axis or a dropped axis of size > 1

    def get_output_shape_for(self, input_shape):
        for p in self.pattern:
            if p != "x" and not 0 <= p < len(input_shape):
                raise ValueError("pattern %r refers to axis %d of a %d-d input" % (self.pattern, p, len(input_shape)))
        for axis in self._dropped_axes(len(input_shape)):
            if input_shape[axis] not in (1, None):
                raise ValueError(
                    "pattern %r drops axis %d of size %d; only axes of size 1 can be dropped"
                    % (self.pattern, axis, input_shape[axis])
                )
        return tuple(1 if p == "x" else input_shape[p] for p in self.pattern)

    def _dropped_axes(self, ndim):
        return [axis for axis in range(ndim) if axis not in self.pattern]

    def get_output_for(self, input, **kwargs):
        from aesara.tensor.basic import specify_broadcastable

        dropped = [axis for axis in self._dropped_axes(input.ndim) if not input.broadcastable[axis]]
        if dropped:  # size 1 by the shape check, but not known to aesara's type
            input = specify_broadcastable(input, *dropped)
        return input.dimshuffle(self.pattern)


dimshuffle = DimshuffleLayer


def _pad_widths(width, ndim, batch_ndim):
    """``width`` as one ``(before, after)`` pair per padded axis."""
    widths = [width] * (ndim - batch_ndim) if _is_int(width) else width
    try:
        pairs = [(w, w) if _is_int(w) else tuple(w) for w in widths]
    except TypeError:
        pairs = None
    if pairs is None or len(pairs) > ndim - batch_ndim or any(
        len(p) != 2 or not all(_is_int(v) and v >= 0 for v in p) for p in pairs
    ):
        raise ValueError(
            "width must be an int, or one int or (before, after) pair of non-negative ints per padded axis "
            "(at most %d), got %r" % (ndim - batch_ndim, width)
        )
    return pairs


class PadLayer(Layer):
    """PadLayer(incoming, width, val=0, batch_ndim=2, **kwargs)

    Pads every axis from ``batch_ndim`` on with ``val``: ``width`` is an int
    (that many entries on both sides of each axis), one int per padded axis, or
    one ``(before, after)`` pair per padded axis.

    >>> PadLayer((None, 3, 4, 5), width=((1, 2), (3, 4))).output_shape
    (None, 3, 7, 12)
    """

    def __init__(self, incoming, width, val=0, batch_ndim=2, **kwargs):
        super().__init__(incoming, **kwargs)
        self.width = width
        self.val = val
        self.batch_ndim = batch_ndim

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        for k, (before, after) in enumerate(_pad_widths(self.width, len(input_shape), self.batch_ndim)):
            axis = self.batch_ndim + k
            shape[axis] = None if shape[axis] is None else shape[axis] + before + after
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        val = as_dtype(self.val, input.dtype)
        for k, (before, after) in enumerate(_pad_widths(self.width, input.ndim, self.batch_ndim)):
            input = pad_axis(input, self.batch_ndim + k, before, after, val)
        return input


pad = PadLayer


class SliceLayer(Layer):
    """SliceLayer(incoming, indices, axis=-1, **kwargs)

    ``input[..., indices]`` along ``axis``: an int index drops the axis, a
    ``slice`` keeps it.

    >>> SliceLayer((2, 3, 4), indices=0, axis=1).output_shape
    (2, 4)
    >>> SliceLayer((2, 3, 4), indices=slice(-2, None)).output_shape
    (2, 3, 2)
    """

    def __init__(self, incoming, indices, axis=-1, **kwargs):
        super().__init__(incoming, **kwargs)
        if not (_is_int(indices) or isinstance(indices, slice)):
            raise TypeError("indices must be an int or a slice, got %r" % (indices,))
        self.slice = indices
        self.axis = axis

    def get_output_shape_for(self, input_shape):
        shape = list(input_shape)
        if _is_int(self.slice):
            del shape[self.axis]
        elif shape[self.axis] is not None:
            shape[self.axis] = len(range(*self.slice.indices(shape[self.axis])))
        return tuple(shape)

    def get_output_for(self, input, **kwargs):
        axis = self.axis % input.ndim
        return input[(slice(None),) * axis + (self.slice,)]
