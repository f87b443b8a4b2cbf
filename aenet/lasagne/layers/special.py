"""Layers with special roles: expressions, biases, scales, inverses, learned rectifiers and spatial transformers."""
import numbers

import aesara
import aesara.tensor as at
import numpy as np
from aesara.tensor.random.utils import RandomStream

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import Layer, MergeLayer
from aenet.lasagne.layers.dense import NonlinearityLayer
from aenet.lasagne.layers.transformer import TPSTransformerLayer, TransformerLayer
from aenet.lasagne.random import get_rng
from aenet.lasagne.utils import as_dtype, floatX

__all__ = [
    "NonlinearityLayer",
    "BiasLayer",
    "ScaleLayer",
    "standardize",
    "ExpressionLayer",
    "InverseLayer",
    "TransformerLayer",
    "TPSTransformerLayer",
    "ParametricRectifierLayer",
    "prelu",
    "RandomizedRectifierLayer",
    "rrelu",
]


# -- shared axes ------------------------------------------------------------------


def resolve_shared_axes(shared_axes, ndim):
    """``shared_axes`` as a tuple of axes: ``'auto'`` is every axis but the second, ``'all'`` every axis."""
    if shared_axes == "auto":
        return (0,) + tuple(range(2, ndim))
    if shared_axes == "all":
        return tuple(range(ndim))
    if isinstance(shared_axes, numbers.Integral):
        return (int(shared_axes),)
    try:
        return tuple(int(axis) for axis in shared_axes)
    except TypeError:
        raise TypeError("shared_axes must be 'auto', 'all', an int or a tuple of ints, got %r" % (shared_axes,)) from None


def unshared_shape(layer, shared_axes, what):
    """The input shape without ``shared_axes``: the shape of a per-unit parameter."""
    shape = tuple(size for axis, size in enumerate(layer.input_shape) if axis not in shared_axes)
    if None in shape:
        raise ValueError(
            "%s needs specified input sizes for all axes that %s are not shared over, got input_shape=%r "
            "and shared_axes=%r" % (type(layer).__name__, what, layer.input_shape, shared_axes)
        )
    return shape


def spread(param, shared_axes, ndim):
    """``param`` dimshuffled to ``ndim`` axes, broadcasting over ``shared_axes``."""
    own_axes = iter(range(param.ndim))
    return param.dimshuffle(["x" if axis in shared_axes else next(own_axes) for axis in range(ndim)])


def leaky(x, slope):
    """``x`` where positive, ``slope * x`` elsewhere."""
    return at.maximum(x, 0) + slope * at.minimum(x, 0)


# -- bias and scale ---------------------------------------------------------------


