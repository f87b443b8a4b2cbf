"""aenet.lasagne.layers.special: bias, scale, standardize, expression, inverse and rectifier layers, against numpy."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.gradient import verify_grad

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers import (BiasLayer, Conv2DLayer, DenseLayer, ExpressionLayer, InputLayer, InverseLayer,
                                  MaxPool2DLayer, NonlinearityLayer, ParametricRectifierLayer,
                                  RandomizedRectifierLayer, ScaleLayer, get_all_params, get_output, prelu, rrelu,
                                  standardize)
from aenet.lasagne.layers import special
from aenet.lasagne.random import set_rng

RNG = np.random.RandomState(11)
SHAPE = (2, 3, 4)


def counting(shape):
    """An initializer of distinct values 0, 1, 2, ... (as floatX)."""
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def evaluate(layer, values, **kwargs):
    """``layer``'s output for ``values``, a dict input layer -> array."""
    inputs = list(values)
    return aesara.function([layer.input_var for layer in inputs], get_output(layer, **kwargs))(*values.values())


def test_public_names():
    expected = {"NonlinearityLayer", "BiasLayer", "ScaleLayer", "standardize", "ExpressionLayer", "InverseLayer",
                "TransformerLayer", "TPSTransformerLayer", "ParametricRectifierLayer", "prelu",
                "RandomizedRectifierLayer", "rrelu"}
    assert set(special.__all__) == expected
    assert special.NonlinearityLayer is NonlinearityLayer


# -- BiasLayer / ScaleLayer ---------------------------------------------------------------


@pytest.mark.parametrize("shared_axes, param_shape, broadcast", [
    ("auto", (3,), (1, 3, 1)),
    (0, (3, 4), (1, 3, 4)),
    ((1, 2), (2,), (2, 1, 1)),
    ("all", (), (1, 1, 1)),
])
@pytest.mark.parametrize("cls, attr, combine", [
    (BiasLayer, "b", np.add),
    (ScaleLayer, "scales", np.multiply),
])
def test_bias_and_scale_share_their_parameter_over_shared_axes(cls, attr, combine, shared_axes, param_shape,
                                                                 broadcast):
    layer = cls(SHAPE, counting, shared_axes=shared_axes)
    param = getattr(layer, attr)
    assert param.get_value().shape == param_shape
    x = randn(*SHAPE)
    expected = combine(x, counting(param_shape).reshape(broadcast))
    np.testing.assert_allclose(layer.get_output_for(at.constant(x)).eval(), expected, rtol=1e-6)


@pytest.mark.parametrize("cls, attr", [(BiasLayer, "b"), (ScaleLayer, "scales")])
def test_bias_and_scale_parameters_are_trainable_not_regularizable(cls, attr):
    layer = cls(InputLayer((None, 5)), name="s")
    param = getattr(layer, attr)
    assert param.name == "s.%s" % attr
    assert layer.params[param] == {"trainable"}
    assert layer.get_params(regularizable=True) == []


def test_default_bias_is_zero_and_default_scale_one():
    np.testing.assert_array_equal(BiasLayer((None, 4)).b.get_value(), np.zeros(4, np.float32))
    np.testing.assert_array_equal(ScaleLayer((None, 4)).scales.get_value(), np.ones(4, np.float32))


def test_bias_none_passes_the_input_through():
    layer = BiasLayer(SHAPE, b=None)
    x = at.tensor3()
    assert layer.b is None and layer.params == {}
    assert layer.get_output_for(x) is x


@pytest.mark.parametrize("cls, what", [(BiasLayer, "biases"), (ScaleLayer, "scales"),
                                       (ParametricRectifierLayer, "alphas")])
def test_unknown_size_on_an_unshared_axis_is_an_error(cls, what):
    cls((64, None, 3), shared_axes=(1, 2))  # the unknown axis is shared: fine
    with pytest.raises(ValueError, match="needs specified input sizes for all axes that %s" % what):
        cls((64, None, 3), shared_axes=(0, 2))


