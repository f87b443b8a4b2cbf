"""Pooling, upscaling and feature pooling layers against numpy references window by window."""
import itertools
import math

import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
import aesara
import aesara.tensor as at

from aenet.lasagne.layers import (
    FeaturePoolLayer,
    FeatureWTALayer,
    GlobalPoolLayer,
    InputLayer,
    MaxPool1DLayer,
    MaxPool2DLayer,
    MaxPool3DLayer,
    Pool1DLayer,
    Pool2DLayer,
    Pool3DLayer,
    SpatialPyramidPoolingLayer,
    Upscale1DLayer,
    Upscale2DLayer,
    Upscale3DLayer,
    pool_output_length,
)

RNG = np.random.default_rng(3)


def rand(*shape):
    return RNG.standard_normal(shape).astype(aesara.config.floatX)


def run(layer, x):
    var = at.TensorType(x.dtype, shape=(None,) * x.ndim)("x")
    return aesara.function([var], layer.get_output_for(var))(x)


def np_pool(x, size, stride, pad, ignore_border, mode):
    """Each window of the last len(size) axes, reduced; windows are listed by their start positions."""
    n = len(size)
    spatial = x.shape[-n:]
    starts = []
    for length, k, s, p in zip(spatial, size, stride, pad):
        last = length + 2 * p - k if ignore_border else max(length - 1, 0)
        if not ignore_border and s < k:
            last = max(0, length - k + s - 1) // s * s
        starts.append(range(0, last + 1, s))
    out = np.empty(x.shape[:-n] + tuple(len(r) for r in starts), x.dtype)
    for index in itertools.product(*(range(len(r)) for r in starts)):
        bounds = [(r[i] - p, r[i] - p + k) for r, i, p, k in zip(starts, index, pad, size)]
        window = x[(Ellipsis,) + tuple(slice(max(lo, 0), min(hi, L)) for (lo, hi), L in zip(bounds, spatial))]
        values = window.reshape(window.shape[:-n] + (-1,))
        if mode == "max":
            out[(Ellipsis,) + index] = values.max(-1)
        elif mode == "average_inc_pad":
            out[(Ellipsis,) + index] = values.sum(-1) / (math.prod(size) if ignore_border else values.shape[-1])
        else:
            out[(Ellipsis,) + index] = values.mean(-1)
    return out


def test_pool_output_length_by_hand():
    assert pool_output_length(10, 3, 2, 0, True) == 4
    assert pool_output_length(10, 3, 2, 1, True) == 5
    assert pool_output_length(10, 3, 2, 0, False) == 5
    assert pool_output_length(10, 2, 3, 0, False) == 4
    assert pool_output_length(None, 2, 2, 0, True) is None and pool_output_length(4, None, 2, 0, True) is None


POOL_CASES = [
    dict(pool_size=2), dict(pool_size=3, stride=1), dict(pool_size=3, stride=2, pad=1),
    dict(pool_size=2, stride=3, ignore_border=False), dict(pool_size=3, stride=2, ignore_border=False),
]


@pytest.mark.parametrize("mode", ["max", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("kwargs", POOL_CASES, ids=str)
@pytest.mark.parametrize("layer_class, spatial", [(Pool1DLayer, (11,)), (Pool2DLayer, (7, 6)), (Pool3DLayer, (5, 4, 6))])
def test_pooling_matches_numpy(layer_class, spatial, kwargs, mode):
    n = len(spatial)
    x = rand(2, 3, *spatial)
    layer = layer_class((None, 3) + spatial, mode=mode, **kwargs)
    size = (kwargs["pool_size"],) * n
    stride = (kwargs.get("stride", kwargs["pool_size"]),) * n
    reference = np_pool(x, size, stride, (kwargs.get("pad", 0),) * n, kwargs.get("ignore_border", True), mode)
    out = run(layer, x)
    assert out.shape == reference.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("max_class, pool_class, spatial", [
    (MaxPool1DLayer, Pool1DLayer, (9,)), (MaxPool2DLayer, Pool2DLayer, (9, 8)), (MaxPool3DLayer, Pool3DLayer, (5, 6, 7)),
])
def test_max_pool_layers_are_max_mode_pools(max_class, pool_class, spatial):
    layer = max_class((None, 2) + spatial, 3, stride=2)
    assert isinstance(layer, pool_class) and layer.mode == "max"
    assert layer.output_shape == (None, 2) + tuple((s - 3) // 2 + 1 for s in spatial)
    x = rand(1, 2, *spatial)
    np.testing.assert_allclose(run(layer, x), np_pool(x, (3,) * len(spatial), (2,) * len(spatial),
                                                       (0,) * len(spatial), True, "max"))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MaxPool1DLayer((2, 3), 2), r"Expected 3 input dimensions.*\(2, 3\)"),
        (lambda: Pool2DLayer((2, 3, 4), 2), r"Expected 4 input dimensions"),
        (lambda: MaxPool3DLayer((2, 3, 4, 4), 2), r"Expected 5 input dimensions"),
        (lambda: Pool2DLayer((2, 3, 4, 4), 2, mode="median"), r"mode='median'"),
        (lambda: Pool1DLayer((2, 3, 4), 2, pad=2), r"pad=2 must be smaller than pool_size=2"),
        (lambda: Pool3DLayer((2, 3, 4, 4, 4), 3, pad=1, ignore_border=False), r"pad=1 needs ignore_border"),
        (lambda: Upscale2DLayer((2, 3, 4, 4), (2, 0)), r"scale_factor=\(2, 0\)"),
        (lambda: Upscale1DLayer((2, 3, 4), 2, mode="nearest"), r"mode='nearest'"),
        (lambda: FeaturePoolLayer((2, 5, 4), 2), r"5 units along axis 1.*pool_size=2"),
        (lambda: FeatureWTALayer((2, 4, 9), 2, axis=2), r"9 units along axis 2"),
        (lambda: SpatialPyramidPoolingLayer((2, 3, 4)), r"Expected 4 input dimensions"),
        (lambda: SpatialPyramidPoolingLayer((2, 3, 4, 4), mode="sum"), r"Got 'sum'"),
        (lambda: SpatialPyramidPoolingLayer((2, 3, 4, 4), implementation="cudnn"), r"'cudnn'"),
    ],
)
def test_invalid_settings_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- upscaling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["repeat", "dilate"])
@pytest.mark.parametrize("layer_class, spatial, factor", [
    (Upscale1DLayer, (5,), 3), (Upscale2DLayer, (4, 3), (2, 3)), (Upscale3DLayer, (2, 3, 2), (2, 1, 3)),
])
def test_upscaling_matches_numpy(layer_class, spatial, factor, mode):
    n = len(spatial)
    factors = (factor,) * n if np.ndim(factor) == 0 else factor
    x = rand(2, 3, *spatial)
    expected = np.zeros((2, 3) + tuple(s * f for s, f in zip(spatial, factors)), x.dtype)
    for offset in itertools.product(*(range(f) for f in factors)):
        if mode == "repeat" or not any(offset):
            expected[(Ellipsis,) + tuple(slice(o, None, f) for o, f in zip(offset, factors))] = x
    layer = layer_class(InputLayer((None, 3) + spatial), factor, mode=mode)
    assert layer.output_shape == (None, 3) + expected.shape[2:]
    np.testing.assert_array_equal(run(layer, x), expected)


