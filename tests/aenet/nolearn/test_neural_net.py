"""aenet.nolearn.NeuralNet: building, routing, training, handlers, checks and params."""
import inspect
import re

import numpy as np
import pytest

from aenet.lasagne import layers
from aenet.lasagne.nonlinearities import softmax
from aenet.lasagne.updates import nesterov_momentum
from aenet.nolearn import BatchIterator, EarlyStopping, NeuralNet, SaveWeights, TrainSplit, objective

N_FEATURES, N_HIDDEN, N_CLASSES = 6, 5, 3


def blobs(n=240, noise_seed=0):
    """Three well separated Gaussian blobs (always the same centers), labels 0..2."""
    centers = np.random.RandomState(0).randn(N_CLASSES, N_FEATURES).astype(np.float32) * 4
    y = (np.arange(n) % N_CLASSES).astype(np.int32)
    noise = np.random.RandomState(noise_seed + 100).randn(n, N_FEATURES).astype(np.float32)
    return centers[y] + noise * 0.5, y


def small_net(**kwargs):
    np.random.seed(1)  # aenet.lasagne initializes from numpy's global generator
    params = dict(
        layers=[("input", layers.InputLayer), ("hidden", layers.DenseLayer), ("output", layers.DenseLayer)],
        input_shape=(None, N_FEATURES),
        hidden_num_units=N_HIDDEN,
        output_num_units=N_CLASSES,
        output_nonlinearity=softmax,
        update_learning_rate=0.05,
        update_momentum=0.9,
        batch_iterator_train=BatchIterator(batch_size=32),
        max_epochs=5,
    )
    params.update(kwargs)
    return NeuralNet(**params)


# Hand count: dense 6->5 (W 30 + b 5) and dense 5->3 (W 15 + b 3).
SMALL_NET_PARAMS = N_FEATURES * N_HIDDEN + N_HIDDEN + N_HIDDEN * N_CLASSES + N_CLASSES


@pytest.fixture(scope="module")
def data():
    return blobs()


@pytest.fixture(scope="module")
def trained(data):
    X, y = data
    return small_net(max_epochs=20).fit(X, y)


# -- construction and keyword routing ------------------------------------------


def test_init_only_stores_arguments():
    net = small_net(hidden_typo=3)  # no error before initialize()
    assert net.hidden_typo == 3
    assert not hasattr(net, "layers_") and not hasattr(net, "train_history_")
    assert net.get_params()["hidden_num_units"] == N_HIDDEN
    assert net.get_params()["max_epochs"] == 5


ROUTED = ["input_shape", "hidden_num_units", "output_num_units", "output_nonlinearity",
          "update_learning_rate", "update_momentum"]  # small_net's routed keywords, in order


def test_get_params_rebuild_an_untrained_net_as_sklearn_clone_does(trained):
    init_args = [name for name in inspect.signature(NeuralNet.__init__).parameters if name not in ("self", "kwargs")]
    params = trained.get_params(deep=False)
    assert list(params) == init_args + ROUTED and params["hidden_num_units"] == N_HIDDEN
    copy = type(trained)(**params)
    assert copy.get_params(deep=False).keys() == params.keys()
    assert all(copy.get_params(deep=False)[key] is value for key, value in params.items())
    assert set(vars(copy)) == set(params) | {"_kwarg_keys"}  # no layers_, no train_history_


def test_keywords_are_routed_by_layer_name_prefix():
    net = small_net()
    net.initialize_layers()
    assert list(net.layers_.keys()) == ["input", "hidden", "output"]
    assert net.layers_["input"].shape == (None, N_FEATURES)
    assert net.layers_["hidden"].num_units == N_HIDDEN
    assert net.layers_["output"].num_units == N_CLASSES
    assert net.layers_["output"].nonlinearity is softmax
    assert net.layers_["hidden"].input_layer is net.layers_["input"]
    assert net.layers_["output"].input_layer is net.layers_["hidden"]
    assert net.layers_[-1] is net.layers_["output"] and net.layers_[0] is net.layers_["input"]


