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


class ReshapeLayer(Layer):
    """ReshapeLayer(incoming, shape, **kwargs)

    Reshapes to ``shape``, whose entries are positive ints, at most one ``-1``
    (inferred from the rest), or ``[i]``: the size of input axis ``i``.

    >>> ReshapeLayer((None, 192), ([0], 3, 8, 8)).output_shape
    (None, 3, 8, 8)
    """

    def __init__(self, incoming, shape, **kwargs):
        super().__init__(incoming, **kwargs)
        shape = tuple(shape)
        for s in shape:
            valid_ref = isinstance(s, list) and len(s) == 1 and 0 <= s[0] < len(self.input_shape)
            if not (valid_ref or (isinstance(s, int) and (s > 0 or s == -1))):
                raise ValueError("invalid entry %r in shape %r" % (s, shape))
        if shape.count(-1) > 1:
            raise ValueError("shape %r may contain -1 only once" % (shape,))
        self.shape = shape
        self.get_output_shape_for(self.input_shape)  # raises if the sizes do not match

    def get_output_shape_for(self, input_shape):
        out = [input_shape[s[0]] if isinstance(s, list) else s for s in self.shape]
        referenced = {s[0] for s in self.shape if isinstance(s, list)}
        rest_in = _size([d for i, d in enumerate(input_shape) if i not in referenced])
        rest_out = _size([d for s, d in zip(self.shape, out) if not isinstance(s, list) and s != -1])
        if -1 in self.shape:
            inferred = None if None in (rest_in, rest_out) else rest_in // rest_out
            out[self.shape.index(-1)] = inferred
            rest_out = None if inferred is None else rest_out * inferred
        if None not in (rest_in, rest_out) and rest_in != rest_out:
            raise ValueError("cannot reshape input of shape %r to %r" % (tuple(input_shape), self.shape))
        return tuple(out)

    def get_output_for(self, input, **kwargs):
        shape = [input.shape[s[0]] if isinstance(s, list) else s for s in self.shape]
        return input.reshape(shape, ndim=len(shape))


reshape = ReshapeLayer
