"""Small helpers shared by the layers, initializers and updates."""
import numbers

import aesara
import aesara.tensor as at
import numpy as np
from aesara.compile.sharedvalue import SharedVariable

__all__ = ["floatX", "as_tuple", "as_list", "as_dtype", "create_param", "unique"]


def floatX(arr):
    """``arr`` as a numpy array of aesara's ``floatX`` dtype."""
    return np.asarray(arr, dtype=aesara.config.floatX)


def as_tuple(x, n, t=None):
    """``x`` as an ``n``-tuple: an iterable is checked for length, a scalar repeated.

    >>> as_tuple(3, 2)
    (3, 3)

    With ``t`` every element must be an instance of ``t`` (``int`` accepts numpy
    integers too, and converts them).
    """
    try:
        values = tuple(x)
    except TypeError:
        values = (x,) * n
    if t is not None:
        check = numbers.Integral if t is int else t
        if not all(isinstance(v, check) for v in values):
            raise TypeError("expected a single %s or an iterable of them, got %r" % (t.__name__, x))
        values = tuple(t(v) for v in values)
    if len(values) != n:
        raise ValueError("expected a single value or an iterable of length %d, got %r" % (n, x))
    return values


def as_list(x):
    """A list or tuple as a list, anything else as a one-element list."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


def as_dtype(value, dtype):
    """A number, array or symbolic scalar as a symbolic value of ``dtype``.

    Used to keep python floats (float64 to aesara) from upcasting float32 graphs.
    """
    return at.cast(at.as_tensor_variable(value), dtype)


def unique(items):
    """``items`` without repeats, first occurrence kept, order preserved."""
    return list(dict.fromkeys(items))


def create_param(spec, shape, name=None):
    """A shared variable of ``shape`` made from ``spec``.

    ``spec`` may be a shared variable (returned as is, after a shape check, so
    layers can share weights), a numpy array (wrapped, its dtype kept, its
    length-1 axes made broadcastable as in Lasagne) or a callable such as an
    :class:`aenet.lasagne.init.Initializer`, called with ``shape`` and
    returning either of the other two.  An unnamed result is given ``name``.
    """
    shape = tuple(shape)
    if not all(isinstance(s, numbers.Integral) and s > 0 for s in shape):
        raise ValueError(
            "cannot create parameter %r with shape %r: every dimension must be a "
            "positive integer" % (name, shape)
        )
    if isinstance(spec, SharedVariable):
        param = spec
    elif isinstance(spec, np.ndarray):
        param = aesara.shared(spec, shape=tuple(1 if s == 1 else None for s in spec.shape))
    elif callable(spec):
        return create_param(spec(shape), shape, name)
    else:
        raise ValueError(
            "cannot create parameter %r from %r: expected a numpy array, a shared "
            "variable or a callable" % (name, spec)
        )
    actual = param.get_value(borrow=True).shape
    if actual != shape:
        raise ValueError("parameter %r has shape %r, expected %r" % (name, actual, shape))
    if param.name is None:
        param.name = name
    return param