def test_update_and_objective_keywords_reach_their_functions():
    seen = {}

    def update(loss, params, **kw):
        seen["update"] = kw
        return nesterov_momentum(loss, params, **kw)

    def spy_objective(layers_, **kw):
        seen.setdefault("objective", []).append(kw)
        return objective(layers_, **kw)

    net = small_net(update=update, objective=spy_objective, objective_l2=0.001)
    net.initialize()
    assert seen["update"] == {"learning_rate": 0.05, "momentum": 0.9}
    assert [kw["l2"] for kw in seen["objective"]] == [0.001, 0.001]
    assert sorted(kw.get("deterministic", False) for kw in seen["objective"]) == [False, True]


def test_unused_kwarg_is_an_error_at_initialize():
    net = small_net(hiden_num_units=7)
    with pytest.raises(ValueError, match="^Unused kwarg: hiden_num_units"):
        net.initialize()


def test_longest_layer_name_owns_a_keyword():
    net = NeuralNet(
        layers=[("in", layers.InputLayer), ("d", layers.DenseLayer), ("d_2", layers.DenseLayer)],
        in_shape=(None, 4), d_num_units=3, d_2_num_units=2,
    )
    net.initialize_layers()
    assert net.layers_["d"].num_units == 3
    assert net.layers_["d_2"].num_units == 2
    net._check_for_unused_kwargs()


def test_default_layer_names_and_class_kwarg_specs():
    net = NeuralNet(
        layers=[
            (layers.InputLayer, {"shape": (None, 4)}),
            (layers.DenseLayer, {"num_units": 3}),
            (layers.DenseLayer, {"num_units": 2, "nonlinearity": softmax}),
        ],
        dense1_num_units=7,  # keywords reach default-named layers too
    )
    net.initialize_layers()
    assert list(net.layers_.keys()) == ["input0", "dense1", "dense2"]
    assert net.layers_["dense1"].num_units == 7
    assert net.layers_["dense2"].nonlinearity is softmax


def test_incoming_given_by_name():
    net = NeuralNet(
        layers=[
            ("input", layers.InputLayer),
            ("a", layers.DenseLayer),
            ("b", layers.DenseLayer),
        ],
        input_shape=(None, 4), a_num_units=3, b_num_units=2, b_incoming="input",
    )
    net.initialize_layers()
    assert net.layers_["b"].input_layer is net.layers_["input"]
    assert net.layers_["b"].W.get_value().shape == (4, 2)


def test_weights_shared_by_layer_name():
    net = NeuralNet(
        layers=[("input", layers.InputLayer), ("a", layers.DenseLayer), ("b", layers.DenseLayer)],
        input_shape=(None, 4), a_num_units=4, b_num_units=4, b_W="a",
    )
    net.initialize_layers()
    assert net.layers_["b"].W is net.layers_["a"].W
    assert net.layers_["b"].b is not net.layers_["a"].b
    assert len(net.get_all_params()) == 3  # the shared W counted once


def test_layer_instances_and_an_output_layer():
    l_in = layers.InputLayer((None, 4), name="x")
    l_hidden = layers.DenseLayer(l_in, num_units=3)
    l_out = layers.DenseLayer(l_hidden, num_units=2, nonlinearity=softmax, name="out")
    for spec in (l_out, [l_in, l_hidden, l_out]):
        net = NeuralNet(layers=spec, update_learning_rate=0.1)
        net.initialize_layers()
        assert list(net.layers_.keys()) == ["x", "dense1", "out"]
        assert net.layers_["out"] is l_out
    with pytest.raises(ValueError, match="instances"):
        NeuralNet(layers=l_out, out_num_units=3).initialize_layers()


def test_duplicate_layer_names_and_unknown_incoming_are_errors():
    with pytest.raises(ValueError, match="two layers are named 'h'"):
        NeuralNet(
            layers=[("input", layers.InputLayer), ("h", layers.DenseLayer), ("h", layers.DenseLayer)],
            input_shape=(None, 2), h_num_units=2,
        ).initialize_layers()
    with pytest.raises(ValueError, match="'nope'"):
        NeuralNet(
            layers=[("input", layers.InputLayer), ("h", layers.DenseLayer)],
            input_shape=(None, 2), h_num_units=2, h_incoming="nope",
        ).initialize_layers()




# -- training --------------------------------------------------------------------


