"""Layers that only rearrange their input."""
import numpy as np

from aenet.lasagne.layers.base import Layer

__all__ = ["FlattenLayer", "flatten", "ReshapeLayer", "reshape"]


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
        if not 1 <= outdim <= len(self.input_shape):
            raise ValueError("outdim must be in [1, %d], got %r" % (len(self.input_shape), outdim))
        self.outdim = outdim

    def get_output_shape_for(self, input_shape):
        keep = self.outdim - 1
        return tuple(input_shape[:keep]) + (_size(input_shape[keep:]),)

    def get_output_for(self, input, **kwargs):
        return input.flatten(self.outdim)


flatten = FlattenLayer


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
        out = [input_shape[s[0]] if isinstance(s, list) else None if _symbolic_scalar(s) else int(s)
               for s in self.shape]
        # An unknown input axis that the output refers to cancels out of both sizes.
        in_dims, out_dims = list(input_shape), list(out)
        for k, s in enumerate(self.shape):
            if isinstance(s, list) and input_shape[s[0]] is None:
                in_dims[s[0]], out_dims[k] = 1, 1
        inferred = [k for k, s in enumerate(self.shape) if not isinstance(s, list) and out[k] == -1]
        in_size = _size(in_dims)
        out_size = _size([d for k, d in enumerate(out_dims) if k not in inferred])
        if inferred:
            known = None not in (in_size, out_size)
            out[inferred[0]] = in_size // out_size if known else None
            out_size = out_size * out[inferred[0]] if known else None
        if None not in (in_size, out_size) and in_size != out_size:
            raise ValueError("cannot reshape input of shape %r to %r" % (tuple(input_shape), self.shape))
        return tuple(out)

    def get_output_for(self, input, **kwargs):
        shape = [input.shape[s[0]] if isinstance(s, list) else s for s in self.shape]
        return input.reshape(shape, ndim=len(shape))


reshape = ReshapeLayer
