"""Noise layers for regularization: dropout (optionally shared across axes) and additive Gaussian noise."""
import aesara
import aesara.tensor as at
from aesara.tensor.random.utils import RandomStream

from aenet.lasagne.layers.base import Layer
from aenet.lasagne.random import get_rng
from aenet.lasagne.utils import as_dtype

__all__ = [
    "DropoutLayer",
    "dropout",
    "dropout_channels",
    "spatial_dropout",
    "dropout_locations",
    "GaussianNoiseLayer",
]

_SEED_LIMIT = 2147462579


def _random_stream():
    """A stream seeded from aenet.lasagne's generator, so ``set_rng`` makes the noise reproducible."""
    return RandomStream(get_rng().randint(1, _SEED_LIMIT))


def _is_symbolic(value):
    return isinstance(value, aesara.graph.basic.Variable)


def _is_float(dtype):
    return str(dtype).startswith("float")


class DropoutLayer(Layer):
    """DropoutLayer(incoming, p=0.5, rescale=True, shared_axes=(), **kwargs)

    Sets each input to zero with probability ``p`` (a number or a symbolic
    scalar) during training; with ``rescale`` the survivors are divided by
    ``1 - p`` so the expected output equals the input.  The mask is drawn once
    for all positions along ``shared_axes``: ``(0,)`` shares it across the
    batch, ``(2, 3)`` across the rows and columns of feature maps.
    ``get_output(..., deterministic=True)`` passes the input through unchanged.
    The mask's random stream is seeded from :func:`aenet.lasagne.random.get_rng`
    when the layer is created.

    >>> DropoutLayer((None, 100), p=0.2).output_shape
    (None, 100)
    """

    def __init__(self, incoming, p=0.5, rescale=True, shared_axes=(), **kwargs):
        super().__init__(incoming, **kwargs)
        if not _is_symbolic(p) and not 0 <= p < 1:
            raise ValueError("dropout probability p must be in [0, 1), got %r" % (p,))
        self.p = p
        self.rescale = rescale
        self.shared_axes = tuple(shared_axes)
        self._srng = _random_stream()

    def _mask_shape(self, input):
        """The input's shape (static where the layer knows it all), 1 along the shared axes."""
        shape = self.input_shape
        if any(size is None for size in shape) or len(shape) != input.ndim:
            shape = [input.shape[axis] for axis in range(input.ndim)]
        shared = {axis % input.ndim for axis in self.shared_axes}
        return tuple(1 if axis in shared else size for axis, size in enumerate(shape))

    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or (not _is_symbolic(self.p) and self.p == 0):
            return input
        retain = 1 - self.p
        draws = self._srng.binomial(1, retain, size=self._mask_shape(input))
        mask = at.cast(draws, input.dtype)
        if self.rescale and _is_float(input.dtype):
            mask = mask * as_dtype(1 / retain, input.dtype)
        elif self.rescale:
            input = input / retain
        return input * mask


dropout = DropoutLayer


def dropout_channels(incoming, *args, **kwargs):
    """A :class:`DropoutLayer` that drops whole channels: one mask value per example and channel.

    ``shared_axes`` covers every axis after the second (none for 2D input);
    the other arguments go to :class:`DropoutLayer`.

    >>> dropout_channels((None, 16, 8, 8)).shared_axes
    (2, 3)
    """
    ndim = len(getattr(incoming, "output_shape", incoming))
    kwargs["shared_axes"] = tuple(range(2, ndim))
    return DropoutLayer(incoming, *args, **kwargs)


spatial_dropout = dropout_channels


def dropout_locations(incoming, *args, **kwargs):
    """A :class:`DropoutLayer` that drops whole locations (pixels, voxels) across all channels.

    ``shared_axes`` is ``(1,)``; the other arguments go to :class:`DropoutLayer`.

    >>> dropout_locations((None, 16, 8, 8)).shared_axes
    (1,)
    """
    kwargs["shared_axes"] = (1,)
    return DropoutLayer(incoming, *args, **kwargs)


class GaussianNoiseLayer(Layer):
    """GaussianNoiseLayer(incoming, sigma=0.1, **kwargs)

    Adds zero-mean Gaussian noise of standard deviation ``sigma`` (a number or
    a symbolic scalar) to the input during training;
    ``get_output(..., deterministic=True)`` (or ``sigma=0``) passes the input
    through unchanged.  The random stream is seeded from
    :func:`aenet.lasagne.random.get_rng` when the layer is created.

    >>> GaussianNoiseLayer((None, 10), sigma=0.5).output_shape
    (None, 10)
    """

    def __init__(self, incoming, sigma=0.1, **kwargs):
        super().__init__(incoming, **kwargs)
        self.sigma = sigma
        self._srng = _random_stream()

    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or (not _is_symbolic(self.sigma) and self.sigma == 0):
            return input
        dtype = input.dtype if _is_float(input.dtype) else aesara.config.floatX
        noise = self._srng.normal(as_dtype(0, dtype), as_dtype(self.sigma, dtype), size=input.shape, dtype=dtype)
        return input + noise