def test_learns_a_separable_problem(trained):
    X_test, y_test = blobs(n=150, noise_seed=1)  # unseen samples
    assert trained.score(X_test, y_test) > 0.95
    history = trained.train_history_
    assert len(history) == 20
    assert history[-1]["valid_accuracy"] > 0.95
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert set(history[0]) == {
        "epoch", "train_loss", "train_loss_best", "valid_loss", "valid_loss_best", "valid_accuracy", "dur",
    }
    assert [row["epoch"] for row in history] == list(range(1, 21))


def test_predictions_have_the_right_types(trained, data):
    X, _ = data
    proba = trained.predict_proba(X[:7])
    assert proba.shape == (7, N_CLASSES) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    prediction = trained.predict(X[:7])
    assert prediction.dtype == np.int32
    np.testing.assert_array_equal(prediction, proba.argmax(axis=1))


def test_counts_parameters(trained):
    values = trained.get_all_params_values()
    assert list(values) == ["input", "hidden", "output"]
    assert [v.shape for v in values["hidden"]] == [(N_FEATURES, N_HIDDEN), (N_HIDDEN,)]
    assert sum(p.get_value().size for p in trained.get_all_params(trainable=True)) == SMALL_NET_PARAMS
    assert len(trained.get_all_params(regularizable=True)) == 2  # the two W


def test_epochs_argument_and_partial_fit_continue_the_history(data):
    X, y = data
    net = small_net(max_epochs=50)
    net.fit(X, y, epochs=2)
    assert len(net.train_history_) == 2
    net.partial_fit(X, y)
    assert [row["epoch"] for row in net.train_history_] == [1, 2, 3]


def test_eval_size_zero_trains_on_everything(data):
    X, y = data
    net = small_net(train_split=TrainSplit(eval_size=0), max_epochs=2).fit(X, y)
    row = net.train_history_[-1]
    assert np.isnan(row["valid_loss"]) and np.isnan(row["valid_accuracy"])
    assert np.isfinite(row["train_loss"]) and row["valid_loss_best"] is False


def test_train_loss_is_the_objective_on_the_training_part(data):
    X, y = data
    batches = []

    class Recording(BatchIterator):
        def transform(self, Xb, yb):
            batches.append(len(Xb))
            return Xb, yb

    net = small_net(batch_iterator_train=Recording(batch_size=50), max_epochs=1).fit(X, y)
    assert batches == [50, 50, 50, 42]  # 80 % of 240 = 192 samples, last batch kept
    assert net.train_history_[0]["train_loss"] > 0


def test_label_encoder_maps_labels_back(data):
    X, y = data
    names = np.array(["cat", "dog", "emu"])
    net = small_net(use_label_encoder=True, max_epochs=15).fit(X, names[y])
    assert list(net.classes_) == ["cat", "dog", "emu"]
    prediction = net.predict(X)
    assert prediction.dtype.kind == "U"
    assert np.mean(prediction == names[y]) > 0.95


def test_regression_fits_a_linear_target():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32) + 0.3
    np.random.seed(2)
    net = NeuralNet(
        layers=[("input", layers.InputLayer), ("output", layers.DenseLayer)],
        input_shape=(None, 4), output_num_units=1, output_nonlinearity=None,
        regression=True, update_learning_rate=0.05, max_epochs=30,
    ).fit(X, y)  # 1-D y becomes a column
    prediction = net.predict(X)
    assert prediction.shape == (300, 1)
    assert net.score(X, y) > 0.99
    assert np.isnan(net.train_history_[0]["valid_accuracy"])


# -- handlers ----------------------------------------------------------------------------


def test_handlers_get_the_net_and_history_and_stopiteration_stops(data):
    X, y = data
    calls = []

    def started(net, history):
        calls.append(("started", len(history)))

    def epoch(net, history):
        assert net is holder[0] and history is net.train_history_
        calls.append(("epoch", history[-1]["epoch"]))
        if history[-1]["epoch"] == 3:
            raise StopIteration

    def after_epoch(net, history):
        calls.append(("after", history[-1]["epoch"]))

    def finished(net, history):
        calls.append(("finished", len(history)))

    batches = []
    net = small_net(
        max_epochs=10,
        on_training_started=started,  # a single callable is accepted
        on_epoch_finished=[epoch, after_epoch],
        on_training_finished=[finished],
        on_batch_finished=lambda net, history: batches.append(len(history)),
    )
    holder = [net]
    net.fit(X, y)
    assert len(net.train_history_) == 3
    assert calls == [
        ("started", 0),
        ("epoch", 1), ("after", 1),
        ("epoch", 2), ("after", 2),
        ("epoch", 3),  # StopIteration skips the rest of that epoch's handlers
        ("finished", 3),
    ]
    # 192 training samples in batches of 32: 6 batches per epoch.
    assert batches == [0] * 6 + [1] * 6 + [2] * 6


