"""Activation functions: each maps a symbolic tensor to one of the same dtype.

Most are functions; :class:`ScaledTanH`, :class:`LeakyRectify` and
:class:`SELU` are classes whose instances are the activation, e.g.
``LeakyRectify(0.1)``.  :data:`leaky_rectify`, :data:`very_leaky_rectify`
and :data:`selu` are ready-made instances.
"""
import aesara.tensor as at
from aesara.tensor.special import softmax as _softmax

from aenet.lasagne.utils import as_dtype

__all__ = [
    "sigmoid",
    "softmax",
    "tanh",
    "ScaledTanH",
    "ScaledTanh",
    "rectify",
    "LeakyRectify",
    "leaky_rectify",
    "very_leaky_rectify",
    "elu",
    "SELU",
    "selu",
    "softplus",
    "linear",
    "identity",
]


def _like(value, x):
    """``value`` as a constant of ``x``'s float dtype (a python float would be float64)."""
    x = at.as_tensor_variable(x)
    return as_dtype(value, x.dtype) if x.dtype.startswith("float") else value


def sigmoid(x):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``."""
    return at.sigmoid(x)


def softmax(x):
    """Softmax over the last axis (the classes of a ``(batch, classes)`` matrix).

    Paired with :func:`aenet.lasagne.objectives.categorical_crossentropy` and
    integer targets, aesara rewrites the two into a numerically stable op.
    """
    return _softmax(x, axis=-1)


def tanh(x):
    """Hyperbolic tangent."""
    return at.tanh(x)


class ScaledTanH:
    """ScaledTanH(scale_in=1, scale_out=1): ``scale_out * tanh(scale_in * x)``.

    ``scale_in`` stretches the near-linear region around 0, ``scale_out`` sets
    the output range ``(-scale_out, scale_out)``.  LeCun et al. (1998) suggest
    ``ScaledTanH(2 / 3, 1.7159)``, which maps +-1 to about +-1.
    """

    def __init__(self, scale_in=1, scale_out=1):
        self.scale_in = scale_in
        self.scale_out = scale_out

    def __call__(self, x):
        return at.tanh(x * _like(self.scale_in, x)) * _like(self.scale_out, x)


ScaledTanh = ScaledTanH


def rectify(x):
    """Rectified linear unit, ``max(x, 0)``."""
    return at.maximum(x, 0)


class LeakyRectify:
    """LeakyRectify(leakiness=0.01): ``x`` for positive ``x``, ``leakiness * x`` otherwise.

    A leakiness of 0 is :func:`rectify`, of 1 the identity.
    """

    def __init__(self, leakiness=0.01):
        self.leakiness = leakiness

    def __call__(self, x):
        # x * (1 + a) / 2 + |x| * (1 - a) / 2: x above 0, a * x below, for any a
        leakiness, half = _like(self.leakiness, x), _like(0.5, x)
        return half * (1 + leakiness) * x + half * (1 - leakiness) * abs(x)


leaky_rectify = LeakyRectify()
"""``LeakyRectify(0.01)``, the leakiness of Maas et al. (2013)."""

very_leaky_rectify = LeakyRectify(1.0 / 3)
"""``LeakyRectify(1/3)``, the leakiness of Graham (2014)."""


def elu(x):
    """Exponential linear unit (Clevert et al., 2015): ``x`` above 0, ``exp(x) - 1`` otherwise."""
    return at.switch(x > 0, x, at.expm1(x))


class SELU:
    """SELU(scale=1, scale_neg=1): ``scale * x`` above 0, ``scale * scale_neg * (exp(x) - 1)`` otherwise.

    The scaled exponential linear unit of Klambauer et al. (2017); :data:`selu`
    holds the constants that make networks self-normalizing.
    """

    def __init__(self, scale=1, scale_neg=1):
        self.scale = scale
        self.scale_neg = scale_neg

    def __call__(self, x):
        negative = _like(self.scale_neg, x) * at.expm1(x)
        return _like(self.scale, x) * at.switch(x > 0, x, negative)


selu = SELU(scale=1.0507009873554804934193349852946, scale_neg=1.6732632423543772848170429916717)
"""SELU with ``scale`` about 1.0507 and ``scale_neg`` about 1.6733 (mean 0, variance 1 as fixed point)."""


def softplus(x):
    """``log(1 + exp(x))``, a smooth :func:`rectify`."""
    return at.softplus(x)


def linear(x):
    """The identity: ``x`` unchanged."""
    return x


identity = linear
