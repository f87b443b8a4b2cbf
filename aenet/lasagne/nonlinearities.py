"""Activation functions: each maps a symbolic tensor to one of the same dtype."""
import aesara.tensor as at
from aesara.tensor.special import softmax as _softmax

__all__ = ["rectify", "softmax", "tanh", "sigmoid", "linear", "identity"]


def rectify(x):
    """Rectified linear unit, ``max(x, 0)``."""
    return at.maximum(x, 0)


def softmax(x):
    """Softmax over the last axis (the classes of a ``(batch, classes)`` matrix).

    Paired with :func:`aenet.lasagne.objectives.categorical_crossentropy` and
    integer targets, aesara rewrites the two into a numerically stable op.
    """
    return _softmax(x, axis=-1)


def tanh(x):
    """Hyperbolic tangent."""
    return at.tanh(x)


def sigmoid(x):
    """Logistic sigmoid, ``1 / (1 + exp(-x))``."""
    return at.sigmoid(x)


def linear(x):
    """The identity: ``x`` unchanged."""
    return x


identity = linear
