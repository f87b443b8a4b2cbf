"""nolearn's ``nolearn.lasagne.visualize``: plots of a net's training, weights and attention.

matplotlib is imported when a plotting function runs (``pip install
aenet[plot]``); without it they raise an ``ImportError`` naming it.  Like
nolearn's, the functions draw with ``matplotlib.pyplot`` and return the
``pyplot`` module, so ``plt.gcf()`` is the (last) figure drawn.  The network
diagrams (:func:`make_pydot_graph`, :func:`draw_to_file`) need ``pydotplus``.
"""
import io
import zlib
from itertools import product

import numpy as np

import aenet  # noqa: F401  (configures aesara before it is imported)
import aesara
import aesara.tensor as at
from aenet.lasagne import layers as lasagne_layers
from aenet.lasagne.layers import get_output, get_output_shape

__all__ = [
    "draw_to_file",
    "draw_to_notebook",
    "get_hex_color",
    "make_pydot_graph",
    "occlusion_heatmap",
    "plot_conv_activity",
    "plot_conv_weights",
    "plot_loss",
    "plot_occlusion",
    "plot_saliency",
    "saliency_map",
    "saliency_map_net",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "aenet.nolearn.visualize needs matplotlib to plot: pip install matplotlib (or aenet[plot])"
        ) from error
    return plt


def _blank(axes):
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis("off")


def _square_grid(n):
    side = int(np.ceil(np.sqrt(n)))
    return side, side


def plot_loss(net):
    """Plot the training and validation loss of each epoch of ``net.train_history_``."""
    plt = _pyplot()
    history = net.train_history_
    plt.plot([row["train_loss"] for row in history], label="train loss")
    plt.plot([row["valid_loss"] for row in history], label="valid loss")
    plt.xlabel("epoch")
    plt.ylabel("loss")
    plt.legend(loc="best")
    return plt


def plot_conv_weights(layer, figsize=(6, 6)):
    """Plot a convolution layer's filters, one figure per input channel, one image per filter."""
    plt = _pyplot()
    W = layer.W.get_value()
    nrows, ncols = _square_grid(W.shape[0])
    for channel in range(W.shape[1]):
        _, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
        _blank(axes)
        for i, (r, c) in zip(range(W.shape[0]), product(range(nrows), range(ncols))):
            axes[r, c].imshow(W[i, channel], cmap="gray", interpolation="none")
    return plt


def _activity(layer, x):
    xs = at.tensor4("xs", dtype=aesara.config.floatX)
    return aesara.function([xs], get_output(layer, xs))(np.asarray(x, dtype=aesara.config.floatX))