class BiasLayer(Layer):
    """BiasLayer(incoming, b=init.Constant(0), shared_axes='auto', **kwargs)

    Adds a learned bias ``b`` (tagged not regularizable).  ``b`` has one value
    per position of the axes *not* in ``shared_axes``; ``'auto'`` shares over
    every axis but the second (one bias per unit or channel, as DenseLayer and
    Conv2DLayer).  ``b=None`` passes the input through unchanged.

    >>> BiasLayer((20, 30, 40, 50), shared_axes=(0, 2)).b.get_value().shape
    (30, 50)
    """

    def __init__(self, incoming, b=init.Constant(0), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        self.shared_axes = resolve_shared_axes(shared_axes, len(self.input_shape))
        if b is None:
            self.b = None
        else:
            shape = unshared_shape(self, self.shared_axes, "biases")
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_for(self, input, **kwargs):
        if self.b is None:
            return input
        return input + spread(self.b, self.shared_axes, input.ndim)


class ScaleLayer(Layer):
    """ScaleLayer(incoming, scales=init.Constant(1), shared_axes='auto', **kwargs)

    Multiplies the input by learned ``scales`` (tagged not regularizable),
    shaped and shared like :class:`BiasLayer`'s ``b``.

    >>> ScaleLayer((20, 30, 40, 50), shared_axes=(0, 2)).scales.get_value().shape
    (30, 50)
    """

    def __init__(self, incoming, scales=init.Constant(1), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        self.shared_axes = resolve_shared_axes(shared_axes, len(self.input_shape))
        shape = unshared_shape(self, self.shared_axes, "scales")
        self.scales = self.add_param(scales, shape, name="scales", regularizable=False)

    def get_output_for(self, input, **kwargs):
        return input * spread(self.scales, self.shared_axes, input.ndim)


def standardize(layer, offset, scale, shared_axes="auto"):
    """``(input - offset) / scale`` as a fixed :class:`BiasLayer` then :class:`ScaleLayer`.

    ``offset`` and ``scale`` are numpy arrays shaped like a BiasLayer's ``b``
    for ``shared_axes`` (e.g. per-feature means and standard deviations); they
    are stored as floatX parameters that are neither trainable nor regularizable.
    """
    for name, value in (("offset", offset), ("scale", scale)):
        if not isinstance(value, np.ndarray):
            raise TypeError("standardize needs %s as a numpy array, got %r" % (name, type(value).__name__))
    shifted = BiasLayer(layer, floatX(-offset), shared_axes)
    shifted.params[shifted.b].discard("trainable")
    scaled = ScaleLayer(shifted, floatX(1.0 / scale), shared_axes)
    scaled.params[scaled.scales].discard("trainable")
    return scaled


# -- expressions and inverses -----------------------------------------------------


class ExpressionLayer(Layer):
    """ExpressionLayer(incoming, function, output_shape=None, **kwargs)

    Applies ``function`` to the symbolic input.  ``output_shape`` is None
    (same as the input's), a tuple (fixed; None for a size known only at run
    time), a callable ``input_shape -> output_shape``, or ``'auto'``: the shape
    of ``function`` applied to zeros of the input shape, where unknown sizes
    are tried as 0 and sizes that come out 0 are reported as None.

    >>> ExpressionLayer((32, 100, 20), lambda X: X.mean(-1), output_shape='auto').output_shape
    (32, 100)
    """

    def __init__(self, incoming, function, output_shape=None, **kwargs):
        super().__init__(incoming, **kwargs)
        self.function = function
        if output_shape is None or (isinstance(output_shape, str) and output_shape == "auto"):
            self._output_shape = output_shape
        elif callable(output_shape):
            self._output_shape = None
            self.get_output_shape_for = output_shape
        elif isinstance(output_shape, str):
            raise ValueError("output_shape must be None, 'auto', a tuple or a callable, got %r" % (output_shape,))
        else:
            self._output_shape = tuple(output_shape)

    def get_output_shape_for(self, input_shape):
        if self._output_shape is None:
            return input_shape
        if isinstance(self._output_shape, str):
            return self._inferred_shape(tuple(input_shape))
        return self._output_shape

    def _inferred_shape(self, input_shape):
        trial = at.zeros(tuple(0 if size is None else size for size in input_shape), dtype=aesara.config.floatX)
        computed = self.function(trial).shape.eval()
        return tuple(int(size) if size else None for size in computed)

    def get_output_for(self, input, **kwargs):
        return self.function(input)


class InverseLayer(MergeLayer):
    """InverseLayer(incoming, layer, **kwargs)

    Back-propagates ``incoming`` through ``layer``: the gradient of
    ``layer``'s output with respect to its input, with ``incoming``'s output
    in place of the output gradient.  For a linear DenseLayer that is a
    multiplication by ``W.T``, for a Conv2DLayer a transposed convolution, for
    a max-pooling layer an unpooling; a nonlinearity or bias of ``layer`` is
    differentiated too.  Its output has the shape of ``layer``'s input.
    """

    def __init__(self, incoming, layer, **kwargs):
        super().__init__([incoming, layer, layer.input_layer], **kwargs)

    def get_output_shape_for(self, input_shapes):
        return input_shapes[2]

    def get_output_for(self, inputs, **kwargs):
        incoming, layer_out, layer_in = inputs
        return aesara.grad(None, wrt=layer_in, known_grads={layer_out: incoming})


# -- learned and randomized rectifiers --------------------------------------------


class ParametricRectifierLayer(Layer):
    """ParametricRectifierLayer(incoming, alpha=init.Constant(0.25), shared_axes='auto', **kwargs)

    ``max(x, 0) + alpha * min(x, 0)`` with a learned slope ``alpha`` (tagged
    not regularizable), shaped like :class:`BiasLayer`'s ``b`` for
    ``shared_axes``; ``'all'`` makes ``alpha`` a scalar.

    >>> ParametricRectifierLayer((20, 3, 28, 28), shared_axes=(0, 3)).alpha.get_value().shape
    (3, 28)
    """

    def __init__(self, incoming, alpha=init.Constant(0.25), shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        self.shared_axes = resolve_shared_axes(shared_axes, len(self.input_shape))
        shape = unshared_shape(self, self.shared_axes, "alphas")
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)

    def get_output_for(self, input, **kwargs):
        return leaky(input, spread(self.alpha, self.shared_axes, input.ndim))


def _replace_nonlinearity(layer):
    """Make ``layer`` linear if it has a nonlinearity, so a rectifier layer can follow it."""
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity


def prelu(layer, **kwargs):
    """A :class:`ParametricRectifierLayer` on ``layer``, whose nonlinearity becomes the identity.

    ``layer`` is modified in place; keywords go to the new layer.
    """
    _replace_nonlinearity(layer)
    return ParametricRectifierLayer(layer, **kwargs)


class RandomizedRectifierLayer(Layer):
    """RandomizedRectifierLayer(incoming, lower=0.3, upper=0.8, shared_axes='auto', **kwargs)

    A leaky rectifier whose negative slope is drawn uniformly from
    ``[lower, upper)`` at each evaluation, one draw per position of the axes
    not in ``shared_axes`` (``'all'``: a single slope).  With
    ``get_output(..., deterministic=True)``, or if ``lower == upper``, the
    slope is ``(lower + upper) / 2``.  The random stream is seeded from
    :func:`aenet.lasagne.random.get_rng` when the layer is created.

    >>> RandomizedRectifierLayer((None, 10)).output_shape
    (None, 10)
    """

    def __init__(self, incoming, lower=0.3, upper=0.8, shared_axes="auto", **kwargs):
        super().__init__(incoming, **kwargs)
        self._srng = RandomStream(get_rng().randint(1, 2147462579))
        self.lower = lower
        self.upper = upper
        comparison = lower > upper
        if not isinstance(comparison, aesara.graph.basic.Variable) and comparison:
            raise ValueError("RandomizedRectifierLayer needs lower <= upper, got lower=%r, upper=%r" % (lower, upper))
        self.shared_axes = resolve_shared_axes(shared_axes, len(self.input_shape))

    def get_output_for(self, input, deterministic=False, **kwargs):
        input = at.as_tensor_variable(input)
        if deterministic or self._bounds_equal():
            return leaky(input, as_dtype((self.lower + self.upper) / 2.0, input.dtype))
        return leaky(input, self._random_slopes(input))

    def _bounds_equal(self):
        same = self.lower == self.upper
        return not isinstance(same, aesara.graph.basic.Variable) and bool(same)

    def _random_slopes(self, input):
        """Uniform slopes, of size 1 (and broadcastable) along the shared axes."""
        known = None not in self.input_shape
        size = [1 if axis in self.shared_axes else (self.input_shape[axis] if known else input.shape[axis])
                for axis in range(input.ndim)]
        low, high = as_dtype(self.lower, input.dtype), as_dtype(self.upper, input.dtype)
        slopes = self._srng.uniform(low, high, size=size, dtype=input.dtype)
        return at.specify_shape(slopes, tuple(1 if axis in self.shared_axes else None for axis in range(input.ndim)))


def rrelu(layer, **kwargs):
    """A :class:`RandomizedRectifierLayer` on ``layer``, whose nonlinearity becomes the identity.

    ``layer`` is modified in place; keywords go to the new layer.
    """
    _replace_nonlinearity(layer)
    return RandomizedRectifierLayer(layer, **kwargs)
