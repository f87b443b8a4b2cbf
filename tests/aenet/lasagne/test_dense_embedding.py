"""aenet.lasagne.layers.dense (DenseLayer's leading axes, NINLayer) and .embedding, against numpy."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.gradient import verify_grad

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers import DenseLayer, EmbeddingLayer, InputLayer, NINLayer, get_output, get_output_shape

RNG = np.random.RandomState(11)


def array(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# -- DenseLayer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "num_leading_axes, output_shape, features",
    [(1, (None, 5), 60), (2, (None, 3, 5), 20), (3, (None, 3, 4, 5), 5), (-1, (None, 3, 4, 5), 5),
     (-2, (None, 3, 5), 20), (-3, (None, 5), 60)],
)
def test_dense_leading_axes(num_leading_axes, output_shape, features):
    l_in = InputLayer((None, 3, 4, 5))
    layer = DenseLayer(l_in, 5, num_leading_axes=num_leading_axes, W=array(features, 5), b=array(5),
                       nonlinearity=None)
    assert layer.output_shape == output_shape
    assert layer.W.get_value().shape == (features, 5)
    x = array(2, 3, 4, 5)
    expected = x.reshape((2,) + output_shape[1:-1] + (features,)) @ layer.W.get_value() + layer.b.get_value()
    result = aesara.function([l_in.input_var], get_output(layer))(x)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


def test_dense_output_shape_for_other_shapes():
    layer = DenseLayer((None, 7, 20), 4, num_leading_axes=-1)
    assert layer.get_output_shape_for((2, 9, 20)) == (2, 9, 4)
    assert DenseLayer((None, None, 20), 4, num_leading_axes=2).output_shape == (None, None, 4)


@pytest.mark.parametrize(
    "shape, num_leading_axes, message",
    [
        ((None, 3, 4), 3, "leaving no trailing axes"),
        ((None, 3, 4), 4, "leaving no trailing axes"),
        ((None, 3, 4), -4, "requesting more trailing axes"),
        ((None, None, 100), 1, "requires a fixed input shape"),
        ((None, 10, None), -2, "requires a fixed input shape"),
    ],
)
def test_dense_invalid_leading_axes_raise(shape, num_leading_axes, message):
    with pytest.raises(ValueError, match=message):
        DenseLayer(shape, 5, num_leading_axes=num_leading_axes)


def test_dense_params_tags_and_names():
    layer = DenseLayer((None, 3, 4), 3, name="foo")
    assert layer.get_params() == [layer.W, layer.b]
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.get_params(regularizable=False) == [layer.b]
    assert (layer.W.name, layer.b.name) == ("foo.W", "foo.b")
    assert layer.nonlinearity is nonlinearities.rectify
    plain = DenseLayer((None, 3, 4), 3, b=None, nonlinearity=None)
    assert plain.b is None and plain.get_params() == [plain.W] and plain.nonlinearity is nonlinearities.identity


def test_dense_gradient_with_leading_axes():
    W, b = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    layer = DenseLayer((None, 2, 4), 3, W=W, b=b, num_leading_axes=2, nonlinearity=nonlinearities.tanh)
    verify_grad(lambda x: layer.get_output_for(x), [RNG.standard_normal((3, 2, 4))], rng=RNG)


# -- NINLayer -----------------------------------------------------------------------------


def nin_reference(x, W, b, untie_biases):
    out = np.einsum("bc...,cu->bu...", x, W)
    if b is None:
        return out
    return out + (b[np.newaxis] if untie_biases else b.reshape((1, -1) + (1,) * (x.ndim - 2)))


@pytest.mark.parametrize("input_shape", [(2, 3, 4, 5), (2, 3, 6), (2, 3)])
@pytest.mark.parametrize("kwargs", [{}, {"untie_biases": True}, {"b": None}])
def test_nin_values(input_shape, kwargs):
    l_in = InputLayer((None,) + input_shape[1:])
    layer = NINLayer(l_in, num_units=6, W=init.Normal(1.0), nonlinearity=None, **{"b": init.Normal(1.0), **kwargs})
    b = None if layer.b is None else layer.b.get_value()
    assert layer.output_shape == (None, 6) + input_shape[2:]
    assert layer.W.get_value().shape == (3, 6)
    if b is not None:
        assert b.shape == ((6,) + input_shape[2:] if "untie_biases" in kwargs else (6,))
    x = array(*input_shape)
    result = aesara.function([l_in.input_var], get_output(layer))(x)
    expected = nin_reference(x, layer.W.get_value(), b, kwargs.get("untie_biases", False))
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)


def test_nin_defaults_tags_and_names():
    layer = NINLayer((2, 3, 4, 5), num_units=5, name="nin")
    assert layer.untie_biases is False and layer.nonlinearity is nonlinearities.rectify
    assert layer.get_params(regularizable=False) == [layer.b]
    assert (layer.W.name, layer.b.name) == ("nin.W", "nin.b")
    assert layer.get_output_shape_for((5, 6, 7, 8)) == (5, 5, 7, 8)
    assert NINLayer((2, 3, 4, 5), num_units=5, untie_biases=True).b.get_value().shape == (5, 4, 5)


def test_nin_untied_biases_need_known_trailing_sizes():
    with pytest.raises(ValueError, match="None"):
        NINLayer((None, 3, None), num_units=2, untie_biases=True)


@pytest.mark.parametrize("untie_biases", [False, True])
def test_nin_gradient(untie_biases):
    b = RNG.standard_normal((2, 4, 3) if untie_biases else (2,))
    layer = NINLayer((None, 3, 4, 3), 2, untie_biases=untie_biases, W=RNG.standard_normal((3, 2)), b=b,
                     nonlinearity=nonlinearities.tanh)
    verify_grad(lambda x: layer.get_output_for(x), [RNG.standard_normal((2, 3, 4, 3))], rng=RNG)


# -- EmbeddingLayer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "input_var, indices",
    [(at.ivector(), np.array([0, 2, 1, 2], np.int32)), (at.imatrix(), np.array([[0, 1, 2], [0, 0, 2]], np.int32))],
)
def test_embedding_looks_up_rows(input_var, indices):
    W = np.arange(15, dtype=np.float32).reshape(3, 5)
    l_in = InputLayer((None,) * indices.ndim, input_var=input_var)
    layer = EmbeddingLayer(l_in, input_size=3, output_size=5, W=W)
    assert get_output_shape(layer, indices.shape) == indices.shape + (5,)
    result = aesara.function([input_var], get_output(layer))(indices)
    np.testing.assert_array_equal(result, np.stack([W[i] for i in indices.ravel()]).reshape(indices.shape + (5,)))


def test_embedding_gradient_adds_up_repeated_rows():
    x = at.imatrix()
    layer = EmbeddingLayer(InputLayer((None, 3), input_var=x), input_size=4, output_size=2, name="emb")
    R = array(2, 3, 2)
    grad = aesara.function([x], aesara.grad((get_output(layer, x) * R).sum(), layer.W))
    indices = np.array([[0, 3, 3], [3, 1, 0]], np.int32)
    expected = np.zeros((4, 2), np.float32)
    for (i, j), row in np.ndenumerate(indices):
        expected[row] += R[i, j]
    np.testing.assert_allclose(grad(indices), expected, rtol=1e-6)


def test_embedding_params_and_default_init():
    layer = EmbeddingLayer((None, 7), input_size=100, output_size=16, name="emb")
    assert layer.output_shape == (None, 7, 16)
    assert layer.get_params(trainable=True, regularizable=True) == [layer.W]
    assert layer.W.name == "emb.W"
    values = layer.W.get_value()
    assert values.shape == (100, 16) and values.dtype == np.float32
    assert 0.005 < values.std() < 0.02  # init.Normal(std=0.01), as in Lasagne
