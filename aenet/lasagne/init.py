"""Parameter initializers: objects whose ``sample(shape)`` returns a floatX array.

All draw from :func:`aenet.lasagne.random.get_rng`.  Calling an initializer
is the same as calling its ``sample``.
"""
import numpy as np

from aenet.lasagne.random import get_rng
from aenet.lasagne.utils import floatX

__all__ = [
    "Initializer",
    "Constant",
    "Normal",
    "Uniform",
    "Glorot",
    "GlorotNormal",
    "GlorotUniform",
    "He",
    "HeNormal",
    "HeUniform",
    "Orthogonal",
    "Sparse",
]


class Initializer:
    """Base class: subclasses implement ``sample(shape)``."""

    def __call__(self, shape):
        return self.sample(shape)

    def sample(self, shape):
        """A floatX numpy array of ``shape``."""
        raise NotImplementedError()


class Constant(Initializer):
    """Constant(val=0.0): every entry equals ``val``."""

    def __init__(self, val=0.0):
        self.val = val

    def sample(self, shape):
        return floatX(np.full(shape, self.val))


class Normal(Initializer):
    """Normal(std=0.01, mean=0.0): draws from a Gaussian."""

    def __init__(self, std=0.01, mean=0.0):
        self.std = std
        self.mean = mean

    def sample(self, shape):
        return floatX(get_rng().normal(self.mean, self.std, size=shape))


class Uniform(Initializer):
    """Uniform(range=0.01, std=None, mean=0.0): draws from a uniform distribution.

    ``range`` is a ``(low, high)`` pair or a number ``r`` meaning ``(-r, r)``.
    When ``std`` is given it wins: the interval is centred on ``mean`` with
    that standard deviation, ``mean +- sqrt(3) * std``.
    """

    def __init__(self, range=0.01, std=None, mean=0.0):
        if std is not None:
            half = np.sqrt(3) * std
            self.range = (mean - half, mean + half)
        elif np.ndim(range) == 0:
            self.range = (-range, range)
        else:
            low, high = range
            self.range = (low, high)

    def sample(self, shape):
        low, high = self.range
        return floatX(get_rng().uniform(low=low, high=high, size=shape))


def _gain(gain):
    """``'relu'`` means ``sqrt(2)``, the gain for rectified units."""
    return np.sqrt(2) if gain == "relu" else gain


def _fans(shape, c01b):
    """(fan_in, fan_out) of a weight tensor.

    Dense weights are ``(inputs, units)``; conv weights ``(filters, channels,
    rows, cols)``, or ``(channels, rows, cols, filters)`` when ``c01b``.
    """
    if c01b:
        if len(shape) != 4:
            raise RuntimeError("c01b=True needs a 4-D shape, got %r" % (shape,))
        receptive = shape[1] * shape[2]
        return shape[0] * receptive, shape[3] * receptive
    if len(shape) < 2:
        raise RuntimeError("this initializer needs a shape of length >= 2, got %r" % (shape,))
    receptive = int(np.prod(shape[2:]))
    if len(shape) == 2:
        return shape[0], shape[1]
    return shape[1] * receptive, shape[0] * receptive


class _FanScaled:
    """Mixin: samples ``initializer(std=...)``, the std computed from the shape's fans.

    Not an :class:`Initializer` itself, so that :class:`Glorot` and :class:`He`
    are direct subclasses of it, as in Lasagne.
    """

    def __init__(self, initializer, gain=1.0, c01b=False):
        self.initializer = initializer
        self.gain = _gain(gain)
        self.c01b = c01b

    def sample(self, shape):
        std = self.gain * self.unit_std(*_fans(shape, self.c01b))
        return self.initializer(std=std).sample(shape)

    def unit_std(self, fan_in, fan_out):
        """The standard deviation for ``gain=1``."""
        raise NotImplementedError()


class Glorot(_FanScaled, Initializer):
    """Glorot(initializer, gain=1.0, c01b=False): Glorot & Bengio (2010) scaling.

    Samples ``initializer(std=std)`` with
    ``std = gain * sqrt(2 / (fan_in + fan_out))``.
    """

    def unit_std(self, fan_in, fan_out):
        return np.sqrt(2.0 / (fan_in + fan_out))


class GlorotNormal(Glorot):
    """GlorotNormal(gain=1.0, c01b=False): Glorot scaling of a :class:`Normal`."""

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Normal, gain, c01b)


class GlorotUniform(Glorot):
    """GlorotUniform(gain=1.0, c01b=False): Glorot scaling of a :class:`Uniform`.

    The bounds are ``+- gain * sqrt(6 / (fan_in + fan_out))``.
    """

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Uniform, gain, c01b)


class He(_FanScaled, Initializer):
    """He(initializer, gain=1.0, c01b=False): He et al. (2015) scaling.

    Samples ``initializer(std=std)`` with ``std = gain * sqrt(1 / fan_in)``.
    """

    def unit_std(self, fan_in, fan_out):
        return np.sqrt(1.0 / fan_in)


class HeNormal(He):
    """HeNormal(gain=1.0, c01b=False): He scaling of a :class:`Normal`."""

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Normal, gain, c01b)


class HeUniform(He):
    """HeUniform(gain=1.0, c01b=False): He scaling of a :class:`Uniform`."""

    def __init__(self, gain=1.0, c01b=False):
        super().__init__(Uniform, gain, c01b)


class Orthogonal(Initializer):
    """Orthogonal(gain=1.0): ``gain`` times a random orthonormal matrix (Saxe et al., 2014).

    The weight is seen as a ``(shape[0], prod(shape[1:]))`` matrix whose rows
    (if there are fewer rows than columns) or columns are orthonormal.
    ``gain='relu'`` means ``sqrt(2)``.
    """

    def __init__(self, gain=1.0):
        self.gain = _gain(gain)

    def sample(self, shape):
        if len(shape) < 2:
            raise RuntimeError("Orthogonal needs a shape of length >= 2, got %r" % (shape,))
        rows, cols = shape[0], int(np.prod(shape[1:]))
        gaussian = get_rng().normal(0.0, 1.0, (rows, cols))
        left, _, right = np.linalg.svd(gaussian, full_matrices=False)
        # left is (rows, k) and right (k, cols) with k = min(rows, cols): one of them is (rows, cols)
        orthonormal = left if left.shape == (rows, cols) else right
        return floatX(self.gain * orthonormal.reshape(shape))


class Sparse(Initializer):
    """Sparse(sparsity=0.1, std=0.01): a ``(inputs, units)`` matrix with few non-zero weights.

    Each column gets exactly ``int(sparsity * inputs)`` non-zero entries, at
    random rows, drawn from a Gaussian of standard deviation ``std``.
    """

    def __init__(self, sparsity=0.1, std=0.01):
        self.sparsity = sparsity
        self.std = std

    def sample(self, shape):
        if len(shape) != 2:
            raise RuntimeError("Sparse needs a shape of length 2, got %r" % (shape,))
        inputs, units = shape
        nonzero = int(self.sparsity * inputs)
        weights = np.zeros(shape, dtype=floatX(0).dtype)
        rng = get_rng()
        for unit in range(units):
            rows = rng.permutation(inputs)[:nonzero]
            weights[rows, unit] = rng.normal(0.0, self.std, size=nonzero)
        return weights
