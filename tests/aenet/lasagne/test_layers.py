"""aenet.lasagne.layers: forward values and output shapes against numpy references.

Every layer below reads the same float32 input and all of them are compiled
into one aesara function, so the module pays for a single compilation.
"""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import numpy as np
import pytest
from scipy.signal import correlate2d

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers import (
    Conv2DLayer,
    DenseLayer,
    DropoutLayer,
    FlattenLayer,
    InputLayer,
    MaxPool2DLayer,
    NonlinearityLayer,
    ReshapeLayer,
    conv_output_length,
    get_output,
    get_output_shape,
    pool_output_length,
)
from aenet.lasagne.random import get_rng, set_rng

# Rows and columns differ everywhere, so swapped axes cannot go unnoticed.
IMAGE = (3, 9, 8)
BATCH = 2


def random_init(seed):
    """An initializer drawing N(0, 1) values from its own generator."""
    rng = np.random.RandomState(seed)
    return lambda shape: rng.standard_normal(shape).astype(np.float32)


# -- numpy references --------------------------------------------------------------------


def conv_reference(x, W, b, stride, pad, flip):
    """Zero-pad, correlate each filter with each channel (flipped: convolve), subsample."""
    rows, cols = W.shape[2:]
    if pad == "valid":
        pad = (0, 0)
    elif pad == "full":
        pad = (rows - 1, cols - 1)
    elif pad == "same":
        pad = (rows // 2, cols // 2)
    elif np.ndim(pad) == 0:
        pad = (pad, pad)
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    if flip:
        W = W[:, :, ::-1, ::-1]
    out = np.array(
        [
            [sum(correlate2d(image[c], kernel[c], mode="valid") for c in range(x.shape[1])) for kernel in W]
            for image in x
        ]
    )
    out = out[:, :, :: stride[0], :: stride[1]]
    if b is None:
        return out
    return out + (b[None, :, None, None] if b.ndim == 1 else b[None])


def window_starts(length, size, stride, ignore_border):
    """Starts of pooling windows: inside the input, until one reaches its end.

    With ``ignore_border`` a window must fit entirely; without it the last one
    may stick out.
    """
    starts, start = [], 0
    while start < length and not (ignore_border and start + size > length):
        starts.append(start)
        if start + size >= length:
            break
        start += stride
    return starts


def maxpool_reference(x, pool_size, stride, pad, ignore_border):
    """Max over windows of ``x`` padded with -inf (padding never wins)."""
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])), constant_values=-np.inf)
    row_starts = window_starts(x.shape[2], pool_size[0], stride[0], ignore_border)
    col_starts = window_starts(x.shape[3], pool_size[1], stride[1], ignore_border)
    out = np.empty(x.shape[:2] + (len(row_starts), len(col_starts)), x.dtype)
    for i, r in enumerate(row_starts):
        for j, c in enumerate(col_starts):
            out[:, :, i, j] = x[:, :, r : r + pool_size[0], c : c + pool_size[1]].max(axis=(2, 3))
    return out


def dense_reference(x, W, b):
    out = x.reshape(len(x), -1) @ W
    return out if b is None else out + b


def relu(x):
    return np.maximum(x, 0)


# -- the layers under test ---------------------------------------------------------------

# id -> (conv keyword arguments, numpy nonlinearity)
CONV_CASES = {
    "valid": (dict(filter_size=(3, 2)), None),
    "valid-string": (dict(filter_size=(2, 3), pad="valid"), None),
    "valid-noflip": (dict(filter_size=(3, 2), flip_filters=False), None),
    "full": (dict(filter_size=(3, 2), pad="full"), None),
    "full-noflip-stride": (dict(filter_size=(2, 3), pad="full", stride=(2, 1), flip_filters=False), None),
    "same": (dict(filter_size=(3, 5), pad="same"), None),
    "same-noflip-stride": (dict(filter_size=3, pad="same", stride=2, flip_filters=False), None),
    "int": (dict(filter_size=(3, 2), pad=1), None),
    "tuple-noflip": (dict(filter_size=(3, 3), pad=(2, 1), flip_filters=False), None),
    "stride": (dict(filter_size=(2, 2), stride=(2, 3)), None),
    "untied": (dict(filter_size=(3, 2), pad=(1, 0), untie_biases=True), None),
    "no-bias": (dict(filter_size=(3, 3), b=None), None),
    "rectify": (dict(filter_size=(3, 3), nonlinearity=nonlinearities.rectify), relu),
}

