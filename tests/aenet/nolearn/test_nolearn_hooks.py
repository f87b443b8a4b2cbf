"""nolearn 0.6.1 hooks of NeuralNet: train_test_split, _create_iter_funcs, layer factories, several outputs."""
import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
import aesara
import aesara.tensor as at
from aenet.lasagne import layers
from aenet.lasagne.nonlinearities import softmax
from aenet.lasagne.objectives import aggregate, categorical_crossentropy, squared_error
from aenet.lasagne.updates import sgd
from aenet.nolearn import BatchIterator, NeuralNet, TrainSplit
from aenet.nolearn import base
from aenet.nolearn.batches import LegacyTrainTestSplit


class HeadSplitNet(NeuralNet):
    """Validates on the first ``eval_size`` share of the samples, recording each call."""

    def train_test_split(self, X, y, eval_size):
        self.split_calls = getattr(self, "split_calls", []) + [eval_size]
        cut = int(len(X) * eval_size)
        return X[cut:], X[:cut], y[cut:], y[:cut]


def test_a_train_test_split_method_becomes_the_split():
    with pytest.warns(DeprecationWarning, match="train_test_split"):
        net = HeadSplitNet([], eval_size=0.25, max_epochs=0)
    assert isinstance(net.train_split, LegacyTrainTestSplit) and net.train_split.eval_size == 0.25
    with pytest.warns(DeprecationWarning):
        assert HeadSplitNet([]).train_split.eval_size == 0.2


def test_zero_epochs_split_and_run_the_start_and_end_handlers_without_compiling():
    seen = []
    with pytest.warns(DeprecationWarning):
        net = HeadSplitNet([], max_epochs=0, on_training_started=lambda n, h: seen.append("start"),
                           on_training_finished=lambda n, h: seen.append("end"))
    net.train_loop(np.ones((10, 3)), np.zeros(10))
    assert net.split_calls == [0.2] and seen == ["start", "end"]
    assert net.train_history_ == [] and not hasattr(net, "layers_")


def test_training_validates_on_what_train_test_split_returns():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int32)
    with pytest.warns(DeprecationWarning):
        net = HeadSplitNet(
            layers.DenseLayer(layers.InputLayer((None, 3)), 2, nonlinearity=softmax),
            update=sgd, update_learning_rate=0.0, eval_size=0.25, max_epochs=1,
            batch_iterator_test=BatchIterator(batch_size=100),
        )
    net.fit(X, y)
    assert net.split_calls == [0.25]
    # With a zero learning rate the validation loss is the untrained net's on the first 10 samples.
    proba = net.predict_proba(X[:10])
    expected = -np.mean(np.log(proba[np.arange(10), y[:10]]))
    np.testing.assert_allclose(net.train_history_[0]["valid_loss"], expected, rtol=1e-5)


class Recorder:
    """A layer factory that is not a layer class: records its keywords, returns a token."""

    __name__ = "RecordLayer"

    def __init__(self):
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return ("built", len(self.calls), kwargs["name"])


def test_a_factory_that_is_not_a_layer_class_gets_incoming_none_first():
    first, second = Recorder(), Recorder()
    net = NeuralNet(layers=[("first", first), (second, {"size": 3})], first_shape=(2, 2), record1_size=4)
    net.initialize_layers()
    assert first.calls == [{"name": "first", "incoming": None, "shape": (2, 2)}]
    assert second.calls == [{"name": "record1", "size": 4, "incoming": ("built", 1, "first")}]
    assert net.layers_.keys() == ["first", "record1"]


def test_an_aenet_layer_class_without_incoming_is_still_an_error():
    net = NeuralNet(layers=[("hidden", layers.DenseLayer)], hidden_num_units=2)
    with pytest.raises(ValueError, match="layer 'hidden' has no incoming layer"):
        net.initialize_layers()


def test_initialize_uses_the_create_iter_funcs_hook_and_names_an_unused_kwarg():
    received = []

    class Hooked(NeuralNet):
        def _create_iter_funcs(self, layers_, objective, update, output_type):
            received.append((list(layers_.keys()), objective, update))
            return "train", "eval", "predict"

    net = Hooked(layers=[("input", Recorder()), ("out", Recorder())], update=sgd, update_learning_rate=0.1)
    net.initialize()
    assert (net.train_iter_, net.eval_iter_, net.predict_iter_) == ("train", "eval", "predict")
    assert received == [(["input", "out"], net.objective, sgd)]
    stray = Hooked(layers=[("input", Recorder())], outt_num_units=3)
    with pytest.raises(ValueError) as error:
        stray.initialize()
    assert str(error.value) == "Unused kwarg: outt_num_units"


# -- several output layers ----------------------------------------------------------


