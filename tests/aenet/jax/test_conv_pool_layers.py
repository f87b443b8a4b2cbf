"""Convolution, pooling and locally connected layers on aesara's C backend and on aenet's JAX backend.

The 3-D convolution Ops (and their gradients) and 3-D pooling are compared
Op by Op; every layer is then trained a few SGD steps on both backends.
"""
import warnings

import numpy as np
import pytest

pytest.importorskip("jax")

import aenet.lasagne  # noqa: E402,F401  (configures aesara)
import aesara.tensor as at  # noqa: E402

from aenet.lasagne import layers as L  # noqa: E402
from helpers.backends import compare, train_both  # noqa: E402

with warnings.catch_warnings():  # aesara.tensor.nnet and .signal are deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet.abstract_conv import conv3d
    from aesara.tensor.signal.pool import pool_3d

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("jax_cpu")]


def randn(rng, *shape):
    return rng.standard_normal(shape).astype("float32")


CONV3D_CASES = [
    ((2, 3, 5, 6, 4), (4, 3, 3, 2, 3), dict(border_mode="valid")),
    ((2, 3, 5, 6, 4), (4, 3, 3, 3, 3), dict(border_mode="half", subsample=(2, 1, 2))),
    ((2, 3, 5, 6, 4), (4, 3, 2, 3, 2), dict(border_mode="full", filter_flip=False)),
    ((2, 3, 6, 6, 5), (4, 3, 2, 2, 2), dict(border_mode=(1, 0, 2), filter_dilation=(2, 1, 1))),
    ((2, 4, 5, 4, 4), (6, 2, 3, 3, 3), dict(border_mode="valid", num_groups=2)),
]


@pytest.mark.parametrize("imshp, kshp, kw", CONV3D_CASES, ids=[str(c[2]) for c in CONV3D_CASES])
def test_conv3d_and_its_gradients_match_c(imshp, kshp, kw):
    rng = np.random.default_rng(len(str(kw)))
    img, kern = at.tensor5("img"), at.tensor5("kern")
    compare(
        [img, kern],
        [conv3d(img, kern, filter_shape=kshp, **kw)],
        [randn(rng, *imshp), randn(rng, *kshp)],
        expect_ops=["AbstractConv3d", "AbstractConv3d_gradWeights", "AbstractConv3d_gradInputs"],
        wrt=[img, kern],
    )


@pytest.mark.parametrize("mode", ["max", "average_inc_pad", "average_exc_pad", "sum"])
@pytest.mark.parametrize("kw", [dict(ws=(2, 2, 2)), dict(ws=(3, 2, 3), stride=(2, 1, 2), pad=(1, 0, 1)),
                                dict(ws=(3, 3, 2), stride=(2, 2, 1), ignore_border=False)], ids=str)
def test_pool3d_and_its_gradient_match_c(mode, kw):
    if mode == "average_exc_pad" and "pad" in kw:
        pytest.skip("aesara's C AveragePoolGrad refuses padding with average_exc_pad")
    x = at.tensor5("x")
    kw = {"ignore_border": True, **kw}
    compare([x], [pool_3d(x, mode=mode, **kw)], [randn(np.random.default_rng(5), 2, 3, 6, 5, 7)],
            expect_ops=["Pool"], wrt=[x])


# -- every layer, trained on both backends ------------------------------------------------------------


def conv_then(shape, make):
    """A 1x1 convolution (so there is something to train) feeding the layer under test."""
    l_in = L.InputLayer(shape)
    n = len(shape) - 2
    first = {1: L.Conv1DLayer, 2: L.Conv2DLayer, 3: L.Conv3DLayer}[n](l_in, shape[1], 1, nonlinearity=None)
    return l_in, make(first)


