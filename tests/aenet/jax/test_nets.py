"""The post's MLP and CNN in aenet's JAX mode (JAX's CPU backend) against the C backend.

Three levels: the nets written in raw aesara (the graphs the issue lists),
every aenet.lasagne layer on its own, and the post's nolearn ``NeuralNet``
trained for three steps.  Outputs, gradients, losses and parameters must
agree to 1e-5 relative.
"""
import warnings
from collections import OrderedDict

import numpy as np
import pytest

pytest.importorskip("jax")

import aesara  # noqa: E402
import aesara.tensor as at  # noqa: E402
from aesara.compile.mode import get_mode  # noqa: E402

from aenet import device  # noqa: E402

with warnings.catch_warnings():  # aesara.tensor.nnet and .signal are deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import categorical_crossentropy, conv2d, softmax
    from aesara.tensor.signal.pool import pool_2d

RTOL = 1e-5
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("jax_cpu")]

# The ops aenet implements for JAX that each net's graphs must hold in JAX mode.
MLP_OPS = {
    "CrossentropySoftmaxArgmax1HotWithBias", "CrossentropySoftmax1HotWithBiasDx",
    "SoftmaxWithBias", "Argmax",
}  # fmt: skip
CNN_OPS = MLP_OPS | {
    "AbstractConv2d", "AbstractConv2d_gradWeights", "AbstractConv2d_gradInputs",
    "Pool", "MaxPoolGrad",
}  # fmt: skip


def modes():
    from aenet.jax import JAX_MODE

    return {"c": get_mode("FAST_RUN"), "jax": JAX_MODE}


def assert_close(actual, expected, rtol=RTOL):
    """Equal to ``rtol`` relative, elementwise or to the array's largest magnitude."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype == np.float32
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def compiled(function):
    """The aesara Function behind ``function`` (a DeviceFunction wraps one)."""
    return getattr(function, "function", function)


def op_types(function):
    return {type(node.op).__name__ for node in compiled(function).maker.fgraph.apply_nodes}


def float64_variables(function):
    return [v for v in compiled(function).maker.fgraph.variables if getattr(v.type, "dtype", "") == "float64"]


# -- the nets in raw aesara -----------------------------------------------------------


def _param(rng, shape, name):
    scale = np.sqrt(2.0 / np.prod(shape[1:] if len(shape) == 4 else shape[:1]))
    return aesara.shared((rng.standard_normal(shape) * scale).astype("float32"), name=name)


def _bias(rng, n, name):
    return aesara.shared((rng.standard_normal(n) * 0.1).astype("float32"), name=name)


def mlp_graph(rng):
    X = at.matrix("X")
    W1, b1 = _param(rng, (1024, 100), "W1"), _bias(rng, 100, "b1")
    W2, b2 = _param(rng, (100, 10), "W2"), _bias(rng, 10, "b2")
    hidden = at.maximum(at.dot(X, W1) + b1, 0)
    return X, softmax(at.dot(hidden, W2) + b2, axis=-1), [W1, b1, W2, b2]


def cnn_graph(rng):
    """conv 16@3x3, pool 2, conv 32@2x2, pool 2, conv 64@2x2, pool 2, dense 200, softmax 10."""
    X = at.tensor4("X")
    h, params, channels = X, [], 1
    for i, (n, k) in enumerate([(16, 3), (32, 2), (64, 2)]):
        W, b = _param(rng, (n, channels, k, k), f"conv{i}.W"), _bias(rng, n, f"conv{i}.b")
        conved = conv2d(h, W, input_shape=(None, channels, None, None), filter_shape=(n, channels, k, k))
        h = pool_2d(at.maximum(conved + b.dimshuffle("x", 0, "x", "x"), 0), ws=(2, 2), ignore_border=True)
        params, channels = params + [W, b], n
    W3, b3 = _param(rng, (64 * 3 * 3, 200), "dense.W"), _bias(rng, 200, "dense.b")
    W4, b4 = _param(rng, (200, 10), "out.W"), _bias(rng, 10, "out.b")
    hidden = at.maximum(at.dot(h.flatten(2), W3) + b3, 0)
    return X, softmax(at.dot(hidden, W4) + b4, axis=-1), params + [W3, b3, W4, b4]


def nesterov_momentum(loss, params, learning_rate, momentum=0.9):
    """Lasagne's ``apply_nesterov_momentum(sgd(...))``, with float32 velocities."""
    updates = OrderedDict()
    lr, mu = np.float32(learning_rate), np.float32(momentum)
    for param, grad in zip(params, aesara.grad(loss, params)):
        value = param.get_value(borrow=True)
        velocity = aesara.shared(np.zeros(value.shape, value.dtype), name=f"{param.name}.velocity")
        step = param - lr * grad
        x = mu * velocity + step - param
        updates[velocity] = x
        updates[param] = mu * x + step
    return updates


