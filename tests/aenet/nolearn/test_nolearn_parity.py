"""nolearn 0.6.1 behaviours of NeuralNet: Layers, eval_size, score, input checks, clone, grid search, get_output."""
import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
import aesara.tensor as at
from aenet.lasagne import layers
from aenet.lasagne.nonlinearities import rectify, softmax
from aenet.nolearn import BatchIterator, Layers, NeuralNet, TrainSplit, grad_scale

sklearn_base = pytest.importorskip("sklearn.base")
model_selection = pytest.importorskip("sklearn.model_selection")


def blobs(n=60, n_features=4, seed=0):
    rng = np.random.RandomState(seed)
    y = (np.arange(n) % 3).astype(np.int32)
    centers = rng.randn(3, n_features).astype(np.float32) * 4
    return centers[y] + rng.randn(n, n_features).astype(np.float32) * 0.3, y


def tuple_spec_net(**kwargs):
    params = dict(
        layers=[
            (layers.InputLayer, {"shape": (None, 4)}),
            (layers.DenseLayer, {"name": "hidden", "num_units": 5}),
            (layers.DenseLayer, {"name": "output", "num_units": 3, "nonlinearity": softmax}),
        ],
        update_learning_rate=0.05,
        max_epochs=2,
        batch_iterator_train=BatchIterator(batch_size=16),
    )
    params.update(kwargs)
    return NeuralNet(**params)


def test_layers_keys_and_values_are_lists():
    named = Layers([("one", 1), ("two", 2), ("three", 3)])
    assert named.keys() == ["one", "two", "three"]
    assert named.values() == [1, 2, 3]
    assert named[1] == 2 and named["three"] == 3
    assert named[:2].keys() == ["one", "two"] and isinstance(named[:2], Layers)


def test_eval_size_keyword_becomes_the_train_split():
    with pytest.warns(DeprecationWarning, match="eval_size"):
        net = NeuralNet(layers=[], eval_size=0.25, max_epochs=0)
    assert isinstance(net.train_split, TrainSplit) and net.train_split.eval_size == 0.25
    assert "eval_size" not in net.get_params()
    # The default TrainSplit, shared by every net, is left alone.
    assert NeuralNet(layers=[]).train_split.eval_size == 0.2


def test_eval_size_zero_at_construction_trains_on_everything():
    X, y = blobs()
    with pytest.warns(DeprecationWarning):
        net = tuple_spec_net(eval_size=0, max_epochs=1)
    net.fit(X, y)
    assert np.isnan(net.train_history_[0]["valid_loss"])


def test_regression_score_is_r2_with_predictions_as_the_truth():
    W, b = np.array([[1.5], [-2.0]], np.float32), np.array([0.25], np.float32)
    inp = layers.InputLayer((None, 2))
    out = layers.DenseLayer(inp, 1, W=W, b=b, nonlinearity=None)
    net = NeuralNet(out, regression=True, update_learning_rate=0.01)
    X = np.random.RandomState(3).randn(20, 2).astype(np.float32)
    y = (X @ W)[:, 0] + 0.25 + np.random.RandomState(4).randn(20).astype(np.float32)
    pred = (X @ W)[:, 0] + 0.25
    # nolearn calls r2_score(predictions, y): the predictions are the "true" values.
    expected = 1 - np.sum((y - pred) ** 2) / np.sum((pred - pred.mean()) ** 2)
    swapped = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert net.score(X, y) == pytest.approx(expected, rel=1e-5)
    assert abs(expected - swapped) > 1e-3


def test_check_good_input():
    net = NeuralNet(layers=[])
    X, y = np.zeros((10, 3), np.float32), np.arange(10)
    assert net._check_good_input(X) == (X, None)
    X1, y1 = net._check_good_input(X, y)
    assert X1 is X and y1 is y
    with pytest.raises(ValueError, match="not of equal length: 9 samples in X, 10 in y"):
        net._check_good_input(X[:9], y)
    with pytest.raises(ValueError, match="Not all values of X are of equal length"):
        net._check_good_input({"a": X, "b": X[:9]})
    with pytest.raises(ValueError, match="not of equal length"):
        net._check_good_input({"a": X, "b": X}, y[:9])
    net.regression = True
    _, column = net._check_good_input(X, y.astype(np.float32))
    assert column.shape == (10, 1) and np.array_equal(column[:, 0], y)


def test_clone_of_a_tuple_spec_net_is_a_fresh_equal_net():
    X, y = blobs()
    net = tuple_spec_net(hidden_num_units=6).fit(X, y)
    twin = sklearn_base.clone(net)
    assert twin is not net and not hasattr(twin, "layers_") and not getattr(twin, "train_history_", [])
    assert twin.layers == net.layers and twin.layers is not net.layers
    assert twin.hidden_num_units == 6 and twin.update_learning_rate == 0.05
    twin.fit(X, y)
    assert twin.layers_["hidden"].num_units == 6 and len(twin.train_history_) == 2


