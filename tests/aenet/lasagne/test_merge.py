"""aenet.lasagne.layers.merge: cropping, concatenation and element-wise merges.

Expected values are numpy slices and sums written out by hand.
"""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne.layers import (ConcatLayer, ElemwiseMergeLayer, ElemwiseSumLayer, InputLayer, autocrop,
                                  autocrop_array_shapes, concat, get_output)

RNG = np.random.RandomState(42)
X0 = RNG.standard_normal((2, 3, 5, 7))
X1 = RNG.standard_normal((1, 2, 3, 4))
X2 = RNG.standard_normal((6, 3, 4, 2))


def evaluate(expressions):
    return aesara.function([], expressions)()


# -- autocrop ------------------------------------------------------------------------------


SHAPES = [(1, 2, 3, 4), (5, 6, 7, 8), (5, 4, 3, 2)]


@pytest.mark.parametrize(
    "cropping, expected",
    [
        (None, SHAPES),
        ([None, "lower", "center", "upper"], [(1, 2, 3, 2), (5, 2, 3, 2), (5, 2, 3, 2)]),
        (["upper", "center"], [(1, 2, 3, 4), (1, 2, 7, 8), (1, 2, 3, 2)]),  # padded with None
    ],
)
def test_autocrop_array_shapes_takes_the_smallest_size_of_cropped_axes(cropping, expected):
    assert autocrop_array_shapes(SHAPES, cropping) == expected


def test_autocrop_array_shapes_leaves_unknown_sizes_unknown():
    assert autocrop_array_shapes([(None, 4), (3, 2)], ["lower", "lower"]) == [(None, 2), (None, 2)]


def test_autocrop_array_shapes_errors():
    with pytest.raises(ValueError, match="'bad'"):
        autocrop_array_shapes(SHAPES, ["lower", "bad"])
    with pytest.raises(ValueError, match=r"\[4, 3\]"):
        autocrop_array_shapes([(1, 2, 3, 4), (5, 6, 7)], ["lower"])


@pytest.mark.parametrize(
    "cropping, inputs, expected",
    [
        (None, [X0, X1], [X0, X1]),
        ([None, "lower", "center", "upper"], [X0, X1], [X0[:, :2, 1:4, 3:], X1]),
        (["lower"] * 4, [X0, X2], [X0[:, :, :4, :2], X2[:2, :, :, :]]),
        (["center"] * 4, [X0, X2], [X0[:, :, :4, 2:4], X2[2:4]]),
        (["upper"] * 4, [X0, X2], [X0[:, :, 1:, 5:], X2[4:]]),
        (["center"] * 4, [X0, X1, X2], [X0[:1, :2, 1:4, 2:4], X1[:, :, :, 1:3], X2[2:3, :2, :3, :]]),
        (["lower", "upper"], [X0, X1, X2, X1], [X0[:1, 1:], X1[:1, :2], X2[:1, 1:], X1]),
    ],
)
def test_autocrop_crops_each_input_to_the_smallest(cropping, inputs, expected):
    outputs = evaluate(autocrop([aesara.shared(x) for x in inputs], cropping)) if cropping else inputs
    assert len(outputs) == len(expected)
    for out, want in zip(outputs, expected):
        np.testing.assert_array_equal(out, want)


def test_autocrop_none_returns_the_inputs_themselves():
    inputs = [at.matrix(), at.matrix()]
    assert autocrop(inputs, None) is inputs


def test_autocrop_errors():
    with pytest.raises(ValueError, match="'worse'"):
        autocrop([aesara.shared(X0), aesara.shared(X1)], ["lower", "worse"])
    with pytest.raises(ValueError, match="dimensionalities"):
        autocrop([aesara.shared(X0), aesara.shared(X1[0])], ["lower"])


# -- ConcatLayer ---------------------------------------------------------------------------


def test_concat_output_shape():
    layer = ConcatLayer([(3, 2), (3, 5)], axis=1)
    assert layer.output_shape == (3, 7)
    assert layer.get_output_shape_for([(3, 2), (3, None)]) == (3, None)
    assert layer.get_output_shape_for([(None, 2), (3, 5)]) == (3, 7)
    assert layer.get_output_shape_for([(None, 2), (None, 5)]) == (None, 7)
    assert ConcatLayer([(2, 4, 5), (2, 4, 1)], axis=-1).output_shape == (2, 4, 6)
    assert concat is ConcatLayer


@pytest.mark.parametrize("shapes", [[(4, None), (3, 5)], [(3, 2), (4, None)], [(None, 2), (3, 5), (4, 5)]])
def test_concat_mismatched_shapes_raise(shapes):
    with pytest.raises(ValueError, match="concatenation axis"):
        ConcatLayer([(3, 2), (3, 5)]).get_output_shape_for(shapes)


def test_concat_cropping_never_crops_the_concatenation_axis():
    assert ConcatLayer([(3, 2), (4, 5)], axis=0, cropping=["lower"] * 2).output_shape == (7, 2)
    assert ConcatLayer([(3, 2), (4, 5)], axis=1, cropping=["lower"] * 2).output_shape == (3, 7)
    assert ConcatLayer([(3, 2), (4, 5)], axis=-1, cropping=["lower"]).output_shape == (3, 7)
    assert ConcatLayer([(3, 2), (4, 5)], axis=0, cropping=["lower", "upper"]).cropping == [None, "upper"]


