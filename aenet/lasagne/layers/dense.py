"""Fully connected layers and a stand-alone nonlinearity."""
import numpy as np

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import Layer, add_bias, nonlinearity_or_identity

__all__ = ["DenseLayer", "NonlinearityLayer"]


class DenseLayer(Layer):
    """DenseLayer(incoming, num_units, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, **kwargs)

    ``nonlinearity(dot(x, W) + b)``, with inputs of more than two dimensions
    flattened to ``(batch, features)`` first.  ``W`` has shape
    ``(features, num_units)``; ``b=None`` drops the bias.

    >>> DenseLayer((None, 3, 8, 8), num_units=10).output_shape
    (None, 10)
    """

    def __init__(
        self,
        incoming,
        num_units,
        W=init.GlorotUniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
        **kwargs,
    ):
        super().__init__(incoming, **kwargs)
        self.num_units = num_units
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)
        num_inputs = self.input_shape[1:]
        num_inputs = None if None in num_inputs else int(np.prod(num_inputs))
        self.W = self.add_param(W, (num_inputs, num_units), name="W")
        self.b = None if b is None else self.add_param(b, (num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_units)

    def get_output_for(self, input, **kwargs):
        if input.ndim > 2:
            input = input.flatten(2)
        return self.nonlinearity(add_bias(input.dot(self.W), self.b))


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
