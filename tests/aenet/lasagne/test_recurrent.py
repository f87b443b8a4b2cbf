"""Recurrent layers against loops written here in NumPy."""
import aenet.lasagne  # noqa: F401  (configures aesara first)
import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne import init
from aenet.lasagne.layers import (
    CustomRecurrentLayer,
    DenseLayer,
    Gate,
    GRULayer,
    InputLayer,
    LSTMLayer,
    RecurrentLayer,
    get_all_params,
    get_output,
)

BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 6
RNG = np.random.RandomState(42)
X = RNG.randn(BATCH, STEPS, FEATURES).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype="float32")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def run(layer, *extra):
    """The layer's output for X (and a mask or initial state layer's values)."""
    inputs = [incoming.input_var for incoming in layer.input_layers]
    return aesara.function(inputs, get_output(layer))(X, *extra)


def np_loop(step, x, state, mask=None, backwards=False):
    """States after each step of ``step(x_t, state) -> state``, in time order."""
    order = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
    out = [None] * x.shape[1]
    for t in order:
        new = step(x[:, t], state)
        if mask is not None:
            keep = mask[:, t][:, None] == 0
            new = tuple(np.where(keep, old, n) for old, n in zip(state, new))
        state = out[t] = new
    return out


def values(*params):
    return [p.get_value() for p in params]


def rnn_step(layer):
    W_x, W_h, b = values(layer.W_in_to_hid, layer.W_hid_to_hid, layer.b)
    return lambda x, s: (np.tanh(x @ W_x + s[0] @ W_h + b),)


def lstm_step(layer, peepholes):
    g = {name: values(getattr(layer, "W_in_to_" + name), getattr(layer, "W_hid_to_" + name),
                      getattr(layer, "b_" + name)) for name in ("ingate", "forgetgate", "cell", "outgate")}
    peep = values(layer.W_cell_to_ingate, layer.W_cell_to_forgetgate, layer.W_cell_to_outgate) if peepholes else [0] * 3

    def step(x, state):
        c, h = state
        pre = {name: x @ Wx + h @ Wh + b for name, (Wx, Wh, b) in g.items()}
        i = sigmoid(pre["ingate"] + c * peep[0])
        f = sigmoid(pre["forgetgate"] + c * peep[1])
        c_new = f * c + i * np.tanh(pre["cell"])
        o = sigmoid(pre["outgate"] + c_new * peep[2])
        return c_new, o * np.tanh(c_new)

    return step


def gru_step(layer):
    g = {name: values(getattr(layer, "W_in_to_" + name), getattr(layer, "W_hid_to_" + name),
                      getattr(layer, "b_" + name)) for name in ("resetgate", "updategate", "hidden_update")}

    def step(x, state):
        (h,) = state
        r = sigmoid(x @ g["resetgate"][0] + h @ g["resetgate"][1] + g["resetgate"][2])
        u = sigmoid(x @ g["updategate"][0] + h @ g["updategate"][1] + g["updategate"][2])
        c = np.tanh(x @ g["hidden_update"][0] + g["hidden_update"][2] + r * (h @ g["hidden_update"][1]))
        return ((1 - u) * h + u * c,)

    return step