def test_upscaling_keeps_unknown_lengths_unknown():
    assert Upscale3DLayer((None, 2, None, 4, None), 2).output_shape == (None, 2, None, 8, None)


# -- feature pooling, global pooling and spatial pyramids -----------------------------------------------


@pytest.mark.parametrize("axis", [1, 2, -1])
def test_feature_pool_takes_the_max_of_consecutive_units(axis):
    x = rand(2, 6, 6, 4)
    layer = FeaturePoolLayer(InputLayer((None, 6, 6, 4)), 2, axis=axis)
    moved = np.moveaxis(x, axis, -1)
    expected = np.moveaxis(np.maximum(moved[..., 0::2], moved[..., 1::2]), -1, axis)
    assert layer.output_shape[1:] == expected.shape[1:]
    np.testing.assert_array_equal(run(layer, x), expected)
    mean = FeaturePoolLayer((None, 6, 6, 4), 3, axis=1, pool_function=at.mean)
    np.testing.assert_allclose(run(mean, x), (x[:, 0::3] + x[:, 1::3] + x[:, 2::3]) / 3, rtol=1e-5, atol=1e-6)


def test_feature_wta_keeps_only_each_groups_largest_unit():
    x = rand(3, 6, 2)
    x[0, 0, 0] = x[0, 1, 0] = x[0, 2, 0] = 5.0  # a tie: the first one wins
    out = run(FeatureWTALayer((None, 6, 2), 3), x)
    expected = np.zeros_like(x)
    for b, g, c in itertools.product(range(3), range(2), range(2)):
        winner = 3 * g + int(np.argmax(x[b, 3 * g:3 * g + 3, c]))
        expected[b, winner, c] = x[b, winner, c]
    np.testing.assert_array_equal(out, expected)


def test_global_pool_reduces_every_trailing_axis():
    x = rand(2, 3, 4, 5)
    assert GlobalPoolLayer((None, 3, 4, 5)).output_shape == (None, 3)
    np.testing.assert_allclose(run(GlobalPoolLayer((None, 3, 4, 5)), x), x.mean(axis=(2, 3)), rtol=1e-5)
    np.testing.assert_array_equal(run(GlobalPoolLayer((None, 3, 4, 5), pool_function=at.max), x), x.max(axis=(2, 3)))


def np_pyramid(x, dims, reduce, bounds):
    cells = []
    for n in dims:
        for row, col in itertools.product(range(n), range(n)):
            (top, bottom), (left, right) = bounds(x.shape[2], n, row), bounds(x.shape[3], n, col)
            cells.append(reduce(x[:, :, top:bottom, left:right], axis=(2, 3)))
    return np.stack(cells, axis=2)


def kaiming_bounds(length, n, k):
    return math.floor(k * length / n), math.ceil((k + 1) * length / n)


def fast_bounds(length, n, k):
    window, stride = -(-length // n), length // n
    return k * stride, k * stride + window


@pytest.mark.parametrize("known", [True, False])
@pytest.mark.parametrize("mode, reduce", [("max", np.max), ("average_exc_pad", np.mean)])
def test_spatial_pyramid_pooling_kaiming_bins(known, mode, reduce):
    x = rand(2, 3, 13, 10)
    layer = SpatialPyramidPoolingLayer((None, 3, 13, 10) if known else (None, 3, None, None), [4, 3, 1],
                                       mode=mode, implementation="kaiming")
    assert layer.output_shape == (None, 3, 26)
    np.testing.assert_allclose(run(layer, x), np_pyramid(x, [4, 3, 1], reduce, kaiming_bounds), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("known", [True, False])
def test_spatial_pyramid_pooling_fast_windows(known):
    x = rand(2, 3, 12, 9)  # sizes for which the windows make whole grids
    layer = SpatialPyramidPoolingLayer((2, 3, 12, 9) if known else (None, None, None, None), [3, 1])
    assert layer.output_shape[2] == 10
    np.testing.assert_allclose(run(layer, x), np_pyramid(x, [3, 1], np.max, fast_bounds), rtol=1e-6)
