"""LocalResponseNormalization2DLayer, BatchNormLayer, batch_norm, StandardizationLayer, instance_norm, layer_norm."""
from unittest.mock import Mock

import aenet.lasagne  # noqa: F401  (configures aesara first)
import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.gradient import verify_grad

from aenet.lasagne.layers import (
    BatchNormLayer,
    BiasLayer,
    Conv2DLayer,
    DenseLayer,
    InputLayer,
    Layer,
    LocalResponseNormalization2DLayer,
    NonlinearityLayer,
    ScaleLayer,
    StandardizationLayer,
    batch_norm,
    get_all_layers,
    get_output,
    instance_norm,
    layer_norm,
)
from aenet.lasagne.nonlinearities import identity, rectify

TOL = {"rtol": 1e-5, "atol": 1e-5}


def randn(rng, *shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


# -- local response normalization ----------------------------------------------------------


def lrn_reference(x, alpha, k, beta, n):
    """Channel by channel, with an explicit window clipped at the edges."""
    out = np.empty_like(x, dtype=np.float64)
    half = n // 2
    for c in range(x.shape[1]):
        lo, hi = max(0, c - half), min(x.shape[1], c + half + 1)
        total = sum(x[:, j].astype(np.float64) ** 2 for j in range(lo, hi))
        out[:, c] = x[:, c] / (k + alpha * total) ** beta
    return out


@pytest.mark.parametrize("shape", [(None, 9, 3, 4), (None, None, None, None)])
@pytest.mark.parametrize("n", [1, 3, 5])
def test_lrn_matches_the_windowed_sum(shape, n):
    x = randn(np.random.default_rng(0), 2, 9, 3, 4)
    l_in = InputLayer(shape)
    layer = LocalResponseNormalization2DLayer(l_in, alpha=1.5, k=2, beta=0.75, n=n)
    out = aesara.function([l_in.input_var], get_output(layer))(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, lrn_reference(x, 1.5, 2, 0.75, n), **TOL)


def test_lrn_defaults_no_params_and_shape():
    layer = LocalResponseNormalization2DLayer((None, 6, 5, 5))
    assert (layer.alpha, layer.k, layer.beta, layer.n) == (1e-4, 2, 0.75, 5)
    assert layer.get_params() == []
    assert layer.get_output_shape_for((1, 2, 3, 4)) == (1, 2, 3, 4)


def test_lrn_rejects_an_even_window():
    with pytest.raises(NotImplementedError, match="odd n, got n=4"):
        LocalResponseNormalization2DLayer((None, 6, 5, 5), n=4)


def test_lrn_gradient():
    layer = LocalResponseNormalization2DLayer((2, 5, 3, 3), alpha=0.3, k=1, beta=0.75, n=3)
    x = np.random.default_rng(1).standard_normal((2, 5, 3, 3))
    verify_grad(layer.get_output_for, [x], rng=np.random.default_rng(2))


# -- BatchNormLayer ---------------------------------------------------------------------


def unique_values(shape):
    return np.arange(np.prod(shape), dtype="float32").reshape(shape)


@pytest.mark.parametrize(
    "axes, param_shape, resolved",
    [("auto", (3,), (0, 2)), (0, (3, 4), (0,)), ((1, 2), (2,), (1, 2)), ((0, -1), (3,), (0, 2))],
)
def test_batch_norm_parameter_shapes_follow_the_axes(axes, param_shape, resolved):
    layer = BatchNormLayer((2, 3, 4), axes=axes, beta=unique_values)
    assert layer.axes == resolved
    np.testing.assert_array_equal(layer.beta.get_value(), unique_values(param_shape))
    assert layer.output_shape == (2, 3, 4)


def test_batch_norm_parameters_and_tags():
    layer = BatchNormLayer((None, 4, 5, 5), name="bn")
    assert [p.name for p in layer.get_params()] == ["bn.beta", "bn.gamma", "bn.mean", "bn.inv_std"]
    assert layer.get_params(trainable=True) == [layer.beta, layer.gamma]
    assert layer.get_params(regularizable=True) == [layer.gamma]
    assert layer.get_params(batch_norm_stat=True) == [layer.mean, layer.inv_std]
    np.testing.assert_array_equal(layer.gamma.get_value(), np.ones(4))
    np.testing.assert_array_equal(layer.inv_std.get_value(), np.ones(4))
    assert (layer.epsilon, layer.alpha) == (1e-4, 0.1)


def test_batch_norm_needs_the_sizes_it_keeps():
    BatchNormLayer((64, 2, None), axes=(0, 2))
    with pytest.raises(ValueError, match="needs specified input sizes"):
        BatchNormLayer((64, None, 3), axes=(0, 2))


def test_batch_norm_rejects_axes_of_the_wrong_kind():
    with pytest.raises(TypeError, match="axes must be"):
        BatchNormLayer((2, 3), axes="batch")


@pytest.mark.parametrize("update_averages", [None, True, False])
@pytest.mark.parametrize("use_averages", [None, True, False])
@pytest.mark.parametrize("deterministic", [True, False])
def test_batch_norm_output_and_running_averages(deterministic, use_averages, update_averages):
    rng = np.random.default_rng(3)
    x = randn(rng, 20, 30, 40) * 2 + randn(rng, 1, 30, 1)
    beta, gamma, mean = randn(rng, 30), randn(rng, 30), randn(rng, 30)
    inv_std = rng.uniform(0.5, 1.5, 30).astype("float32")
    alpha = 0.3
    layer = BatchNormLayer((20, 30, 40), beta=beta, gamma=gamma, mean=mean, inv_std=inv_std, alpha=alpha)
    kwargs = {"deterministic": deterministic}
    if use_averages is not None:
        kwargs["batch_norm_use_averages"] = use_averages
    if update_averages is not None:
        kwargs["batch_norm_update_averages"] = update_averages
    out = layer.get_output_for(at.constant(x), **kwargs).eval()

    x64 = x.astype(np.float64)
    batch_mean, batch_inv_std = x64.mean((0, 2)), 1 / np.sqrt(x64.var((0, 2)) + 1e-4)
    used = (mean, inv_std) if (deterministic if use_averages is None else use_averages) else (batch_mean, batch_inv_std)
    expected = (x64 - used[0][:, None]) * used[1][:, None] * gamma[:, None] + beta[:, None]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, **TOL)
    if (not deterministic) if update_averages is None else update_averages:
        mean, inv_std = (1 - alpha) * mean + alpha * batch_mean, (1 - alpha) * inv_std + alpha * batch_inv_std
    np.testing.assert_allclose(layer.mean.get_value(), mean, **TOL)
    np.testing.assert_allclose(layer.inv_std.get_value(), inv_std, **TOL)


