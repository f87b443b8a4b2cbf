"""The post's two nets as nolearn ``NeuralNet`` declarations, built from a config dict.

``mlp`` is the post's net1 (dense ReLU layers on 1024 grayscale pixels),
``cnn`` its net2 (conv + max-pool stages on 1x32x32 images, then dense
layers); both end in a softmax over the 10 classes.  Their sizes and training
settings default to the workflow schema's ``mlp`` and ``cnn`` sections
(:mod:`cifarbench.config`), which are the post's.  Layers are named as in the
post (``hidden``; ``conv1``, ``pool1``, ..., ``hidden4``; ``output``).

>>> net = build_net("mlp", {"epochs": 1}, verbose=0)
>>> [name for name, _ in net.layers]
['input', 'hidden', 'output']
>>> net.layers_["output"].output_shape
(None, 10)
"""
import numpy as np

from cifarbench.config import IMAGE_SIDE, RESOURCE_KEYS, conv_sides, validated

MODELS = ("mlp", "cnn")
N_CLASSES = 10
INPUT_SHAPES = {"mlp": (None, IMAGE_SIDE * IMAGE_SIDE), "cnn": (None, 1, IMAGE_SIDE, IMAGE_SIDE)}


def model_config(model, config=None):
    """The schema's defaults for ``model`` updated with ``config``, checked; resource keys dropped.

    An unknown model or key, or a value out of range, raises ``ValueError``
    naming it (see :func:`cifarbench.config.validated`); so do conv stages
    that leave no pixels.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    merged = validated({model: dict(config or {})})[model]
    if model == "cnn":
        conv_sides(merged["conv"])
    return {key: value for key, value in merged.items() if key not in RESOURCE_KEYS}


def hidden_names(model, config):
    """Names of the dense hidden layers: the post's ``hidden`` / ``hidden1..`` / ``hidden4..``."""
    n = len(config["hidden"])
    if model == "mlp":
        return ["hidden"] if n == 1 else [f"hidden{i}" for i in range(1, n + 1)]
    first = len(config["conv"]) + 1
    return [f"hidden{i}" for i in range(first, first + n)]


def declaration(model, config=None):
    """``(layers, keywords)`` for ``NeuralNet``: the layer list and the per-layer keywords."""
    from aenet.lasagne import layers as L
    from aenet.lasagne.nonlinearities import softmax

    config = model_config(model, config)
    spec = [("input", L.InputLayer)]
    kwargs = {"input_shape": INPUT_SHAPES[model]}
    if model == "cnn":
        for i, stage in enumerate(config["conv"], 1):
            spec += [(f"conv{i}", L.Conv2DLayer), (f"pool{i}", L.MaxPool2DLayer)]
            kwargs[f"conv{i}_num_filters"] = stage["filters"]
            kwargs[f"conv{i}_filter_size"] = (stage["filter_size"],) * 2
            kwargs[f"pool{i}_pool_size"] = (stage["pool_size"],) * 2
    for name, units in zip(hidden_names(model, config), config["hidden"]):
        spec.append((name, L.DenseLayer))
        kwargs[f"{name}_num_units"] = units
    spec.append(("output", L.DenseLayer))
    kwargs.update(output_num_units=N_CLASSES, output_nonlinearity=softmax)
    return spec, kwargs


def build_net(model, config=None, seed=42, verbose=1, **extra):
    """The post's ``model`` ("mlp" or "cnn") as an aenet ``NeuralNet``, with weights drawn.

    ``config`` overrides the defaults (see :func:`model_config`).  ``seed``
    seeds the weight initialisation (through :func:`aenet.lasagne.random.set_rng`,
    before the layers are built here) and the batch shuffling.  ``extra``
    keywords go to ``NeuralNet`` (e.g. ``on_epoch_finished``).  Functions are
    compiled later, by ``net.initialize()`` or the first ``fit``, for the device
    configured then.
    """
    from aenet.lasagne import random
    from aenet.lasagne.updates import nesterov_momentum
    from aenet.nolearn import BatchIterator, NeuralNet, TrainSplit

    config = model_config(model, config)
    layers, kwargs = declaration(model, config)
    net = NeuralNet(
        layers=layers,
        update=nesterov_momentum,
        update_learning_rate=config["learning_rate"],
        update_momentum=config["momentum"],
        batch_iterator_train=BatchIterator(config["batch_size"], shuffle=config["shuffle"], seed=seed),
        batch_iterator_test=BatchIterator(config["batch_size"]),
        train_split=TrainSplit(eval_size=config["eval_size"]),
        max_epochs=config["epochs"],
        verbose=verbose,
        **kwargs,
        **extra,
    )
    random.set_rng(np.random.RandomState(seed))
    net.initialize_layers()
    return net


def count_params(net):
    """Learnable parameters of a built net (the post's "N learnable parameters")."""
    from aenet.lasagne.layers import count_params as count

    return count(list(net.layers_.values()), trainable=True)
