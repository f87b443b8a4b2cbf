"""The random number generator behind aenet.lasagne's initializers and dropout.

By default it is numpy's global ``RandomState`` (the ``numpy.random`` module),
so ``numpy.random.seed(n)`` makes weight initialization reproducible, as in
Lasagne.  :func:`set_rng` swaps in a private generator instead.
"""
import numpy as np

__all__ = ["get_rng", "set_rng"]

_rng = np.random


def get_rng():
    """The current generator: a ``numpy.random.RandomState`` or the ``numpy.random`` module."""
    return _rng


def set_rng(new_rng):
    """Use ``new_rng`` (e.g. ``numpy.random.RandomState(42)``) from now on."""
    global _rng
    _rng = new_rng
