"""The post's two nets written out with aenet's nolearn API, for the library's own tests.

net1 (``mlp``): 1024 grayscale pixels, 100 ReLU units, softmax over 10
classes.  net2 (``cnn``): three conv + 2x2 max-pool stages on 1x32x32 images
(16 3x3, 32 2x2, 64 2x2 filters), 200 ReLU units, softmax.  Both train with
Nesterov momentum 0.9, as in the post.
"""
import numpy as np

SHAPES = {"mlp": (1024,), "cnn": (1, 32, 32)}
LEARNING_RATES = {"mlp": 0.01, "cnn": 0.015}


def post_net(model, seed=0, epochs=1, batch_size=128, shuffle=False, eval_size=0.2, **extra):
    """The post's ``model`` ("mlp" or "cnn") as a ``NeuralNet``, weights drawn from ``seed``."""
    from aenet.lasagne import layers as L
    from aenet.lasagne.nonlinearities import softmax
    from aenet.lasagne.random import set_rng
    from aenet.lasagne.updates import nesterov_momentum
    from aenet.nolearn import BatchIterator, NeuralNet, TrainSplit

    layers, kwargs = [("input", L.InputLayer)], {"input_shape": (None, *SHAPES[model])}
    if model == "cnn":
        for i, (filters, size) in enumerate([(16, 3), (32, 2), (64, 2)], 1):
            layers += [(f"conv{i}", L.Conv2DLayer), (f"pool{i}", L.MaxPool2DLayer)]
            kwargs.update({f"conv{i}_num_filters": filters, f"conv{i}_filter_size": (size, size),
                           f"pool{i}_pool_size": (2, 2)})
        layers.append(("hidden4", L.DenseLayer))
        kwargs["hidden4_num_units"] = 200
    else:
        layers.append(("hidden", L.DenseLayer))
        kwargs["hidden_num_units"] = 100
    layers.append(("output", L.DenseLayer))
    set_rng(np.random.RandomState(seed))
    net = NeuralNet(
        layers=layers, output_num_units=10, output_nonlinearity=softmax,
        update=nesterov_momentum, update_learning_rate=LEARNING_RATES[model], update_momentum=0.9,
        batch_iterator_train=BatchIterator(batch_size, shuffle=shuffle, seed=seed),
        batch_iterator_test=BatchIterator(batch_size),
        train_split=TrainSplit(eval_size=eval_size), max_epochs=epochs, verbose=0, **kwargs, **extra,
    )  # fmt: skip
    net.initialize_layers()
    return net


def random_data(model, samples, seed=0):
    """``(X, y)``: uniform float32 images of ``model``'s shape and labels 0..9."""
    rng = np.random.default_rng(seed)
    X = rng.random((samples, *SHAPES[model]), dtype=np.float32)
    return X, rng.integers(0, 10, samples).astype(np.int32)
