"""2-D max pooling."""
import warnings

from aenet.lasagne.layers.base import Layer
from aenet.lasagne.utils import as_tuple

with warnings.catch_warnings():  # aesara.tensor.signal is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.signal.pool import pool_2d

__all__ = ["MaxPool2DLayer", "pool_output_length"]


def pool_output_length(input_length, pool_size, stride, pad, ignore_border):
    """Output length of pooling along one axis (None if the input's is).

    With ``ignore_border`` only windows that fit inside the (padded) input
    count; without it a last, partial window is kept, and ``pad`` must be 0.
    """
    if input_length is None:
        return None
    if ignore_border:
        return (input_length + 2 * pad - pool_size) // stride + 1
    if pad != 0:
        raise ValueError("pad=%r needs ignore_border=True" % (pad,))
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


class MaxPool2DLayer(Layer):
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
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError(
                "MaxPool2DLayer needs a 4-D input (batch, channels, rows, cols), "
                "got input_shape=%r" % (self.input_shape,)
            )
        self.pool_size = as_tuple(pool_size, 2, int)
        self.stride = self.pool_size if stride is None else as_tuple(stride, 2, int)
        self.pad = as_tuple(pad, 2, int)
        self.ignore_border = ignore_border
        if any(p >= s for p, s in zip(self.pad, self.pool_size)):
            raise ValueError("pad=%r must be smaller than pool_size=%r" % (pad, pool_size))
        if any(self.pad) and not ignore_border:
            raise ValueError("pad=%r needs ignore_border=True" % (pad,))

    def get_output_shape_for(self, input_shape):
        spatial = tuple(
            pool_output_length(length, size, stride, pad, self.ignore_border)
            for length, size, stride, pad in zip(input_shape[2:], self.pool_size, self.stride, self.pad)
        )
        return tuple(input_shape[:2]) + spatial

    def get_output_for(self, input, **kwargs):
        return pool_2d(
            input,
            ws=self.pool_size,
            stride=self.stride,
            pad=self.pad,
            ignore_border=self.ignore_border,
            mode="max",
        )
