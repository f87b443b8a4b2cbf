"""NeuralNet training on a JAX device (JAX's CPU backend here): the data set on the
device once per fit, batches taken there by index, parameters and update state
kept there, and results equal to the C backend's."""
import re

import numpy as np
import pytest

pytest.importorskip("jax")

from aenet import device  # noqa: E402
from aenet.nolearn import BatchIterator  # noqa: E402
from helpers.nets import SHAPES, post_net  # noqa: E402

RTOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def jax_cpu():
    previous = device.current()
    device.configure("jax-cpu")
    yield
    device.configure(previous)


def data(model, n=300):
    rng = np.random.RandomState(0)
    X = rng.rand(n, *SHAPES[model]).astype(np.float32)
    y = (np.arange(n) % 10).astype(np.int32)
    return X, y


def net_on(name, model, epochs=2, shuffle=True, **extra):
    """The post's ``model`` compiled for device ``name``, seed 42; 240 training samples in batches of 128."""
    device.configure(name)
    net = post_net(model, seed=42, epochs=epochs, shuffle=shuffle, **extra)
    net.initialize()
    return net


def assert_close(actual, expected, rtol=RTOL):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def assert_same_training(net, reference, X):
    for row, expected in zip(net.train_history_, reference.train_history_, strict=True):
        for key in ("train_loss", "valid_loss", "valid_accuracy"):
            np.testing.assert_allclose(row[key], expected[key], rtol=RTOL, err_msg=key)
    params, expected = net.get_all_params_values(), reference.get_all_params_values()
    assert list(params) == list(expected)
    for layer in params:
        for value, reference_value in zip(params[layer], expected[layer], strict=True):
            assert_close(value, reference_value)
    for value, reference_value in zip(net.get_update_state(), reference.get_update_state(), strict=True):
        assert_close(value, reference_value)
    assert_close(net.predict_proba(X[:50]), reference.predict_proba(X[:50]))


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_two_epochs_on_jax_cpu_equal_the_c_backend(model):
    X, y = data(model)
    c = net_on("cpu", model).fit(X, y)
    jax = net_on("jax-cpu", model).fit(X, y)
    assert jax._on_device and not c._on_device
    assert_same_training(jax, c, X)


def h2d_transfers(text):
    """The host-to-device transfers JAX logged, as (dtype, shape) pairs."""
    found = re.findall(r"host-to-device transfer: aval=ShapedArray\((\w+)\[([\d,]*)\]", text)
    return [(dtype, tuple(int(d) for d in shape.split(",") if d)) for dtype, shape in found]


def test_fit_sends_the_data_once_and_only_batch_indices_per_step(capfd):
    """Every host-to-device copy of a fit: the two data sets once, then one index vector per batch."""
    import jax

    X, y = data("mlp")
    net = net_on("jax-cpu", "mlp")  # compiling sends the initial parameters and update state
    capfd.readouterr()
    with jax.transfer_guard_host_to_device("log_explicit"):  # logs implicit copies too
        net.fit(X, y)
    transfers = h2d_transfers(capfd.readouterr().err)
    data_sets = [("float32", (240, 1024)), ("int32", (240,)), ("float32", (60, 1024)), ("int32", (60,))]
    per_epoch = [("int32", (128,)), ("int32", (112,)), ("int32", (60,))]  # 2 training, 1 validation batch
    assert transfers == data_sets + per_epoch * 2
    # Whatever the host reads, it sends nothing else: no parameters, no batches of data.


def test_fit_keeps_parameters_on_the_device_between_steps():
    """No implicit copy at all in a fit, and the device holds the trained values."""
    import jax

    X, y = data("mlp")
    net = net_on("jax-cpu", "mlp")
    with jax.transfer_guard_host_to_device("disallow"):
        net.fit(X, y)
    W = net.layers_["hidden"].W
    assert isinstance(net._compiled.train_at.values[net._compiled.train_at.shared.index(W)], jax.Array)
    # the host copy was brought up to date at the end of the last epoch
    np.testing.assert_array_equal(W.get_value(), np.asarray(net._compiled.train_at.values[net._compiled.train_at.shared.index(W)]))


def test_batch_handlers_see_the_parameters_of_each_step():
    X, y = data("mlp")
    seen = {}
    for name in ("cpu", "jax-cpu"):
        seen[name] = []

        def record(net, history, seen=seen[name]):
            seen.append(net.layers_["output"].W.get_value())

        net_on(name, "mlp", epochs=1, on_batch_finished=[record]).fit(X, y)
    assert len(seen["jax-cpu"]) == len(seen["cpu"]) == 2
    for value, expected in zip(seen["jax-cpu"], seen["cpu"]):
        assert_close(value, expected)


class Unchanged(BatchIterator):
    """An augmenting iterator's shape: transform overridden (here, to return the batch as is)."""

    def transform(self, Xb, yb):
        return Xb, yb


def test_an_iterator_with_its_own_transform_sends_batches_and_trains_alike():
    X, y = data("mlp")
    assert BatchIterator().batches_by_index and not Unchanged().batches_by_index
    by_index = net_on("jax-cpu", "mlp").fit(X, y)
    sent = net_on("jax-cpu", "mlp")
    sent.batch_iterator_train = Unchanged(128, shuffle=True, seed=42)
    sent.batch_iterator_test = Unchanged(128)
    sent.fit(X, y)
    assert_same_training(sent, by_index, X)


def test_save_load_and_update_state_resume_training_on_the_device(tmp_path):
    """A run split in two (params file + update state + shuffling state) equals one run."""
    X, y = data("mlp")
    whole = net_on("jax-cpu", "mlp", epochs=2).fit(X, y)

    first = net_on("jax-cpu", "mlp", epochs=1).fit(X, y)
    first.save_params_to(tmp_path / "params.npz")
    state = first.get_update_state()
    assert any(np.any(v != 0) for v in state)  # velocities after an epoch
    random_state = first.batch_iterator_train.random.get_state()
    history = list(first.train_history_)

    second = net_on("jax-cpu", "mlp", epochs=1)  # fresh weights: overwritten below
    second.load_params_from(tmp_path / "params.npz")
    second.set_update_state(state)
    second.batch_iterator_train.random.set_state(random_state)
    second.train_history_ = history
    second.fit(X, y)
    assert_same_training(second, whole, X)
    for value, expected in zip(second.get_update_state(), whole.get_update_state()):
        assert_close(value, expected)


def test_values_set_on_the_host_reach_the_device():
    X, y = data("mlp")
    net = net_on("jax-cpu", "mlp", epochs=1).fit(X, y)
    W = net.layers_["output"].W
    W.set_value(np.zeros_like(W.get_value()))
    b = net.layers_["output"].b
    proba = net.predict_proba(X[:5])  # the output layer now ignores its input
    assert_close(proba, np.tile(np.exp(b.get_value()) / np.exp(b.get_value()).sum(), (5, 1)))
    net.set_update_state([np.zeros_like(v) for v in net.get_update_state()])
    assert all(np.all(v == 0) for v in net.get_update_state())
