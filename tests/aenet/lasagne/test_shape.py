"""aenet.lasagne.layers.shape: flatten, reshape, dimshuffle, pad and slice, against numpy."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.gradient import verify_grad

from aenet.lasagne.layers import (DimshuffleLayer, FlattenLayer, InputLayer, PadLayer, ReshapeLayer, SliceLayer,
                                  dimshuffle, flatten, get_output, get_output_shape, pad, reshape)

RNG = np.random.RandomState(3)


def run(layer, x, input_layer):
    return aesara.function([input_layer.input_var], get_output(layer))(x)


def test_shortcuts():
    assert (flatten, reshape, dimshuffle, pad) == (FlattenLayer, ReshapeLayer, DimshuffleLayer, PadLayer)


# -- FlattenLayer / ReshapeLayer ----------------------------------------------------------


@pytest.mark.parametrize("outdim, expected", [(1, (120,)), (2, (2, 60)), (3, (2, 3, 20)), (4, (2, 3, 4, 5))])
def test_flatten_keeps_outdim_minus_one_leading_axes(outdim, expected):
    l_in = InputLayer((2, 3, 4, 5))
    layer = FlattenLayer(l_in, outdim=outdim)
    assert layer.output_shape == expected
    x = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(run(layer, x, l_in), x.reshape(expected))


def test_flatten_shape_with_unknown_sizes():
    assert FlattenLayer((2, 3)).get_output_shape_for((2, 3, None, 5)) == (2, None)
    assert FlattenLayer((None, 3, 4)).output_shape == (None, 12)


def test_flatten_outdim_below_one_raises():
    with pytest.raises(ValueError, match="0"):
        FlattenLayer((2, 3, 4), outdim=0)


def test_reshape_with_a_symbolic_size():
    x = at.tensor3()
    batch, steps, _ = x.shape
    l_in = InputLayer((None, None, None), input_var=x)
    layer = ReshapeLayer(l_in, (batch * steps, [2]))
    assert layer.output_shape == (None, None)
    fn = aesara.function([x], get_output(layer))
    assert fn(np.ones((3, 5, 6), np.float32)).shape == (15, 6)
    assert fn(np.ones((4, 5, 7), np.float32)).shape == (20, 7)


def test_reshape_rejects_a_vector_size():
    with pytest.raises(ValueError):
        ReshapeLayer((16, 3, 5, 7, 10), (16, 3, at.vector(), 7, 10))


# -- DimshuffleLayer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, reference",
    [
        ([4, 3, 2, 1, 0], lambda x: x.transpose(4, 3, 2, 1, 0)),
        ([0, 1, 2, 3, 4, "x"], lambda x: x[..., np.newaxis]),
        ([0, 1, 3, 4], lambda x: x[:, :, 0]),
        ([3, "x", 1, 0, 4], lambda x: x[:, :, 0].transpose(2, 1, 0, 3)[:, np.newaxis]),
    ],
)
def test_dimshuffle_values(pattern, reference):
    l_in = InputLayer((2, 3, 1, 5, 7))
    layer = DimshuffleLayer(l_in, pattern)
    x = RNG.standard_normal((2, 3, 1, 5, 7)).astype(np.float32)
    expected = reference(x)
    assert layer.output_shape == expected.shape
    np.testing.assert_array_equal(run(layer, x, l_in), expected)


def test_dimshuffle_drops_an_unknown_axis_of_size_one_at_run_time():
    l_in = InputLayer((2, None, 5))
    layer = DimshuffleLayer(l_in, (2, 0))
    assert layer.output_shape == (5, 2)
    x = RNG.standard_normal((2, 1, 5)).astype(np.float32)
    np.testing.assert_array_equal(run(layer, x, l_in), x[:, 0].T)


@pytest.mark.parametrize(
    "pattern, message",
    [
        (["q"], "'q'"),
        ([0, 0, 1, 3, 4], "more than once"),
        ([0, 1, 2, 4, 42], "axis 42"),
        ([0, 1, 2, 4], "drops axis 3 of size 5"),
    ],
)
def test_dimshuffle_invalid_patterns_raise(pattern, message):
    with pytest.raises(ValueError, match=message):
        DimshuffleLayer((2, 3, None, 5, 7), pattern)


# -- PadLayer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "width, input_shape, output_shape",
    [
        (3, (2, 3, 4, 5), (2, 3, 10, 11)),
        ((2, 3), (2, 3, 4, 5), (2, 3, 8, 11)),
        (((1, 2), (3, 4)), (2, 3, 4, 5), (2, 3, 7, 12)),
        (3, (2, 3, None, 5), (2, 3, None, 11)),
        ((2, 3), (2, 3, 4, None), (2, 3, 8, None)),
        (((1, 2), (3, 4)), (None, 3, None, None), (None, 3, None, None)),
    ],
)
def test_pad_output_shape(width, input_shape, output_shape):
    assert PadLayer(input_shape, width=width).output_shape == output_shape


@pytest.mark.parametrize(
    "width, val, batch_ndim, np_width",
    [
        (2, 0, 2, [(0, 0), (0, 0), (2, 2), (2, 2)]),
        ((1, 0), -1.5, 2, [(0, 0), (0, 0), (1, 1), (0, 0)]),
        (((0, 2), (3, 1)), 7, 2, [(0, 0), (0, 0), (0, 2), (3, 1)]),
        (1, 0.25, 1, [(0, 0), (1, 1), (1, 1), (1, 1)]),
        ([(1, 0)], 0, 3, [(0, 0), (0, 0), (0, 0), (1, 0)]),  # fewer widths than axes: the rest unpadded
    ],
)
def test_pad_values(width, val, batch_ndim, np_width):
    l_in = InputLayer((None, 2, 3, 4))
    layer = PadLayer(l_in, width=width, val=val, batch_ndim=batch_ndim)
    x = RNG.standard_normal((2, 2, 3, 4)).astype(np.float32)
    result = run(layer, x, l_in)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, np.pad(x, np_width, constant_values=val))
    assert layer.output_shape == (None,) + result.shape[1:]


def test_pad_gradient():
    layer = PadLayer((None, 2, 3, 4), width=((1, 2), (0, 1)), val=3.0)
    verify_grad(lambda x: layer.get_output_for(x) ** 2, [RNG.standard_normal((2, 2, 3, 4))], rng=RNG)


@pytest.mark.parametrize("width", [-1, ((1, 2, 3),), (1, 1, 1), 1.5])
def test_pad_invalid_width_raises(width):
    with pytest.raises(ValueError, match="width"):
        PadLayer((None, 2, 3, 4), width=width).output_shape


# -- SliceLayer ---------------------------------------------------------------------------


X = np.arange(30, dtype=np.float32).reshape(3, 5, 2)


@pytest.mark.parametrize(
    "indices, axis, expected",
    [
        (0, 0, X[0]),
        (slice(3, 5), 1, X[:, 3:5]),
        (-1, -1, X[:, :, -1]),
        (slice(None, None, 2), 1, X[:, ::2]),
        (slice(-2, None), -2, X[:, -2:]),
        (np.int64(1), 1, X[:, 1]),
    ],
)
def test_slice_values_and_shape(indices, axis, expected):
    l_in = InputLayer(X.shape)
    layer = SliceLayer(l_in, indices=indices, axis=axis)
    assert layer.output_shape == expected.shape
    np.testing.assert_array_equal(run(layer, X, l_in), expected)


def test_slice_of_an_unknown_axis():
    l_in = InputLayer((3, None, 2))
    layer = SliceLayer(l_in, indices=slice(3, 5), axis=1)
    assert get_output_shape(layer) == (3, None, 2)
    np.testing.assert_array_equal(run(layer, X, l_in), X[:, 3:5])
    assert SliceLayer(l_in, indices=0, axis=1).output_shape == (3, 2)


def test_slice_rejects_other_indices():
    with pytest.raises(TypeError, match=r"\[0, 1\]"):
        SliceLayer((3, 5), indices=[0, 1])


def test_reshape_an_unknown_axis_referred_to_twice_leaves_the_inferred_size_unknown():
    layer = ReshapeLayer(InputLayer((2, 5, None)), (-1, [2], [2]))
    assert layer.output_shape == (None, None, None)
    out = layer.get_output_for(aesara.shared(np.ones((2, 5, 5), "float32"))).eval()
    assert out.shape == (2, 5, 5)


def test_reshape_with_a_symbolic_input_shape_knows_no_sizes():
    x = at.tensor3()
    rows, cols, depth = x.shape
    layer = ReshapeLayer(InputLayer((None, None, None)), (rows * cols, [2]))
    assert layer.get_output_shape_for((rows, cols, depth)) == (None, None)


def test_reshape_size_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match=r"sizes do not match \(60 against 70\)"):
        ReshapeLayer(InputLayer((3, 4, 5)), (7, 10))