def test_clone_of_a_net_given_its_output_layer_copies_the_layers():
    np.random.seed(0)
    out = layers.DenseLayer(layers.InputLayer((None, 4)), 3, nonlinearity=softmax)
    net = NeuralNet(out, update_learning_rate=0.5, max_epochs=2, train_split=TrainSplit(0))
    twin = sklearn_base.clone(net)
    assert isinstance(twin.layers, layers.DenseLayer) and twin.layers is not out
    W_before = out.W.get_value()
    assert np.array_equal(twin.layers.W.get_value(), W_before)
    twin.fit(*blobs())
    assert np.array_equal(out.W.get_value(), W_before)  # the original's weights are untouched
    assert not np.array_equal(twin.layers.W.get_value(), W_before)


class RecordingNet(NeuralNet):
    fits = []

    def fit(self, X, y, epochs=None):
        RecordingNet.fits.append((self.hidden_num_units, self.update_learning_rate))
        return super().fit(X, y, epochs)


def test_grid_search_sets_routed_keywords():
    RecordingNet.fits = []
    X, y = blobs(n=48)
    net = RecordingNet(
        layers=[("input", layers.InputLayer), ("hidden", layers.DenseLayer), ("output", layers.DenseLayer)],
        input_shape=(None, 4), hidden_num_units=2, output_num_units=3, output_nonlinearity=softmax,
        update_learning_rate=0.01, max_epochs=1, train_split=TrainSplit(0),
    )
    grid = {"hidden_num_units": [3, 7], "update_learning_rate": [0.01, 0.1]}
    search = model_selection.GridSearchCV(net, grid, cv=2, refit=True).fit(X, y)
    cv_fits = sorted(RecordingNet.fits[:-1])
    assert cv_fits == sorted([(h, lr) for h in (3, 7) for lr in (0.01, 0.1)] * 2)
    best = search.best_estimator_
    assert best.layers_["hidden"].num_units == search.best_params_["hidden_num_units"]
    assert net.hidden_num_units == 2 and not hasattr(net, "layers_")  # the template is never fitted
    assert 0 <= search.best_score_ <= 1


def test_set_params_accepts_new_routed_keywords():
    net = tuple_spec_net()
    net.set_params(hidden_nonlinearity=rectify, update_momentum=0.5)
    assert net.get_params()["hidden_nonlinearity"] is rectify
    net.initialize()
    assert net.layers_["hidden"].nonlinearity is rectify


