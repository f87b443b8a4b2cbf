"""Convolutions over 1, 2 or 3 spatial axes (Lasagne's ``lasagne.layers.conv``).

The transposed and dilated convolutions live in
:mod:`aenet.lasagne.layers.conv_transposed` and are exported from here too.
"""
import numbers
import warnings

import aesara.tensor as at

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import Layer, add_bias, nonlinearity_or_identity
from aenet.lasagne.utils import as_tuple

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import conv2d
    from aesara.tensor.nnet.abstract_conv import conv3d

__all__ = [
    "Conv1DLayer",
    "Conv2DLayer",
    "Conv3DLayer",
    "TransposedConv2DLayer",
    "Deconv2DLayer",
    "TransposedConv3DLayer",
    "Deconv3DLayer",
    "DilatedConv2DLayer",
    "conv_output_length",
    "conv_input_length",
]


def _padding_amount(pad, filter_size):
    """The zeros added at each end for ``pad`` ('valid', 'full', 'same' or an int)."""
    if pad == "valid":
        return 0
    if pad == "full":
        return filter_size - 1
    if pad == "same":
        return filter_size // 2
    if isinstance(pad, numbers.Integral):
        return int(pad)
    raise ValueError("Invalid pad: %r (expected 'valid', 'full', 'same' or an int)" % (pad,))


def conv_output_length(input_length, filter_size, stride, pad=0):
    """Output length of a convolution along one axis (None if the input's is).

    ``pad`` is ``'valid'`` (0), ``'full'`` (filter size - 1 zeros at each
    end), ``'same'`` (output as long as the input before striding) or a
    number of zeros added at each end.

    >>> conv_output_length(13, 5, 3, 'full')
    6
    """
    if input_length is None:
        return None
    if pad == "same":
        length = input_length
    else:
        length = input_length + 2 * _padding_amount(pad, filter_size) - filter_size + 1
    return (length + stride - 1) // stride


def conv_input_length(output_length, filter_size, stride, pad=0):
    """Input length that a convolution maps to ``output_length`` (None if that is).

    The inverse of :func:`conv_output_length` taking the shortest input when
    striding leaves several possible: the output length of a transposed
    convolution.

    >>> conv_input_length(3, 3, 2, 'same')
    5
    """
    if output_length is None:
        return None
    return (output_length - 1) * stride - 2 * _padding_amount(pad, filter_size) + filter_size


def check_input_ndim(input_shape, n, what):
    """Raise ValueError unless ``input_shape`` has a batch, a channel and ``n`` spatial axes."""
    if len(input_shape) != n + 2:
        raise ValueError(
            "%s needs a %d-D input. Expected %d input dimensions (batchsize, channels, %d spatial "
            "dimensions), got input_shape=%r" % (what, n + 2, n + 2, n, input_shape)
        )


def normalize_pad(pad, n, filter_size):
    """``'full'`` and ``'same'`` kept, ``'valid'`` and numbers made an ``n``-tuple of ints."""
    if isinstance(pad, str) and pad == "same":
        if any(size % 2 == 0 for size in filter_size):
            raise NotImplementedError("pad='same' requires odd filter size, got filter_size=%r" % (filter_size,))
        return pad
    if isinstance(pad, str) and pad == "full":
        return pad
    try:
        return as_tuple(0 if isinstance(pad, str) and pad == "valid" else pad, n, int)
    except TypeError:
        raise TypeError(
            "pad must be 'valid', 'full', 'same', an int or an iterable of int, got %r" % (pad,)
        ) from None


def border_mode(pad):
    """aesara's name for a layer's normalized ``pad``."""
    return "half" if pad == "same" else pad


class BaseConvLayer(Layer):
    """BaseConvLayer(incoming, num_filters, filter_size, stride=1, pad=0,
    untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=True, n=None,
    num_groups=1, **kwargs)

    Shared base of the ``n``-D convolution layers (``n`` defaults to the
    input's number of axes minus two).  It creates ``W`` of
    :meth:`get_W_shape` and ``b`` (one per filter, or with ``untie_biases``
    one per filter and output position) and computes
    ``nonlinearity(convolve(input) + b)``; subclasses implement
    :meth:`convolve`.  ``num_groups`` splits channels and filters into that
    many independent groups.

    >>> BaseConvLayer((None, 3, 10, 10, 10), 4, 3, pad='same').output_shape
    (None, 4, 10, 10, 10)
    """

    def __init__(
        self,
        incoming,
        num_filters,
        filter_size,
        stride=1,
        pad=0,
        untie_biases=False,
        W=init.GlorotUniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
        flip_filters=True,
        n=None,
        num_groups=1,
        **kwargs,
    ):
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)
        if n is None:
            n = len(self.input_shape) - 2
        check_input_ndim(self.input_shape, n, "a %dD convolution" % n)
        self.n = n
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, n, int)
        self.flip_filters = flip_filters
        self.stride = as_tuple(stride, n, int)
        self.untie_biases = untie_biases
        self.pad = normalize_pad(pad, n, self.filter_size)
        self.num_groups = self._checked_groups(num_groups)
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            b_shape = (num_filters,) + tuple(self.output_shape[2:]) if untie_biases else (num_filters,)
            self.b = self.add_param(b, b_shape, name="b", regularizable=False)

    def _checked_groups(self, num_groups):
        channels = self.input_shape[1]
        if (
            num_groups <= 0
            or self.num_filters % num_groups
            or (channels is not None and channels % num_groups)
        ):
            raise ValueError(
                "num_groups=%r must be positive, and num_filters=%r and the number of input channels (%r) "
                "must be divisible by num_groups" % (num_groups, self.num_filters, channels)
            )
        return num_groups

    def get_W_shape(self):
        """``(num_filters, input channels per group) + filter_size``."""
        channels = self.input_shape[1]
        per_group = None if channels is None else channels // self.num_groups
        return (self.num_filters, per_group) + self.filter_size

    def get_output_shape_for(self, input_shape):
        pads = self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n
        spatial = tuple(
            conv_output_length(length, size, stride, pad)
            for length, size, stride, pad in zip(input_shape[2:], self.filter_size, self.stride, pads)
        )
        return (input_shape[0], self.num_filters) + spatial

    def get_output_for(self, input, **kwargs):
        return self.nonlinearity(add_bias(self.convolve(input, **kwargs), self.b))

    def convolve(self, input, **kwargs):
        """The convolution of ``input`` with ``W``, before bias and nonlinearity."""
        raise NotImplementedError("BaseConvLayer does not implement convolve(); use a subclass such as Conv2DLayer")

    def _convolution_keywords(self):
        keywords = dict(subsample=self.stride, border_mode=border_mode(self.pad), filter_flip=self.flip_filters)
        if self.num_groups > 1:
            keywords["num_groups"] = self.num_groups
        return keywords


