"""The post's three nets, declared exactly as there, fit one epoch on small random data."""
import re

import numpy as np
import pytest

from aenet.lasagne import layers
from aenet.lasagne.nonlinearities import softmax
from aenet.lasagne.updates import nesterov_momentum
from aenet.nolearn import NeuralNet


def mlp():
    net1 = NeuralNet(layers=[('input', layers.InputLayer), ('hidden', layers.DenseLayer), ('output', layers.DenseLayer)],
        input_shape=(None, 1024), hidden_num_units=100, output_nonlinearity=softmax, output_num_units=10,
        update=nesterov_momentum, update_learning_rate=0.01, update_momentum=0.9, regression=False, max_epochs=50, verbose=1)
    return net1


def mlp2():
    net1 = NeuralNet(layers=[('input', layers.InputLayer), ('hidden1', layers.DenseLayer), ('hidden2', layers.DenseLayer), ('output', layers.DenseLayer)],
        input_shape=(None, 1024), hidden1_num_units=100, hidden2_num_units=100, output_nonlinearity=softmax, output_num_units=10,
        update=nesterov_momentum, update_learning_rate=0.01, update_momentum=0.9, regression=False, max_epochs=50, verbose=1)
    return net1


def cnn():
    net2 = NeuralNet(layers=[('input', layers.InputLayer), ('conv1', layers.Conv2DLayer), ('pool1', layers.MaxPool2DLayer),
        ('conv2', layers.Conv2DLayer), ('pool2', layers.MaxPool2DLayer), ('conv3', layers.Conv2DLayer), ('pool3', layers.MaxPool2DLayer),
        ('hidden4', layers.DenseLayer), ('output', layers.DenseLayer)],
        input_shape=(None, 1, 32, 32), conv1_num_filters=16, conv1_filter_size=(3, 3), pool1_pool_size=(2, 2),
        conv2_num_filters=32, conv2_filter_size=(2, 2), pool2_pool_size=(2, 2), conv3_num_filters=64, conv3_filter_size=(2, 2),
        pool3_pool_size=(2, 2), hidden4_num_units=200, output_num_units=10, output_nonlinearity=softmax,
        update_learning_rate=0.015, update_momentum=0.9, regression=False, max_epochs=5, verbose=1)
    return net2


# Learnable parameters counted by hand (W + b per layer).
MLP_PARAMS = (1024 * 100 + 100) + (100 * 10 + 10)
MLP2_PARAMS = (1024 * 100 + 100) + (100 * 100 + 100) + (100 * 10 + 10)
# 32x32 -conv3-> 30 -pool-> 15 -conv2-> 14 -pool-> 7 -conv2-> 6 -pool-> 3: 64*3*3 = 576 features.
CNN_PARAMS = (
    (16 * 1 * 3 * 3 + 16)
    + (32 * 16 * 2 * 2 + 32)
    + (64 * 32 * 2 * 2 + 64)
    + (576 * 200 + 200)
    + (200 * 10 + 10)
)
ROW = re.compile(r"^\s+1\s+\d+\.\d{5}\s+\d+\.\d{5}\s+\d+\.\d{5}\s+[01]\.\d{5}\s+\d+\.\d\ds$", re.M)


@pytest.mark.parametrize(
    "build, shape, n_params, sizes",
    [
        (mlp, (1024,), MLP_PARAMS, ["1024", "100", "10"]),
        (mlp2, (1024,), MLP2_PARAMS, ["1024", "100", "100", "10"]),
        (cnn, (1, 32, 32), CNN_PARAMS,
         ["1x32x32", "16x30x30", "16x15x15", "32x14x14", "32x7x7", "64x6x6", "64x3x3", "200", "10"]),
    ],
    ids=["mlp", "mlp-2-hidden", "cnn"],
)
def test_post_net_fits_one_epoch(build, shape, n_params, sizes, capsys):
    rng = np.random.RandomState(0)
    X = rng.rand(150, *shape).astype(np.float32)
    y = (np.arange(150) % 10).astype(np.int32)
    np.random.seed(0)
    net = build()
    net.fit(X, y, epochs=1)

    assert len(net.train_history_) == 1
    row = net.train_history_[0]
    assert np.isfinite(row["train_loss"]) and np.isfinite(row["valid_loss"])
    assert 0 <= row["valid_accuracy"] <= 1
    assert net.predict_proba(X[:5]).shape == (5, 10)
    out = capsys.readouterr().out
    assert f"# Neural Network with {n_params} learnable parameters" in out
    table = out.split("## Layer information")[1].split("epoch")[0]
    assert re.findall(r"^\s*\d+\s+\S+\s+(\S+)$", table, re.M) == sizes
    assert len(ROW.findall(out)) == 1
