"""Lasagne's API (0.1/0.2) on aesara: layers, initializers, nonlinearities,
objectives, updates and regularization.

Written for code that did ``import lasagne``::

    from aenet.lasagne import layers
    from aenet.lasagne.nonlinearities import softmax
    from aenet.lasagne.updates import nesterov_momentum

Being a subpackage of :mod:`aenet`, importing it configures aesara first.
"""
from aenet.lasagne import (  # noqa: F401
    init,
    layers,
    nonlinearities,
    objectives,
    random,
    regularization,
    updates,
    utils,
)
