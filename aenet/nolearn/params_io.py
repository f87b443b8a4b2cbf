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
