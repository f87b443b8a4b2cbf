"""Dropout."""
import aesara.tensor as at
from aesara.tensor.random.utils import RandomStream

from aenet.lasagne.layers.base import Layer
from aenet.lasagne.random import get_rng
from aenet.lasagne.utils import as_dtype

__all__ = ["DropoutLayer", "dropout"]


class DropoutLayer(Layer):
    """DropoutLayer(incoming, p=0.5, rescale=True, **kwargs)

    Sets each input to zero with probability ``p`` during training; with
    ``rescale`` the survivors are divided by ``1 - p`` so the expected output
    equals the input.  ``get_output(..., deterministic=True)`` passes the input
    through unchanged.  The mask's random stream is seeded from
    :func:`aenet.lasagne.random.get_rng` when the layer is created.

    >>> DropoutLayer((None, 100), p=0.2).output_shape
    (None, 100)
    """

    def __init__(self, incoming, p=0.5, rescale=True, **kwargs):
        super().__init__(incoming, **kwargs)
        if not 0 <= p < 1:
            raise ValueError("dropout probability p must be in [0, 1), got %r" % (p,))
        self.p = p
        self.rescale = rescale
        self._srng = RandomStream(get_rng().randint(1, 2147462579))

    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.p == 0:
            return input
        retain = 1 - self.p
        mask = at.cast(self._srng.binomial(1, retain, size=input.shape), input.dtype)
        if self.rescale:
            mask = mask * as_dtype(1 / retain, input.dtype)
        return input * mask


dropout = DropoutLayer
