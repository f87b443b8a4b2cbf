"""Transposed and dilated convolutions (exported by :mod:`aenet.lasagne.layers.conv`)."""
import warnings

import aesara.tensor as at
from aesara.graph.basic import Variable

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.conv import BaseConvLayer, border_mode, conv_input_length, conv_output_length
from aenet.lasagne.utils import as_tuple

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet.abstract_conv import (
        AbstractConv2d_gradInputs,
        AbstractConv2d_gradWeights,
        AbstractConv3d_gradInputs,
    )

__all__ = [
    "TransposedConv2DLayer",
    "Deconv2DLayer",
    "TransposedConv3DLayer",
    "Deconv3DLayer",
    "DilatedConv2DLayer",
]


def _single_group(kwargs, layer):
    if kwargs.get("num_groups", 1) != 1:
        raise NotImplementedError("%s supports num_groups=1 only, got num_groups=%r" % (layer, kwargs["num_groups"]))


class _TransposedConvLayer(BaseConvLayer):
    """The gradient of an ``n``-D convolution with respect to its input, as a layer."""

    gradient_op = None  # the abstract "gradient w.r.t. inputs" Op class

    def __init__(self, incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                 flip_filters, output_size, n, **kwargs):
        _single_group(kwargs, type(self).__name__)
        if output_size is not None and not isinstance(output_size, Variable):
            output_size = as_tuple(output_size, n, int)
        self.output_size = output_size
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, n=n, **kwargs)
        self.crop = self.pad  # the forward convolution's padding is cropped off here
        del self.pad

    def get_W_shape(self):
        """``(input channels, num_filters) + filter_size``: a forward convolution's, first two swapped."""
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        if isinstance(self.output_size, Variable):
            spatial = (None,) * self.n
        elif self.output_size is not None:
            spatial = self.output_size
        else:
            crop = self.crop if hasattr(self, "crop") else self.pad  # still "pad" inside the base constructor
            crops = crop if isinstance(crop, tuple) else (crop,) * self.n
            spatial = tuple(
                conv_input_length(length, size, stride, c)
                for length, size, stride, c in zip(input_shape[2:], self.filter_size, self.stride, crops)
            )
        return (input_shape[0], self.num_filters) + tuple(spatial)

    def convolve(self, input, **kwargs):
        input = at.as_tensor_variable(input)
        op = self.gradient_op(
            imshp=self.output_shape,
            kshp=self.get_W_shape(),
            subsample=self.stride,
            border_mode=border_mode(self.crop),
            filter_flip=not self.flip_filters,
        )
        if isinstance(self.output_size, Variable):
            size = self.output_size
        elif None in self.output_shape[2:]:
            size = at.as_tensor_variable(self.get_output_shape_for(input.shape)[2:])
        else:
            size = self.output_shape[2:]
        return op(self.W, input, size)


class TransposedConv2DLayer(_TransposedConvLayer):
    """TransposedConv2DLayer(incoming, num_filters, filter_size, stride=(1, 1),
    crop=0, untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=False, output_size=None,
    **kwargs)

    The transpose of a 2-D convolution (also called a deconvolution or a
    fractionally strided convolution): it maps a convolution's output shape
    back to its input shape.  ``crop`` ('valid', 'full', 'same' or ints) is
    the padding of that forward convolution, removed from the result;
    ``W`` has shape ``(input channels, num_filters, rows, cols)``.  With a
    stride several output sizes are possible: ``output_size`` (ints or a
    symbolic vector) picks one, else the smallest is used.

    >>> TransposedConv2DLayer((None, 4, 5, 6), num_filters=3, filter_size=3, stride=2).output_shape
    (None, 3, 11, 13)
    """

    gradient_op = AbstractConv2d_gradInputs

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), crop=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.0), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, output_size=None, **kwargs):
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, n=2, **kwargs)


class TransposedConv3DLayer(_TransposedConvLayer):
    """TransposedConv3DLayer(incoming, num_filters, filter_size, stride=(1, 1, 1),
    crop=0, untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=False, output_size=None,
    **kwargs)

    The transpose of a 3-D convolution; see :class:`TransposedConv2DLayer`.

    >>> TransposedConv3DLayer((None, 4, 3, 4, 5), num_filters=2, filter_size=3, crop='same').output_shape
    (None, 2, 3, 4, 5)
    """

    gradient_op = AbstractConv3d_gradInputs

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1, 1), crop=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.0), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, output_size=None, **kwargs):
        super().__init__(incoming, num_filters, filter_size, stride, crop, untie_biases, W, b, nonlinearity,
                         flip_filters, output_size, n=3, **kwargs)


Deconv2DLayer = TransposedConv2DLayer
Deconv3DLayer = TransposedConv3DLayer


class DilatedConv2DLayer(BaseConvLayer):
    """DilatedConv2DLayer(incoming, num_filters, filter_size, dilation=(1, 1),
    pad=0, untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=False, **kwargs)

    2-D correlation with filters spread ``dilation`` apart (dilation - 1
    zeros between taps, "atrous" convolution).  Only ``pad=0`` and
    ``flip_filters=False`` are supported, as in Lasagne; ``W`` has shape
    ``(input channels, num_filters, rows, cols)``.

    >>> DilatedConv2DLayer((None, 3, 20, 20), num_filters=5, filter_size=3, dilation=2).output_shape
    (None, 5, 16, 16)
    """

    def __init__(self, incoming, num_filters, filter_size, dilation=(1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.0), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, **kwargs):
        _single_group(kwargs, "DilatedConv2DLayer")
        self.dilation = as_tuple(dilation, 2, int)
        super().__init__(incoming, num_filters, filter_size, 1, pad, untie_biases, W, b, nonlinearity,
                         flip_filters, n=2, **kwargs)
        del self.stride  # always 1
        if self.pad != (0, 0):
            raise NotImplementedError(
                "DilatedConv2DLayer requires pad=0 / (0, 0) / 'valid', got pad=%r; add a PadLayer before it "
                "for a padded dilated convolution" % (pad,)
            )
        if self.flip_filters:
            raise NotImplementedError("DilatedConv2DLayer requires flip_filters=False, got flip_filters=True")

    def get_W_shape(self):
        """``(input channels, num_filters, rows, cols)``."""
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        spatial = tuple(
            conv_output_length(length, (size - 1) * dilation + 1, 1, 0)
            for length, size, dilation in zip(input_shape[2:], self.filter_size, self.dilation)
        )
        return (input_shape[0], self.num_filters) + spatial

    def convolve(self, input, **kwargs):
        # The weight gradient of a convolution strided by the dilation, with the
        # batch and channel axes of the input swapped and W as the output gradient.
        input = at.as_tensor_variable(input)
        image_shape, out_shape = self.input_shape, self.output_shape
        op = AbstractConv2d_gradWeights(
            imshp=(image_shape[1], image_shape[0]) + tuple(image_shape[2:]),
            kshp=(out_shape[1], out_shape[0]) + tuple(out_shape[2:]),
            subsample=self.dilation,
            border_mode="valid",
            filter_flip=False,
        )
        size = out_shape[2:]
        if None in size:
            size = at.as_tensor_variable(self.get_output_shape_for(input.shape)[2:])
        return op(input.dimshuffle(1, 0, 2, 3), self.W, size).dimshuffle(1, 0, 2, 3)