def two_headed():
    l_in = layers.InputLayer((None, 3), name="input")
    shared = layers.DenseLayer(l_in, 4, name="shared")
    head_a = layers.DenseLayer(shared, 2, nonlinearity=softmax, name="head_a")
    head_b = layers.DenseLayer(shared, 1, nonlinearity=None, name="head_b")
    return l_in, shared, head_a, head_b


def test_a_list_of_output_layers_adopts_both_branches_once():
    l_in, shared, head_a, head_b = two_headed()
    net = NeuralNet(layers=[head_a, head_b])
    assert net.initialize_layers() == [head_a, head_b]
    assert net.layers_.keys() == ["input", "shared", "head_a", "head_b"]
    assert [net.layers_[k] for k in net.layers_.keys()] == [l_in, shared, head_a, head_b]
    # A list holding a whole chain has one output: its last layer.
    chain = NeuralNet(layers=[l_in, shared, head_a])
    assert chain.initialize_layers() is head_a


def two_task_objective(layers_, target, deterministic=False, **kwargs):
    out_a, out_b = layers.get_output([layers_["head_a"], layers_["head_b"]], deterministic=deterministic)
    labels = at.cast(target[:, 0], "int32")
    nll = -at.mean(at.log(out_a[at.arange(labels.shape[0]), labels]))
    return nll + aggregate(squared_error(out_b, target[:, 1:]))


def test_several_outputs_train_on_one_objective_and_predict_a_tuple():
    np.random.seed(0)
    _, shared, head_a, head_b = two_headed()
    rng = np.random.RandomState(1)
    X = rng.randn(12, 3).astype(np.float32)
    y = np.stack([(X[:, 0] > 0), X[:, 1]], axis=1).astype(np.float32)
    net = NeuralNet(layers=[head_a, head_b], objective=two_task_objective, regression=True, update=sgd,
                    update_learning_rate=0.05, max_epochs=2, train_split=TrainSplit(0))
    net.fit(X, y)
    proba_a, out_b = net.predict_proba(X)
    hidden = np.maximum(X @ shared.W.get_value() + shared.b.get_value(), 0)
    logits = hidden @ head_a.W.get_value() + head_a.b.get_value()
    expected_a = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(proba_a, expected_a, rtol=1e-5)
    np.testing.assert_allclose(out_b, hidden @ head_b.W.get_value() + head_b.b.get_value(), rtol=1e-5, atol=1e-6)
    assert net.train_history_[1]["train_loss"] < net.train_history_[0]["train_loss"]
    assert isinstance(net.predict(X), tuple)  # regression: the outputs themselves


def test_classification_predict_needs_one_output():
    _, _, head_a, head_b = two_headed()
    net = NeuralNet(layers=[head_a, head_b], objective=two_task_objective, y_tensor_type=at.matrix,
                    update_learning_rate=0.1)
    with pytest.raises(ValueError, match="predict needs one output layer for classification, the net has 2"):
        net.predict(np.zeros((2, 3), np.float32))


# -- the default objective ---------------------------------------------------------


def test_objective_penalizes_the_weights_of_every_layer_once():
    np.random.seed(2)
    l_in, shared, head_a, head_b = two_headed()
    tied = layers.DenseLayer(shared, 2, W=head_a.W, nonlinearity=softmax, name="tied")
    net = NeuralNet(layers=[head_a, head_b, tied], update_learning_rate=0.1)
    net.initialize_layers()
    target = at.ivector("t")
    loss = base.objective(net.layers_, categorical_crossentropy, target, l1=0.01, l2=0.003)
    X = np.random.RandomState(3).randn(5, 3).astype(np.float32)
    labels = np.array([0, 1, 1, 0, 1], np.int32)
    value = aesara.function([l_in.input_var, target], loss)(X, labels)
    hidden = np.maximum(X @ shared.W.get_value() + shared.b.get_value(), 0)
    logits = hidden @ head_a.W.get_value() + tied.b.get_value()
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    weights = [shared.W.get_value(), head_a.W.get_value(), head_b.W.get_value()]  # tied.W is head_a.W: once
    expected = (-np.mean(np.log(proba[np.arange(5), labels]))
                + 0.01 * sum(np.abs(w).sum() for w in weights) + 0.003 * sum((w**2).sum() for w in weights))
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert loss.dtype == "float32"


def test_objective_takes_get_output_from_its_module(monkeypatch):
    calls = []

    def fake_get_output(layer, **kwargs):
        calls.append((layer, kwargs))
        return np.array([1.0, 2.0, 6.0])

    monkeypatch.setattr(base, "get_output", fake_get_output)
    loss = base.objective(["first", "last"], lambda out, t: out * t, 2.0, get_output_kw={"extra": 1})
    assert loss == pytest.approx(6.0) and calls == [("last", {"deterministic": False, "extra": 1})]
