"""The nets that ``make bench`` times: the post's MLP and CNN in aenet and their PyTorch twins.

Both are built from the workflow schema's ``mlp`` and ``cnn`` defaults
(:func:`cifarbench.models.model_config`): aenet's through
:func:`cifarbench.models.declaration`, PyTorch's with the same shapes,
Glorot-uniform weights, zero biases and nesterov momentum.  The bench trains
on random data of the post's size from :func:`make_data`, on all of it (no
validation split), and counts the work of one sample with
:func:`flops_per_sample`.
"""
import functools
import time

import numpy as np

from cifarbench.config import IMAGE_SIDE, conv_sides
from cifarbench.models import INPUT_SHAPES, MODELS, N_CLASSES, declaration, model_config

NETS = MODELS


@functools.cache
def _settings(net):
    return model_config(net)


def batch_size(net):
    """The training batch size of ``net`` (the schema's default)."""
    return _settings(net)["batch_size"]


def make_data(net, samples, seed=0):
    """Random float32 images shaped for ``net`` and int32 labels in 0..9."""
    rng = np.random.default_rng(seed)
    X = rng.random((samples,) + INPUT_SHAPES[net][1:], dtype=np.float32)
    y = rng.integers(0, N_CLASSES, samples).astype(np.int32)
    return X, y


def build_aenet(net, seed=0, update=None):
    """A compiled ``NeuralNet`` training on all of X (no validation split).

    ``update`` defaults to ``nesterov_momentum``.
    """
    from aenet.lasagne import random as lasagne_random
    from aenet.lasagne.updates import nesterov_momentum
    from aenet.nolearn import BatchIterator, NeuralNet, TrainSplit

    config = _settings(net)
    lasagne_random.set_rng(np.random.RandomState(seed))
    spec, kwargs = declaration(net, config)
    model = NeuralNet(
        layers=spec,
        update=update or nesterov_momentum,
        update_learning_rate=config["learning_rate"],
        update_momentum=config["momentum"],
        batch_iterator_train=BatchIterator(batch_size=config["batch_size"]),
        train_split=TrainSplit(eval_size=0),
        max_epochs=1,
        verbose=0,
        **kwargs,
    )
    model.initialize()
    return model


def aenet_epoch(model, X, y):
    """Seconds of one epoch of ``model`` over ``X``, ``y`` (nolearn's ``dur``)."""
    model.fit(X, y, epochs=1)
    return model.train_history_[-1]["dur"]


def _dense_widths(net):
    """Inputs of the first dense layer, then the units of every dense layer."""
    config = _settings(net)
    if net == "mlp":
        width = IMAGE_SIDE * IMAGE_SIDE
    else:
        width = config["conv"][-1]["filters"] * conv_sides(config["conv"])[-1] ** 2
    return [width, *config["hidden"], N_CLASSES]


def build_torch(net, seed=0, device="cpu"):
    """``(model, optimizer)``: the PyTorch twin of ``net`` on ``device``."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    config = _settings(net)
    modules, channels = [], 1
    for stage in config["conv"] if net == "cnn" else []:
        modules += [nn.Conv2d(channels, stage["filters"], stage["filter_size"]), nn.ReLU()]
        modules.append(nn.MaxPool2d(stage["pool_size"]))
        channels = stage["filters"]
    modules.append(nn.Flatten())
    widths = _dense_widths(net)
    for n_in, n_out in zip(widths[:-2], widths[1:-1]):
        modules += [nn.Linear(n_in, n_out), nn.ReLU()]
    modules.append(nn.Linear(widths[-2], widths[-1]))
    model = nn.Sequential(*modules)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config["learning_rate"], momentum=config["momentum"], nesterov=True
    )
    return model, optimizer


def torch_epoch(model_and_optimizer, X, y, batch):
    """Seconds of one epoch over ``X``, ``y`` (tensors on the model's device) in batches of ``batch``."""
    import torch

    model, optimizer = model_and_optimizer
    loss_fn = torch.nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if X.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    for i in range(0, len(X), batch):
        optimizer.zero_grad()
        loss = loss_fn(model(X[i : i + batch]), y[i : i + batch])
        loss.backward()
        optimizer.step()
    loss.item()
    sync()
    return time.perf_counter() - start


def flops_per_sample(net):
    """Multiply-adds x 2 of one forward + backward pass, per sample.

    Forward: every conv and dense layer.  Backward: the weight gradient of
    every layer and the input gradient of every layer but the first (the data
    needs none).  Bias, activation, pooling and softmax work is left out.
    """
    config = _settings(net)
    layers, channels, side = [], 1, IMAGE_SIDE  # multiply-adds per sample
    for stage, pooled in zip(config["conv"], conv_sides(config["conv"])) if net == "cnn" else ():
        k = stage["filter_size"]
        out = side - k + 1
        layers.append(stage["filters"] * out * out * channels * k * k)
        channels, side = stage["filters"], pooled
    widths = _dense_widths(net)
    layers += [n_in * n_out for n_in, n_out in zip(widths[:-1], widths[1:])]
    forward = sum(layers)
    backward = 2 * sum(layers) - layers[0]
    return 2 * (forward + backward)
