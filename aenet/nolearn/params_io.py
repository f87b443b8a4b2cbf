"""The ``.npz`` file of a net's parameters by layer name, with room for more arrays.

One writer (:func:`write_params`) and one reader (:func:`read_params`) for
:meth:`NeuralNet.save_params_to` and for anything that stores the parameters
with more state (a training checkpoint adds the update rule's state, the
history...).  A parameter is stored as ``param/<layer>:<index>``; the other
arrays keep the keys they are given.  Files that stored parameters as
``<layer>:<index>`` are read alike.  No pickles: every value is a plain array.
"""
import io
import os
import re
from collections import OrderedDict

import numpy as np

from aenet.atomic import write_bytes_atomic

PARAM_PREFIX = "param/"
_PARAM_KEY = re.compile(r"(?:param/)?(?P<layer>.*):(?P<index>\d+)")


def param_key(layer, index):
    """The key of parameter ``index`` of ``layer`` in a parameter file."""
    return f"{PARAM_PREFIX}{layer}:{index}"


def write_params(path, params, extras=None):
    """Write ``params`` (``{layer: [arrays]}``) and ``extras`` (``{key: array}``) to ``path``, atomically.

    The file is complete or absent: it is built in memory, then written
    through :mod:`aenet.atomic`.  No ``.npz`` suffix is added.  An extra key
    that could be read as a parameter (``param/...`` or ``...:<index>``)
    raises ``ValueError``.  Returns the path.
    """
    arrays = {param_key(layer, i): value for layer, values in params.items() for i, value in enumerate(values)}
    for key, value in (extras or {}).items():
        if _PARAM_KEY.fullmatch(key) or key.startswith(PARAM_PREFIX):
            raise ValueError(f"extra array {key!r} for {os.fspath(path)} would be read as a parameter")
        arrays[key] = value
    data = io.BytesIO()
    np.savez(data, **arrays)
    return write_bytes_atomic(path, data.getbuffer())


def read_params(path):
    """``(params, extras)`` from a file of :func:`write_params`.

    ``params`` is ``{layer: [arrays]}`` in the file's layer order, each
    layer's arrays by index; ``extras`` holds every other array by key.  A
    layer whose indices are not ``0..n-1`` raises ``ValueError`` naming the
    file and the layer.
    """
    indexed, extras = OrderedDict(), {}
    with np.load(os.fspath(path), allow_pickle=False) as data:
        for key in data.files:
            match = _PARAM_KEY.fullmatch(key)
            if match:
                indexed.setdefault(match["layer"], {})[int(match["index"])] = data[key]
            else:
                extras[key] = data[key]
    params = OrderedDict()
    for layer, values in indexed.items():
        if sorted(values) != list(range(len(values))):
            raise ValueError(
                f"{os.fspath(path)}: layer {layer!r} has parameters {sorted(values)}, expected 0..{len(values) - 1}"
            )
        params[layer] = [values[i] for i in range(len(values))]
    return params, extras


def check_shapes(variables, values, message):
    """Raise ``ValueError(message(name, ours, theirs))`` at the first value whose shape differs."""
    for i, (var, value) in enumerate(zip(variables, values)):
        ours, theirs = var.get_value(borrow=True).shape, np.shape(value)
        if ours != theirs:
            raise ValueError(message(var.name or i, ours, theirs))


def checked_layer_params(name, params, values):
    """``params`` (of layer ``name``), once ``values`` are checked to fit them in number and shapes."""
    if len(params) != len(values):
        raise ValueError(f"cannot load layer {name!r}: it has {len(params)} parameters, the source has {len(values)}")
    check_shapes(params, values, lambda var, ours, theirs: (
        f"cannot load layer {name!r}: parameter {var} has shape {ours} in this net but {theirs} in the source"
    ))
    return params