def test_save_weights_and_early_stopping(data, tmp_path):
    X, y = data
    stopper = EarlyStopping(patience=2)
    losses = iter([1.0, 0.5, 0.7, 0.8, 0.9, 0.2])

    def fake_valid_loss(net, history):  # makes epoch 2 the best, deterministically
        history[-1]["valid_loss"] = next(losses)

    net = small_net(
        max_epochs=6,
        on_epoch_finished=[fake_valid_loss, stopper, SaveWeights(str(tmp_path / "w-{epoch}.npz"))],
    )
    net.fit(X, y)
    assert stopper.best_epoch == 2 and len(net.train_history_) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-0001.npz", "w-0002.npz", "w-0003.npz"]
    restored = net.get_all_params_values()
    for name, values in stopper.best_params.items():
        for a, b in zip(values, restored[name]):
            np.testing.assert_array_equal(a, b)


def test_verbose_prints_parameter_count_layers_and_one_row_per_epoch(data, capsys):
    X, y = data
    small_net(verbose=1, max_epochs=3).fit(X, y)
    out = capsys.readouterr().out
    assert f"# Neural Network with {SMALL_NET_PARAMS} learnable parameters" in out
    assert re.search(r"^\s+1\s+hidden\s+5$", out, re.M)
    assert re.search(r"^\s+0\s+input\s+6$", out, re.M)
    header = [line for line in out.splitlines() if "trn loss" in line]
    assert len(header) == 1
    assert header[0].split() == ["epoch", "trn", "loss", "val", "loss", "trn/val", "valid", "acc", "dur"]
    rows = re.findall(r"^\s+(\d+)\s+\d+\.\d{5}\s+\d+\.\d{5}\s+\d+\.\d{5}\s+[01]\.\d{5}\s+\d+\.\d\ds$", out, re.M)
    assert rows == ["1", "2", "3"]


# -- input checks (the checks themselves: test_inputs.py) --------------------------------


def test_fit_and_predict_check_their_input():
    net = small_net()
    with pytest.raises(ValueError, match=r"label 3 is out of range .* 3 units"):
        net.fit(np.zeros((12, N_FEATURES), dtype=np.float32), np.array([0, 1, 3] * 4))
    with pytest.raises(ValueError, match="12 samples in X, 11 in y"):
        net.fit(np.zeros((12, N_FEATURES)), np.zeros(11, dtype=np.int32))
    with pytest.raises(ValueError, match=r"shape \(12, 5\).*\(None, 6\)"):
        net.predict(np.zeros((12, 5)))
    assert net._prepare_y(np.array([0.0, 2.0, 1.0])).tolist() == [0, 2, 1]


def test_nan_training_loss_names_the_epoch(data):
    X, y = data

    def poison(net, history):
        if history[-1]["epoch"] == 2:
            W = net.layers_["hidden"].W
            W.set_value(np.full_like(W.get_value(), np.nan))

    net = small_net(on_epoch_finished=poison, max_epochs=5)
    with pytest.raises(FloatingPointError, match="training loss is nan at epoch 3"):
        net.fit(X, y)
    assert len(net.train_history_) == 2


# -- saving and loading parameters -----------------------------------------------------------


def test_save_and_load_round_trip(trained, data, tmp_path):
    X, _ = data
    path = tmp_path / "params.weights"
    trained.save_params_to(path)
    assert path.exists() and not (tmp_path / "params.weights.npz").exists()
    with np.load(path, allow_pickle=False) as saved:  # plain arrays, no pickles
        assert sorted(saved.files) == ["param/hidden:0", "param/hidden:1", "param/output:0", "param/output:1"]

    fresh = small_net()
    fresh.initialize()
    assert not np.allclose(fresh.predict_proba(X), trained.predict_proba(X))
    fresh.load_params_from(str(path))
    np.testing.assert_array_equal(fresh.predict_proba(X), trained.predict_proba(X))

    other = small_net()
    other.load_params_from(trained)  # from a net, before initialize()
    np.testing.assert_array_equal(other.predict_proba(X), trained.predict_proba(X))


