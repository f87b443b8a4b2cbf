"""RememberBestWeights, RestoreBestWeights, SaveWeights and WeightLog."""
import csv
import pickle

import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
from aenet.lasagne import layers
from aenet.lasagne.nonlinearities import softmax
from aenet.nolearn import (
    BatchIterator,
    NeuralNet,
    RememberBestWeights,
    RestoreBestWeights,
    SaveWeights,
    TrainSplit,
    WeightLog,
)


def built_net(**kwargs):
    np.random.seed(0)
    out = layers.DenseLayer(layers.InputLayer((None, 3)), 2, nonlinearity=softmax, name="out")
    net = NeuralNet(out, update_learning_rate=0.1, **kwargs)
    net.initialize_layers()
    return net, out


def set_weights(layer, value):
    layer.W.set_value(np.full((3, 2), value, np.float32))
    layer.b.set_value(np.full(2, -value, np.float32))


def run_epochs(net, layer, handler, rows):
    history = []
    for epoch, (weight, row) in enumerate(zip(*rows), 1):
        set_weights(layer, weight)
        history.append({"epoch": epoch, **row})
        handler(net, history)
    return history


def test_remember_best_weights_keeps_the_lowest_loss_and_restore_loads_it(capsys):
    remember = RememberBestWeights()
    net, out = built_net(on_epoch_finished=[remember])
    history = run_epochs(net, out, remember, ([1.0, 2.0, 3.0], [{"valid_loss": v} for v in (0.5, 0.2, 0.4)]))
    assert remember.best_weights_epoch == 2 and remember.best_weights_loss == 0.2
    np.testing.assert_array_equal(remember.best_weights["out"][0], np.full((3, 2), 2.0))
    set_weights(out, 9.0)
    RestoreBestWeights()(net, history)
    np.testing.assert_array_equal(out.W.get_value(), np.full((3, 2), 2.0))
    np.testing.assert_array_equal(out.b.get_value(), np.full(2, -2.0))
    assert "Loaded best weights from epoch 2 where valid_loss was 0.2" in capsys.readouterr().out


def test_remember_best_weights_by_score_keeps_the_highest():
    remember = RememberBestWeights(score="valid_accuracy", verbose=0)
    net, out = built_net()
    history = run_epochs(net, out, remember, ([1.0, 2.0, 3.0], [{"valid_accuracy": v} for v in (0.5, 0.9, 0.7)]))
    assert remember.best_weights_epoch == 2 and remember.best_weights_loss == -0.9
    set_weights(out, 0.0)
    RestoreBestWeights(remember=remember)(net, history)
    np.testing.assert_array_equal(out.W.get_value(), np.full((3, 2), 2.0))


def test_restore_needs_one_remember_handler():
    net, _ = built_net()
    with pytest.raises(ValueError, match="found 0"):
        RestoreBestWeights()(net, [])


def test_weight_log_records_changes_and_writes_csv(tmp_path):
    path = tmp_path / "weights.csv"
    log = WeightLog(save_to=str(path), write_every=2)
    net, out = built_net()
    run_epochs(net, out, log, ([1.0, -3.0, 2.0], [{}] * 3))
    assert [entry["out_0 wdiff"] for entry in log.history] == [0.0, 4.0, 5.0]
    assert [entry["out_0 wabsmean"] for entry in log.history] == [1.0, 3.0, 2.0]
    assert [entry["out_1 wmean"] for entry in log.history] == [-1.0, 3.0, -2.0]
    log._save_to_file.close()
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2  # written two at a time
    assert [float(row["out_0 wdiff"]) for row in rows] == [0.0, 4.0]
    assert set(rows[0]) == {f"out_{i} {stat}" for i in (0, 1) for stat in ("wdiff", "wabsmean", "wmean")}


def test_weight_log_runs_after_every_batch_of_training():
    log = WeightLog()
    X = np.random.RandomState(0).randn(20, 3).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int32)
    net, _ = built_net(on_batch_finished=[log], max_epochs=2, train_split=TrainSplit(0),
                       batch_iterator_train=BatchIterator(batch_size=8))
    net.fit(X, y)
    assert len(log.history) == 2 * 3
    assert all(entry["out_0 wdiff"] > 0 for entry in log.history[1:])


def test_remember_best_weights_restore_loads_them_into_the_net(capsys):
    remember = RememberBestWeights()
    net, out = built_net()
    history = run_epochs(net, out, remember, ([4.0, 1.5], [{"valid_loss": v} for v in (0.3, 0.6)]))
    set_weights(out, 0.0)
    remember.restore(net, history)
    np.testing.assert_array_equal(out.W.get_value(), np.full((3, 2), 4.0))
    assert "Loaded best weights from epoch 1 where valid_loss was 0.3" in capsys.readouterr().out


class Saver:
    """Stands in for a net: records the paths it is asked to save to."""

    def __init__(self):
        self.paths = []

    def save_params_to(self, path):
        self.paths.append(path)


def saves(handler, losses):
    """The epochs at which ``handler`` saves, on a history with these validation losses (no ``*_best`` keys)."""
    saver, history = Saver(), []
    for epoch, loss in enumerate(losses, 1):
        history.append({"epoch": epoch, "valid_loss": loss})
        handler(saver, history)
    return [int(path.split("-")[1]) for path in saver.paths]


def test_save_weights_only_best_reads_the_losses_of_the_history():
    best = SaveWeights("w-{epoch}", only_best=True)
    assert saves(best, [0.9, 1.0, 0.7, 0.7, 0.8, 0.5]) == [1, 3, 4, 6]  # a tie counts as best
    assert saves(SaveWeights("w-{epoch}", only_best=True), [float("nan"), 0.4, float("nan")]) == [2]
    assert saves(SaveWeights("w-{epoch}", only_best=True, every_n_epochs=2), [0.9, 0.8, 0.7, 0.9]) == [2]
    assert saves(SaveWeights("w-{epoch}"), [0.9, 1.0]) == [1, 2]


def test_save_weights_can_pickle_the_whole_net(tmp_path):
    X = np.random.RandomState(0).randn(8, 3).astype(np.float32)
    net, _ = built_net(max_epochs=1, train_split=TrainSplit(0))
    net.fit(X, (X[:, 0] > 0).astype(np.int32))
    SaveWeights(str(tmp_path / "net-{epoch}.pkl"), pickle=True)(net, net.train_history_)
    with open(tmp_path / "net-0001.pkl", "rb") as f:
        loaded = pickle.load(f)
    assert isinstance(loaded, NeuralNet) and loaded is not net
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