def test_batch_norm_running_averages_move_at_every_call():
    """Each training call moves the averages alpha of the way towards that batch's statistics."""
    l_in = InputLayer((None, 1, 3))  # a (1, 3) statistic: broadcastable along its first axis
    layer = BatchNormLayer(l_in, axes=0, alpha=0.5)
    train = aesara.function([l_in.input_var], get_output(layer))
    batches = [randn(np.random.default_rng(s), 8, 1, 3) for s in (4, 5)]
    expected = np.zeros((1, 3))
    for batch in batches:
        train(batch)
        expected = 0.5 * expected + 0.5 * batch.astype(np.float64).mean(0)
    np.testing.assert_allclose(layer.mean.get_value(), expected, **TOL)
    assert layer.mean.get_value().dtype == np.float32


def test_batch_norm_without_beta_or_gamma():
    rng = np.random.default_rng(6)
    x = randn(rng, 10, 4, 6)
    beta, gamma = randn(rng, 4), randn(rng, 4)
    only_gamma = BatchNormLayer((10, 4, 6), beta=None, gamma=gamma)
    only_beta = BatchNormLayer((10, 4, 6), beta=beta, gamma=None)
    assert len(only_gamma.get_params()) == len(only_beta.get_params()) == 3
    x64 = x.astype(np.float64)
    standard = (x64 - x64.mean((0, 2), keepdims=True)) / np.sqrt(x64.var((0, 2), keepdims=True) + 1e-4)
    for layer, expected in [(only_gamma, standard * gamma[:, None]), (only_beta, standard + beta[:, None])]:
        np.testing.assert_allclose(layer.get_output_for(at.constant(x)).eval(), expected, **TOL)


def test_batch_norm_gradient_through_the_batch_statistics():
    rng = np.random.default_rng(7)
    layer = BatchNormLayer((6, 3, 2), beta=rng.standard_normal(3), gamma=rng.standard_normal(3),
                           mean=np.zeros(3), inv_std=np.ones(3))
    x = rng.standard_normal((6, 3, 2))
    verify_grad(lambda v: layer.get_output_for(v, batch_norm_update_averages=False), [x], rng=rng)


# -- batch_norm ------------------------------------------------------------------------


def test_batch_norm_takes_the_nonlinearity_and_the_bias():
    dense = DenseLayer(InputLayer((None, 5)), 4, nonlinearity=rectify, name="fc")
    stack = batch_norm(dense, alpha=0.2)
    assert isinstance(stack, NonlinearityLayer) and stack.nonlinearity is rectify
    assert isinstance(stack.input_layer, BatchNormLayer) and stack.input_layer.alpha == 0.2
    assert dense.nonlinearity is identity and dense.b is None
    assert dense.get_params() == [dense.W]
    assert (stack.name, stack.input_layer.name) == ("fc_bn_nonlin", "fc_bn")
    x = randn(np.random.default_rng(8), 6, 5)
    out = aesara.function([dense.input_layer.input_var], get_output(stack))(x)
    h = x.astype(np.float64) @ dense.W.get_value()
    expected = np.maximum((h - h.mean(0)) / np.sqrt(h.var(0) + 1e-4), 0)
    np.testing.assert_allclose(out, expected, **TOL)


