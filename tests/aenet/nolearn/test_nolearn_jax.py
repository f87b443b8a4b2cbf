"""NeuralNet's nolearn 0.6.1 additions on the JAX device: grad_scale, get_output, handlers reading the weights."""
import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
from aenet.lasagne import layers
from aenet.lasagne.updates import sgd
from aenet.nolearn import NeuralNet, RememberBestWeights, TrainSplit, WeightLog, grad_scale

pytestmark = pytest.mark.usefixtures("jax_cpu")


def test_scaled_sgd_step_on_the_device_matches_the_closed_form():
    dense = layers.DenseLayer(layers.InputLayer((None, 3)), 2, nonlinearity=None, W=np.ones((3, 2), np.float32))
    grad_scale(dense, 0.25)
    X = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 1.0]], np.float32)
    y = np.array([[0.5, -1.0], [1.0, 2.0]], np.float32)
    log = WeightLog()
    net = NeuralNet(dense, regression=True, update=sgd, update_learning_rate=0.1, max_epochs=1,
                    train_split=TrainSplit(0), on_batch_finished=[log])
    net.fit(X, y)
    assert net._on_device
    residual = X @ np.ones((3, 2)) - y  # mean over 2 x 2 entries: d/d out = 2 * residual / 4
    grad_W, grad_b = X.T @ residual / 2, residual.sum(0) / 2
    expected_W = 1 - 0.1 * 0.25 * grad_W
    np.testing.assert_allclose(dense.W.get_value(), expected_W, rtol=1e-5)
    np.testing.assert_allclose(dense.b.get_value(), -0.1 * 0.25 * grad_b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(log.history[0]["dense1_0 wmean"], expected_W.mean(), rtol=1e-5)
    # get_output reads the trained values back from the device
    np.testing.assert_allclose(net.get_output(dense, X), X @ expected_W + dense.b.get_value(), rtol=1e-5)


def test_remember_best_weights_sees_the_device_values():
    remember = RememberBestWeights(loss="train_loss", verbose=0)
    dense = layers.DenseLayer(layers.InputLayer((None, 2)), 1, nonlinearity=None)
    X = np.random.RandomState(0).randn(16, 2).astype(np.float32)
    y = X @ np.array([[1.0], [-1.0]], np.float32)
    net = NeuralNet(dense, regression=True, update=sgd, update_learning_rate=0.1, max_epochs=3,
                    train_split=TrainSplit(0), on_epoch_finished=[remember])
    net.fit(X, y)
    assert remember.best_weights_epoch == 3  # plain gradient descent on a convex loss keeps improving
    np.testing.assert_array_equal(remember.best_weights["dense1"][0], dense.W.get_value())


def test_a_net_with_two_outputs_predicts_and_scores_both_on_the_device():
    np.random.seed(0)
    l_in = layers.InputLayer((None, 3))
    shared = layers.DenseLayer(l_in, 4, name="shared")
    head_a = layers.DenseLayer(shared, 2, nonlinearity=None, name="head_a")
    head_b = layers.DenseLayer(shared, 1, nonlinearity=None, name="head_b")

    def both_heads(layers_, target, deterministic=False, **kwargs):
        out_a, out_b = layers.get_output([layers_["head_a"], layers_["head_b"]], deterministic=deterministic)
        return ((out_a - target[:, :2]) ** 2).mean() + ((out_b - target[:, 2:]) ** 2).mean()

    seen = []

    def spread(y_batch, outputs):
        seen.append([o.shape for o in outputs])
        return float(np.abs(outputs[1][:, 0] - y_batch[:, 2]).mean())

    X = np.random.RandomState(1).randn(12, 3).astype(np.float32)
    y = np.concatenate([X[:, :2], X[:, 2:] * 2], axis=1)
    net = NeuralNet([head_a, head_b], objective=both_heads, regression=True, update=sgd, update_learning_rate=0.05,
                    max_epochs=2, train_split=TrainSplit(0.25, stratify=False), custom_scores=[("spread", spread)])
    net.fit(X, y)
    assert net._on_device and seen[0] == [(3, 2), (3, 1)]
    out_a, out_b = net.predict_proba(X)
    hidden = np.maximum(X @ shared.W.get_value() + shared.b.get_value(), 0)
    np.testing.assert_allclose(out_a, hidden @ head_a.W.get_value() + head_a.b.get_value(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_b, hidden @ head_b.W.get_value() + head_b.b.get_value(), rtol=1e-5, atol=1e-6)
    # The last epoch's score is measured after its training steps, with the final weights, on the first 3 samples.
    np.testing.assert_allclose(net.train_history_[-1]["spread"], np.abs(out_b[:3, 0] - y[:3, 2]).mean(), rtol=1e-5)
