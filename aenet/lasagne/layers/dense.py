"""Fully connected layers, network-in-network layers and a stand-alone nonlinearity."""
import numpy as np

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import Layer, add_bias, nonlinearity_or_identity

__all__ = ["DenseLayer", "NINLayer", "NonlinearityLayer"]


def _check_leading_axes(num_leading_axes, input_shape):
    """Raise ValueError unless ``num_leading_axes`` leaves a fixed-size trailing part of ``input_shape``."""
    ndim = len(input_shape)
    if num_leading_axes >= ndim:
        raise ValueError(
            "num_leading_axes=%d for a %d-d input %r is leaving no trailing axes for the dot product"
            % (num_leading_axes, ndim, input_shape)
        )
    if num_leading_axes < -ndim:
        raise ValueError(
            "num_leading_axes=%d for a %d-d input %r is requesting more trailing axes than the input has"
            % (num_leading_axes, ndim, input_shape)
        )
    if None in input_shape[num_leading_axes:]:
        raise ValueError(
            "DenseLayer requires a fixed input shape (except for the leading axes): got %r with "
            "num_leading_axes=%d" % (input_shape, num_leading_axes)
        )


def _leading_dot(x, leading, W):
    """``dot`` of ``W`` with the trailing axes of ``x`` (flattened), its ``leading`` axes kept.

    One matrix product on ``x`` reshaped to two dimensions: unlike aesara's
    n-d ``dot`` (a ``tensordot``), the shapes involved stay simple enough for
    aenet's JAX backend to keep static.
    """
    rows = x.reshape((-1, W.shape[0]), ndim=2).dot(W)
    return rows.reshape([x.shape[k] for k in range(leading)] + [W.shape[1]], ndim=leading + 1)


class DenseLayer(Layer):
    """DenseLayer(incoming, num_units, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, num_leading_axes=1, **kwargs)

    ``nonlinearity(dot(x, W) + b)`` over the trailing axes: the first
    ``num_leading_axes`` input axes are kept (a negative value counts the
    trailing axes instead), the others flattened into ``num_inputs`` features.
    ``W`` has shape ``(num_inputs, num_units)``; ``b=None`` drops the bias.

    >>> DenseLayer((None, 3, 8, 8), num_units=10).output_shape
    (None, 10)
    >>> DenseLayer((None, 7, 20), num_units=5, num_leading_axes=2).output_shape
    (None, 7, 5)
    >>> DenseLayer((None, 7, 4, 20), num_units=5, num_leading_axes=-1).output_shape
    (None, 7, 4, 5)
    """

    def __init__(
        self,
        incoming,
        num_units,
        W=init.GlorotUniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
        num_leading_axes=1,
        **kwargs,
    ):
        super().__init__(incoming, **kwargs)
        self.num_units = num_units
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)
        _check_leading_axes(num_leading_axes, tuple(self.input_shape))
        self.num_leading_axes = num_leading_axes
        num_inputs = int(np.prod(self.input_shape[num_leading_axes:]))
        self.W = self.add_param(W, (num_inputs, num_units), name="W")
        self.b = None if b is None else self.add_param(b, (num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape[: self.num_leading_axes]) + (self.num_units,)

    def get_output_for(self, input, **kwargs):
        leading = self.num_leading_axes % input.ndim
        if leading > 1:
            activation = _leading_dot(input, leading, self.W)
        else:
            activation = (input.flatten(2) if input.ndim > 2 else input).dot(self.W)
        if self.b is not None:  # along the last axis
            activation = activation + self.b.dimshuffle(("x",) * (activation.ndim - 1) + (0,))
        return self.nonlinearity(activation)


class NINLayer(Layer):
    """NINLayer(incoming, num_units, untie_biases=False, W=init.GlorotUniform(),
    b=init.Constant(0.), nonlinearity=nonlinearities.rectify, **kwargs)

    Network-in-network layer: the dense layer ``W`` (shape
    ``(input channels, num_units)``) applied along axis 1 at every position of
    the trailing axes, i.e. a convolution with filters of size 1.  ``b`` has
    shape ``(num_units,)``, or ``(num_units,) + input_shape[2:]`` with
    ``untie_biases=True``; ``b=None`` drops it.

    >>> NINLayer((None, 3, 8, 8), num_units=5).output_shape
    (None, 5, 8, 8)
    """

    def __init__(
        self,
        incoming,
        num_units,
        untie_biases=False,
        W=init.GlorotUniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
        **kwargs,
    ):
        super().__init__(incoming, **kwargs)
        self.num_units = num_units
        self.untie_biases = untie_biases
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)
        self.W = self.add_param(W, (self.input_shape[1], num_units), name="W")
        if b is None:
            self.b = None
        else:
            b_shape = (num_units,) + tuple(self.input_shape[2:]) if untie_biases else (num_units,)
            self.b = self.add_param(b, b_shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_units) + tuple(input_shape[2:])

    def get_output_for(self, input, **kwargs):
        trailing = list(range(2, input.ndim))
        channels_last = input.dimshuffle(0, *trailing, 1).dot(self.W)
        activation = channels_last.dimshuffle(0, input.ndim - 1, *range(1, input.ndim - 1))
        return self.nonlinearity(add_bias(activation, self.b))


class NonlinearityLayer(Layer):
    """NonlinearityLayer(incoming, nonlinearity=nonlinearities.rectify, **kwargs)

    Applies ``nonlinearity`` element-wise (or row-wise, for softmax).

    >>> NonlinearityLayer((None, 10)).output_shape
    (None, 10)
    """

    def __init__(self, incoming, nonlinearity=nonlinearities.rectify, **kwargs):
        super().__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)

    def get_output_for(self, input, **kwargs):
        return self.nonlinearity(input)
