"""The entry point of a network."""
from collections import OrderedDict

import aesara
import aesara.tensor as at

from aenet.lasagne.layers.base import Layer, check_shape

__all__ = ["InputLayer"]


class InputLayer(Layer):
    """InputLayer(shape, input_var=None, name=None)

    Holds the symbolic variable fed to a network; ``shape`` may contain
    ``None`` for dimensions known only at run time (usually the batch size).
    Without ``input_var`` a floatX tensor of ``len(shape)`` dimensions is made,
    broadcastable along the dimensions of size 1, as in Lasagne.

    >>> InputLayer((None, 1, 28, 28)).output_shape
    (None, 1, 28, 28)
    """

    def __init__(self, shape, input_var=None, name=None):
        self.shape = tuple(shape)
        check_shape(self.shape, name)
        if input_var is None:
            var_name = "input" if name is None else "%s.input" % name
            static = tuple(1 if size == 1 else None for size in self.shape)
            input_var = at.tensor(aesara.config.floatX, shape=static, name=var_name)
        elif input_var.ndim != len(self.shape):
            raise ValueError(
                "input_var has %d dimensions but shape=%r has %d"
                % (input_var.ndim, self.shape, len(self.shape))
            )
        self.input_var = input_var
        self.input_layer = None
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @property
    def output_shape(self):
        return self.shape