def test_get_output_of_a_layer_by_object_and_name():
    X, y = blobs(n=10)
    net = tuple_spec_net(batch_iterator_test=BatchIterator(batch_size=4))
    net.initialize()
    hidden = net.layers_["hidden"]
    expected = np.maximum(X @ hidden.W.get_value() + hidden.b.get_value(), 0)
    np.testing.assert_allclose(net.get_output("hidden", X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.get_output(hidden, X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.get_output(net.layers_[-1], X), net.predict_proba(X), rtol=1e-6)


def test_get_output_keeps_noise_unless_deterministic():
    inp = layers.InputLayer((None, 200))
    drop = layers.DropoutLayer(inp, p=0.5)
    net = NeuralNet(drop, regression=True, update_learning_rate=0.01)
    X = np.ones((3, 200), np.float32)
    noisy = net.get_output(drop, X)
    assert set(np.unique(noisy)) == {0.0, 2.0}  # dropped, or rescaled by 1 / (1 - p)
    np.testing.assert_array_equal(net.get_output(drop, X, deterministic=True), X)


def test_grad_scale_tags_trainable_params_and_scales_their_steps():
    dense = layers.DenseLayer(layers.InputLayer((None, 3)), 2, nonlinearity=None, W=np.ones((3, 2), np.float32))
    assert grad_scale(dense, 0.25) is dense
    for param in dense.get_params(trainable=True):
        assert param.tag.grad_scale == np.float32(0.25) and param.tag.grad_scale.dtype == np.float32
    from aenet.lasagne.updates import sgd

    X = np.array([[1.0, 2.0, -1.0]], np.float32)
    y = np.array([[0.5, -1.0]], np.float32)
    net = NeuralNet(dense, regression=True, update=sgd, update_learning_rate=0.1, max_epochs=1,
                    train_split=TrainSplit(0))
    net.fit(X, y)
    residual = X @ np.ones((3, 2)) - y  # d mean((out - y)^2) / d out = 2 * residual / 2 outputs
    grad_W = X.T @ residual
    np.testing.assert_allclose(dense.W.get_value(), 1 - 0.1 * 0.25 * grad_W, rtol=1e-5)
    np.testing.assert_allclose(dense.b.get_value(), -0.1 * 0.25 * residual[0], rtol=1e-5)


class SumLayer(layers.MergeLayer):
    """The elementwise sum of its inputs (a merge layer of the test's own)."""

    def get_output_shape_for(self, input_shapes):
        return input_shapes[0]

    def get_output_for(self, inputs, **kwargs):
        return sum(inputs[1:], inputs[0])


def test_incoming_and_incomings_name_earlier_layers():
    np.random.seed(2)
    net = NeuralNet(
        layers=[
            ("input", layers.InputLayer),
            ("left", layers.DenseLayer),
            ("right", layers.DenseLayer),
            ("sum", SumLayer),
            ("output", "aenet.lasagne.layers.DenseLayer"),
        ],
        input_shape=(None, 4), left_num_units=3, right_num_units=3, right_incoming="input",
        sum_incomings=["left", "right"], output_num_units=3, output_nonlinearity=softmax,
        update_learning_rate=0.05, max_epochs=3, train_split=TrainSplit(0),
    )
    X, y = blobs(n=30)
    net.fit(X, y)
    left, right, merged = net.layers_["left"], net.layers_["right"], net.layers_["sum"]
    assert right.input_layer is net.layers_["input"]
    assert merged.input_layers == [left, right] and net.layers_["output"].input_layer is merged

    def dense(layer, x):
        return np.maximum(x @ layer.W.get_value() + layer.b.get_value(), 0)

    out = net.layers_["output"]
    logits = (dense(left, X) + dense(right, X)) @ out.W.get_value() + out.b.get_value()
    proba = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(net.predict_proba(X), proba / proba.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)


def test_incomings_naming_a_later_layer_is_an_error():
    net = NeuralNet(
        layers=[(layers.InputLayer, {"shape": (None, 4)}), (SumLayer, {"incomings": ["input0", "nope"]})],
    )
    with pytest.raises(ValueError, match="'nope', which is not defined before it"):
        net.initialize_layers()


def test_batch_iterator_batches_every_array_of_a_dict():
    X = {"one": np.arange(20).reshape(10, 2), "two": np.arange(10) * 10}
    y = np.arange(10)
    for shuffle in (False, True):
        batches = list(BatchIterator(4, shuffle=shuffle)(X, y))
        assert [len(yb) for _, yb in batches] == [4, 4, 2]
        for Xb, yb in batches:
            np.testing.assert_array_equal(Xb["one"][:, 0], 2 * yb)
            np.testing.assert_array_equal(Xb["two"], 10 * yb)
    with pytest.raises(ValueError, match="equal length"):
        BatchIterator(4)({"one": np.zeros(3), "two": np.zeros(4)})


def test_a_dict_X_is_refused_with_a_clear_error():
    net = tuple_spec_net()
    X = {"input0": blobs()[0]}
    with pytest.raises(ValueError, match="X is a dict"):
        net.fit(X, blobs()[1])


def test_symbolic_scores_compile_with_the_net():
    X, y = blobs()
    net = tuple_spec_net(
        scores_train=[("trn_mean_proba", lambda proba, target: at.max(proba, axis=1))],
        scores_valid=[("val_mean_proba", lambda proba, target: at.max(proba, axis=1))],
        max_epochs=1,
    )
    net.fit(X, y)
    row = net.train_history_[-1]
    _, X_valid, _, _ = net.train_split(X, y, net)
    expected = np.mean(np.max(net.predict_proba(X_valid), axis=1))
    assert row["val_mean_proba"] == pytest.approx(expected, rel=1e-5)
    assert 1 / 3 <= row["trn_mean_proba"] <= 1


def test_train_split_shuffle_draws_a_new_reproducible_order_each_call():
    X, y = np.arange(40).reshape(20, 2), np.arange(20) % 2
    split, twin = TrainSplit(0.25, shuffle=True, seed=7), TrainSplit(0.25, shuffle=True, seed=7)
    first, second = split(X, y), split(X, y)
    X_train, X_valid, y_train, y_valid = first
    assert sorted(np.r_[X_train[:, 0], X_valid[:, 0]]) == list(range(0, 40, 2))
    np.testing.assert_array_equal(np.r_[y_train, y_valid], np.r_[X_train[:, 0], X_valid[:, 0]] // 2 % 2)
    assert len(X_valid) == 5 and sorted(y_valid.tolist()) in ([0, 0, 0, 1, 1], [0, 0, 1, 1, 1])
    assert not np.array_equal(first[1], second[1])  # a new order at each call
    np.testing.assert_array_equal(twin(X, y)[1], first[1])  # the same orders from the same seed
    np.testing.assert_array_equal(TrainSplit(0.25)(X, y)[1], TrainSplit(0.25)(X, y)[1])