class RawNet:
    """The train, valid, predict and gradient functions of one net, compiled in both modes."""

    def __init__(self, build, x_shape, learning_rate):
        rng = np.random.default_rng(0)
        self.X, proba, self.params = build(rng)
        y = at.ivector("y")
        loss = categorical_crossentropy(proba, y).mean()
        accuracy = at.mean(at.eq(at.argmax(proba, axis=1), y), dtype=aesara.config.floatX)
        updates = nesterov_momentum(loss, self.params, learning_rate)
        self.y, self.loss, self.updates = y, loss, updates
        self.state = list(updates.keys())  # params and velocities
        self.initial = [v.get_value() for v in self.state]
        self.functions = {}
        for name, mode in modes().items():
            self.functions[name] = {
                "train": aesara.function([self.X, y], loss, updates=updates, mode=mode),
                "valid": aesara.function([self.X, y], [loss, accuracy], mode=mode),
                "predict": aesara.function([self.X], proba, mode=mode),
                "grads": aesara.function([self.X, y], aesara.grad(loss, self.params), mode=mode),
            }
        data = np.random.default_rng(1)
        self.X_value = data.random((3 * 32,) + x_shape, dtype=np.float32)
        self.y_value = data.integers(0, 10, 3 * 32).astype(np.int32)

    def reset(self):
        for var, value in zip(self.state, self.initial):
            var.set_value(value.copy())


@pytest.fixture(scope="module")
def raw_nets():
    return {
        "mlp": RawNet(mlp_graph, (1024,), learning_rate=0.01),
        "cnn": RawNet(cnn_graph, (1, 32, 32), learning_rate=0.015),
    }


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_jax_graphs_hold_aenets_ops_and_no_float64(raw_nets, name):
    functions = raw_nets[name].functions["jax"]
    found = set().union(*(op_types(f) for f in functions.values()))
    assert (CNN_OPS if name == "cnn" else MLP_OPS) <= found
    assert not {"CorrMM", "MaxPool2D", "MaxPool2DGrad"} & found  # no C-only Op left
    for function in functions.values():
        assert not float64_variables(function)


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_outputs_and_gradients_match_c(raw_nets, name):
    net = raw_nets[name]
    net.reset()
    X, y = net.X_value[:32], net.y_value[:32]
    c, jax = net.functions["c"], net.functions["jax"]
    assert_close(jax["predict"](X), c["predict"](X))
    for j, expected in zip(jax["valid"](X, y), c["valid"](X, y)):
        assert_close(j, expected)
    for j, expected in zip(jax["grads"](X, y), c["grads"](X, y)):
        assert_close(j, expected)


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_three_nesterov_steps_match_c(raw_nets, name):
    net = raw_nets[name]
    results = {}
    for mode in ("c", "jax"):
        net.reset()
        losses = [
            float(net.functions[mode]["train"](net.X_value[i * 32 : (i + 1) * 32], net.y_value[i * 32 : (i + 1) * 32]))
            for i in range(3)
        ]
        results[mode] = losses, [v.get_value() for v in net.state]
    np.testing.assert_allclose(results["jax"][0], results["c"][0], rtol=RTOL)
    assert len(set(results["c"][0])) == 3  # the steps did change the weights
    for j, c in zip(results["jax"][1], results["c"][1]):
        assert_close(j, c)
    for value, initial in zip(results["jax"][1], net.initial):
        assert value.dtype == initial.dtype == np.float32


