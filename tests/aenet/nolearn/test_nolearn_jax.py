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