@pytest.mark.parametrize(
    "axis, cropping, expected",
    [
        (1, None, lambda a, b: np.hstack([a, b[:5]])),
        (0, ["lower", "lower"], lambda a, b: np.vstack([a[:, :3], b[:, :3]])),
        (1, ["upper", "upper"], lambda a, b: np.hstack([a[1:], b])),
        (-1, ["center"], lambda a, b: np.hstack([a[:, :], b[:, :]])),
    ],
)
def test_concat_values(axis, cropping, expected):
    a = RNG.standard_normal((5, 3)).astype(np.float32)
    b = RNG.standard_normal((4, 4)).astype(np.float32)
    if cropping is None or axis == -1:
        b = RNG.standard_normal((5, 4)).astype(np.float32)
    l_a, l_b = InputLayer((None, 3)), InputLayer((None, 4))
    out = get_output(ConcatLayer([l_a, l_b], axis=axis, cropping=cropping))
    result = aesara.function([l_a.input_var, l_b.input_var], out)(a, b)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected(a, b))


# -- ElemwiseMergeLayer / ElemwiseSumLayer ------------------------------------------------


A = np.array([[0.0, 1.0], [2.0, -3.0]], dtype=np.float32)
B = np.array([[1.0, -2.0], [4.0, 5.0]], dtype=np.float32)


@pytest.mark.parametrize("merge, expected", [(at.mul, A * B), (at.maximum, np.maximum(A, B)), (at.sub, A - B)])
def test_elemwise_merge_folds_the_inputs(merge, expected):
    layer = ElemwiseMergeLayer([(2, 2), (2, 2)], merge_function=merge)
    result = evaluate(layer.get_output_for([aesara.shared(A), aesara.shared(B)]))
    np.testing.assert_array_equal(result, expected)


def test_elemwise_merge_output_shape():
    layer = ElemwiseSumLayer([(3, 2), (3, 2)])
    assert layer.output_shape == (3, 2)
    assert layer.get_output_shape_for([(3, 2), (3, None)]) == (3, 2)
    assert layer.get_output_shape_for([(None, 2), (3, 2)]) == (3, 2)
    assert layer.get_output_shape_for([(None, 2), (None, 2)]) == (None, 2)
    assert layer.get_output_shape_for([(None, 1, 5), (None, 3, 5), (None, 1, 5)]) == (None, 3, 5)


@pytest.mark.parametrize(
    "shapes", [[(3, None), (4, 2)], [(3, 2), (4, None)], [(None, 2), (3, 2), (4, 2)], [(3, 2), (3, 2, 1)]]
)
def test_elemwise_merge_mismatched_shapes_raise(shapes):
    with pytest.raises(ValueError, match="match|dimensionalities"):
        ElemwiseSumLayer([(3, 2), (3, 2)]).get_output_shape_for(shapes)


def test_elemwise_merge_broadcasts_axes_of_size_one():
    """An input known to have size 1 on an axis is broadcast, even when its variable does not say so."""
    l_a = InputLayer((None, 3, 4))
    l_b = InputLayer((None, 3, 4))
    l_row = ElemwiseSumLayer([l_b], coeffs=2)  # output variable not marked broadcastable
    from aenet.lasagne.layers import ReshapeLayer

    l_narrow = ReshapeLayer(l_row, ([0], 12, 1))
    l_wide = ReshapeLayer(l_a, ([0], 12, 1))
    l_wide = ConcatLayer([l_wide, l_wide, l_wide], axis=2)  # (None, 12, 3)
    layer = ElemwiseMergeLayer([l_wide, l_narrow], merge_function=at.mul)
    assert layer.output_shape == (None, 12, 3)
    a = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    b = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    result = aesara.function([l_a.input_var, l_b.input_var], get_output(layer))(a, b)
    wide = np.repeat(a.reshape(2, 12, 1), 3, axis=2)
    np.testing.assert_allclose(result, wide * (2 * b).reshape(2, 12, 1), rtol=1e-6)


def test_elemwise_sum_applies_coefficients():
    layer = ElemwiseSumLayer([(2, 2), (2, 2)], coeffs=[2, -1])
    ints = [aesara.shared(A.astype(np.int64)), aesara.shared(B.astype(np.int64))]
    np.testing.assert_array_equal(evaluate(layer.get_output_for(ints)), 2 * A - B)
    half = ElemwiseSumLayer([(2, 2), (2, 2)], coeffs=0.5)
    result = evaluate(half.get_output_for([aesara.shared(A), aesara.shared(B)]))
    assert result.dtype == np.float32  # python float coefficients keep float32 graphs float32
    np.testing.assert_allclose(result, 0.5 * A + 0.5 * B)
    assert half.coeffs == [0.5, 0.5]


def test_elemwise_sum_symbolic_coefficient():
    c = aesara.shared(np.float32(3.0))
    layer = ElemwiseSumLayer([(2, 2), (2, 2)], coeffs=[1, c])
    np.testing.assert_allclose(evaluate(layer.get_output_for([aesara.shared(A), aesara.shared(B)])), A + 3 * B)


def test_elemwise_sum_cropped():
    x0, x1 = RNG.standard_normal((5, 3)), RNG.standard_normal((4, 2))
    layer = ElemwiseSumLayer([(5, 3), (4, 2)], coeffs=[2, -1], cropping=["lower"] * 2)
    assert layer.output_shape == (4, 2)
    result = evaluate(layer.get_output_for([aesara.shared(x0), aesara.shared(x1)]))
    np.testing.assert_allclose(result, 2 * x0[:4, :2] - x1)


def test_elemwise_sum_wrong_number_of_coeffs_raises():
    with pytest.raises(ValueError, match="3 coeffs for 2 incomings"):
        ElemwiseSumLayer([(2, 2), (2, 2)], coeffs=[2, 3, -1])


def test_merge_layers_have_no_params_and_keep_their_inputs():
    l_a, l_b = InputLayer((None, 2)), InputLayer((None, 2))
    for layer in (ConcatLayer([l_a, l_b]), ElemwiseSumLayer([l_a, l_b], name="s")):
        assert layer.get_params() == []
        assert layer.input_layers == [l_a, l_b]