# -- state on the device --------------------------------------------------------------


def on_device_training(net):
    """The training step with the data set as an input and the minibatch taken by index."""
    from aenet.jax import DeviceFunction

    X_all, y_all, index = net.X.type("X_all"), at.ivector("y_all"), at.ivector("index")
    replace = {net.X: X_all[index], net.y: y_all[index]}
    loss, *values = aesara.clone_replace([net.loss, *net.updates.values()], replace=replace)
    return DeviceFunction([X_all, y_all, index], loss, updates=dict(zip(net.updates, values)))


def reference_steps(net, steps=3):
    """Losses and final state of ``steps`` C-backend training steps on consecutive batches."""
    net.reset()
    train = net.functions["c"]["train"]
    losses = [float(train(net.X_value[i * 32 : (i + 1) * 32], net.y_value[i * 32 : (i + 1) * 32])) for i in range(steps)]
    return losses, [v.get_value() for v in net.state]


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_device_function_keeps_the_state_on_the_device_and_trains_like_c(raw_nets, name):
    import jax

    net = raw_nets[name]
    expected_losses, expected_state = reference_steps(net)
    step = on_device_training(net)
    net.reset()
    step.reload()
    X_dev, y_dev = jax.device_put(net.X_value), jax.device_put(net.y_value)
    batches = [jax.device_put(np.arange(i * 32, (i + 1) * 32, dtype=np.int32)) for i in range(3)]
    losses = [step(X_dev, y_dev, batches[0])]
    with jax.transfer_guard("disallow"):  # no host <-> device copy in a training step
        losses += [step(X_dev, y_dev, index) for index in batches[1:]]
    assert all(isinstance(v, jax.Array) for v in step.values)
    W = net.params[0]
    assert_close(W.get_value(), net.initial[net.state.index(W)])  # the host copy is untouched ...
    step.sync()  # ... until synced
    np.testing.assert_allclose([float(v) for v in losses], expected_losses, rtol=RTOL)
    for var, expected in zip(net.state, expected_state):
        assert_close(var.get_value(), expected)


def test_device_functions_share_the_device_copy_of_the_weights(raw_nets):
    """A validation function sees the weights the training steps left on the device."""
    import jax

    from aenet.jax import DeviceFunction

    net = raw_nets["mlp"]
    X, y = net.X_value[:32], net.y_value[:32]
    net.reset()
    net.functions["c"]["train"](X, y)
    expected = net.functions["c"]["valid"](X, y)[0]
    step, validate = on_device_training(net), DeviceFunction([net.X, net.y], net.loss)
    net.reset()
    step.reload()
    step(jax.device_put(X), jax.device_put(y), jax.device_put(np.arange(32, dtype=np.int32)))
    assert_close(validate(X, y), expected)
    W = net.params[0]
    assert_close(W.get_value(), net.initial[net.state.index(W)])  # the host copy waits for sync()


def test_aesaras_jax_function_copies_shared_variables_at_every_call(raw_nets):
    """What DeviceFunction avoids: aesara stores updates as NumPy arrays, sent back at each call."""
    import jax

    net = raw_nets["mlp"]
    net.reset()
    train = net.functions["jax"]["train"]
    X, y = jax.device_put(net.X_value[:32]), jax.device_put(net.y_value[:32])
    train(X, y)
    assert type(net.params[0].get_value(borrow=True)) is np.ndarray
    with pytest.raises(Exception, match="[Dd]isallowed"):
        with jax.transfer_guard("disallow"):
            train(X, y)