POOL_CASES = {
    "2": dict(pool_size=2),
    "3x2-keep-border": dict(pool_size=(3, 2), ignore_border=False),
    "overlap-keep-border": dict(pool_size=3, stride=2, ignore_border=False),
    "stride-gt-pool-keep-border": dict(pool_size=2, stride=3, ignore_border=False),
    "overlap": dict(pool_size=3, stride=(1, 2)),
    "pad": dict(pool_size=3, stride=2, pad=(1, 2)),
    "pad-stride-1": dict(pool_size=(2, 3), stride=1, pad=1),
}


def pool_args(kwargs):
    """(pool_size, stride, pad, ignore_border) as pairs, applying the layer's documented defaults."""
    pool = kwargs["pool_size"]
    pool = (pool, pool) if np.ndim(pool) == 0 else pool
    stride = kwargs.get("stride", pool)
    stride = (stride, stride) if np.ndim(stride) == 0 else stride
    pad = kwargs.get("pad", (0, 0))
    pad = (pad, pad) if np.ndim(pad) == 0 else pad
    return pool, stride, pad, kwargs.get("ignore_border", True)


@pytest.fixture(scope="module")
def net():
    """All layers on one input, their outputs for one random batch, and the batch."""
    l_in = InputLayer((None,) + IMAGE)
    built = {}
    for k, (name, (kwargs, _)) in enumerate(CONV_CASES.items()):
        kwargs = {"W": random_init(k), "b": random_init(100 + k), "nonlinearity": None, **kwargs}
        built["conv-" + name] = Conv2DLayer(l_in, num_filters=4, **kwargs)
    for name, kwargs in POOL_CASES.items():
        built["pool-" + name] = MaxPool2DLayer(l_in, **kwargs)
    built["dense-4d"] = DenseLayer(l_in, 5, W=random_init(1), b=random_init(2), nonlinearity=None)
    built["flatten"] = FlattenLayer(l_in)
    built["flatten-3"] = FlattenLayer(l_in, outdim=3)
    built["dense-2d"] = DenseLayer(built["flatten"], 6, W=random_init(3), b=init.Constant(0.5))
    built["dense-no-bias"] = DenseLayer(built["flatten"], 3, W=random_init(4), b=None, nonlinearity=None)
    built["reshape"] = ReshapeLayer(l_in, ([0], 9, -1))
    built["reshape-fixed"] = ReshapeLayer(l_in, (-1, 12))
    built["nonlinearity"] = NonlinearityLayer(l_in, nonlinearities.tanh)
    built["dropout"] = DropoutLayer(l_in, p=0.5)
    names = list(built)
    fn = aesara.function([l_in.input_var], get_output([built[n] for n in names], deterministic=True))
    x = np.random.RandomState(0).standard_normal((BATCH,) + IMAGE).astype(np.float32)
    return built, dict(zip(names, fn(x))), x, fn


def values(layer):
    return {param.name: param.get_value() for param in layer.get_params()}