def zeros():
    return np.zeros((BATCH, UNITS), "float32")


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_rnn_matches_a_numpy_loop(backwards, unroll, masked):
    l_in, l_mask = InputLayer((BATCH, STEPS, FEATURES)), InputLayer((BATCH, STEPS))
    layer = RecurrentLayer(l_in, UNITS, nonlinearity=aenet.lasagne.nonlinearities.tanh,
                           b=init.Normal(0.5), backwards=backwards, unroll_scan=unroll,
                           mask_input=l_mask if masked else None)
    expected = np_loop(rnn_step(layer), X, (zeros(),), MASK if masked else None, backwards)
    out = run(layer, MASK) if masked else run(layer)
    np.testing.assert_allclose(out, np.stack([s[0] for s in expected], axis=1), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("peepholes", [True, False])
@pytest.mark.parametrize("precompute", [True, False])
def test_lstm_matches_a_numpy_loop(peepholes, precompute):
    l_in, l_mask = InputLayer((BATCH, STEPS, FEATURES)), InputLayer((BATCH, STEPS))
    gate = Gate(b=init.Normal(0.5))
    layer = LSTMLayer(l_in, UNITS, ingate=gate, forgetgate=gate, outgate=gate, peepholes=peepholes,
                      precompute_input=precompute, mask_input=l_mask)
    expected = np_loop(lstm_step(layer, peepholes), X, (zeros(), zeros()), MASK)
    np.testing.assert_allclose(run(layer, MASK), np.stack([s[1] for s in expected], axis=1), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backwards", [False, True])
def test_gru_matches_a_numpy_loop(backwards):
    l_in, l_mask = InputLayer((BATCH, STEPS, FEATURES)), InputLayer((BATCH, STEPS))
    layer = GRULayer(l_in, UNITS, backwards=backwards, mask_input=l_mask,
                     resetgate=Gate(W_cell=None, b=init.Normal(0.5)))
    expected = np_loop(gru_step(layer), X, (zeros(),), MASK, backwards)
    np.testing.assert_allclose(run(layer, MASK), np.stack([s[0] for s in expected], axis=1), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls", [RecurrentLayer, LSTMLayer, GRULayer])
def test_only_return_final_is_the_last_step(cls):
    l_in = InputLayer((BATCH, STEPS, FEATURES))
    full = cls(l_in, UNITS)
    final = cls(l_in, UNITS, only_return_final=True, **_same_params(cls, full))
    assert final.output_shape == (BATCH, UNITS)
    np.testing.assert_allclose(run(final), run(full)[:, -1], rtol=1e-5)


def _same_params(cls, layer):
    if cls is RecurrentLayer:
        return dict(W_in_to_hid=layer.W_in_to_hid, W_hid_to_hid=layer.W_hid_to_hid, b=layer.b)
    names = ("ingate", "forgetgate", "cell", "outgate") if cls is LSTMLayer else ("resetgate", "updategate",
                                                                                  "hidden_update")
    gates = {}
    for name in names:
        W_cell = getattr(layer, "W_cell_to_" + name, None)
        nonlinearity = getattr(layer, "nonlinearity_" + name, None) or layer.nonlinearity_hid
        gates[name] = Gate(getattr(layer, "W_in_to_" + name), getattr(layer, "W_hid_to_" + name), W_cell,
                           getattr(layer, "b_" + name), nonlinearity)
    return gates


def test_hid_init_as_a_layer_is_an_extra_input():
    l_in, l_hid = InputLayer((BATCH, STEPS, FEATURES)), InputLayer((BATCH, UNITS))
    layer = RecurrentLayer(l_in, UNITS, hid_init=l_hid, nonlinearity=aenet.lasagne.nonlinearities.tanh)
    assert layer.input_layers == [l_in, l_hid] and layer.hid_init is l_hid
    assert [p.name for p in layer.get_params()] == ["input_to_hidden.W", "input_to_hidden.b", "hidden_to_hidden.W"]
    h0 = RNG.randn(BATCH, UNITS).astype("float32")
    expected = np_loop(rnn_step(layer), X, (h0,))
    np.testing.assert_allclose(run(layer, h0), np.stack([s[0] for s in expected], 1), rtol=1e-4, atol=1e-5)


def test_lstm_cell_init_as_an_array():
    l_in = InputLayer((BATCH, STEPS, FEATURES))
    c0 = RNG.randn(1, UNITS).astype("float32")
    layer = LSTMLayer(l_in, UNITS, cell_init=c0, peepholes=False)
    expected = np_loop(lstm_step(layer, False), X, (np.repeat(c0, BATCH, 0), zeros()))
    np.testing.assert_allclose(run(layer), np.stack([s[1] for s in expected], 1), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("learn_init", [False, True])
def test_parameter_names_shapes_and_tags(learn_init):
    layer = LSTMLayer(InputLayer((2, 3, 4)), 5, learn_init=learn_init, name="lstm")
    shapes = {p.name: p.get_value().shape for p in layer.get_params()}
    assert shapes["lstm.W_in_to_ingate"] == (4, 5) and shapes["lstm.W_hid_to_outgate"] == (5, 5)
    assert shapes["lstm.b_cell"] == (5,) and shapes["lstm.W_cell_to_forgetgate"] == (5,)
    assert shapes["lstm.cell_init"] == shapes["lstm.hid_init"] == (1, 5) and "lstm.W_cell_to_cell" not in shapes
    assert len(get_all_params(layer, trainable=True)) == 15 + 2 * learn_init
    assert {p.name for p in get_all_params(layer, regularizable=False)} == {
        "lstm.b_ingate", "lstm.b_forgetgate", "lstm.b_cell", "lstm.b_outgate", "lstm.cell_init", "lstm.hid_init"}
    gru = GRULayer(InputLayer((2, 3, 4)), 5, learn_init=learn_init)
    assert [p.name for p in gru.get_params()][-1] == "hid_init" and len(gru.get_params(trainable=True)) == 9 + learn_init
    rnn = RecurrentLayer(InputLayer((2, 3, 4)), 5, learn_init=learn_init)
    assert len(get_all_params(rnn, trainable=True)) == 3 + learn_init


def test_grad_clipping_changes_nothing_forward_but_clips_gradients():
    l_in = InputLayer((BATCH, STEPS, FEATURES))
    plain = GRULayer(l_in, UNITS)
    clipped = GRULayer(l_in, UNITS, grad_clipping=1e-4, **_same_params(GRULayer, plain))
    np.testing.assert_allclose(run(clipped), run(plain), rtol=1e-6)
    grads = [aesara.function([l_in.input_var], aesara.grad(get_output(layer).sum() * 100, layer.W_hid_to_resetgate))(X)
             for layer in (plain, clipped)]
    assert np.abs(grads[1]).sum() < np.abs(grads[0]).sum()


def test_gradient_steps_truncates_backpropagation():
    l_in = InputLayer((BATCH, STEPS, FEATURES))
    x = l_in.input_var
    layer = RecurrentLayer(l_in, UNITS, gradient_steps=1, nonlinearity=aenet.lasagne.nonlinearities.tanh)
    # with one step of backpropagation, the last output depends on x only through its own step
    grad = aesara.function([x], aesara.grad(get_output(layer)[:, -1].sum(), x))(X)
    assert np.all(grad[:, :-1] == 0) and np.any(grad[:, -1] != 0)


def test_custom_recurrent_layer_with_dense_connections():
    l_in = InputLayer((BATCH, STEPS, FEATURES))
    f_in = DenseLayer(InputLayer((None, FEATURES)), UNITS, nonlinearity=None)
    f_hid = DenseLayer(InputLayer((None, UNITS)), UNITS, nonlinearity=None)
    layer = CustomRecurrentLayer(l_in, f_in, f_hid, nonlinearity=aenet.lasagne.nonlinearities.tanh,
                                 precompute_input=False)
    W_x, b_x, W_h, b_h = values(f_in.W, f_in.b, f_hid.W, f_hid.b)
    expected = np_loop(lambda x, s: (np.tanh(x @ W_x + b_x + s[0] @ W_h + b_h),), X, (zeros(),))
    np.testing.assert_allclose(run(layer), np.stack([s[0] for s in expected], 1), rtol=1e-4, atol=1e-5)
    assert len(layer.get_params()) == 5


def test_errors():
    l_in = InputLayer((2, None, 3))
    with pytest.raises(ValueError, match="unroll_scan=True needs a fixed sequence length"):
        RecurrentLayer(l_in, 5, unroll_scan=True)
    with pytest.raises(ValueError, match="gradient_steps must be -1"):
        LSTMLayer(InputLayer((2, 4, 3)), 5, unroll_scan=True, gradient_steps=2)
    with pytest.raises(ValueError, match="must agree after the first dimension"):
        CustomRecurrentLayer(InputLayer((2, 2, 3)), DenseLayer(InputLayer((None, 3)), 5),
                             DenseLayer(InputLayer((None, 6)), 6))
    with pytest.raises(ValueError, match="exactly one InputLayer"):
        CustomRecurrentLayer(InputLayer((2, 2, 3)), DenseLayer((None, 3), 5), DenseLayer((None, 5), 5))
    with pytest.raises(ValueError, match="batch \\* time = 4"):
        CustomRecurrentLayer(InputLayer((2, 2, 3)), DenseLayer(InputLayer((5, 3)), 5),
                             DenseLayer(InputLayer((None, 5)), 5))


def test_dtypes_stay_float32():
    l_in = InputLayer((BATCH, STEPS, FEATURES))
    for layer in (RecurrentLayer(l_in, UNITS, grad_clipping=1.0), LSTMLayer(l_in, UNITS), GRULayer(l_in, UNITS)):
        assert get_output(layer).dtype == "float32"
    assert at.grad(get_output(GRULayer(l_in, 2, grad_clipping=1)).sum(), l_in.input_var).dtype == "float32"