LAYERS = {
    "conv1d": ((None, 3, 12), lambda x: L.Conv1DLayer(x, 4, 3, stride=2, pad="same")),
    "conv1d-groups": ((None, 4, 9), lambda x: L.Conv1DLayer(x, 4, 3, num_groups=2, untie_biases=True)),
    "conv2d-groups": ((None, 4, 7, 6), lambda x: L.Conv2DLayer(x, 6, 3, num_groups=2, pad="full")),
    "conv3d": ((None, 2, 5, 6, 4), lambda x: L.Conv3DLayer(x, 3, (3, 2, 3), stride=(1, 2, 1), pad=1)),
    "conv3d-untied": ((None, 2, 4, 5, 4), lambda x: L.Conv3DLayer(x, 3, 3, pad="same", untie_biases=True)),
    "transposed2d": ((None, 3, 4, 5), lambda x: L.TransposedConv2DLayer(x, 2, 3, stride=2, crop=1)),
    "transposed2d-size": ((None, 3, 4, 5),
                          lambda x: L.TransposedConv2DLayer(x, 2, (3, 2), stride=(2, 3), output_size=(10, 15))),
    "transposed3d": ((None, 2, 3, 4, 3), lambda x: L.TransposedConv3DLayer(x, 2, 3, stride=(2, 1, 2), crop="same")),
    "dilated2d": ((None, 3, 9, 8), lambda x: L.DilatedConv2DLayer(x, 4, (3, 2), dilation=(2, 3))),
    "local": ((None, 2, 5, 4), lambda x: L.LocallyConnected2DLayer(x, 3, (3, 5))),
    "local-channelwise": ((None, 3, 5, 4), lambda x: L.LocallyConnected2DLayer(x, 3, 3, channelwise=True)),
    "pool1d": ((None, 3, 11), lambda x: L.Pool1DLayer(x, 3, stride=2, mode="average_exc_pad", ignore_border=False)),
    "maxpool1d": ((None, 3, 11), lambda x: L.MaxPool1DLayer(x, 3, stride=2, pad=1)),
    "pool2d": ((None, 3, 7, 6), lambda x: L.Pool2DLayer(x, 3, stride=2, pad=1, mode="average_inc_pad")),
    "pool3d": ((None, 2, 5, 6, 4), lambda x: L.Pool3DLayer(x, 2, mode="average_exc_pad", ignore_border=False)),
    "maxpool3d": ((None, 2, 5, 6, 4), lambda x: L.MaxPool3DLayer(x, (3, 2, 2), stride=(2, 2, 1))),
    "upscale1d": ((None, 3, 5), lambda x: L.Upscale1DLayer(x, 3)),
    "upscale2d-dilate": ((None, 3, 4, 3), lambda x: L.Upscale2DLayer(x, (2, 3), mode="dilate")),
    "upscale3d-dilate-uneven": ((None, 2, 2, 3, 2), lambda x: L.Upscale3DLayer(x, (2, 1, 3), mode="dilate")),
    "upscale3d-dilate": ((None, 2, 2, 3, 2), lambda x: L.Upscale3DLayer(x, 2, mode="dilate")),
    "featurepool": ((None, 6, 4, 3), lambda x: L.FeaturePoolLayer(x, 3)),
    "featurewta": ((None, 6, 4, 3), lambda x: L.FeatureWTALayer(x, 2, axis=1)),
    "globalpool": ((None, 3, 4, 5), lambda x: L.GlobalPoolLayer(x)),
    "spp-kaiming": ((None, 3, 7, 5),
                    lambda x: L.SpatialPyramidPoolingLayer(x, [3, 2, 1], implementation="kaiming")),
    "spp-kaiming-mean": ((None, 3, 7, 5), lambda x: L.SpatialPyramidPoolingLayer(
        x, [2, 1], mode="average_inc_pad", implementation="kaiming")),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_layer_trains_the_same_on_both_backends(name):
    shape, make = LAYERS[name]
    l_in, layer = conv_then(shape, make)
    x = np.random.default_rng(len(name)).standard_normal((2,) + shape[1:]).astype("float32")
    train_both(layer, {l_in: x}, steps=3)
