"""Weight penalties to add to a loss, e.g. ``loss + 1e-4 * regularize_network_params(net, l2)``."""
import aesara.tensor as at
from aesara.graph.basic import Variable

from aenet.lasagne.layers import Layer, get_all_params

__all__ = [
    "l1",
    "l2",
    "apply_penalty",
    "regularize_layer_params",
    "regularize_layer_params_weighted",
    "regularize_network_params",
]


def l1(x):
    """Sum of absolute values."""
    return at.sum(abs(x))


def l2(x):
    """Sum of squares."""
    return at.sum(x**2)


def apply_penalty(tensor_or_tensors, penalty, **kwargs):
    """``penalty(t, **kwargs)`` of a tensor, or its sum over an iterable of tensors (0 if empty)."""
    if isinstance(tensor_or_tensors, Variable):
        return penalty(tensor_or_tensors, **kwargs)
    return sum(penalty(tensor, **kwargs) for tensor in tensor_or_tensors)


def _layers(layer_or_layers):
    return [layer_or_layers] if isinstance(layer_or_layers, Layer) else list(layer_or_layers)


def regularize_layer_params(layer, penalty, tags={"regularizable": True}, **kwargs):  # noqa: B006
    """Penalty of the parameters of a layer (or list of layers) that carry ``tags``."""
    params = [param for current in _layers(layer) for param in current.get_params(**tags)]
    return apply_penalty(params, penalty, **kwargs)


def regularize_layer_params_weighted(layers, penalty, tags={"regularizable": True}, **kwargs):  # noqa: B006
    """Sum of ``coefficient * penalty`` over a ``{layer: coefficient}`` dict, each
    layer's parameters chosen by ``tags``."""
    return sum(
        coefficient * apply_penalty(layer.get_params(**tags), penalty, **kwargs)
        for layer, coefficient in layers.items()
    )


def regularize_network_params(layer, penalty, tags={"regularizable": True}, **kwargs):  # noqa: B006
    """Penalty of the parameters of the whole network below ``layer`` that carry ``tags``."""
    return apply_penalty(get_all_params(layer, **tags), penalty, **kwargs)
