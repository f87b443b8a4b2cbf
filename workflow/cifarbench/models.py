"""The post's two nets as nolearn ``NeuralNet`` declarations, built from a config dict.

``mlp`` (the post's net1): 1024 grayscale pixels, dense ReLU layers (one of
100 units by default; ``hidden: [100, 100]`` gives the post's hidden1/hidden2
variant), softmax over the 10 classes, 50 epochs at learning rate 0.01.

``cnn`` (the post's net2): 1x32x32 images through conv + 2x2 max-pool stages
(16 filters 3x3, 32 filters 2x2, 64 filters 2x2, ReLU, no padding), a dense
layer of 200 ReLUs and the softmax, 5 epochs at learning rate 0.015.

Both train with nesterov momentum 0.9, batches of 128 and a stratified 20%
validation split, like the post's nolearn defaults.  Layers are named as in
the post (``hidden``; ``conv1``, ``pool1``, ..., ``hidden4``; ``output``).

>>> net = build_net("mlp", {"epochs": 1}, verbose=0)
>>> [name for name, _ in net.layers]
['input', 'hidden', 'output']
>>> net.layers_["output"].output_shape
(None, 10)
"""
import numpy as np

MODELS = ("mlp", "cnn")
N_CLASSES = 10
INPUT_SHAPES = {"mlp": (None, 32 * 32), "cnn": (None, 1, 32, 32)}

# Training settings shared by both nets (nolearn 0.6's defaults, as in the post).
_TRAINING = {"momentum": 0.9, "batch_size": 128, "eval_size": 0.2, "shuffle": False}

DEFAULTS = {
    "mlp": {"hidden": [100], "epochs": 50, "learning_rate": 0.01, **_TRAINING},
    "cnn": {
        "conv": [
            {"filters": 16, "filter_size": 3, "pool_size": 2},
            {"filters": 32, "filter_size": 2, "pool_size": 2},
            {"filters": 64, "filter_size": 2, "pool_size": 2},
        ],
        "hidden": [200],
        "epochs": 5,
        "learning_rate": 0.015,
        **_TRAINING,
    },
}

# Keys of the workflow's model sections that size the job, not the net.
RESOURCE_KEYS = ("mem_mb", "runtime")


def _positive_int(model, key, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{model}: {key} must be an integer >= 1, got {value!r}")
    return int(value)


def model_config(model, config=None):
    """``DEFAULTS[model]`` updated with ``config``, checked; resource keys dropped.

    An unknown model or key, or a value out of range, raises ``ValueError``
    naming it.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    config = dict(config or {})
    unknown = sorted(set(config) - set(DEFAULTS[model]) - set(RESOURCE_KEYS))
    if unknown:
        raise ValueError(f"{model}: unknown setting(s) {', '.join(map(repr, unknown))}")
    merged = {**DEFAULTS[model], **{k: v for k, v in config.items() if k not in RESOURCE_KEYS}}
    for key in ("epochs", "batch_size"):
        merged[key] = _positive_int(model, key, merged[key])
    hidden = merged["hidden"]
    if not isinstance(hidden, (list, tuple)) or not hidden:
        raise ValueError(f"{model}: hidden must be a non-empty list of layer sizes, got {hidden!r}")
    merged["hidden"] = [_positive_int(model, "hidden", units) for units in hidden]
    rate = merged["learning_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        raise ValueError(f"{model}: learning_rate must be a number > 0, got {rate!r}")
    momentum = merged["momentum"]
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise ValueError(f"{model}: momentum must be a number in [0, 1), got {momentum!r}")
    eval_size = merged["eval_size"]
    if isinstance(eval_size, bool) or not isinstance(eval_size, (int, float)) or not 0 < eval_size < 1:
        raise ValueError(f"{model}: eval_size must be a number in (0, 1), got {eval_size!r}")
    if not isinstance(merged["shuffle"], bool):
        raise ValueError(f"{model}: shuffle must be true or false, got {merged['shuffle']!r}")
    if model == "cnn":
        merged["conv"] = _conv_stages(merged["conv"])
    return merged


def _conv_stages(stages):
    if not isinstance(stages, (list, tuple)) or not stages:
        raise ValueError(f"cnn: conv must be a non-empty list of stages, got {stages!r}")
    checked, side = [], INPUT_SHAPES["cnn"][-1]
    for i, stage in enumerate(stages, 1):
        if not isinstance(stage, dict) or set(stage) != {"filters", "filter_size", "pool_size"}:
            raise ValueError(
                f"cnn: conv stage {i} must have exactly filters, filter_size and pool_size, got {stage!r}"
            )
        stage = {key: _positive_int("cnn", f"conv stage {i} {key}", value) for key, value in stage.items()}
        side = (side - stage["filter_size"] + 1) // stage["pool_size"]
        if side < 1:
            raise ValueError(
                f"cnn: conv stage {i} ({stage['filter_size']}x{stage['filter_size']} filters, "
                f"{stage['pool_size']}x{stage['pool_size']} pool) leaves no pixels of the 32x32 input"
            )
        checked.append(stage)
    return checked


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

    ``config`` overrides :data:`DEFAULTS` (see :func:`model_config`).  ``seed``
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
    return int(sum(np.prod(p.get_value().shape) for p in net.get_all_params(trainable=True)))
