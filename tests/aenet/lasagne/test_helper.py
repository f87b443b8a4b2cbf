"""aenet.lasagne.layers: parameters, tags, network walking and get_output routing."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne import init
from aenet.lasagne.layers import (
    Conv2DLayer,
    DenseLayer,
    DropoutLayer,
    InputLayer,
    Layer,
    MaxPool2DLayer,
    MergeLayer,
    count_params,
    get_all_layers,
    get_all_param_values,
    get_all_params,
    get_output,
    get_output_shape,
    set_all_param_values,
)
from aenet.lasagne.utils import create_param


def small_net():
    """input (1, 6, 6) -> conv 4x3x3 -> pool 2 -> dense 5 -> dense 3, layers named."""
    l_in = InputLayer((None, 1, 6, 6), name="in")
    conv = Conv2DLayer(l_in, 4, 3, name="conv")
    pool = MaxPool2DLayer(conv, 2, name="pool")
    hidden = DenseLayer(pool, 5, name="hidden")
    out = DenseLayer(hidden, 3, name="out")
    return [l_in, conv, pool, hidden, out]


# Hand counts: conv W 4*1*3*3 = 36, b 4; conv out 4x4x4 pooled to 4x2x2 = 16 features;
# hidden W 16*5 = 80, b 5; out W 5*3 = 15, b 3.
WEIGHTS = 36 + 80 + 15
BIASES = 4 + 5 + 3


# -- parameters and tags -----------------------------------------------------------------


def test_params_are_named_float32_shared_variables():
    l_in, conv, pool, hidden, out = small_net()
    names = ["conv.W", "conv.b", "hidden.W", "hidden.b", "out.W", "out.b"]
    assert [p.name for p in get_all_params(out)] == names
    assert {p.dtype for p in get_all_params(out)} == {"float32"}
    assert conv.W.get_value().shape == (4, 1, 3, 3) and conv.b.get_value().shape == (4,)
    assert hidden.W.get_value().shape == (16, 5)
    unnamed = DenseLayer((None, 2), 3)
    assert [p.name for p in unnamed.get_params()] == ["W", "b"]


def test_input_layer_makes_a_floatX_variable_of_the_right_rank():
    assert InputLayer((None, 3, 4)).input_var.type == at.ftensor3().type
    assert InputLayer((None, 3)).input_var.name == "input"
    assert InputLayer((None, 3), name="x").input_var.name == "x.input"
    given = at.dmatrix()
    assert InputLayer((2, 3), input_var=given).input_var is given


def test_biases_are_trainable_but_not_regularizable():
    layer = DenseLayer((None, 2), 3)
    assert layer.params[layer.W] == {"trainable", "regularizable"}
    assert layer.params[layer.b] == {"trainable"}
    assert layer.get_params(regularizable=True) == [layer.W]
    assert layer.get_params(regularizable=False) == [layer.b]
    assert layer.get_params(trainable=True) == [layer.W, layer.b]
    assert layer.get_params(trainable=False) == []


def test_add_param_tags_and_name_prefix():
    layer = Layer((None, 3), name="custom")
    frozen = layer.add_param(init.Constant(1.0), (3,), name="frozen", trainable=False)
    extra = layer.add_param(init.Constant(2.0), (2, 2), name="extra", special=True)
    nameless = layer.add_param(init.Constant(0.0), (1,))
    assert frozen.name == "custom.frozen" and extra.name == "custom.extra" and nameless.name is None
    assert layer.get_params(trainable=True) == [extra, nameless]
    assert layer.get_params(special=True) == [extra]
    assert layer.get_params(special=False) == [frozen, nameless]
    assert layer.get_params(trainable=True, regularizable=True, special=False) == [nameless]
    np.testing.assert_array_equal(extra.get_value(), np.full((2, 2), 2, np.float32))


def test_untied_conv_bias_has_the_output_shape():
    layer = Conv2DLayer((None, 2, 7, 5), 3, (3, 2), untie_biases=True)
    assert layer.b.get_value().shape == (3, 5, 4)


def test_layers_without_bias_have_only_W():
    dense = DenseLayer((None, 4), 2, b=None)
    conv = Conv2DLayer((None, 2, 7, 5), 3, 3, b=None)
    assert dense.b is None and dense.get_params() == [dense.W]
    assert conv.b is None and conv.get_params() == [conv.W]


def test_count_params_by_hand():
    out = small_net()[-1]
    assert count_params(out) == WEIGHTS + BIASES
    assert count_params(out, regularizable=True) == WEIGHTS
    assert count_params(out, regularizable=False) == BIASES
    assert count_params(out, trainable=False) == 0


def test_shared_weights_are_listed_once():
    l_in = InputLayer((None, 4))
    first = DenseLayer(l_in, 4)
    second = DenseLayer(first, 4, W=first.W)
    assert second.W is first.W
    assert get_all_params(second) == [first.W, first.b, second.b]
    assert count_params(second) == 16 + 4 + 4


# -- create_param ------------------------------------------------------------------------


def test_create_param_keeps_an_arrays_dtype_and_copies_nothing_else():
    value = np.arange(6.0).reshape(2, 3)
    param = create_param(value, (2, 3), name="p")
    assert param.dtype == "float64" and param.name == "p"
    np.testing.assert_array_equal(param.get_value(), value)
    shared = aesara.shared(np.zeros((2, 3), np.float32), name="mine")
    assert create_param(shared, (2, 3), name="other") is shared and shared.name == "mine"


@pytest.mark.parametrize(
    "spec, shape, message",
    [
        (np.zeros((2, 3)), (3, 2), r"'p' has shape \(2, 3\), expected \(3, 2\)"),
        (aesara.shared(np.zeros(4)), (5,), r"\(4,\), expected \(5,\)"),
        (lambda shape: np.zeros((1,)), (2,), r"\(1,\), expected \(2,\)"),
        (init.Constant(), (2, None), r"\(2, None\)"),
        (init.Constant(), (2, -1), r"\(2, -1\)"),
    ],
)
def test_create_param_errors_name_the_value(spec, shape, message):
    with pytest.raises(ValueError, match=message):
        create_param(spec, shape, name="p")


def test_create_param_refuses_a_spec_of_another_kind_with_a_type_error():
    with pytest.raises(TypeError, match="cannot create parameter 'p'.*'zeros'"):
        create_param("zeros", (2,), name="p")


# -- walking the network -----------------------------------------------------------------


def test_get_all_layers_orders_inputs_first():
    l_in, conv, pool, hidden, out = small_net()
    assert get_all_layers(out) == [l_in, conv, pool, hidden, out]
    assert get_all_layers([hidden, out]) == [l_in, conv, pool, hidden, out]
    assert get_all_layers(out, treat_as_input=[pool]) == [pool, hidden, out]
    assert get_all_layers(l_in) == [l_in]


def test_branches_share_their_common_layers():
    l_in = InputLayer((None, 3))
    trunk = DenseLayer(l_in, 4)
    left, right = DenseLayer(trunk, 2), DenseLayer(trunk, 5)
    assert get_all_layers([left, right]) == [l_in, trunk, left, right]


# -- get/set param values ----------------------------------------------------------------


def test_param_values_round_trip_and_are_copies():
    out = small_net()[-1]
    values = get_all_param_values(out)
    assert [v.shape for v in values] == [p.get_value().shape for p in get_all_params(out)]
    rng = np.random.RandomState(0)
    new = [rng.standard_normal(v.shape).astype(np.float32) for v in values]
    set_all_param_values(out, new)
    for got, wanted in zip(get_all_param_values(out), new):
        np.testing.assert_array_equal(got, wanted)
    got = get_all_param_values(out)
    got[0][...] = 123
    assert not np.any(get_all_param_values(out)[0] == 123)


def test_set_param_values_casts_to_the_param_dtype():
    out = small_net()[-1]
    values = [v.astype(np.float64) + 1 for v in get_all_param_values(out)]
    set_all_param_values(out, values)
    assert all(v.dtype == np.float32 for v in get_all_param_values(out))
    np.testing.assert_allclose(get_all_param_values(out)[0], values[0], rtol=1e-6)


def test_set_param_values_by_tag():
    out = small_net()[-1]
    biases = [np.full(v.shape, 7, np.float32) for v in get_all_param_values(out, regularizable=False)]
    before = get_all_param_values(out, regularizable=True)
    set_all_param_values(out, biases, regularizable=False)
    assert all(np.all(v == 7) for v in get_all_param_values(out, regularizable=False))
    for got, wanted in zip(get_all_param_values(out, regularizable=True), before):
        np.testing.assert_array_equal(got, wanted)


def test_set_param_values_wrong_count_raises_and_sets_nothing():
    out = small_net()[-1]
    before = get_all_param_values(out)
    with pytest.raises(ValueError, match=r"got 5 values for 6 parameters"):
        set_all_param_values(out, [np.zeros_like(v) for v in before[:5]])
    for got, wanted in zip(get_all_param_values(out), before):
        np.testing.assert_array_equal(got, wanted)


def test_set_param_values_wrong_shape_names_the_param_and_sets_nothing():
    out = small_net()[-1]
    before = get_all_param_values(out)
    bad = [np.zeros_like(v) for v in before]
    bad[2] = np.zeros((5, 16), np.float32)
    with pytest.raises(ValueError, match=r"'hidden\.W' of shape \(16, 5\).*\(5, 16\)"):
        set_all_param_values(out, bad)
    for got, wanted in zip(get_all_param_values(out), before):
        np.testing.assert_array_equal(got, wanted)


# -- get_output routing ------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain():
    """input (3) -> dense 3 (identity W, b = 1) -> dense 2 (W all ones, no bias)."""
    l_in = InputLayer((None, 3))
    first = DenseLayer(l_in, 3, W=np.eye(3, dtype=np.float32), b=init.Constant(1.0), nonlinearity=None)
    second = DenseLayer(first, 2, W=np.ones((3, 2), np.float32), b=None, nonlinearity=None)
    return l_in, first, second


def test_get_output_default_uses_input_var(chain):
    l_in, first, second = chain
    fn = aesara.function([l_in.input_var], get_output(second))
    # (x + 1) summed over the 3 features, in both output columns
    np.testing.assert_allclose(fn(np.array([[1, 2, 3]], np.float32)), [[9, 9]])


def test_get_output_accepts_an_expression_an_array_or_a_dict(chain):
    l_in, first, second = chain
    x = at.fmatrix("x")
    fn = aesara.function([x], get_output([first, second], x))
    out_first, out_second = fn(np.zeros((1, 3), np.float32))
    np.testing.assert_allclose(out_first, [[1, 1, 1]])
    np.testing.assert_allclose(out_second, [[3, 3]])
    np.testing.assert_allclose(get_output(second, np.zeros((1, 3), np.float32)).eval(), [[3, 3]])
    h = at.fmatrix("h")
    skip = aesara.function([h], get_output(second, {first: h}))
    np.testing.assert_allclose(skip(np.full((1, 3), 2, np.float32)), [[6, 6]])


def test_get_output_passes_keywords_to_layers():
    l_in = InputLayer((None, 5))
    dropped = DropoutLayer(l_in)
    assert get_output(dropped, deterministic=True) is l_in.input_var
    assert get_output(dropped) is not l_in.input_var

    class Scale(Layer):
        def get_output_for(self, input, factor=1, **kwargs):
            return input * factor

    scaled = Scale(dropped)
    x = np.ones((1, 5), np.float32)
    np.testing.assert_allclose(get_output(scaled, x, deterministic=True, factor=3).eval(), 3 * x)


def test_get_output_single_input_with_two_input_layers_raises():
    a, b = InputLayer((None, 2), name="a"), InputLayer((None, 2), name="b")
    net = [DenseLayer(a, 1), DenseLayer(b, 1)]
    with pytest.raises(ValueError, match=r"2 input layers"):
        get_output(net, at.fmatrix())
    outs = get_output(net, {a: at.fmatrix(), b: at.fmatrix()})
    assert len(outs) == 2


def test_get_output_of_a_layer_built_from_a_shape_needs_a_dict():
    layer = DenseLayer((None, 2), 1)
    with pytest.raises(ValueError, match=r"built from a shape"):
        get_output(layer)
    x = at.fmatrix()
    assert get_output(layer, {layer: x}) is x
    assert get_output_shape(layer) == (None, 1)
    assert get_output_shape(layer, {layer: (4, 2)}) == (4, 2)


def test_get_output_shape_routes_like_get_output(chain):
    l_in, first, second = chain
    assert get_output_shape([first, second]) == [(None, 3), (None, 2)]
    assert get_output_shape(second, (7, 3)) == (7, 2)


class Difference(MergeLayer):
    """first input minus second: a two-input layer for the contract tests."""

    def get_output_shape_for(self, input_shapes):
        return input_shapes[0]

    def get_output_for(self, inputs, **kwargs):
        return inputs[0] - inputs[1]


def diamond():
    """in -> a (linear dense 3), in -> b (linear dense 3), Difference(b, a)."""
    l_in = InputLayer((None, 2), name="in")
    a = DenseLayer(l_in, 3, nonlinearity=None, name="a")
    b = DenseLayer(l_in, 3, nonlinearity=None, name="b")
    return l_in, a, b, Difference([b, a], name="diff")


def test_get_all_layers_visits_merge_inputs_in_their_order():
    l_in, a, b, diff = diamond()
    assert get_all_layers(diff) == [l_in, b, a, diff]
    assert get_all_layers(diff, treat_as_input=[b]) == [b, l_in, a, diff]
    assert get_all_layers([a, diff]) == [l_in, a, b, diff]


def test_get_all_layers_walks_a_deep_chain_without_recursion():
    layer = InputLayer((None, 2))
    for _ in range(3000):
        layer = Layer(layer)
    assert len(get_all_layers(layer)) == 3001


def test_get_output_feeds_a_merge_layer_its_inputs_in_order():
    l_in, a, b, diff = diamond()
    x = np.array([[1.0, -2.0]], dtype="float32")
    f = aesara.function([l_in.input_var], get_output(diff))
    expected = (x @ b.W.get_value() + b.b.get_value()) - (x @ a.W.get_value() + a.b.get_value())
    np.testing.assert_allclose(f(x), expected, rtol=1e-6)
    assert get_output_shape(diff, {l_in: (7, 2)}) == (7, 3)
    assert count_params(diff) == 2 * (2 * 3 + 3)


def test_merge_layer_built_from_shapes_needs_its_inputs_in_a_dict():
    merged = Difference([(None, 3), (None, 3)])
    assert merged.input_layers == [None, None]
    assert get_all_layers(merged) == [merged]
    with pytest.raises(ValueError, match="built from a shape"):
        get_output(merged)
    assert get_output_shape(merged) == (None, 3)


class Recorder(Layer):
    """Records the keywords its get_output_for receives; accepts ``scale``."""

    def get_output_for(self, input, scale=1, **kwargs):
        self.received = dict(kwargs, scale=scale)
        return input * scale


def test_get_output_passes_exactly_the_keywords_given():
    layer = Recorder(InputLayer((None, 2)))
    get_output(layer)
    assert layer.received == {"scale": 1}
    get_output(layer, deterministic=True, scale=3)
    assert layer.received == {"deterministic": True, "scale": 3}


def test_an_unused_keyword_is_warned_of_with_a_close_name():
    layer = Recorder(InputLayer((None, 2)))
    with pytest.warns(UserWarning, match=r"unused kwargs:\n\tscael \(perhaps you meant scale\)"):
        get_output(layer, scael=2)


def test_none_in_the_inputs_feeds_layers_built_from_a_shape():
    layer = Recorder((None, 2))
    x = at.matrix()
    assert get_output(layer, {None: x}, scale=2).eval({x: np.ones((1, 2), x.dtype)}).tolist() == [[2.0, 2.0]]
    assert get_output_shape(layer, {None: (5, 2)}) == (5, 2)


def test_a_symbolic_output_shape_is_refused():
    class Symbolic(Layer):
        def get_output_shape_for(self, input_shape):
            return at.vector().shape

    with pytest.raises(ValueError, match="symbolic output shape"):
        Symbolic((None, 2)).output_shape