def test_bad_shared_axes_is_a_type_error():
    with pytest.raises(TypeError, match="shared_axes must be"):
        BiasLayer(SHAPE, shared_axes=1.5)


# -- standardize --------------------------------------------------------------------------


def test_standardize_subtracts_offset_and_divides_by_scale():
    x = randn(6, 3, 5)
    offset, scale = x.mean(axis=(0, 2)), x.std(axis=(0, 2))
    l_in = InputLayer((None, 3, None))
    layer = standardize(l_in, offset, scale, shared_axes=(0, 2))
    out = evaluate(layer, {l_in: x})
    np.testing.assert_allclose(out, (x - offset[None, :, None]) / scale[None, :, None], rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(0, 2)), 0, atol=1e-5)


def test_standardize_parameters_are_fixed():
    layer = standardize(InputLayer((None, 4)), np.zeros(4), np.ones(4))
    assert isinstance(layer, ScaleLayer) and isinstance(layer.input_layer, BiasLayer)
    assert get_all_params(layer) == [layer.input_layer.b, layer.scales]
    assert get_all_params(layer, trainable=True) == []
    assert get_all_params(layer, regularizable=True) == []


def test_standardize_needs_arrays():
    with pytest.raises(TypeError, match="offset as a numpy array"):
        standardize(InputLayer((None, 4)), 0.5, np.ones(4))


# -- ExpressionLayer ----------------------------------------------------------------------

FUNCTIONS = [
    (lambda X: X ** 2, lambda X: X ** 2),
    (lambda X: X.mean(-1), lambda X: X.mean(-1)),
    (lambda X: X.sum(), lambda X: np.asarray(X.sum())),
    (lambda X: X.dimshuffle(2, 0, 1), lambda X: X.transpose(2, 0, 1)),
]


@pytest.mark.parametrize("function, reference", FUNCTIONS)
def test_expression_layer_output_shape_modes(function, reference):
    x = randn(*SHAPE)
    expected = reference(x)
    l_in = InputLayer(SHAPE)
    for output_shape in (expected.shape, lambda shape: reference(np.empty(shape)).shape, "auto"):
        layer = ExpressionLayer(l_in, function, output_shape=output_shape)
        assert layer.output_shape == expected.shape
    np.testing.assert_allclose(evaluate(layer, {l_in: x}), expected, rtol=1e-5)
    assert ExpressionLayer(l_in, function).output_shape == SHAPE  # None: the input's shape


def test_expression_layer_auto_shape_with_unknown_sizes():
    l_in = InputLayer((1, None, None, 5))
    assert ExpressionLayer(l_in, lambda X: X.mean(-1), "auto").output_shape == (1, None, None)
    assert ExpressionLayer(l_in, lambda X: X[:, :, :, :2] * 2, "auto").output_shape == (1, None, None, 2)
    assert ExpressionLayer(l_in, lambda X: X.sum(), "auto").output_shape == ()


def test_expression_layer_rejects_unknown_string():
    with pytest.raises(ValueError, match="output_shape must be"):
        ExpressionLayer(SHAPE, lambda X: X, output_shape="same")


# -- InverseLayer -------------------------------------------------------------------------


def test_inverse_of_a_linear_dense_layer_multiplies_by_w_transposed():
    l_in = InputLayer((5, 7))
    dense = DenseLayer(l_in, 3, W=init.Normal(1.0), b=None, nonlinearity=None)
    inverse = InverseLayer(dense, dense)
    assert inverse.output_shape == (5, 7)
    assert inverse.get_output_shape_for([(1, 2), (3, 4), (5, 6, 7)]) == (5, 6, 7)
    x, W = randn(5, 7), dense.W.get_value()
    np.testing.assert_allclose(evaluate(inverse, {l_in: x}), x @ W @ W.T, rtol=1e-4, atol=1e-5)


