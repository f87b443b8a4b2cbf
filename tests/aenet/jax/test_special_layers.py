"""The special layers (bias, scale, expression, inverse, rectifiers) trained a few SGD steps
on aesara's C backend and on aenet's JAX backend, which must agree.

The spatial transformers are not here: their gradient graphs do not compile in JAX mode yet
(shape arithmetic through ``Alloc`` becomes traced, which ``reshape`` rejects).
"""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import numpy as np
import pytest

pytest.importorskip("jax")

import aesara  # noqa: E402
import aesara.tensor as at  # noqa: E402

from aenet.lasagne import init  # noqa: E402
from aenet.lasagne.layers import (BiasLayer, DenseLayer, ExpressionLayer, InputLayer, InverseLayer,  # noqa: E402
                                  ParametricRectifierLayer, RandomizedRectifierLayer, ScaleLayer, standardize)
from helpers.backends import jax_mode, train_both  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("jax_cpu")]

RNG = np.random.RandomState(8)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def dense(incoming, units, nonlinearity=None):
    return DenseLayer(incoming, units, W=init.Normal(0.3), b=init.Normal(0.1), nonlinearity=nonlinearity)


def test_bias_and_scale_layers_train_alike():
    l_in = InputLayer((4, 3, 5))
    layer = ScaleLayer(BiasLayer(l_in, b=init.Normal(1.0), shared_axes=(0, 2)), scales=init.Normal(1.0))
    train_both(layer, {l_in: randn(4, 3, 5)})


def test_standardize_then_dense_trains_alike():
    x = randn(6, 4) * 3 + 1
    l_in = InputLayer((None, 4))
    train_both(dense(standardize(l_in, x.mean(axis=0), x.std(axis=0), shared_axes=0), 3), {l_in: x})


def test_expression_layer_over_a_dense_layer_trains_alike():
    l_in = InputLayer((5, 6))
    layer = ExpressionLayer(dense(l_in, 4), lambda X: at.tanh(X).mean(-1), output_shape="auto")
    assert layer.output_shape == (5,)
    train_both(layer, {l_in: randn(5, 6)})


def test_inverse_of_a_dense_layer_trains_alike():
    l_in = InputLayer((5, 6))
    hidden = dense(l_in, 3, nonlinearity=at.tanh)
    train_both(InverseLayer(hidden, hidden), {l_in: randn(5, 6)})


@pytest.mark.parametrize("shared_axes", ["auto", "all", (0, 3)])
def test_parametric_rectifier_trains_alike(shared_axes):
    l_in = InputLayer((2, 3, 4, 5))
    layer = ParametricRectifierLayer(BiasLayer(l_in, b=init.Normal(0.5)), shared_axes=shared_axes)
    train_both(layer, {l_in: randn(2, 3, 4, 5)})


def test_randomized_rectifier_trains_alike_deterministically():
    l_in = InputLayer((5, 6))
    train_both(RandomizedRectifierLayer(dense(l_in, 8)), {l_in: randn(5, 6)}, deterministic=True)


def test_randomized_rectifier_random_slopes_on_jax():
    x = -np.ones((3, 4, 5), np.float32)
    for input_shape in ((3, 4, 5), (None, 4, None)):
        layer = RandomizedRectifierLayer(input_shape, lower=0.2, upper=0.4)
        x_var = at.tensor3()
        out = aesara.function([x_var], layer.get_output_for(x_var), mode=jax_mode())(x)
        slopes = -out
        assert slopes.min() >= 0.2 and slopes.max() <= 0.4 and slopes.var() > 0
        assert np.allclose(slopes.var(axis=(0, 2)), 0)  # one slope per channel
