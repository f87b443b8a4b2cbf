"""Convolution layers against numpy references written out tap by tap, plus shapes, parameters and errors."""
import itertools

import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
import aesara
import aesara.tensor as at

from aenet.lasagne import nonlinearities
from aenet.lasagne.layers import (
    Conv1DLayer,
    Conv2DLayer,
    Conv3DLayer,
    Deconv2DLayer,
    Deconv3DLayer,
    DilatedConv2DLayer,
    InputLayer,
    TransposedConv2DLayer,
    TransposedConv3DLayer,
    conv_input_length,
    conv_output_length,
    get_output,
)
from aenet.lasagne.layers.conv import BaseConvLayer

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(aesara.config.floatX)


def run(layer, x):
    """The layer's output for ``x``, compiled through a fresh input variable."""
    var = at.TensorType(aesara.config.floatX, shape=(None,) * x.ndim)("x")
    return aesara.function([var], layer.get_output_for(var))(x)


# -- numpy references ------------------------------------------------------------------


def pad_amounts(pad, spans):
    if pad == "valid":
        return [0] * len(spans)
    if pad == "full":
        return [s - 1 for s in spans]
    if pad == "same":
        return [s // 2 for s in spans]
    return list(pad) if isinstance(pad, tuple) else [pad] * len(spans)


def np_correlate(x, w, pad=0, stride=1, dilation=1, groups=1):
    """Cross-correlation of (B, C, ...) with (F, C/groups, ...): every output sums its window's taps."""
    n = x.ndim - 2
    stride, dilation = np.broadcast_to(stride, n), np.broadcast_to(dilation, n)
    spans = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], dilation)]
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad_amounts(pad, spans)])
    lengths = [length - span + 1 for length, span in zip(x.shape[2:], spans)]
    out = np.zeros((x.shape[0], w.shape[0]) + tuple(lengths))
    per_in, per_out = x.shape[1] // groups, w.shape[0] // groups
    for g in range(groups):
        xs, fs = slice(g * per_in, (g + 1) * per_in), slice(g * per_out, (g + 1) * per_out)
        for tap in itertools.product(*(range(k) for k in w.shape[2:])):
            window = tuple(slice(t * d, t * d + L) for t, d, L in zip(tap, dilation, lengths))
            patch = x[(slice(None), xs) + window]
            out[:, fs] += np.einsum("bc...,fc->bf...", patch, w[(fs, slice(None)) + tap])
    return out[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def np_convolve(x, w, **kwargs):
    """A true convolution: the correlation with every spatial axis of the filters reversed."""
    return np_correlate(x, w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)], **kwargs)


def np_transposed(x, w, stride, crop=0, size=None, flip_filters=False):
    """Scatter each input value times the (C_in, F, ...) filters into the output, then crop."""
    n = x.ndim - 2
    stride = np.broadcast_to(stride, n)
    if not flip_filters:
        w = w[(slice(None), slice(None)) + (slice(None, None, -1),) * n]
    k = w.shape[2:]
    full = [(length - 1) * s + kk for length, s, kk in zip(x.shape[2:], stride, k)]
    out = np.zeros((x.shape[0], w.shape[1]) + tuple(full))
    for pos in itertools.product(*(range(length) for length in x.shape[2:])):
        for tap in itertools.product(*(range(kk) for kk in k)):
            at_ = tuple(p * s + t for p, s, t in zip(pos, stride, tap))
            out[(slice(None), slice(None)) + at_] += x[(slice(None), slice(None)) + pos] @ w[(slice(None), slice(None)) + tap]
    crops = pad_amounts(crop, k)
    size = size or [f - 2 * c for f, c in zip(full, crops)]
    out = np.pad(out, [(0, 0), (0, 0)] + [(0, max(0, L + 2 * c - f)) for L, c, f in zip(size, crops, full)])
    return out[(slice(None), slice(None)) + tuple(slice(c, c + L) for c, L in zip(crops, size))]


# -- output lengths ------------------------------------------------------------------------


