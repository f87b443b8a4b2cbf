"""Lasagne's ``lasagne.theano_extensions``: 1D convolutions and padding for tensors.

:mod:`~aenet.lasagne.theano_extensions.conv` keeps the names and contracts
of Lasagne's alternative 1D convolutions; :mod:`~aenet.lasagne.theano_extensions.padding`
pads the trailing axes of a tensor with a constant.
"""
from aenet.lasagne.theano_extensions import conv, padding  # noqa: F401
