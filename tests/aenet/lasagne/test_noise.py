"""DropoutLayer's shared axes and symbolic p, the dropout shortcuts, GaussianNoiseLayer (C backend).

The basic dropout behaviour (rate, rescaling, fresh masks, set_rng) is tested in test_layers.py.
"""
from unittest.mock import Mock

import aenet.lasagne  # noqa: F401  (configures aesara first)
import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne.layers import (
    DropoutLayer,
    GaussianNoiseLayer,
    InputLayer,
    dropout,
    dropout_channels,
    dropout_locations,
    get_output,
    spatial_dropout,
)
from aenet.lasagne.random import set_rng


def run(layer, x, **kwargs):
    l_in = layer.input_layer
    return aesara.function([l_in.input_var], get_output(layer, **kwargs))(x)


# -- dropout ----------------------------------------------------------------------------


@pytest.mark.parametrize("known", [True, False], ids=["static-shape", "symbolic-shape"])
@pytest.mark.parametrize("shared_axes", [(), (0,), (2, 3), (-1, -2), (1,)])
def test_dropout_mask_is_constant_along_shared_axes(shared_axes, known):
    shape = (6, 4, 7, 9)
    layer = DropoutLayer(InputLayer(shape if known else (None,) * 4), p=0.5, shared_axes=shared_axes)
    out = run(layer, np.ones(shape, np.float32))
    axes = tuple(a % 4 for a in shared_axes)
    np.testing.assert_array_equal(out, np.broadcast_to(out.mean(axis=axes, keepdims=True), shape))
    assert set(np.unique(out)) == {0.0, 2.0}
    assert layer.shared_axes == shared_axes


def test_dropout_channels_drops_a_fraction_p_of_the_channels():
    x = np.ones((200, 50, 3, 3), np.float32)
    out = run(dropout_channels(InputLayer((None, 50, 3, 3)), p=0.3, rescale=False), x)
    per_channel = out.reshape(200, 50, 9)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))
    assert abs(np.mean(per_channel[..., 0] == 0) - 0.3) < 0.02


@pytest.mark.parametrize(
    "shape, channels, locations",
    [((10, 20), (), (1,)), ((None, None, None), (2,), (1,)), ((1, 2, 3, 4), (2, 3), (1,)),
     ((1, 2, 3, 4, 5, 6), (2, 3, 4, 5), (1,))],
)
def test_dropout_shortcuts_set_the_shared_axes(shape, channels, locations):
    assert dropout_channels(shape).shared_axes == channels
    assert spatial_dropout(shape).shared_axes == channels
    assert dropout_locations(shape).shared_axes == locations
    assert dropout_channels(InputLayer(shape), p=0.2).p == 0.2
    assert dropout is DropoutLayer


def test_dropout_with_a_symbolic_p():
    p = aesara.shared(np.float32(0.25))
    layer = DropoutLayer(InputLayer((None, 400)), p=p)
    out = run(layer, np.ones((100, 400), np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.unique(out), [0, 1 / 0.75], rtol=1e-6)
    assert abs(np.mean(out == 0) - 0.25) < 0.01
    p.set_value(np.float32(0.5))
    out = run(layer, np.ones((100, 400), np.float32))
    assert abs(np.mean(out == 0) - 0.5) < 0.01


def test_dropout_keeps_the_input_dtype():
    layer = DropoutLayer((100, 100), p=np.float32(0.5))
    assert layer.get_output_for(at.fmatrix()).dtype == "float32"
    plain = DropoutLayer((100, 100), rescale=False)
    assert plain.get_output_for(at.imatrix()).dtype == "int32"


def test_dropout_rescales_integer_input_to_floats():
    out = DropoutLayer((50, 50), p=0.2).get_output_for(at.constant(np.ones((50, 50), np.int32))).eval()
    np.testing.assert_allclose(np.unique(out), [0, 1.25])


# -- Gaussian noise ---------------------------------------------------------------------


def test_gaussian_noise_has_mean_zero_and_std_sigma():
    layer = GaussianNoiseLayer(InputLayer((None, 500)), sigma=0.5)
    x = np.tile(np.linspace(-1, 1, 500, dtype=np.float32), (200, 1))
    noise = run(layer, x) - x
    assert noise.dtype == np.float32
    assert abs(noise.mean()) < 0.01
    assert abs(noise.std() - 0.5) < 0.01
    assert np.all(noise != 0)


def test_gaussian_noise_draws_anew_and_follows_the_lasagne_rng():
    x = np.zeros((20, 30), np.float32)
    outputs = []
    for seed in (7, 7):
        set_rng(np.random.RandomState(seed))
        layer = GaussianNoiseLayer(InputLayer((None, 30)))
        fn = aesara.function([layer.input_layer.input_var], get_output(layer))
        outputs.append((fn(x), fn(x)))
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])
    assert not np.array_equal(outputs[0][0], outputs[0][1])
    assert abs(outputs[0][0].std() - 0.1) < 0.02


def test_gaussian_noise_deterministic_or_sigma_zero_is_identity():
    l_in = InputLayer((None, 4))
    assert get_output(GaussianNoiseLayer(l_in), deterministic=True) is l_in.input_var
    assert get_output(GaussianNoiseLayer(l_in, sigma=0)) is l_in.input_var
    assert GaussianNoiseLayer(Mock(output_shape=(None,))).sigma == 0.1


def test_gaussian_noise_with_a_symbolic_sigma():
    sigma = aesara.shared(np.float32(2.0))
    layer = GaussianNoiseLayer(InputLayer((None, 1000)), sigma=sigma)
    noise = run(layer, np.zeros((100, 1000), np.float32))
    assert abs(noise.std() - 2.0) < 0.02
