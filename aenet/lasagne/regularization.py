"""Weight penalties to add to a loss, e.g. ``loss + 1e-4 * regularize_network_params(net, l2)``."""
import aesara.tensor as at

from aenet.lasagne.layers import get_all_params
from aenet.lasagne.utils import as_list

__all__ = ["l1", "l2", "apply_penalty", "regularize_layer_params", "regularize_network_params"]


def l1(x):
    """Sum of absolute values."""
    return at.sum(abs(x))


def l2(x):
    """Sum of squares."""
    return at.sum(x**2)


def apply_penalty(tensor_or_tensors, penalty, **kwargs):
    """Sum of ``penalty(t, **kwargs)`` over a tensor or a list of them."""
    return sum(penalty(t, **kwargs) for t in as_list(tensor_or_tensors))


def regularize_layer_params(layer, penalty, tags={"regularizable": True}, **kwargs):  # noqa: B006
    """Penalty of the parameters of a layer (or list of layers) that carry ``tags``."""
    params = [param for current in as_list(layer) for param in current.get_params(**tags)]
    return apply_penalty(params, penalty, **kwargs)


def regularize_network_params(layer, penalty, tags={"regularizable": True}, **kwargs):  # noqa: B006
    """Penalty of the parameters of the whole network below ``layer`` that carry ``tags``."""
    return apply_penalty(get_all_params(layer, **tags), penalty, **kwargs)