# -- forward parity ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv_matches_numpy(net, name):
    built, outputs, x, _ = net
    layer = built["conv-" + name]
    activation = CONV_CASES[name][1] or (lambda v: v)
    W, b = layer.W.get_value(), values(layer).get("b")
    expected = activation(conv_reference(x, W, b, layer.stride, layer.pad, layer.flip_filters))
    assert outputs["conv-" + name].shape == expected.shape
    np.testing.assert_allclose(outputs["conv-" + name], expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", list(POOL_CASES))
def test_maxpool_matches_numpy(net, name):
    built, outputs, x, _ = net
    expected = maxpool_reference(x, *pool_args(POOL_CASES[name]))
    assert outputs["pool-" + name].shape == expected.shape
    np.testing.assert_array_equal(outputs["pool-" + name], expected)


def test_dense_matches_numpy(net):
    built, outputs, x, _ = net
    flat = x.reshape(BATCH, -1)
    for name, x_in, activation in [
        ("dense-4d", x, lambda v: v),
        ("dense-2d", flat, relu),
        ("dense-no-bias", flat, lambda v: v),
    ]:
        layer = built[name]
        expected = activation(dense_reference(x_in, layer.W.get_value(), values(layer).get("b")))
        np.testing.assert_allclose(outputs[name], expected, rtol=1e-5, atol=1e-5)


def test_shape_layers_match_numpy(net):
    _, outputs, x, _ = net
    np.testing.assert_array_equal(outputs["flatten"], x.reshape(BATCH, -1))
    np.testing.assert_array_equal(outputs["flatten-3"], x.reshape(BATCH, 3, -1))
    np.testing.assert_array_equal(outputs["reshape"], x.reshape(BATCH, 9, -1))
    np.testing.assert_array_equal(outputs["reshape-fixed"], x.reshape(-1, 12))
    np.testing.assert_allclose(outputs["nonlinearity"], np.tanh(x), rtol=1e-6)


def test_outputs_stay_float32(net):
    _, outputs, _, _ = net
    assert {out.dtype for out in outputs.values()} == {np.dtype(np.float32)}


def test_conv_graph_uses_aenet_conv_ops(net):
    """The forward conv runs through aenet's conv rewrites (CorrMM, then batched), not some fallback."""
    from aenet.cpu.corr import BatchedCorr

    fn = net[3]
    assert any(isinstance(node.op, BatchedCorr) for node in fn.maker.fgraph.apply_nodes)


# -- output shapes -----------------------------------------------------------------------


def test_output_shape_matches_actual_output(net):
    built, outputs, _, _ = net
    for name, layer in built.items():
        shape = layer.output_shape
        assert shape[0] is None and shape[1:] == outputs[name].shape[1:], name


def test_get_output_shape_for_given_input_shape(net):
    built, outputs, _, _ = net
    l_in = built["flatten"].input_layer
    layers = [built["conv-same"], built["pool-pad"], built["reshape-fixed"]]
    shapes = get_output_shape(layers, {l_in: (BATCH,) + IMAGE})
    assert shapes == [outputs[name].shape for name in ("conv-same", "pool-pad", "reshape-fixed")]
    assert get_output_shape(layers[0]) == (None, 4, 9, 8)


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        (dict(num_filters=16, filter_size=5), (None, 16, 28, 28)),
        (dict(num_filters=16, filter_size=5, pad="full"), (None, 16, 36, 36)),
        (dict(num_filters=16, filter_size=5, pad="same"), (None, 16, 32, 32)),
        (dict(num_filters=16, filter_size=5, pad="same", stride=2), (None, 16, 16, 16)),
        (dict(num_filters=8, filter_size=(3, 1), pad=(1, 2), stride=(2, 3)), (None, 8, 16, 12)),
    ],
)
def test_conv_output_shape_by_hand(kwargs, shape):
    assert Conv2DLayer((None, 3, 32, 32), **kwargs).output_shape == shape


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        (dict(pool_size=2), (None, 4, 5, 3)),
        (dict(pool_size=2, ignore_border=False), (None, 4, 6, 4)),
        (dict(pool_size=3, stride=2, ignore_border=False), (None, 4, 5, 3)),
        (dict(pool_size=2, stride=3, ignore_border=False), (None, 4, 4, 3)),
        (dict(pool_size=3, stride=2, pad=1), (None, 4, 6, 4)),
    ],
)
def test_pool_output_shape_by_hand(kwargs, shape):
    assert MaxPool2DLayer((None, 4, 11, 7), **kwargs).output_shape == shape


def test_output_length_functions_pass_unknown_lengths():
    assert conv_output_length(None, 3, 1, "same") is None
    assert pool_output_length(None, 2, 2, 0, True) is None


def test_dense_and_shape_layers_output_shape_by_hand():
    assert DenseLayer((None, 3, 4, 5), num_units=7).output_shape == (None, 7)
    assert FlattenLayer((None, 3, 4, 5)).output_shape == (None, 60)
    assert FlattenLayer((None, 3, 4, 5), outdim=3).output_shape == (None, 3, 20)
    assert FlattenLayer((2, None, 4)).output_shape == (2, None)
    assert ReshapeLayer((None, 1, 28, 28), ([0], -1)).output_shape == (None, 784)
    assert ReshapeLayer((None, 12), ([0], 3, 4)).output_shape == (None, 3, 4)
    assert ReshapeLayer((None, 12), (-1, 6)).output_shape == (None, 6)
    assert NonlinearityLayer((None, 5)).output_shape == (None, 5)
    assert DropoutLayer((None, 5)).output_shape == (None, 5)
    assert InputLayer((None, 5)).output_shape == (None, 5)