def test_conv_output_length_by_hand():
    assert conv_output_length(10, 3, 1, "valid") == 8
    assert conv_output_length(10, 3, 2, 0) == 4
    assert conv_output_length(10, 3, 1, "full") == 12
    assert conv_output_length(10, 4, 1, "same") == 10
    assert conv_output_length(10, 3, 3, "same") == 4
    assert conv_output_length(10, 5, 2, 1) == 4
    assert conv_output_length(None, 5, 2, 1) is None
    with pytest.raises(ValueError, match="Invalid pad: 'bogus'"):
        conv_output_length(10, 3, 1, "bogus")


def test_conv_input_length_inverts_the_output_length():
    assert conv_input_length(8, 3, 1, "valid") == 10
    assert conv_input_length(4, 3, 2, 0) == 9  # the shortest input giving 4 outputs
    assert conv_input_length(12, 3, 1, "full") == 10
    assert conv_input_length(4, 3, 3, "same") == 10
    assert conv_input_length(None, 3, 3, "same") is None
    for length, k, s, p in itertools.product(range(5, 12), (1, 3, 5), (1, 2, 3), (0, 1, "same", "full", "valid")):
        assert conv_output_length(conv_input_length(length, k, s, p), k, s, p) == length
    with pytest.raises(ValueError, match="Invalid pad"):
        conv_input_length(3, 3, 1, "half")


# -- forward convolutions ----------------------------------------------------------------

FORWARD_CASES = [
    dict(pad=0), dict(pad="valid", stride=2), dict(pad="full"), dict(pad="same"), dict(pad="same", stride=2),
    dict(pad=1, stride=3), dict(pad=2, flip_filters=False), dict(pad="full", flip_filters=False, stride=2),
]


@pytest.mark.parametrize("layer_class, spatial", [(Conv1DLayer, (13,)), (Conv2DLayer, (9, 8)), (Conv3DLayer, (6, 5, 7))])
@pytest.mark.parametrize("kwargs", FORWARD_CASES, ids=str)
def test_forward_convolutions_match_numpy(layer_class, spatial, kwargs):
    n = len(spatial)
    x, w, b = rand(2, 3, *spatial), rand(4, 3, *(3,) * n), rand(4)
    layer = layer_class(InputLayer((None, 3) + spatial), 4, 3, W=w, b=b, nonlinearity=None, **kwargs)
    flip = kwargs.get("flip_filters", True)
    reference = (np_convolve if flip else np_correlate)(x, w, pad=kwargs.get("pad", 0), stride=kwargs.get("stride", 1))
    reference += b.reshape((1, 4) + (1,) * n)
    out = run(layer, x)
    assert out.shape == reference.shape == (2,) + layer.output_shape[1:]
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("layer_class, spatial", [(Conv1DLayer, (11,)), (Conv2DLayer, (7, 6)), (Conv3DLayer, (4, 5, 3))])
def test_untied_biases_and_rectify(layer_class, spatial):
    n = len(spatial)
    x, w = rand(2, 2, *spatial), rand(3, 2, *(2,) * n)
    layer = layer_class((2, 2) + spatial, 3, 2, untie_biases=True, W=w, b=lambda shape: rand(*shape))
    assert layer.b.get_value().shape == (3,) + tuple(s - 1 for s in spatial)
    reference = np.maximum(np_convolve(x, w) + layer.b.get_value()[None], 0)
    np.testing.assert_allclose(run(layer, x), reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("layer_class, spatial", [(Conv1DLayer, (10,)), (Conv2DLayer, (6, 7))])
def test_grouped_convolution_matches_numpy(layer_class, spatial):
    x, w = rand(2, 6, *spatial), rand(4, 3, *(3,) * len(spatial))
    layer = layer_class((None, 6) + spatial, 4, 3, num_groups=2, W=w, b=None, nonlinearity=None, pad=1)
    assert layer.get_W_shape() == (4, 3) + (3,) * len(spatial)
    np.testing.assert_allclose(run(layer, x), np_convolve(x, w, pad=1, groups=2), rtol=1e-4, atol=1e-4)


def test_unknown_sizes_stay_unknown_and_the_output_is_right():
    x, w = rand(2, 3, 9, 7), rand(5, 3, 3, 3)
    layer = Conv2DLayer(InputLayer((None, 3, None, None)), 5, 3, pad="same", W=w, b=None, nonlinearity=None)
    assert layer.output_shape == (None, 5, None, None)
    np.testing.assert_allclose(run(layer, x), np_convolve(x, w, pad="same"), rtol=1e-4, atol=1e-4)


def test_parameter_shapes_and_tags():
    layer = Conv3DLayer((None, 3, 8, 8, 8), 16, (3, 2, 1), name="c")
    assert layer.W.get_value().shape == (16, 3, 3, 2, 1) and layer.b.get_value().shape == (16,)
    assert layer.get_params() == [layer.W, layer.b]
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.get_params(trainable=True) == [layer.W, layer.b]
    assert layer.W.name == "c.W"
    bare = Conv1DLayer((None, 2, 5), 4, 3, b=None, nonlinearity=None)
    assert bare.b is None and bare.nonlinearity is nonlinearities.identity and bare.get_params() == [bare.W]


def test_base_layer_infers_n_and_leaves_convolve_to_subclasses():
    for n in (1, 2, 3):
        assert BaseConvLayer((2, 3) + (6,) * n, 4, 3).n == n
    with pytest.raises(NotImplementedError):
        BaseConvLayer((2, 3, 6), 4, 3).convolve(at.tensor3())


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: BaseConvLayer((2, 3, 6), 4, 3, n=2), ValueError, r"Expected 4 input dimensions.*\(2, 3, 6\)"),
        (lambda: Conv1DLayer((2, 3, 6, 6), 4, 3), ValueError, "Expected 3 input dimensions"),
        (lambda: Conv3DLayer((2, 3, 6, 6), 4, 3), ValueError, "Expected 5 input dimensions"),
        (lambda: Conv2DLayer((2, 3, 6, 6), 4, 3, pad="bogus"), TypeError, "iterable of int, got 'bogus'"),
        (lambda: Conv1DLayer((2, 3, 6), 4, 4, pad="same"), NotImplementedError, r"requires odd filter size.*\(4,\)"),
        (lambda: Conv2DLayer((2, 6, 6, 6), 4, 3, num_groups=4), ValueError, "num_groups=4"),
        (lambda: Conv2DLayer((2, 6, 6, 6), 4, 3, num_groups=0), ValueError, "num_groups=0 must be positive"),
    ],
)
def test_invalid_settings_raise(make, error, message):
    with pytest.raises(error, match=message):
        make()


