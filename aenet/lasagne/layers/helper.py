"""Functions over whole networks: outputs, shapes and parameters.

A network is given by its output layer (or a list of output layers); the
layers feeding it are found by following ``input_layer`` links.
"""
import aesara.tensor as at
import numpy as np

from aenet.lasagne.layers.input import InputLayer
from aenet.lasagne.utils import as_list, unique

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
    layers are treated as inputs.  ``step(layer, value)`` computes a layer's
    value from its input layer's.
    """
    given = dict(inputs) if isinstance(inputs, dict) else {}
    layers = get_all_layers(layer_or_layers, treat_as_input=given)
    free = [layer for layer in layers if isinstance(layer, InputLayer) and layer not in given]
    if inputs is None or isinstance(inputs, dict):
        given.update((layer, of_input_layer(layer)) for layer in free)
    elif len(free) > 1:
        raise ValueError(
            "a single input was given to a network with %d input layers %r; "
            "pass a dict {input_layer: value} instead" % (len(free), free)
        )
    else:
        given.update((layer, inputs) for layer in free)
    values = {layer: convert(value) for layer, value in given.items()}
    for layer in layers:
        if layer in values:
            continue
        if hasattr(layer, "input_layers"):
            _check_built_from_layers(layer, layer.input_layers)
            values[layer] = step(layer, [values[incoming] for incoming in layer.input_layers])
        else:
            _check_built_from_layers(layer, [layer.input_layer])
            values[layer] = step(layer, values[layer.input_layer])
    return _map(values.__getitem__, layer_or_layers)


def _check_built_from_layers(layer, incomings):
    if None in incomings:
        raise ValueError(
            "layer %r was built from a shape, not a layer: pass its input in a "
            "dict {layer: value}" % (layer,)
        )


def get_output(layer_or_layers, inputs=None, deterministic=False, **kwargs):
    """Symbolic output of a layer (or list of outputs of a list of layers).

    ``inputs`` is None (use each InputLayer's ``input_var``), an expression
    or array for the network's single InputLayer, or a dict mapping layers
    to expressions.  ``deterministic=True`` disables dropout; it and other
    keywords are passed to every layer's ``get_output_for``.
    """

    def step(layer, value):
        return layer.get_output_for(value, deterministic=deterministic, **kwargs)

    return _propagate(layer_or_layers, inputs, lambda layer: layer.input_var, at.as_tensor_variable, step)


def get_output_shape(layer_or_layers, input_shapes=None):
    """Output shape of a layer (or list of shapes), for given input shapes if any.

    ``input_shapes`` works like ``inputs`` of :func:`get_output`, with shape
    tuples instead of expressions; without it each layer's ``output_shape``
    is returned.
    """
    if input_shapes is None:
        return _map(lambda layer: layer.output_shape, layer_or_layers)

    def step(layer, shape):
        return layer.get_output_shape_for(shape)

    return _propagate(layer_or_layers, input_shapes, lambda layer: layer.output_shape, tuple, step)


def get_all_params(layer, **tags):
    """Parameters of every layer of the network, without repeats, inputs first.

    Tags filter as in :meth:`Layer.get_params`, e.g. ``trainable=True``.
    """
    return unique(param for current in get_all_layers(layer) for param in current.get_params(**tags))


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