def plot_conv_activity(layer, x, figsize=(6, 8)):
    """Plot the feature maps of ``layer`` for one image ``x`` of shape ``(1, c, h, w)``.

    The top row shows ``1 - x[0, 0]`` (titled "original"), the rows below
    the negated feature maps, one image each.
    """
    if x.shape[0] != 1:
        raise ValueError(f"plot_conv_activity plots one sample at a time, got x of shape {x.shape}")
    plt = _pyplot()
    activity = _activity(layer, x)
    nrows, ncols = _square_grid(activity.shape[1])
    _, axes = plt.subplots(nrows + 1, ncols, figsize=figsize, squeeze=False)
    axes[0, ncols // 2].imshow(1 - x[0][0], cmap="gray", interpolation="none")
    axes[0, ncols // 2].set_title("original")
    _blank(axes)
    for i, (r, c) in zip(range(activity.shape[1]), product(range(nrows), range(ncols))):
        if activity[0][i].ndim != 2:
            raise ValueError(f"feature maps must be 2-D images, got {activity[0][i].ndim} dimensions")
        axes[r + 1, c].imshow(-activity[0][i], cmap="gray", interpolation="none")
    return plt


def _occluded_row(img, row, square_length):
    """``width`` copies of ``img``; copy ``j`` has the square at ``(row, j)`` zeroed in every channel.

    As in nolearn, the square's centre is one pixel up and left of
    ``(row, j)``: rows ``row - half - 1 .. row + half - 1`` (clipped to the
    image) for ``half = square_length // 2``, and likewise the columns.
    """
    _, height, width = img.shape
    half = square_length // 2
    batch = np.repeat(img[np.newaxis], width, axis=0)
    top, bottom = max(row - half - 1, 0), min(row + half, height)
    for j in range(width):
        batch[j, :, top:bottom, max(j - half - 1, 0):min(j + half, width)] = 0
    return batch


def occlusion_heatmap(net, x, target, square_length=7):
    """The probability of class ``target`` with each pixel of ``x`` occluded (Zeiler & Fergus, 2013).

    ``x`` is one image, shape ``(1, c, h, w)``; entry ``(i, j)`` of the
    ``(h, w)`` result is ``net.predict_proba`` of the image with a
    ``square_length`` square (odd) at ``(i, j)`` zeroed in every channel
    (placed as nolearn places it, see :func:`_occluded_row`).  One prediction
    per pixel: slow for big nets and images.
    """
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"occlusion_heatmap needs x of shape (1, c, h, w), got {x.shape}")
    if square_length % 2 == 0:
        raise ValueError(f"square_length must be odd, got {square_length}")
    num_classes = get_output_shape(net.layers_[-1])[1]
    img = x[0].copy()
    heat = np.zeros(img.shape[1:])
    for i in range(img.shape[1]):
        proba = net.predict_proba(_occluded_row(img, i, square_length))
        heat[i] = proba.reshape(img.shape[2], num_classes)[:, target]
    return heat


def _plot_heat_map(net, X, figsize, get_heat_image):
    """Per image of ``X``: the image, its heat map, and both overlaid, in one row of three."""
    if X.ndim != 4:
        raise ValueError(f"X must have shape (b, c, h, w), got {X.shape}")
    plt = _pyplot()
    num_images = X.shape[0]
    if figsize[1] is None:
        figsize = (figsize[0], num_images * figsize[0] / 3)
    _, axes = plt.subplots(num_images, 3, figsize=figsize, squeeze=False)
    _blank(axes)
    for n in range(num_images):
        heat = get_heat_image(net, X[n:n + 1], n)
        img = X[n].mean(0)
        ax = axes[n]
        ax[0].imshow(-img, interpolation="nearest", cmap="gray")
        ax[0].set_title("image")
        ax[1].imshow(-heat, interpolation="nearest", cmap="Reds")
        ax[1].set_title("critical parts")
        ax[2].imshow(-img, interpolation="nearest", cmap="gray")
        ax[2].imshow(-heat, interpolation="nearest", cmap="Reds", alpha=0.6)
        ax[2].set_title("super-imposed")
    return plt


def plot_occlusion(net, X, target, square_length=7, figsize=(9, None)):
    """Plot each image of ``X`` with its :func:`occlusion_heatmap` for its class in ``target``."""
    return _plot_heat_map(net, X, figsize, lambda net, Xn, n: occlusion_heatmap(net, Xn, target[n], square_length))


def saliency_map(input, output, pred, X):
    """``|d score / d input|`` at ``X``, where score is the summed log of ``output[:, pred]``."""
    score = at.sum(at.log(output[:, pred]))
    grad = aesara.grad(score, input)
    return np.abs(aesara.function([input], grad)(np.asarray(X, dtype=input.dtype)))


def saliency_map_net(net, X):
    """The saliency map of the net's predicted class for one image ``X``, as ``(h, w)`` (or ``(h, w, c)``)."""
    input = net.layers_[0].input_var
    output = get_output(net.layers_[-1])
    pred = aesara.function([input], output)(np.asarray(X, dtype=input.dtype)).argmax(axis=1)
    return saliency_map(input, output, pred, X)[0].transpose(1, 2, 0).squeeze()


def plot_saliency(net, X, figsize=(9, None)):
    """Plot each image of ``X`` with its :func:`saliency_map_net`."""
    return _plot_heat_map(net, X, figsize, lambda net, Xn, n: -saliency_map_net(net, Xn))


_COLORS = [
    "#4A88B3", "#98C1DE", "#6CA2C8", "#3173A2", "#17649B",  # convolution
    "#FFBB60", "#FFDAA9", "#FFC981", "#FCAC41", "#F29416",  # pooling
    "#C54AAA", "#E698D4", "#D56CBE", "#B72F99", "#B0108D",  # recurrent
    "#75DF54", "#B3F1A0", "#91E875", "#5DD637", "#3FCD12",  # others
]  # fmt: skip


def _module_names(module):
    return getattr(getattr(lasagne_layers, module, None), "__all__", ())


def get_hex_color(layer_type):
    """The fill colour of a layer type (a class name) in network diagrams.

    Convolutions are blue, pooling layers orange, recurrent layers purple,
    the rest green; the shade depends on the name (stable across runs).
    """
    shade = zlib.crc32(layer_type.encode()) % 5
    if "conv" in layer_type.lower():
        family = 0
    elif layer_type in _module_names("pool"):
        family = 1
    elif layer_type in _module_names("recurrent"):
        family = 2
    else:
        family = 3
    return _COLORS[5 * family + shade]


def _pydot():
    try:
        import pydotplus
    except ImportError as error:
        raise ImportError("drawing a network diagram needs pydotplus: pip install pydotplus") from error
    return pydotplus


def _label(layer, output_shape, verbose):
    name = getattr(layer, "name", None) or type(layer).__name__
    lines = [name]
    if verbose:
        for attr in ("num_filters", "num_units", "ds", "filter_shape", "stride", "strides", "p"):
            if hasattr(layer, attr):
                lines.append(f"{attr}: {getattr(layer, attr)}")
        if hasattr(layer, "nonlinearity"):
            nonlinearity = layer.nonlinearity
            lines.append(f"nonlinearity: {getattr(nonlinearity, '__name__', type(nonlinearity).__name__)}")
    if output_shape:
        lines.append(f"Output shape: {layer.output_shape}")
    return name, "\n".join(lines)


def make_pydot_graph(layers, output_shape=True, verbose=False):
    """A ``pydotplus.Dot`` digraph of ``layers``: one filled box per layer, an edge per input."""
    pydot = _pydot()
    graph = pydot.Dot("Network", graph_type="digraph")
    nodes, edges = {}, []
    for layer in layers:
        name, label = _label(layer, output_shape, verbose)
        key = repr(layer)
        nodes[key] = pydot.Node(key, label=label, shape="record", fillcolor=get_hex_color(name), style="filled")
        for incoming in getattr(layer, "input_layers", []) or []:
            edges.append((repr(incoming), key))
        if getattr(layer, "input_layer", None) is not None:
            edges.append((repr(layer.input_layer), key))
    for node in nodes.values():
        graph.add_node(node)
    for source, target in edges:
        graph.add_edge(pydot.Edge(nodes[source], nodes[target]))
    return graph


def _all_layers(layers):
    return layers.get_all_layers() if hasattr(layers, "get_all_layers") else layers


def draw_to_file(layers, filename, **kwargs):
    """Write the diagram of ``layers`` (or of a net) to ``filename``, in the format its extension names."""
    dot = make_pydot_graph(_all_layers(layers), **kwargs)
    with io.open(filename, "wb") as fid:
        fid.write(dot.create(format=filename[filename.rfind(".") + 1:]))


def draw_to_notebook(layers, **kwargs):
    """The diagram of ``layers`` (or of a net) as an IPython ``Image``."""
    from IPython.display import Image

    return Image(make_pydot_graph(_all_layers(layers), **kwargs).create_png())
