"""Normalization layers: local response, batch, instance and layer normalization."""
import numbers

import aesara.tensor as at

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import Layer
from aenet.lasagne.utils import as_dtype

__all__ = [
    "LocalResponseNormalization2DLayer",
    "BatchNormLayer",
    "batch_norm",
    "StandardizationLayer",
    "instance_norm",
    "layer_norm",
]


class LocalResponseNormalization2DLayer(Layer):
    """LocalResponseNormalization2DLayer(incoming, alpha=1e-4, k=2, beta=0.75, n=5, **kwargs)

    AlexNet's cross-channel normalization of ``(batch, channels, rows, cols)``
    input: each value is divided by ``(k + alpha * s) ** beta``, where ``s`` is
    the sum of the squares at the same position in the ``n`` channels centred
    on its own (fewer at the edges).  ``n`` must be odd.

    >>> LocalResponseNormalization2DLayer((None, 16, 8, 8)).output_shape
    (None, 16, 8, 8)
    """

    def __init__(self, incoming, alpha=1e-4, k=2, beta=0.75, n=5, **kwargs):
        super().__init__(incoming, **kwargs)
        if n % 2 == 0:
            raise NotImplementedError("LocalResponseNormalization2DLayer needs an odd n, got n=%r" % (n,))
        self.alpha = alpha
        self.k = k
        self.beta = beta
        self.n = n

    def get_output_for(self, input, **kwargs):
        squares = at.square(input)
        sums = squares
        for offset in range(1, self.n // 2 + 1):
            # channel c gains the squares of channels c + offset and c - offset, where they exist
            sums = at.inc_subtensor(sums[:, :-offset], squares[:, offset:])
            sums = at.inc_subtensor(sums[:, offset:], squares[:, :-offset])
        dtype = input.dtype
        scale = as_dtype(self.k, dtype) + as_dtype(self.alpha, dtype) * sums
        return input / scale ** as_dtype(self.beta, dtype)


def _as_axes(axes, ndim):
    """``axes`` as a tuple of non-negative ints."""
    if isinstance(axes, numbers.Integral):
        axes = (axes,)
    if isinstance(axes, str) or not all(isinstance(axis, numbers.Integral) for axis in axes):
        raise TypeError("axes must be 'auto', an int or a tuple of ints, got %r" % (axes,))
    return tuple(int(axis) % ndim for axis in axes)


class BatchNormLayer(Layer):
    """BatchNormLayer(incoming, axes='auto', epsilon=1e-4, alpha=0.1, beta=init.Constant(0),
    gamma=init.Constant(1), mean=init.Constant(0), inv_std=init.Constant(1), **kwargs)

    ``(x - mean) * inv_std * gamma + beta``, with ``mean`` and ``inv_std``
    (``1 / sqrt(var + epsilon)``) taken over ``axes`` (``'auto'``: every axis
    but the second, i.e. the batch and the spatial axes).  The parameters have
    the input's shape without ``axes``; ``beta`` or ``gamma`` may be ``None``.
    ``mean`` and ``inv_std`` are running averages (not trainable, tagged
    ``batch_norm_stat``), moved towards each batch's statistics by ``alpha``.

    ``get_output`` keywords: ``batch_norm_use_averages`` (normalize with the
    running averages instead of the batch's statistics; default
    ``deterministic``) and ``batch_norm_update_averages`` (update the running
    averages whenever a compiled function runs; default ``not deterministic``).

    >>> BatchNormLayer((None, 8, 5, 5)).beta.get_value().shape
    (8,)
    """

    def __init__(
        self,
        incoming,
        axes="auto",
        epsilon=1e-4,
        alpha=0.1,
        beta=init.Constant(0),
        gamma=init.Constant(1),
        mean=init.Constant(0),
        inv_std=init.Constant(1),
        **kwargs,
    ):
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        self.axes = (0,) + tuple(range(2, ndim)) if axes == "auto" else _as_axes(axes, ndim)
        self.epsilon = epsilon
        self.alpha = alpha
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        if any(size is None for size in shape):
            raise ValueError(
                "BatchNormLayer needs specified input sizes for all axes not normalized over, "
                "got input shape %r with axes %r" % (self.input_shape, self.axes)
            )
        self.beta = None if beta is None else self.add_param(beta, shape, "beta", regularizable=False)
        self.gamma = None if gamma is None else self.add_param(gamma, shape, "gamma")
        stat = {"trainable": False, "regularizable": False, "batch_norm_stat": True}
        self.mean = self.add_param(mean, shape, "mean", **stat)
        self.inv_std = self.add_param(inv_std, shape, "inv_std", **stat)

    def _running_average(self, param, batch_value):
        """A copy of ``param`` sharing its storage, whose default update moves it towards ``batch_value``.

        Any compiled function whose graph contains the copy applies the update.
        The copy's type also knows the static sizes of ``batch_value``'s shape,
        so that the update's type matches it exactly.
        """
        shape = tuple(p if p is not None else b for p, b in zip(param.type.shape, batch_value.type.shape))
        running = type(param)(
            type=param.type.clone(shape=shape), value=None, strict=None, container=param.container, name=param.name
        )
        alpha = as_dtype(self.alpha, param.dtype)
        update = as_dtype((1 - alpha) * running + alpha * as_dtype(batch_value, param.dtype), param.dtype)
        if update.type != running.type:
            update = at.specify_shape(update, shape)
        running.default_update = update
        return running

    def _broadcast(self, param, ndim):
        """``param`` with broadcastable axes inserted where the input is normalized."""
        kept = iter(range(param.ndim))
        return param.dimshuffle(["x" if axis in self.axes else next(kept) for axis in range(ndim)])

    def get_output_for(
        self, input, deterministic=False, batch_norm_use_averages=None, batch_norm_update_averages=None, **kwargs
    ):
        batch_mean = input.mean(self.axes)
        batch_inv_std = at.reciprocal(at.sqrt(input.var(self.axes) + as_dtype(self.epsilon, input.dtype)))
        use_averages = deterministic if batch_norm_use_averages is None else batch_norm_use_averages
        update_averages = (not deterministic) if batch_norm_update_averages is None else batch_norm_update_averages
        mean, inv_std = (self.mean, self.inv_std) if use_averages else (batch_mean, batch_inv_std)
        if update_averages:
            # the aliased copies only need to be in the graph for their updates to run
            mean = mean + 0 * self._running_average(self.mean, batch_mean)
            inv_std = inv_std + 0 * self._running_average(self.inv_std, batch_inv_std)
        scale = self._broadcast(inv_std, input.ndim)
        if self.gamma is not None:
            scale = scale * self._broadcast(self.gamma, input.ndim)
        normalized = (input - self._broadcast(mean, input.ndim)) * scale
        return normalized if self.beta is None else normalized + self._broadcast(self.beta, input.ndim)


def _take_nonlinearity_and_bias(layer):
    """Make ``layer`` linear and bias-free; return the nonlinearity it had (``None`` if none)."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    return nonlinearity


def _derived_name(layer, kwargs, suffix):
    """The ``name`` keyword if given, else ``<layer name><suffix>`` (``None`` for an unnamed layer)."""
    name = kwargs.pop("name", None)
    if name:
        return name
    layer_name = getattr(layer, "name", None)
    return layer_name + suffix if layer_name else None


def _suffixed(name, suffix):
    return name + suffix if name else None


def _with_nonlinearity(layer, nonlinearity, name):
    if nonlinearity is None:
        return layer
    from aenet.lasagne.layers.dense import NonlinearityLayer

    return NonlinearityLayer(layer, nonlinearity, name=_suffixed(name, "_nonlin"))


def batch_norm(layer, **kwargs):
    """Batch-normalize ``layer``'s output before its nonlinearity.

    ``layer`` loses its nonlinearity and its bias ``b`` (``beta`` takes its
    place); on top come a :class:`BatchNormLayer` (named ``<name>_bn`` or the
    ``name`` keyword; the other keywords go to it too) and, if ``layer`` had a
    nonlinearity, a :class:`NonlinearityLayer` applying it
    (``<bn name>_nonlin``).  Returns the topmost layer.
    """
    nonlinearity = _take_nonlinearity_and_bias(layer)
    name = _derived_name(layer, kwargs, "_bn")
    normalized = BatchNormLayer(layer, name=name, **kwargs)
    return _with_nonlinearity(normalized, nonlinearity, name)


class StandardizationLayer(Layer):
    """StandardizationLayer(incoming, axes='auto', epsilon=1e-4, **kwargs)

    ``(x - mean) / sqrt(var + epsilon)`` with mean and variance over ``axes``
    of each input: ``'spatial'`` (every axis after the second), ``'features'``
    (every axis after the first), ``'auto'`` (axis 1 for 2D input, otherwise
    ``'spatial'``), an int or a tuple of ints.  No parameters, and the same in
    training and at test time.

    >>> StandardizationLayer((None, 3, 8, 8)).axes
    (2, 3)
    """

    def __init__(self, incoming, axes="auto", epsilon=1e-4, **kwargs):
        super().__init__(incoming, **kwargs)
        ndim = len(self.input_shape)
        if axes == "auto":
            axes = "features" if ndim == 2 else "spatial"
        if axes == "spatial":
            axes = tuple(range(2, ndim))
        elif axes == "features":
            axes = tuple(range(1, ndim))
        self.axes = _as_axes(axes, ndim)
        self.epsilon = epsilon

    def get_output_for(self, input, **kwargs):
        mean = input.mean(self.axes, keepdims=True)
        variance = input.var(self.axes, keepdims=True)
        return (input - mean) / at.sqrt(variance + as_dtype(self.epsilon, input.dtype))


def _standardized(layer, axes, suffix, learn_scale, learn_bias, kwargs):
    """``layer`` made linear and bias-free, then standardized, scaled, shifted and given its nonlinearity back."""
    from aenet.lasagne.layers.special import BiasLayer, ScaleLayer

    nonlinearity = _take_nonlinearity_and_bias(layer)
    name = _derived_name(layer, kwargs, suffix)
    layer = StandardizationLayer(layer, axes=axes, name=name, **kwargs)
    if learn_scale:
        layer = ScaleLayer(layer, shared_axes="auto", name=_suffixed(name, "_scale"))
    if learn_bias:
        layer = BiasLayer(layer, shared_axes="auto", name=_suffixed(name, "_bias"))
    return _with_nonlinearity(layer, nonlinearity, name)


def instance_norm(layer, learn_scale=True, learn_bias=True, **kwargs):
    """Instance-normalize ``layer``'s output (over its spatial axes) before its nonlinearity.

    ``layer`` loses its nonlinearity and bias; on top come a
    :class:`StandardizationLayer` (``axes='spatial'``, named ``<name>_in`` or
    the ``name`` keyword; other keywords go to it), a ``ScaleLayer`` and a
    ``BiasLayer`` with one parameter per channel (unless ``learn_scale`` or
    ``learn_bias`` is false) and the nonlinearity, if any.  Returns the topmost layer.
    """
    return _standardized(layer, "spatial", "_in", learn_scale, learn_bias, kwargs)


def layer_norm(layer, **kwargs):
    """Layer-normalize ``layer``'s output (over all but the batch axis) before its nonlinearity.

    Like :func:`instance_norm`, with ``axes='features'``, names ending in
    ``_ln`` and the scale and bias always learned.
    """
    return _standardized(layer, "features", "_ln", True, True, kwargs)