# -- construction errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Conv2DLayer((None, 3, 8), 4, 3), r"4-D.*\(None, 3, 8\)"),
        (lambda: Conv2DLayer((None, 3, 8, 8), 4, 2, pad="same"), r"odd.*\(2, 2\)"),
        (lambda: Conv2DLayer((None, 3, 8, 8), 4, (3, 3, 3)), r"\(3, 3, 3\)"),
        (lambda: Conv2DLayer((None, 3, 8, 8), 4, 3, pad="half"), r"'half'"),
        (lambda: MaxPool2DLayer((None, 3, 8), 2), r"4-D.*\(None, 3, 8\)"),
        (lambda: MaxPool2DLayer((None, 3, 8, 8), 2, pad=2), r"pad=2.*pool_size=2"),
        (lambda: MaxPool2DLayer((None, 3, 8, 8), 3, pad=1, ignore_border=False), r"pad=1.*ignore_border"),
        (lambda: DropoutLayer((None, 3), p=1.0), r"1\.0"),
        (lambda: ReshapeLayer((None, 12), ([0], 5)), r"\(None, 12\).*5"),
        (lambda: ReshapeLayer((None, 12), (-1, -1)), r"-1"),
        (lambda: ReshapeLayer((None, 12), ([2], 12)), r"\[2\]"),
        (lambda: FlattenLayer((None, 12), outdim=3).output_shape, r"\[1, 2\] for a 2-dimensional input, got 3"),
        (lambda: FlattenLayer((None, 12), outdim=0), r"at least 1, got 0"),
        (lambda: DenseLayer((None, 0), 3), r"\(None, 0\)"),
        (lambda: InputLayer((None, -1)), r"\(None, -1\)"),
        (lambda: DenseLayer((None, 4), 0), r"\(4, 0\)"),
    ],
)
def test_invalid_configurations_raise_with_the_value(make, message):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=message):
        make()


def test_input_var_must_match_shape():
    import aesara.tensor as at

    with pytest.raises(ValueError, match=r"3 dimensions.*\(None, 5\)"):
        InputLayer((None, 5), input_var=at.tensor3())


# -- dropout -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dropout_fns():
    """Training-mode outputs of dropout layers with p=0.3, with and without rescaling."""
    l_in = InputLayer((None, 1000))
    layers = [DropoutLayer(l_in, p=0.3), DropoutLayer(l_in, p=0.3, rescale=False)]
    return aesara.function([l_in.input_var], get_output(layers))


def test_dropout_zeroes_a_fraction_p_and_rescales_survivors(dropout_fns):
    x = np.random.RandomState(1).uniform(1, 2, (100, 1000)).astype(np.float32)
    rescaled, plain = dropout_fns(x)
    for out, scale in [(rescaled, 1 / 0.7), (plain, 1.0)]:
        kept = out != 0
        assert abs(1 - kept.mean() - 0.3) < 0.01
        np.testing.assert_allclose(out[kept], x[kept] * scale, rtol=1e-6)
        assert out.dtype == np.float32


def test_dropout_draws_a_new_mask_each_call(dropout_fns):
    x = np.ones((10, 1000), np.float32)
    first, second = dropout_fns(x)[0], dropout_fns(x)[0]
    assert not np.array_equal(first != 0, second != 0)


def test_dropout_deterministic_or_p0_is_identity():
    l_in = InputLayer((None, 4))
    assert get_output(DropoutLayer(l_in), deterministic=True) is l_in.input_var
    assert get_output(DropoutLayer(l_in, p=0.0)) is l_in.input_var


def test_dropout_masks_follow_the_lasagne_rng():
    saved = get_rng()
    try:
        masks = []
        for seed in (5, 5, 6):
            set_rng(np.random.RandomState(seed))
            l_in = InputLayer((None, 200))
            fn = aesara.function([l_in.input_var], get_output(DropoutLayer(l_in)))
            masks.append(fn(np.ones((5, 200), np.float32)) != 0)
    finally:
        set_rng(saved)
    assert np.array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])


def test_reshape_with_a_repeated_axis_reference_matches_its_output():
    layer = ReshapeLayer(InputLayer((2, 3, 3)), (-1, [1], [1]))
    assert layer.output_shape == (2, 3, 3)
    out = aesara.function([layer.input_layer.input_var], get_output(layer))(np.zeros((2, 3, 3), "float32"))
    assert out.shape == layer.output_shape
    assert DenseLayer(layer, 4).W.get_value().shape == (9, 4)


def test_reshape_takes_a_symbolic_size():
    n = aesara.tensor.iscalar("n")
    layer = ReshapeLayer(InputLayer((None, 12)), ([0], n, -1))
    assert layer.output_shape == (None, None, None)
    f = aesara.function([layer.input_layer.input_var, n], get_output(layer))
    assert f(np.arange(24, dtype="float32").reshape(2, 12), 3).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="invalid entry"):
        ReshapeLayer(InputLayer((None, 12)), ([0], aesara.tensor.fscalar(), -1))


def test_input_layer_marks_size_one_dimensions_broadcastable():
    assert InputLayer((None, 1, 28, 28)).input_var.broadcastable == (False, True, False, False)
    assert InputLayer((1, 5)).input_var.broadcastable == (True, False)
    assert InputLayer((None, 3)).input_var.broadcastable == (False, False)