def test_device_function_draws_the_same_dropout_masks_as_aesara():
    from aenet.jax import DeviceFunction
    from aenet.lasagne import layers

    np.random.seed(0)
    layer = layers.DropoutLayer(layers.InputLayer((None, 50)), p=0.5)
    X = layers.get_all_layers(layer)[0].input_var
    out = layers.get_output(layer)
    reference = aesara.function([X], out, mode=modes()["jax"])
    on_device = DeviceFunction([X], out)
    ones = np.ones((20, 50), np.float32)
    for _ in range(2):  # the random stream moves on in both
        np.testing.assert_array_equal(np.asarray(on_device(ones)), np.asarray(reference(ones)))


# -- every aenet.lasagne layer --------------------------------------------------------


def _layer_cases():
    from aenet.lasagne import layers, nonlinearities

    def dense(nonlinearity):
        return lambda: layers.DenseLayer(layers.InputLayer((None, 3, 4, 5)), 7, nonlinearity=nonlinearity)

    def conv(**kw):
        return lambda: layers.Conv2DLayer(layers.InputLayer((None, 3, 9, 8)), 4, **kw)

    def maxpool(**kw):
        return lambda: layers.MaxPool2DLayer(layers.InputLayer((None, 3, 9, 8)), **kw)

    return {
        "input": lambda: layers.InputLayer((None, 3, 9, 8)),
        "dense-rectify": dense(nonlinearities.rectify),
        "dense-softmax": dense(nonlinearities.softmax),
        "dense-tanh": dense(nonlinearities.tanh),
        "dense-sigmoid": dense(nonlinearities.sigmoid),
        "dense-linear": dense(nonlinearities.linear),
        "conv-valid": conv(filter_size=3),
        "conv-full": conv(filter_size=(3, 2), pad="full"),
        "conv-same": conv(filter_size=3, pad="same"),
        "conv-pad-stride": conv(filter_size=(2, 3), pad=(1, 2), stride=(2, 1)),
        "conv-correlation": conv(filter_size=3, flip_filters=False),
        "conv-untied": conv(filter_size=2, untie_biases=True),
        "pool-2": maxpool(pool_size=2),
        "pool-3-stride-2-pad": maxpool(pool_size=3, stride=2, pad=(1, 1)),
        "pool-keep-border": maxpool(pool_size=2, ignore_border=False),
        "dropout-deterministic": lambda: layers.DropoutLayer(layers.InputLayer((None, 3, 9, 8)), p=0.3),
    }


LAYER_NAMES = list(_layer_cases())


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_layer_output_and_gradients_match_c(name):
    from aenet.lasagne.layers import get_all_params, get_output, get_all_layers

    from aenet.lasagne.random import get_rng, set_rng

    previous_rng = get_rng()
    set_rng(np.random.RandomState(3))
    try:
        layer = _layer_cases()[name]()
    finally:
        set_rng(previous_rng)
    X = get_all_layers(layer)[0].input_var
    out = get_output(layer, deterministic=True)
    params = get_all_params(layer, trainable=True)
    cost = (out * at.cos(out)).sum()  # output gradients that differ element by element
    wrt = [X] + params
    shape = (4,) + tuple(get_all_layers(layer)[0].output_shape[1:])
    X_value = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    results = {}
    for mode_name, mode in modes().items():
        f = aesara.function([X], [out, *aesara.grad(cost, wrt)], mode=mode)
        results[mode_name] = f(X_value)
        if mode_name == "jax":
            assert not float64_variables(f)
    for j, c in zip(results["jax"], results["c"]):
        assert_close(j, c)


def test_dropout_layer_trains_with_fresh_masks_in_jax_mode():
    from aenet.lasagne import layers

    np.random.seed(0)
    layer = layers.DropoutLayer(layers.InputLayer((None, 100)), p=0.25)
    X = layers.get_all_layers(layer)[0].input_var
    f = aesara.function([X], layers.get_output(layer), mode=modes()["jax"])
    ones = np.ones((100, 100), np.float32)
    first, second = np.asarray(f(ones)), np.asarray(f(ones))
    np.testing.assert_allclose(np.unique(first), [0, 1 / 0.75], rtol=1e-6)
    assert abs(np.mean(first == 0) - 0.25) < 0.02
    assert np.mean(first != second) > 0.2


