"""Lasagne's API (0.1/0.2) on aesara: layers, initializers, nonlinearities,
objectives, updates and regularization.

Written for code that did ``import lasagne``::

    from aenet.lasagne import layers
    from aenet.lasagne.nonlinearities import softmax
    from aenet.lasagne.updates import nesterov_momentum

Importing it sets aesara up for aenet first (:func:`aenet.require_aesara`).
"""
import aenet

aenet.require_aesara()

from aenet.lasagne import (  # noqa: E402,F401
    init,
    layers,
    nonlinearities,
    objectives,
    random,
    regularization,
    updates,
    utils,
)
