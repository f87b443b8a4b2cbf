"""Functions over whole networks: outputs, shapes and parameters.

A network is given by its output layer (or a list of output layers); the
layers feeding it are found by following ``input_layer`` links.
"""
import difflib
import warnings

import numpy as np

from aenet.lasagne.layers.base import MergeLayer
from aenet.lasagne.layers.input import InputLayer
from aenet.lasagne.utils import as_list, as_theano_expression, inspect_kwargs, unique

__all__ = [
    "get_all_layers",
    "incoming_layers",
    "get_output",
    "get_output_shape",
    "get_all_params",
    "count_params",
    "get_all_param_values",
    "set_all_param_values",
]


def _map(function, layer_or_layers):
    """``function`` of a layer, or the list of its values for a list of layers."""
    if isinstance(layer_or_layers, (list, tuple)):
        return [function(layer) for layer in layer_or_layers]
    return function(layer_or_layers)


def incoming_layers(layer):
    """The layers feeding ``layer``: its ``input_layers`` (merge layers) or its
    ``input_layer``, leaving out inputs given as shapes."""
    if isinstance(layer, InputLayer):
        return []
    if hasattr(layer, "input_layers"):
        return [incoming for incoming in layer.input_layers if incoming is not None]
    incoming = getattr(layer, "input_layer", None)
    return [] if incoming is None else [incoming]


def get_all_layers(layer, treat_as_input=None):
    """Every layer ``layer`` (a layer or a list) depends on, inputs first.

    Each layer comes after the layers feeding it, a merge layer's inputs in
    their order; the search stops at layers in ``treat_as_input``.
    """
    stop = set(treat_as_input or ())
    ordered, done = [], set()
    for output in as_list(layer):
        stack = [(output, False)]
        while stack:
            current, expanded = stack.pop()
            if current in done:
                continue
            if expanded or current in stop:
                done.add(current)
                ordered.append(current)
                continue
            stack.append((current, True))
            stack.extend((incoming, False) for incoming in reversed(incoming_layers(current)))
    return ordered


def _propagate(layer_or_layers, inputs, of_input_layer, convert, step):
    """Values of ``layer_or_layers`` computed layer by layer from the inputs' values.

    ``inputs`` is None (every InputLayer gets ``of_input_layer(layer)``), one
    value for the network's only InputLayer, or a dict layer -> value, whose
    layers are treated as inputs; the key ``None`` gives the input of layers
    built from a shape.  ``step(layer, value)`` computes a layer's value from
    its input layer's (a list of them for a merge layer).
    """
    given = inputs if isinstance(inputs, dict) else {}
    layers = get_all_layers(layer_or_layers, treat_as_input=given)
    values = {layer: of_input_layer(layer) for layer in layers if isinstance(layer, InputLayer) and layer not in given}
    if isinstance(inputs, dict):
        values.update((layer, convert(value)) for layer, value in inputs.items())
    elif inputs is not None:
        if len(values) > 1:
            raise ValueError(
                "a single input was given to a network with %d input layers %r; "
                "pass a dict {input_layer: value} instead" % (len(values), list(values))
            )
        values = {layer: convert(inputs) for layer in values}
    for layer in layers:
        if layer not in values:
            merge = isinstance(layer, MergeLayer)
            incoming = [_value_of(values, i, layer) for i in layer.input_layers] if merge else \
                _value_of(values, layer.input_layer, layer)  # fmt: skip
            values[layer] = step(layer, incoming)
    return _map(values.__getitem__, layer_or_layers)


def _value_of(values, incoming, layer):
    """The value of ``layer``'s input ``incoming``: None stands for an input given by shape."""
    try:
        return values[incoming]
    except KeyError:
        raise ValueError(
            "layer %r was built from a shape, not a layer: pass its input in a "
            "dict {layer: value} (or {None: value})" % (layer,)
        ) from None


