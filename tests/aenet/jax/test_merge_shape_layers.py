"""Merge, shape, dense and embedding layers on aesara's C backend and aenet's JAX backend.

Each layer is trained a few SGD steps both ways from the same parameters, and
the graphs with data-dependent slicing (cropping, padding) are compared
output and gradient.
"""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import numpy as np
import pytest

pytest.importorskip("jax")

import aesara.tensor as at  # noqa: E402
from helpers.backends import compare, train_both  # noqa: E402

from aenet.lasagne import init  # noqa: E402
from aenet.lasagne.layers import (ConcatLayer, DenseLayer, DimshuffleLayer, ElemwiseMergeLayer,  # noqa: E402
                                  ElemwiseSumLayer, EmbeddingLayer, FlattenLayer, InputLayer, NINLayer, PadLayer,
                                  ReshapeLayer, SliceLayer, autocrop, get_all_layers, get_output)

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("jax_cpu")]

RNG = np.random.RandomState(5)


def data(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def dense(incoming, units=4, **kwargs):
    """A trainable layer in front of the layer under test, so every network has parameters."""
    return DenseLayer(incoming, units, W=init.Normal(0.5), b=init.Normal(0.5), nonlinearity=None, **kwargs)


def merge_nets():
    l_a, l_b = InputLayer((None, 3, 6)), InputLayer((None, 2, 5))
    h_a, h_b = dense(l_a, 4, num_leading_axes=2), dense(l_b, 3, num_leading_axes=-1)  # (N, 3, 4), (N, 2, 3)
    inputs = {l_a: data(2, 3, 6), l_b: data(2, 2, 5)}
    return inputs, {
        "concat": ConcatLayer([h_a, h_b], axis=1, cropping=[None, None, "center"]),
        "concat-last": ConcatLayer([h_a, h_b], axis=-1, cropping=[None, "upper"]),
        "sum": ElemwiseSumLayer([h_a, h_b], coeffs=[0.5, -2.0], cropping=[None, "lower", "upper"]),
        "mul-broadcast": ElemwiseMergeLayer([h_a, dense(l_a, 1, num_leading_axes=2)], at.mul),
    }


def shape_nets():
    l_in = InputLayer((None, 2, 3, 4))
    h = NINLayer(l_in, 3, W=init.Normal(0.5), b=init.Normal(0.5), untie_biases=True, nonlinearity=None)
    inputs = {l_in: data(2, 2, 3, 4)}
    return inputs, {
        "nin": NINLayer(l_in, 3, W=init.Normal(0.5), b=init.Normal(0.5)),
        "pad": PadLayer(h, ((1, 2), (0, 1)), val=0.5),
        "dimshuffle": DimshuffleLayer(FlattenLayer(h, 3), (2, "x", 0, 1)),
        "dimshuffle-drop": DimshuffleLayer(ReshapeLayer(dense(h, 1), ([0], 1, 1)), (0, 2)),
        "slice-int": SliceLayer(h, 1, axis=2),
        "slice": SliceLayer(h, slice(-3, None, 2), axis=-1),
        "dense-negative": dense(h, 2, num_leading_axes=-2),
    }


def used(inputs, net):
    """The entries of ``inputs`` for the input layers ``net`` depends on."""
    layers = get_all_layers(net)
    return {layer: value for layer, value in inputs.items() if layer in layers}


@pytest.mark.parametrize("name", list(merge_nets()[1]))
def test_merge_layers_train_alike(name):
    inputs, nets = merge_nets()
    train_both(nets[name], used(inputs, nets[name]))


@pytest.mark.parametrize("name", list(shape_nets()[1]))
def test_shape_and_nin_layers_train_alike(name):
    inputs, nets = shape_nets()
    train_both(nets[name], inputs)


def test_embedding_trains_alike():
    x = at.imatrix()
    l_in = InputLayer((None, 3), input_var=x)
    layer = DenseLayer(EmbeddingLayer(l_in, input_size=5, output_size=4, W=init.Normal(1.0)), 2,
                       num_leading_axes=2)
    train_both(layer, {l_in: np.array([[0, 4, 4], [2, 1, 0]], np.int32)})


@pytest.mark.parametrize("mode", ["lower", "center", "upper"])
def test_autocrop_outputs_and_gradients_agree(mode):
    a, b = at.tensor3(), at.tensor3()
    cropped = autocrop([a, b], [None, mode, mode])
    compare([a, b], cropped, [data(2, 5, 4), data(2, 3, 7)], wrt=[a, b])


def test_pad_outputs_and_gradients_agree():
    l_in = InputLayer((None, 2, 3))
    out = get_output(PadLayer(l_in, (2, (0, 3)), val=-1.0, batch_ndim=1))
    compare([l_in.input_var], [out], [data(2, 2, 3)], expect_ops=("Join",), wrt=[l_in.input_var])