def conv1d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1,),
           filter_flip=True, num_groups=1):
    """1-D convolution of ``(batch, channels, length)`` inputs, as a 2-D one over rows of one."""

    def as_2d(shape):
        return None if shape is None else (shape[0], shape[1], 1, shape[2])

    if not isinstance(border_mode, str):
        border_mode = (0,) + as_tuple(border_mode, 1, int)
    conved = conv2d(
        at.as_tensor_variable(input).dimshuffle(0, 1, "x", 2),
        at.as_tensor_variable(filters).dimshuffle(0, 1, "x", 2),
        as_2d(input_shape),
        as_2d(filter_shape),
        border_mode=border_mode,
        subsample=(1,) + tuple(subsample),
        filter_flip=filter_flip,
        num_groups=num_groups,
    )
    return conved[:, :, 0, :]


class Conv1DLayer(BaseConvLayer):
    """Conv1DLayer(incoming, num_filters, filter_size, stride=1, pad=0,
    untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=True,
    convolution=conv1d, **kwargs)

    1-D convolution of a ``(batch, channels, length)`` input; ``W`` has shape
    ``(num_filters, channels, filter_length)``.  See :class:`Conv2DLayer` for
    ``pad``, ``flip_filters`` and the biases.

    >>> Conv1DLayer((None, 3, 20), num_filters=6, filter_size=5, stride=2).output_shape
    (None, 6, 8)
    """

    def __init__(
        self,
        incoming,
        num_filters,
        filter_size,
        stride=1,
        pad=0,
        untie_biases=False,
        W=init.GlorotUniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
        flip_filters=True,
        convolution=conv1d,
        **kwargs,
    ):
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=1, **kwargs)
        self.convolution = convolution

    def convolve(self, input, **kwargs):
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(), **self._convolution_keywords())


class Conv2DLayer(BaseConvLayer):
    """Conv2DLayer(incoming, num_filters, filter_size, stride=(1, 1), pad=0,
    untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=True, convolution=conv2d,
    **kwargs)

    2-D convolution of a ``(batch, channels, rows, cols)`` input with
    ``num_filters`` filters of ``filter_size``, then bias and nonlinearity.

    ``pad`` is ``'valid'`` (same as 0), ``'full'`` (filter size - 1 zeros each
    side), ``'same'`` (filter size // 2 each side, output as large as the input
    at stride 1; odd filters only), an int or a ``(rows, cols)`` pair.
    ``W`` has shape ``(num_filters, channels // num_groups, rows, cols)``; with
    ``flip_filters=True`` it is a true convolution, else a correlation (the
    convention of pretrained weights from cuDNN-style libraries).  A tied bias
    has one value per filter, an untied one (``untie_biases=True``) one per
    output position too.  ``num_groups`` (a keyword) makes a grouped
    convolution.

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
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=2, **kwargs)
        self.convolution = convolution

    def convolve(self, input, **kwargs):
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(), **self._convolution_keywords())


class Conv3DLayer(BaseConvLayer):
    """Conv3DLayer(incoming, num_filters, filter_size, stride=(1, 1, 1), pad=0,
    untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=True, convolution=conv3d,
    **kwargs)

    3-D convolution of a ``(batch, channels, depth, rows, cols)`` input; ``W``
    has shape ``(num_filters, channels, depth, rows, cols)``.  See
    :class:`Conv2DLayer` for the other arguments.

    >>> Conv3DLayer((None, 2, 8, 9, 10), num_filters=4, filter_size=3, pad='full').output_shape
    (None, 4, 10, 11, 12)
    """

    def __init__(
        self,
        incoming,
        num_filters,
        filter_size,
        stride=(1, 1, 1),
        pad=0,
        untie_biases=False,
        W=init.GlorotUniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
        flip_filters=True,
        convolution=conv3d,
        **kwargs,
    ):
        super().__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=3, **kwargs)
        self.convolution = convolution

    def convolve(self, input, **kwargs):
        return self.convolution(input, self.W, self.input_shape, self.get_W_shape(), **self._convolution_keywords())


from aenet.lasagne.layers.conv_transposed import (  # noqa: E402  (they subclass BaseConvLayer)
    Deconv2DLayer,
    Deconv3DLayer,
    DilatedConv2DLayer,
    TransposedConv2DLayer,
    TransposedConv3DLayer,
)