def _warn_unused(kwargs, layers):
    """Warn of keywords no computed layer's ``get_output_for`` takes, suggesting close names."""
    if not kwargs:
        return
    accepted = {"deterministic"}
    for layer in layers:
        if isinstance(layer, InputLayer):
            continue
        try:
            accepted.update(inspect_kwargs(layer.get_output_for))
        except TypeError:
            pass
        accepted.update(getattr(layer, "get_output_kwargs", ()))
    unused = sorted(set(kwargs) - accepted)
    if unused:
        named = []
        for name in unused:
            close = difflib.get_close_matches(name, accepted)
            named.append("%s (perhaps you meant %s)" % (name, close[0]) if close else name)
        warnings.warn("get_output() was called with unused kwargs:\n\t" + "\n\t".join(named), stacklevel=3)


def get_output(layer_or_layers, inputs=None, **kwargs):
    """Symbolic output of a layer (or list of outputs of a list of layers).

    ``inputs`` is None (use each InputLayer's ``input_var``), an expression
    or array for the network's single InputLayer, or a dict mapping layers
    (``None`` for the input of a layer built from a shape) to expressions or
    arrays.  Keywords, such as ``deterministic=True`` (no dropout), go to
    every layer's ``get_output_for``; one that no layer takes is warned of.
    """
    def step(layer, value):
        return layer.get_output_for(value, **kwargs)

    outputs = _propagate(layer_or_layers, inputs, lambda layer: layer.input_var, as_theano_expression, step)
    _warn_unused(kwargs, get_all_layers(layer_or_layers, treat_as_input=inputs if isinstance(inputs, dict) else ()))
    return outputs


def get_output_shape(layer_or_layers, input_shapes=None):
    """Output shape of a layer (or list of shapes), for given input shapes if any.

    ``input_shapes`` works like ``inputs`` of :func:`get_output`, with shape
    tuples instead of expressions; without it (or with ``{}``) each layer's
    ``output_shape`` is returned.
    """
    if input_shapes is None or (isinstance(input_shapes, dict) and not input_shapes):
        return _map(lambda layer: layer.output_shape, layer_or_layers)

    def step(layer, shape):
        return layer.get_output_shape_for(shape)

    return _propagate(layer_or_layers, input_shapes, lambda layer: layer.shape, lambda shape: shape, step)


def get_all_params(layer, unwrap_shared=True, **tags):
    """Parameters of every layer of the network, without repeats, inputs first.

    Tags filter as in :meth:`Layer.get_params`, e.g. ``trainable=True``;
    ``unwrap_shared`` too: parameters given as expressions are listed as the
    shared variables in them, or as themselves with ``unwrap_shared=False``.
    """
    return unique(param for current in get_all_layers(layer)
                  for param in current.get_params(unwrap_shared=unwrap_shared, **tags))  # fmt: skip


def count_params(layer, **tags):
    """Number of scalar values in the parameters :func:`get_all_params` returns."""
    return sum(int(np.prod(param.get_value(borrow=True).shape)) for param in get_all_params(layer, **tags))


def get_all_param_values(layer, **tags):
    """Copies of the values of :func:`get_all_params`, as numpy arrays."""
    return [param.get_value() for param in get_all_params(layer, **tags)]


def set_all_param_values(layer, values, **tags):
    """Set the parameters :func:`get_all_params` returns to ``values``, in order.

    Values are cast to each parameter's dtype.  Nothing is set unless the
    number of values and every shape match; otherwise ValueError names the
    offending parameter.
    """
    params = get_all_params(layer, **tags)
    if len(params) != len(values):
        raise ValueError("got %d values for %d parameters %r" % (len(values), len(params), params))
    for param, value in zip(params, values):
        expected = param.get_value(borrow=True).shape
        if np.shape(value) != expected:
            raise ValueError(
                "cannot set parameter %r of shape %r to a value of shape %r"
                % (param.name, expected, np.shape(value))
            )
    for param, value in zip(params, values):
        param.set_value(np.asarray(value, dtype=param.dtype))
