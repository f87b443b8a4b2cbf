"""aenet.lasagne.nonlinearities against numpy, their dtypes, and gradients where they have maths of their own."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne import nonlinearities as nl
from aenet.lasagne.layers import DenseLayer, InputLayer

X = np.random.RandomState(0).uniform(-3, 3, (8, 5)).astype(np.float32)
SELU_SCALE, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


def numpy_elu(x):
    return np.where(x > 0, x, np.exp(x) - 1)


REFERENCES = {
    "sigmoid": (nl.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "softmax": (nl.softmax, lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    "tanh": (nl.tanh, np.tanh),
    "ScaledTanH()": (nl.ScaledTanH(), np.tanh),
    "ScaledTanh(0.5, 2.27)": (nl.ScaledTanh(scale_in=0.5, scale_out=2.27), lambda x: 2.27 * np.tanh(0.5 * x)),
    "rectify": (nl.rectify, lambda x: x * (x > 0)),
    "LeakyRectify(0)": (nl.LeakyRectify(0), lambda x: x * (x > 0)),
    "leaky_rectify": (nl.leaky_rectify, lambda x: np.where(x > 0, x, 0.01 * x)),
    "very_leaky_rectify": (nl.very_leaky_rectify, lambda x: np.where(x > 0, x, x / 3)),
    "LeakyRectify(2)": (nl.LeakyRectify(2.0), lambda x: np.where(x > 0, x, 2 * x)),
    "elu": (nl.elu, numpy_elu),
    "SELU()": (nl.SELU(), numpy_elu),
    "SELU(2, 3)": (nl.SELU(2, 3), lambda x: 2 * np.where(x > 0, x, 3 * (np.exp(x) - 1))),
    "selu": (nl.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1))),
    "softplus": (nl.softplus, lambda x: np.log1p(np.exp(x))),
    "linear": (nl.linear, lambda x: x),
    "identity": (nl.identity, lambda x: x),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_against_numpy_in_float32(name):
    function, reference = REFERENCES[name]
    x = at.fmatrix("x")
    out = function(x)
    assert out.dtype == "float32"
    result = aesara.function([x], out)(X)
    np.testing.assert_allclose(result, reference(X.astype(np.float64)), rtol=1e-5, atol=1e-6)


# ELU-like functions are checked away from 0, where finite differences straddle the kink.
AWAY_FROM_ZERO = np.random.RandomState(1).uniform(0.2, 2.5, (4, 3)) * np.sign(np.random.RandomState(2).randn(4, 3))


@pytest.mark.parametrize(
    "function",
    [nl.ScaledTanH(0.5, 2.27), nl.LeakyRectify(0.1), nl.very_leaky_rectify, nl.elu, nl.SELU(2, 3), nl.selu, nl.softplus],
    ids=["scaled_tanh", "leaky", "very_leaky", "elu", "SELU(2,3)", "selu", "softplus"],
)
def test_gradients(function):
    aesara.gradient.verify_grad(function, [AWAY_FROM_ZERO], rng=np.random.RandomState(3))


def test_closed_form_slopes():
    x = at.dvector("x")
    points = np.array([-2.0, -0.5, 0.5, 2.0])
    slope = aesara.function([x], aesara.grad(nl.selu(x).sum(), x))(points)
    np.testing.assert_allclose(slope, SELU_SCALE * np.where(points > 0, 1, SELU_ALPHA * np.exp(points)), rtol=1e-12)
    slope = aesara.function([x], aesara.grad(nl.LeakyRectify(0.2)(x).sum(), x))(points)
    np.testing.assert_allclose(slope, np.where(points > 0, 1, 0.2), rtol=1e-12)


def test_parameters_are_kept_and_shortcuts_are_instances():
    assert nl.ScaledTanh is nl.ScaledTanH
    assert isinstance(nl.leaky_rectify, nl.LeakyRectify) and nl.leaky_rectify.leakiness == 0.01
    assert nl.very_leaky_rectify.leakiness == pytest.approx(1 / 3)
    assert isinstance(nl.selu, nl.SELU)
    assert (nl.selu.scale, nl.selu.scale_neg) == pytest.approx((SELU_SCALE, SELU_ALPHA))
    scaled = nl.ScaledTanH(scale_in=0.5, scale_out=2.0)
    assert (scaled.scale_in, scaled.scale_out) == (0.5, 2.0)


def test_a_class_instance_works_as_a_layer_nonlinearity():
    layer = DenseLayer(InputLayer((None, 5)), 3, nonlinearity=nl.SELU(2, 3), b=np.full(3, -1.0, np.float32))
    x = at.fmatrix()
    out = aesara.function([x], layer.get_output_for(x))(X)
    pre = X.astype(np.float64) @ layer.W.get_value() - 1
    np.testing.assert_allclose(out, 2 * np.where(pre > 0, pre, 3 * np.expm1(pre)), rtol=1e-5, atol=1e-6)