def test_inverse_differentiates_bias_and_nonlinearity():
    l_in = InputLayer((4, 6))
    dense = DenseLayer(l_in, 3, W=init.Normal(1.0), b=init.Normal(1.0), nonlinearity=nonlinearities.tanh)
    l_grad = InputLayer((4, 3))
    inverse = InverseLayer(l_grad, dense)
    x, g = randn(4, 6), randn(4, 3)
    W, b = dense.W.get_value(), dense.b.get_value()
    expected = (g * (1 - np.tanh(x @ W + b) ** 2)) @ W.T
    np.testing.assert_allclose(evaluate(inverse, {l_in: x, l_grad: g}), expected, rtol=1e-4, atol=1e-5)


def test_inverse_of_max_pooling_unpools_to_the_maxima():
    l_in = InputLayer((1, 1, 4, 4))
    pool = MaxPool2DLayer(l_in, pool_size=2)
    l_up = InputLayer((1, 1, 2, 2))
    inverse = InverseLayer(l_up, pool)
    x = RNG.permutation(16).astype(np.float32).reshape(1, 1, 4, 4)  # distinct: one maximum per window
    up = randn(1, 1, 2, 2)
    expected = np.zeros_like(x)
    for i in range(2):
        for j in range(2):
            window = x[0, 0, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
            r, c = np.unravel_index(window.argmax(), window.shape)
            expected[0, 0, 2 * i + r, 2 * j + c] = up[0, 0, i, j]
    np.testing.assert_array_equal(evaluate(inverse, {l_in: x, l_up: up}), expected)


def test_inverse_of_a_convolution_has_the_input_shape():
    l_in = InputLayer((2, 3, 8, 7))
    conv = Conv2DLayer(l_in, 4, 3)
    inverse = InverseLayer(conv, conv)
    assert inverse.output_shape == (2, 3, 8, 7)
    assert evaluate(inverse, {l_in: randn(2, 3, 8, 7)}).shape == (2, 3, 8, 7)


# -- ParametricRectifierLayer -------------------------------------------------------------


def prelu_reference(x, alpha):
    return np.maximum(x, 0) + alpha * np.minimum(x, 0)


@pytest.mark.parametrize("shared_axes, resolved, alpha_shape, broadcast", [
    ("auto", (0, 2, 3), (3,), (1, 3, 1, 1)),
    ("all", (0, 1, 2, 3), (), ()),
    (0, (0,), (3, 4, 5), (1, 3, 4, 5)),
    ((0, 3), (0, 3), (3, 4), (1, 3, 4, 1)),
])
def test_prelu_alpha_shapes_and_values(shared_axes, resolved, alpha_shape, broadcast):
    def fractions(shape):
        return counting(shape) / max(1, int(np.prod(shape)))

    layer = ParametricRectifierLayer((None, 3, 4, 5), alpha=fractions, shared_axes=shared_axes)
    assert layer.shared_axes == resolved
    alpha = layer.alpha.get_value()
    assert alpha.shape == alpha_shape
    x = randn(2, 3, 4, 5)
    expected = prelu_reference(x, fractions(alpha_shape).reshape(broadcast))
    np.testing.assert_allclose(layer.get_output_for(at.constant(x)).eval(), expected, rtol=1e-6)


def test_prelu_default_alpha_and_tags():
    layer = ParametricRectifierLayer((None, 6), name="p")
    np.testing.assert_array_equal(layer.alpha.get_value(), np.full(6, 0.25, np.float32))
    assert layer.alpha.name == "p.alpha" and layer.params[layer.alpha] == {"trainable"}


def test_prelu_gradients():
    layer = ParametricRectifierLayer((2, 3, 4), alpha=init.Constant(0.3))
    x = RNG.standard_normal((2, 3, 4))
    x[np.abs(x) < 0.05] = 0.5  # keep finite differences away from the kink
    verify_grad(lambda v: layer.get_output_for(v) ** 2, [x], rng=RNG)
    # d/d alpha of sum(out * g): the sum of g * min(x, 0) over the shared axes
    g = randn(2, 3, 4)
    grad = aesara.grad((layer.get_output_for(at.constant(x.astype(np.float32))) * g).sum(), layer.alpha)
    np.testing.assert_allclose(grad.eval(), (g * np.minimum(x, 0)).sum(axis=(0, 2)), rtol=1e-5, atol=1e-6)


def test_prelu_function_linearizes_the_layer_below():
    l_in = InputLayer((3, 7))
    dense = DenseLayer(l_in, 5)
    layer = prelu(dense, alpha=init.Constant(0.1))
    assert dense.nonlinearity is nonlinearities.identity
    assert layer.input_layer is dense and isinstance(layer, ParametricRectifierLayer)
    x = randn(3, 7)
    z = x @ dense.W.get_value() + dense.b.get_value()
    np.testing.assert_allclose(evaluate(layer, {l_in: x}), prelu_reference(z, 0.1), rtol=1e-5, atol=1e-6)


# -- RandomizedRectifierLayer -------------------------------------------------------------


def test_rrelu_rejects_lower_above_upper():
    with pytest.raises(ValueError, match="lower <= upper"):
        RandomizedRectifierLayer((None, 3), lower=0.9, upper=0.1)


def test_rrelu_deterministic_and_equal_bounds_use_the_mean_slope():
    x = randn(4, 3, 2)
    layer = RandomizedRectifierLayer(x.shape, lower=0.4, upper=0.6)
    out = layer.get_output_for(at.constant(x), deterministic=True).eval()
    np.testing.assert_allclose(out, prelu_reference(x, 0.5), rtol=1e-6)
    assert out.dtype == np.float32
    fixed = RandomizedRectifierLayer(x.shape, lower=0.2, upper=0.2)
    np.testing.assert_allclose(fixed.get_output_for(at.constant(x)).eval(), prelu_reference(x, 0.2), rtol=1e-6)


def test_rrelu_slopes_lie_between_the_bounds():
    x = randn(3, 3, 6, 6)
    layer = RandomizedRectifierLayer(x.shape, lower=0.3, upper=0.8, shared_axes=0)
    out = layer.get_output_for(at.constant(x)).eval()
    np.testing.assert_array_equal(out[x > 0], x[x > 0])
    slopes = (out / x)[x < 0]
    assert slopes.min() >= 0.3 and slopes.max() < 0.8 + 1e-6 and slopes.var() > 0


@pytest.mark.parametrize("shared_axes, constant_along", [
    ("auto", [True, False, True, True]),
    ("all", [True, True, True, True]),
    (0, [True, False, False, False]),
    ((0, 3), [True, False, False, True]),
])
@pytest.mark.parametrize("known", [True, False])
def test_rrelu_draws_one_slope_per_unshared_position(shared_axes, constant_along, known):
    shape = (3, 3, 5, 5)
    layer = RandomizedRectifierLayer(shape if known else (None, 3, None, 5), shared_axes=shared_axes)
    out = layer.get_output_for(at.constant(-np.ones(shape, np.float32))).eval()
    assert [bool(np.allclose(out.var(axis=axis), 0)) for axis in range(4)] == constant_along


def test_rrelu_is_seeded_from_get_rng():
    x = at.constant(-np.ones((4, 5), np.float32))
    outputs = []
    for _ in range(2):
        set_rng(np.random.RandomState(5))
        outputs.append(RandomizedRectifierLayer((4, 5)).get_output_for(x).eval())
    np.testing.assert_array_equal(*outputs)


def test_rrelu_function_linearizes_the_layer_below():
    l_in = InputLayer((3, 7))
    dense = DenseLayer(l_in, 50)
    layer = rrelu(dense, lower=0.1, upper=0.2)
    assert dense.nonlinearity is nonlinearities.identity
    assert (layer.lower, layer.upper) == (0.1, 0.2)
    x = randn(3, 7)
    z = x @ dense.W.get_value() + dense.b.get_value()
    out = evaluate(layer, {l_in: x})
    slopes = (out / z)[z < 0]
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.2 + 1e-6
