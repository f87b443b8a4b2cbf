"""2-D convolution."""
import warnings

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import Layer, add_bias, nonlinearity_or_identity
from aenet.lasagne.utils import as_tuple

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import conv2d

__all__ = ["Conv2DLayer", "conv_output_length"]


def conv_output_length(input_length, filter_size, stride, pad=0):
    """Output length of a convolution along one axis (None if the input's is).

    ``pad`` is ``'valid'``, ``'full'``, ``'same'`` or a number of zeros added
    at each end.
    """
    if input_length is None:
        return None
    if pad == "valid":
        pad = 0
    elif pad == "full":
        pad = filter_size - 1
    elif pad == "same":
        pad = filter_size // 2
    elif not isinstance(pad, int):
        raise ValueError("invalid pad: %r" % (pad,))
    length = input_length + 2 * pad - filter_size + 1
    return (length + stride - 1) // stride


def _conv_pad(pad, filter_size):
    """``'full'`` or ``'same'`` kept, ``'valid'`` and numbers made a (rows, cols) tuple."""
    if pad == "same" and any(s % 2 == 0 for s in filter_size):
        raise NotImplementedError("pad='same' needs odd filter sizes, got filter_size=%r" % (filter_size,))
    if pad in ("full", "same"):
        return pad
    return as_tuple(0 if pad == "valid" else pad, 2, int)


class Conv2DLayer(Layer):
    """Conv2DLayer(incoming, num_filters, filter_size, stride=(1, 1), pad=0,
    untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=True, convolution=conv2d,
    **kwargs)

    2-D convolution of a ``(batch, channels, rows, cols)`` input with
    ``num_filters`` filters of ``filter_size``, then bias and nonlinearity.

    ``pad`` is ``'valid'`` (same as 0), ``'full'`` (filter size - 1 zeros each
    side), ``'same'`` (filter size // 2 each side, output as large as the input
    at stride 1; odd filters only), an int or a ``(rows, cols)`` pair.
    ``W`` has shape ``(num_filters, channels, rows, cols)``; with
    ``flip_filters=True`` it is a true convolution, else a correlation (the
    convention of pretrained weights from cuDNN-style libraries).  A tied bias
    has one value per filter, an untied one (``untie_biases=True``) one per
    output position too.

    >>> Conv2DLayer((None, 3, 32, 32), num_filters=16, filter_size=5).output_shape
    (None, 16, 28, 28)
    """

    def __init__(
        self,
        incoming,
        num_filters,
        filter_size,
        stride=(1, 1),
        pad=0,
        untie_biases=False,
        W=init.GlorotUniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
        flip_filters=True,
        convolution=conv2d,
        **kwargs,
    ):
        super().__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError(
                "Conv2DLayer needs a 4-D input (batch, channels, rows, cols), "
                "got input_shape=%r" % (self.input_shape,)
            )
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, 2, int)
        self.stride = as_tuple(stride, 2, int)
        self.pad = _conv_pad(pad, self.filter_size)
        self.untie_biases = untie_biases
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)
        self.flip_filters = flip_filters
        self.convolution = convolution
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            b_shape = self.output_shape[1:] if untie_biases else (num_filters,)
            self.b = self.add_param(b, b_shape, name="b", regularizable=False)

    def get_W_shape(self):
        """``(num_filters, input channels, filter rows, filter cols)``."""
        return (self.num_filters, self.input_shape[1]) + self.filter_size

    def get_output_shape_for(self, input_shape):
        pads = (self.pad,) * 2 if isinstance(self.pad, str) else self.pad
        spatial = tuple(
            conv_output_length(length, size, stride, pad)
            for length, size, stride, pad in zip(input_shape[2:], self.filter_size, self.stride, pads)
        )
        return (input_shape[0], self.num_filters) + spatial

    def get_output_for(self, input, **kwargs):
        conved = self.convolution(
            input,
            self.W,
            self.input_shape,
            self.get_W_shape(),
            subsample=self.stride,
            border_mode="half" if self.pad == "same" else self.pad,
            filter_flip=self.flip_filters,
        )
        return self.nonlinearity(add_bias(conved, self.b))