def test_batch_norm_names_and_plain_layers():
    obj = object()
    stack = batch_norm(Mock(Layer, output_shape=(2, 3), b=obj, params={obj: set()}))
    assert isinstance(stack, BatchNormLayer) and stack.input_layer.b is None and obj not in stack.input_layer.params
    assert isinstance(batch_norm(Mock(Layer, output_shape=(2, 3), b=None)), BatchNormLayer)
    assert batch_norm(Mock(Layer, output_shape=(2, 3)), name="foo").name == "foo"
    named = Mock(Layer, output_shape=(2, 3), nonlinearity=obj)
    named.name = "foo"
    stack = batch_norm(named, name="foo_bnorm")
    assert (stack.name, stack.input_layer.name) == ("foo_bnorm_nonlin", "foo_bnorm")
    stack = batch_norm(Mock(Layer, output_shape=(2, 3), nonlinearity=obj))
    assert stack.nonlinearity is obj and (stack.name, stack.input_layer.name) == (None, None)


# -- StandardizationLayer, instance_norm, layer_norm ----------------------------------------


@pytest.mark.parametrize(
    "shape, axes, resolved",
    [
        ((None, 5), "auto", (1,)),
        ((None, 3, 4, 4), "auto", (2, 3)),
        ((None, 3, 4, 4), "spatial", (2, 3)),
        ((None, 3, 4, 4), "features", (1, 2, 3)),
        ((None, 3, 4), 1, (1,)),
        ((None, 3, 4), (0, -1), (0, 2)),
    ],
)
def test_standardization_axes(shape, axes, resolved):
    assert StandardizationLayer(shape, axes=axes).axes == resolved


@pytest.mark.parametrize("axes, numpy_axes", [("auto", (2, 3)), ("features", (1, 2, 3)), (0, (0,))])
def test_standardization_matches_numpy(axes, numpy_axes):
    x = randn(np.random.default_rng(9), 4, 3, 5, 2) * 3 + 1
    l_in = InputLayer((None, 3, 5, 2))
    layer = StandardizationLayer(l_in, axes=axes, epsilon=1e-3)
    out = aesara.function([l_in.input_var], get_output(layer))(x)
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(numpy_axes, keepdims=True)) / np.sqrt(x64.var(numpy_axes, keepdims=True) + 1e-3)
    assert out.dtype == np.float32 and layer.get_params() == []
    np.testing.assert_allclose(out, expected, **TOL)


def test_standardization_gradient():
    layer = StandardizationLayer((3, 2, 4), axes="features")
    verify_grad(layer.get_output_for, [np.random.default_rng(10).standard_normal((3, 2, 4))],
                rng=np.random.default_rng(11))


def test_instance_norm_stack():
    conv = Conv2DLayer(InputLayer((None, 3, 6, 6)), 4, 3, nonlinearity=rectify, name="conv")
    top = instance_norm(conv, epsilon=1e-3)
    assert [type(layer).__name__ for layer in get_all_layers(top)] == [
        "InputLayer", "Conv2DLayer", "StandardizationLayer", "ScaleLayer", "BiasLayer", "NonlinearityLayer"]
    standardize = top.input_layer.input_layer.input_layer
    assert standardize.axes == (2, 3) and standardize.epsilon == 1e-3 and standardize.name == "conv_in"
    assert [layer.name for layer in get_all_layers(top)[3:]] == ["conv_in_scale", "conv_in_bias", "conv_in_nonlin"]
    assert top.input_layer.b.get_value().shape == (4,) and conv.b is None and conv.nonlinearity is identity


def test_instance_norm_without_scale_bias_or_nonlinearity():
    top = instance_norm(Mock(Layer, output_shape=(None, 3, 5)), learn_scale=False, learn_bias=False, name="norm")
    assert isinstance(top, StandardizationLayer) and top.name == "norm" and top.axes == (2,)


def test_layer_norm_stack_and_values():
    dense = DenseLayer(InputLayer((None, 6)), 5, nonlinearity=rectify, name="fc")
    top = layer_norm(dense)
    types = [type(layer) for layer in get_all_layers(top)[2:]]
    assert types == [StandardizationLayer, ScaleLayer, BiasLayer, NonlinearityLayer]
    assert top.name == "fc_ln_nonlin" and get_all_layers(top)[2].axes == (1,)
    x = randn(np.random.default_rng(12), 7, 6)
    out = aesara.function([dense.input_layer.input_var], get_output(top))(x)
    h = x.astype(np.float64) @ dense.W.get_value()
    expected = np.maximum((h - h.mean(1, keepdims=True)) / np.sqrt(h.var(1, keepdims=True) + 1e-4), 0)
    np.testing.assert_allclose(out, expected, **TOL)