# -- transposed and dilated convolutions --------------------------------------------------------

TRANSPOSED_CASES = [
    dict(), dict(stride=2), dict(stride=(2, 3)), dict(crop=1), dict(crop="full"), dict(crop="same", stride=2),
    dict(crop="valid", flip_filters=True), dict(stride=2, crop=1, flip_filters=True),
]


@pytest.mark.parametrize("kwargs", TRANSPOSED_CASES, ids=str)
def test_transposed_conv2d_matches_a_scatter_of_the_filters(kwargs):
    x, w, b = rand(2, 3, 5, 4), rand(3, 2, 3, 3), rand(2)
    layer = TransposedConv2DLayer((2, 3, 5, 4), 2, 3, W=w, b=b, nonlinearity=None, **kwargs)
    reference = np_transposed(x, w, kwargs.get("stride", 1), kwargs.get("crop", 0),
                              flip_filters=kwargs.get("flip_filters", False)) + b[:, None, None]
    out = run(layer, x)
    assert out.shape == reference.shape == layer.output_shape
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)


def test_transposed_conv2d_is_the_transpose_of_conv2d():
    """<conv(y), x> == <y, transposed(x)> for the same filters and settings (default flips: adjoints)."""
    x, y, w = rand(2, 3, 5, 6), rand(2, 2, 9, 10), rand(3, 2, 3, 2)
    conv = Conv2DLayer((2, 2, 9, 10), 3, (3, 2), stride=2, pad=1, W=w, b=None, nonlinearity=None)
    transposed = TransposedConv2DLayer((2, 3, 5, 6), 2, (3, 2), stride=2, crop=1, W=w, b=None, nonlinearity=None)
    assert transposed.output_shape == (2, 2, 9, 10)
    np.testing.assert_allclose(np.sum(run(conv, y) * x), np.sum(y * run(transposed, x)), rtol=1e-4)


