"""Embedding lookups."""
from aenet.lasagne import init
from aenet.lasagne.layers.base import Layer

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    """EmbeddingLayer(incoming, input_size, output_size, W=init.Normal(), **kwargs)

    Looks up integer indices (below ``input_size``) in the embedding matrix
    ``W`` of shape ``(input_size, output_size)``: the output has the input's
    shape with a trailing axis of ``output_size``.

    >>> EmbeddingLayer((None, 7), input_size=100, output_size=16).output_shape
    (None, 7, 16)
    """

    def __init__(self, incoming, input_size, output_size, W=init.Normal(), **kwargs):
        super().__init__(incoming, **kwargs)
        self.input_size = input_size
        self.output_size = output_size
        self.W = self.add_param(W, (input_size, output_size), name="W")

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape) + (self.output_size,)

    def get_output_for(self, input, **kwargs):
        return self.W[input]
