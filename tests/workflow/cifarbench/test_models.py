"""cifarbench.models: the post's net1 and net2 declared from config."""
import numpy as np
import pytest

from aenet.lasagne.layers import Conv2DLayer, DenseLayer, InputLayer, MaxPool2DLayer
from cifarbench.config import defaults
from cifarbench.models import build_net, count_params, declaration, hidden_names, model_config


def test_defaults_are_the_posts():
    mlp, cnn = model_config("mlp"), model_config("cnn")
    assert (mlp["hidden"], mlp["epochs"], mlp["learning_rate"]) == ([100], 50, 0.01)
    assert (cnn["hidden"], cnn["epochs"], cnn["learning_rate"]) == ([200], 5, 0.015)
    assert [(s["filters"], s["filter_size"], s["pool_size"]) for s in cnn["conv"]] == [
        (16, 3, 2), (32, 2, 2), (64, 2, 2),
    ]  # fmt: skip
    for config in (mlp, cnn):
        assert (config["momentum"], config["batch_size"], config["eval_size"]) == (0.9, 128, 0.2)


def test_mlp_is_1024_100_10():
    net = build_net("mlp", verbose=0)
    assert net.layers == [("input", InputLayer), ("hidden", DenseLayer), ("output", DenseLayer)]
    shapes = {name: layer.output_shape for name, layer in net.layers_.items()}
    assert shapes == {"input": (None, 1024), "hidden": (None, 100), "output": (None, 10)}
    assert count_params(net) == 1024 * 100 + 100 + 100 * 10 + 10
    assert net.max_epochs == 50 and net.update_learning_rate == 0.01 and net.update_momentum == 0.9
    assert net.batch_iterator_train.batch_size == 128 and net.train_split.eval_size == 0.2


def test_second_hidden_layer_from_config_is_named_like_the_post():
    net = build_net("mlp", {"hidden": [100, 100]}, verbose=0)
    assert [name for name, _ in net.layers] == ["input", "hidden1", "hidden2", "output"]
    assert net.layers_["hidden2"].output_shape == (None, 100)


def test_cnn_is_three_conv_pool_stages_and_a_dense_200():
    net = build_net("cnn", verbose=0)
    assert [name for name, _ in net.layers] == [
        "input", "conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "hidden4", "output",
    ]  # fmt: skip
    assert dict(net.layers)["conv2"] is Conv2DLayer and dict(net.layers)["pool3"] is MaxPool2DLayer
    shapes = {name: layer.output_shape for name, layer in net.layers_.items()}
    assert shapes["conv1"] == (None, 16, 30, 30) and shapes["pool1"] == (None, 16, 15, 15)
    assert shapes["pool3"] == (None, 64, 3, 3) and shapes["hidden4"] == (None, 200)
    assert shapes["output"] == (None, 10)
    assert net.max_epochs == 5 and net.update_learning_rate == 0.015


def test_cnn_stages_and_dense_layers_come_from_config():
    config = {"conv": [{"filters": 4, "filter_size": 5, "pool_size": 2}], "hidden": [16, 8]}
    layers, kwargs = declaration("cnn", config)
    assert [name for name, _ in layers] == ["input", "conv1", "pool1", "hidden2", "hidden3", "output"]
    assert kwargs["conv1_num_filters"] == 4 and kwargs["conv1_filter_size"] == (5, 5)
    assert kwargs["hidden3_num_units"] == 8 and kwargs["output_num_units"] == 10
    assert hidden_names("cnn", model_config("cnn", config)) == ["hidden2", "hidden3"]


def test_seed_fixes_the_initial_weights():
    a = build_net("mlp", seed=3, verbose=0).get_all_params_values()
    b = build_net("mlp", seed=3, verbose=0).get_all_params_values()
    c = build_net("mlp", seed=4, verbose=0).get_all_params_values()
    np.testing.assert_array_equal(a["hidden"][0], b["hidden"][0])
    assert not np.array_equal(a["hidden"][0], c["hidden"][0])


def test_resource_keys_are_ignored_and_overrides_merge():
    config = model_config("cnn", {"epochs": 1, "mem_mb": 100, "runtime": 5, "shuffle": True})
    assert config["epochs"] == 1 and config["shuffle"] is True and "mem_mb" not in config
    assert config["conv"] == defaults()["cnn"]["conv"]


@pytest.mark.parametrize(
    "model, config, message",
    [
        ("rnn", {}, "unknown model 'rnn'"),
        ("mlp", {"epoch": 3}, "mlp: Additional properties are not allowed ('epoch' was unexpected)"),
        ("mlp", {"epochs": 0}, "mlp.epochs: 0 is less than or equal to the minimum of 0"),
        ("mlp", {"epochs": 2.5}, "mlp.epochs: 2.5 is not of type 'integer'"),
        ("mlp", {"epochs": True}, "mlp.epochs: True is not of type 'integer'"),
        ("mlp", {"batch_size": -1}, "mlp.batch_size: -1 is less than or equal to the minimum of 0"),
        ("mlp", {"hidden": []}, "mlp.hidden: [] should be non-empty"),
        ("mlp", {"hidden": [100, 0]}, "mlp.hidden.1: 0 is less than or equal to the minimum of 0"),
        ("mlp", {"learning_rate": 0}, "mlp.learning_rate: 0 is less than or equal to the minimum of 0"),
        ("mlp", {"momentum": 1.0}, "mlp.momentum: 1.0 is greater than or equal to the maximum of 1"),
        ("cnn", {"eval_size": 0}, "cnn.eval_size: 0 is less than or equal to the minimum of 0"),
        ("cnn", {"shuffle": "yes"}, "cnn.shuffle: 'yes' is not of type 'boolean'"),
        ("cnn", {"conv": [{"filters": 8, "filter_size": 3}]}, "cnn.conv.0: 'pool_size' is a required property"),
        (
            "cnn",
            {"conv": [{"filters": 8, "filter_size": 5, "pool_size": 4}] * 2},
            "conv stage 2 (5x5 filters, 4x4 pool) leaves no pixels",
        ),
    ],
)
def test_bad_config_names_the_setting(model, config, message):
    with pytest.raises(ValueError) as excinfo:
        model_config(model, config)
    assert message in str(excinfo.value)