def test_transposed_output_size_picks_a_longer_output():
    x, w = rand(2, 3, 4, 5), rand(3, 2, 2, 3)
    reference = np_transposed(x, w, (2, 3), size=(9, 16))
    fixed = TransposedConv2DLayer(InputLayer((None, 3, None, None)), 2, (2, 3), stride=(2, 3), output_size=(9, 16),
                                  W=w, b=None, nonlinearity=None)
    assert fixed.output_shape == (None, 2, 9, 16)
    np.testing.assert_allclose(run(fixed, x), reference, rtol=1e-4, atol=1e-4)
    size = aesara.shared(np.array([9, 16]))
    symbolic = Deconv2DLayer((2, 3, 4, 5), 2, (2, 3), stride=(2, 3), output_size=size, W=w, b=None,
                             nonlinearity=None)
    assert symbolic.output_shape == (2, 2, None, None)
    np.testing.assert_allclose(run(symbolic, x), reference, rtol=1e-4, atol=1e-4)


def test_transposed_conv_with_unknown_sizes_and_its_attributes():
    x, w = rand(2, 3, 4, 5), rand(3, 2, 3, 3)
    layer = TransposedConv2DLayer(InputLayer((None, 3, None, None)), 2, 3, stride=2, W=w, b=None)
    assert layer.output_shape == (None, 2, None, None)
    assert layer.crop == (0, 0) and not hasattr(layer, "pad")
    np.testing.assert_allclose(run(layer, x), np.maximum(np_transposed(x, w, 2), 0), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, crop=1), dict(crop="same", flip_filters=True)], ids=str)
def test_transposed_conv3d_matches_a_scatter_of_the_filters(kwargs):
    x, w = rand(2, 3, 3, 4, 2), rand(3, 2, 3, 1, 3)
    layer = TransposedConv3DLayer((2, 3, 3, 4, 2), 2, (3, 1, 3), W=w, b=None, nonlinearity=None, **kwargs)
    assert Deconv3DLayer is TransposedConv3DLayer and layer.W.get_value().shape == (3, 2, 3, 1, 3)
    reference = np_transposed(x, w, kwargs.get("stride", 1), kwargs.get("crop", 0), flip_filters=kwargs.get("flip_filters", False))
    out = run(layer, x)
    assert out.shape == reference.shape == layer.output_shape
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dilation", [1, 2, (3, 2)])
@pytest.mark.parametrize("known", [True, False])
def test_dilated_conv2d_is_a_correlation_with_spread_taps(dilation, known):
    x, w, b = rand(2, 3, 11, 10), rand(3, 4, 3, 2), rand(4)
    shape = (2, 3, 11, 10) if known else (None, 3, None, None)
    layer = DilatedConv2DLayer(shape, 4, (3, 2), dilation=dilation, W=w, b=b, nonlinearity=None)
    reference = np_correlate(x, w.transpose(1, 0, 2, 3), dilation=dilation) + b[:, None, None]
    out = run(layer, x)
    assert out.shape == reference.shape
    assert layer.output_shape == (reference.shape if known else (None, 4, None, None))
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: DilatedConv2DLayer((2, 3, 9, 9), 2, 3, pad="same"), "requires pad=0"),
        (lambda: DilatedConv2DLayer((2, 3, 9, 9), 2, 3, pad=1), "requires pad=0"),
        (lambda: DilatedConv2DLayer((2, 3, 9, 9), 2, 3, flip_filters=True), "requires flip_filters=False"),
        (lambda: TransposedConv2DLayer((2, 4, 9, 9), 2, 3, num_groups=2), "num_groups=1"),
    ],
)
def test_unsupported_transposed_and_dilated_settings(make, message):
    with pytest.raises(NotImplementedError, match=message):
        make()


def test_layers_work_inside_get_output():
    l_in = InputLayer((None, 1, 6))
    net = Conv1DLayer(l_in, 2, 3, pad="same", W=np.ones((2, 1, 3), "float32"), b=None, nonlinearity=None)
    x = np.arange(12, dtype="float32").reshape(2, 1, 6)
    out = aesara.function([l_in.input_var], get_output(net))(x)
    window_sums = np.convolve(x[0, 0], np.ones(3), mode="same")
    np.testing.assert_allclose(out[0, 1], window_sums)