# -- the post's NeuralNets ------------------------------------------------------------


def post_net(kind):
    from aenet.lasagne import layers
    from aenet.lasagne.nonlinearities import softmax as softmax_nl
    from aenet.lasagne.updates import nesterov_momentum as nesterov
    from aenet.nolearn import BatchIterator, NeuralNet

    common = dict(
        output_nonlinearity=softmax_nl, output_num_units=10, update=nesterov,
        update_momentum=0.9, regression=False, max_epochs=1, verbose=0,
        batch_iterator_train=BatchIterator(batch_size=40),
    )  # fmt: skip
    if kind == "mlp":
        return NeuralNet(
            layers=[("input", layers.InputLayer), ("hidden", layers.DenseLayer), ("output", layers.DenseLayer)],
            input_shape=(None, 1024), hidden_num_units=100, update_learning_rate=0.01, **common,
        )  # fmt: skip
    return NeuralNet(
        layers=[("input", layers.InputLayer), ("conv1", layers.Conv2DLayer), ("pool1", layers.MaxPool2DLayer),
                ("conv2", layers.Conv2DLayer), ("pool2", layers.MaxPool2DLayer), ("conv3", layers.Conv2DLayer),
                ("pool3", layers.MaxPool2DLayer), ("hidden4", layers.DenseLayer), ("output", layers.DenseLayer)],
        input_shape=(None, 1, 32, 32), conv1_num_filters=16, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
        conv2_num_filters=32, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2), conv3_num_filters=64,
        conv3_filter_size=(2, 2), pool3_pool_size=(2, 2), hidden4_num_units=200, update_learning_rate=0.015,
        **common,
    )  # fmt: skip


@pytest.mark.parametrize("kind, shape", [("mlp", (1024,)), ("cnn", (1, 32, 32))])
def test_post_neuralnet_three_steps_match_c(kind, shape):
    """Same seed, 120 training samples in batches of 40: three nesterov steps per mode."""
    data = np.random.RandomState(0)
    X = data.rand(150, *shape).astype(np.float32)
    y = (np.arange(150) % 10).astype(np.int32)
    from aenet.lasagne.random import get_rng, set_rng

    nets, previous_rng = {}, get_rng()
    for name in ("cpu", "jax-cpu"):
        device.configure(name)
        set_rng(np.random.RandomState(0))  # the same initial weights in both modes
        try:
            net = post_net(kind)
            net.initialize()
        finally:
            set_rng(previous_rng)
        linker = compiled(net.train_iter_).maker.linker
        assert type(linker).__name__ == ("VMLinker" if name == "cpu" else "JAXLinker")
        net.fit(X, y)
        nets[name] = net
    device.configure("jax-cpu")
    c, jax = nets["cpu"], nets["jax-cpu"]
    for train in (jax.train_iter_, jax._compiled.train_at):  # on batches sent, or taken on the device
        assert (CNN_OPS if kind == "cnn" else MLP_OPS) - {"Argmax", "SoftmaxWithBias"} <= op_types(train)
    state = jax._compiled
    for function in (jax.train_iter_, jax.eval_iter_, jax.predict_iter_, state.train_at, state.evaluate_at):
        assert not float64_variables(function)
    for key in ("train_loss", "valid_loss", "valid_accuracy"):
        np.testing.assert_allclose(jax.train_history_[0][key], c.train_history_[0][key], rtol=RTOL)
    c_params, jax_params = c.get_all_params_values(), jax.get_all_params_values()
    assert list(c_params) == list(jax_params)
    for layer in c_params:
        for j, expected in zip(jax_params[layer], c_params[layer]):
            assert_close(j, expected)
    assert_close(jax.predict_proba(X[:7]), c.predict_proba(X[:7]))
