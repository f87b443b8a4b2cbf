"""Normalization and noise layers on aenet's JAX backend (JAX's CPU) against the C backend.

Deterministic graphs must agree in outputs, gradients and a few SGD steps;
random ones (dropout masks, Gaussian noise) must have the right statistics on JAX.
"""
import numpy as np
import pytest

pytest.importorskip("jax")

import aenet.lasagne  # noqa: E402,F401  (configures aesara first)
import aesara  # noqa: E402
from aesara.compile.mode import get_mode  # noqa: E402
from helpers.backends import assert_close, compare, jax_mode, train_both  # noqa: E402

from aenet.lasagne import layers  # noqa: E402
from aenet.lasagne.nonlinearities import rectify, tanh  # noqa: E402
from aenet.lasagne.random import set_rng  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("jax_cpu")]


def randn(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def float64_variables(function):
    return [v for v in function.maker.fgraph.variables if getattr(v.type, "dtype", "") == "float64"]


# -- outputs and gradients ----------------------------------------------------------------


def _output_cases():
    conv_in = layers.InputLayer((None, 6, 5, 4))
    return {
        "lrn": lambda: layers.LocalResponseNormalization2DLayer(conv_in, alpha=0.5, n=3),
        "lrn-unknown-channels": lambda: layers.LocalResponseNormalization2DLayer(
            layers.InputLayer((None, None, 5, 4)), alpha=0.5),
        "standardize-spatial": lambda: layers.StandardizationLayer(conv_in),
        "standardize-features": lambda: layers.StandardizationLayer(conv_in, axes="features"),
        "batchnorm": lambda: layers.BatchNormLayer(conv_in, beta=randn(1, 6), gamma=randn(2, 6),
                                                   mean=randn(3, 6), inv_std=np.full(6, 0.7, np.float32)),
    }


@pytest.mark.parametrize("deterministic", [False, True], ids=["train", "test"])
@pytest.mark.parametrize("name", list(_output_cases()))
def test_output_and_gradients_match_c(name, deterministic):
    layer = _output_cases()[name]()
    X = layers.get_all_layers(layer)[0].input_var
    out = layers.get_output(layer, deterministic=deterministic, batch_norm_update_averages=False)
    compare([X], [out], [randn(4, 3, 6, 5, 4) * 2 + 1], wrt=[X, *layer.get_params(trainable=True)])


def test_batch_norm_running_averages_match_c():
    l_in = layers.InputLayer((None, 5))
    layer = layers.BatchNormLayer(l_in, alpha=0.3)
    batches = [randn(seed, 16, 5) * 3 + 2 for seed in (5, 6)]
    results = {}
    for name, mode in (("c", get_mode("FAST_RUN")), ("jax", jax_mode())):
        layer.mean.set_value(np.zeros(5, np.float32))
        layer.inv_std.set_value(np.ones(5, np.float32))
        step = aesara.function([l_in.input_var], layers.get_output(layer), mode=mode)
        outputs = [np.asarray(step(batch)) for batch in batches]
        results[name] = outputs + [layer.mean.get_value(), layer.inv_std.get_value()]
        if name == "jax":
            assert not float64_variables(step)
    for j, c in zip(results["jax"], results["c"], strict=True):
        assert_close(j, c)
    expected = np.zeros(5)
    for batch in batches:  # independent of both backends: the running mean's closed form
        expected = 0.7 * expected + 0.3 * batch.astype(np.float64).mean(0)
    np.testing.assert_allclose(results["jax"][-2], expected, rtol=1e-5)


def test_batch_norm_running_averages_accumulate_in_a_device_function():
    """The averages' updates stay on the device between calls; ``sync`` brings them back."""
    from aenet.jax import DeviceFunction

    l_in = layers.InputLayer((None, 3))
    layer = layers.BatchNormLayer(l_in, alpha=0.5)
    step = DeviceFunction([l_in.input_var], layers.get_output(layer))
    x = randn(14, 6, 3) + 4
    step(x)
    step(x)
    step.sync()
    np.testing.assert_allclose(layer.mean.get_value(), 0.75 * x.astype(np.float64).mean(0), rtol=1e-5)


# -- training -----------------------------------------------------------------------------


def _dense(shape=(None, 7), units=5, nonlinearity=tanh):
    l_in = layers.InputLayer(shape)
    return l_in, layers.DenseLayer(l_in, units, nonlinearity=nonlinearity)


@pytest.mark.parametrize("deterministic", [False, True], ids=["train", "test"])
def test_batch_norm_trains_alike(deterministic):
    l_in, dense = _dense()
    top = layers.batch_norm(dense)
    bn = top.input_layer
    bn.mean.set_value(randn(7, 5))
    train_both(top, {l_in: randn(8, 10, 7)}, deterministic=deterministic)


def test_lrn_after_a_convolution_trains_alike():
    l_in = layers.InputLayer((None, 2, 6, 6))
    conv = layers.Conv2DLayer(l_in, 5, 3, nonlinearity=rectify)
    train_both(layers.LocalResponseNormalization2DLayer(conv, alpha=0.1, n=3), {l_in: randn(9, 3, 2, 6, 6)})


def test_instance_norm_trains_alike():
    l_in = layers.InputLayer((None, 2, 6, 6))
    conv = layers.Conv2DLayer(l_in, 4, 3, nonlinearity=rectify)
    train_both(layers.instance_norm(conv), {l_in: randn(10, 4, 2, 6, 6)})


def test_layer_norm_trains_alike():
    l_in, dense = _dense()
    train_both(layers.layer_norm(dense), {l_in: randn(11, 6, 7)})


@pytest.mark.parametrize(
    "make",
    [
        lambda incoming: layers.DropoutLayer(incoming, p=0.4),
        lambda incoming: layers.dropout_channels(incoming, p=0.4),
        lambda incoming: layers.GaussianNoiseLayer(incoming, sigma=0.3),
    ],
    ids=["dropout", "dropout-channels", "gaussian-noise"],
)
def test_noise_layers_train_alike_when_deterministic(make):
    l_in = layers.InputLayer((None, 2, 5, 5))
    conv = layers.Conv2DLayer(l_in, 3, 2, nonlinearity=tanh)
    train_both(make(conv), {l_in: randn(12, 4, 2, 5, 5)}, deterministic=True)


# -- random draws on JAX ------------------------------------------------------------------


def _jax_fn(layer):
    X = layers.get_all_layers(layer)[0].input_var
    fn = aesara.function([X], layers.get_output(layer), mode=jax_mode())
    assert not float64_variables(fn)
    return fn


@pytest.mark.parametrize("shared_axes", [(), (0,), (2, 3), (1,)])
def test_dropout_masks_on_jax(shared_axes):
    set_rng(np.random.RandomState(12))
    shape = (40, 30, 5, 6)
    fn = _jax_fn(layers.DropoutLayer(layers.InputLayer((None, 30, 5, 6)), p=0.3, shared_axes=shared_axes))
    first, second = np.asarray(fn(np.ones(shape, np.float32))), np.asarray(fn(np.ones(shape, np.float32)))
    np.testing.assert_allclose(np.unique(first), [0, 1 / 0.7], rtol=1e-6)
    mask = first.mean(axis=shared_axes, keepdims=True) if shared_axes else first
    np.testing.assert_allclose(first, np.broadcast_to(mask, shape), rtol=1e-6)
    assert abs(np.mean(mask == 0) - 0.3) < (0.1 if mask.size < 500 else 0.03)
    assert not np.array_equal(first, second)


def test_gaussian_noise_on_jax():
    set_rng(np.random.RandomState(13))
    fn = _jax_fn(layers.GaussianNoiseLayer(layers.InputLayer((None, 400)), sigma=0.5))
    x = np.zeros((250, 400), np.float32)
    first, second = np.asarray(fn(x)), np.asarray(fn(x))
    assert first.dtype == np.float32
    assert abs(first.mean()) < 0.01 and abs(first.std() - 0.5) < 0.01
    assert not np.array_equal(first, second)