def test_loading_mismatched_shapes_names_layer_and_shapes(trained, tmp_path):
    path = tmp_path / "params.npz"
    trained.save_params_to(path)
    wider = small_net(hidden_num_units=N_HIDDEN + 2)
    before = wider.get_all_params_values()
    with pytest.raises(ValueError, match=r"layer 'hidden'.*\(6, 7\) in this net but \(6, 5\)"):
        wider.load_params_from(path)
    after = wider.get_all_params_values()
    for name in before:  # nothing was half-loaded
        for a, b in zip(before[name], after[name]):
            np.testing.assert_array_equal(a, b)


def test_loading_from_an_unrelated_source_is_an_error(trained):
    with pytest.raises(ValueError, match="no layer of the source"):
        small_net().load_params_from({"conv1": [np.zeros(3)]})


def test_set_params_recompiles_only_for_graph_arguments():
    net = small_net()
    net.initialize()
    compiled = net.train_iter_
    net.set_params(max_epochs=3, verbose=0, on_epoch_finished=[])
    assert net.max_epochs == 3
    net.initialize()
    assert net.train_iter_ is compiled
    hidden = net.layers_["hidden"]
    net.set_params(update_learning_rate=0.5)
    assert net.get_params()["update_learning_rate"] == 0.5
    assert net._initialized is False and net.layers_["hidden"] is hidden  # recompile, same weights
    net.set_params(hidden_num_units=N_HIDDEN)  # a layer keyword rebuilds the layers
    assert not hasattr(net, "layers_")
    net.initialize_layers()
    assert net.layers_["hidden"] is not hidden


def test_training_loss_uses_dropout_and_validation_does_not(data):
    X, y = data
    np.random.seed(3)
    net = NeuralNet(
        layers=[("input", layers.InputLayer), ("drop", layers.DropoutLayer), ("output", layers.DenseLayer)],
        input_shape=(None, N_FEATURES), drop_p=0.5, output_num_units=N_CLASSES, output_nonlinearity=softmax,
        update_learning_rate=0.0, update_momentum=0.0,  # train_iter_ leaves the weights alone
    )
    net.initialize()
    Xb, yb = X[:64], y[:64]
    train_losses = {float(net.train_iter_(Xb, yb)[0]) for _ in range(3)}
    assert len(train_losses) == 3  # a new dropout mask each call
    (loss1, acc1), (loss2, acc2) = net.eval_iter_(Xb, yb), net.eval_iter_(Xb, yb)
    assert loss1 == loss2 and acc1 == acc2
    proba = net.predict_proba(Xb)
    np.testing.assert_allclose(loss1, -np.mean(np.log(proba[np.arange(64), yb])), rtol=1e-5)
    np.testing.assert_allclose(acc1, np.mean(proba.argmax(axis=1) == yb), rtol=1e-6)


def test_scores_are_recorded_and_printed(data, capsys):
    import aesara.tensor as at

    X, y = data

    def error_rate(proba, target):
        return at.neq(at.argmax(proba, axis=1), target)

    def top2(y_batch, proba):
        return np.mean((np.argsort(proba, axis=1)[:, -2:] == y_batch[:, None]).any(axis=1))

    net = small_net(
        max_epochs=2, verbose=1,
        scores_train=[("trn err", error_rate)],
        scores_valid=[("val err", error_rate)],
        custom_scores=[("top2", top2)],
    ).fit(X, y)
    row = net.train_history_[-1]
    np.testing.assert_allclose(row["val err"], 1 - row["valid_accuracy"], atol=1e-6)
    assert 0 <= row["trn err"] <= 1 and row["valid_accuracy"] <= row["top2"] <= 1
    header = [line for line in capsys.readouterr().out.splitlines() if "trn loss" in line][0]
    assert header.split() == [
        "epoch", "trn", "loss", "val", "loss", "trn/val", "valid", "acc", "trn", "err", "val", "err", "top2", "dur",
    ]
