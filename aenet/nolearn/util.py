"""nolearn's ``nolearn.lasagne.util``: which layers convolve or pool, and their filter sizes and fields.

The layer classes are looked up in :mod:`aenet.lasagne.layers` when a
function runs, so classes added there later (``Conv2DDNNLayer``...) count
as soon as they exist.  Filter sizes and receptive fields follow Xudong
Cao's rule of thumb, as nolearn does: padding and strides are ignored.
"""
from functools import reduce
from operator import mul

import numpy as np
from tabulate import tabulate

from aenet.lasagne import layers as lasagne_layers
from aenet.lasagne.layers import Layer

__all__ = [
    "ansi",
    "get_conv_infos",
    "get_real_filter",
    "get_receptive_field",
    "is_conv2d",
    "is_maxpool2d",
]

CONV2D_CLASS_NAMES = ("Conv2DLayer", "Conv2DCCLayer", "Conv2DDNNLayer", "Conv2DMMLayer")
MAXPOOL2D_CLASS_NAMES = ("MaxPool2DLayer", "MaxPool2DCCLayer", "MaxPool2DDNNLayer")


class ansi:
    """Terminal colour codes used in the printed tables."""

    BLUE = "\033[94m"
    CYAN = "\033[36m"
    GREEN = "\033[32m"
    MAGENTA = "\033[35m"
    RED = "\033[31m"
    ENDC = "\033[0m"


def _classes(names):
    return tuple(cls for cls in (getattr(lasagne_layers, name, None) for name in names) if cls is not None)


def _any_instance(layers, names):
    classes = _classes(names)
    if isinstance(layers, Layer):
        return isinstance(layers, classes)
    return any(isinstance(layer, classes) for layer in layers)


def is_conv2d(layers):
    """Whether ``layers`` (one layer or several) is, or holds, a 2-D convolution layer."""
    return _any_instance(layers, CONV2D_CLASS_NAMES)


def is_maxpool2d(layers):
    """Whether ``layers`` (one layer or several) is, or holds, a 2-D max-pooling layer."""
    return _any_instance(layers, MAXPOOL2D_CLASS_NAMES)


def _conv_walk(layers, img_size, conv_size):
    """One ``(len(layers), 2)`` row per layer, the first being the input.

    Walking from the second layer, a convolution's row is
    ``conv_size(previous row, filter size, scale, first)`` where ``scale`` is
    the product of the pool sizes so far; a pooling layer repeats the previous
    row and multiplies ``scale`` by its pool size.  From the first layer that
    is neither, every row is ``img_size``.  Row 0 is ``img_size`` (set last,
    so a pooling layer right after the input repeats zeros, as in nolearn).
    """
    rows = np.zeros((len(layers), 2))
    scale = np.ones(2)
    first_conv, convolving = True, True
    for j in range(1, len(layers)):
        layer = layers[j]
        if convolving and is_conv2d(layer):
            rows[j] = conv_size(rows[j - 1], np.asarray(layer.filter_size, dtype=float), scale, first_conv)
            first_conv = False
        elif convolving and is_maxpool2d(layer):
            rows[j] = rows[j - 1]
            scale = scale * np.asarray(layer.pool_size, dtype=float)
        else:
            convolving = False
            rows[j] = img_size
    rows[0] = img_size
    return rows


def get_real_filter(layers, img_size):
    """The filter size of each layer in input pixels: the filter size times the pooling so far."""
    return _conv_walk(layers, img_size, lambda previous, size, scale, first: size * scale)


def get_receptive_field(layers, img_size):
    """The receptive field of each layer in input pixels.

    The first convolution sees its filter size; each later one widens the
    previous field by ``(filter size - 1)`` times the pooling so far.
    """
    def field(previous, size, scale, first):
        return size if first else previous + scale * (size - 1)

    return _conv_walk(layers, img_size, field)


def _colored_name(name, coverage, capacity, min_capacity):
    too_wide = bool(np.any(coverage > 100))
    too_small = bool(np.any(capacity < min_capacity))
    color = ansi.RED if too_wide and too_small else ansi.CYAN if too_wide else ansi.MAGENTA if too_small else None
    return f"{color}{name}{ansi.ENDC}" if color else name


def get_conv_infos(net, min_capacity=100.0 / 6, detailed=False):
    """A table (string) of ``net``'s layers: size, capacity and image coverage.

    Capacity is the real filter over the receptive field, coverage the
    receptive field over the image, both in percent and per axis (Y, X).  A
    name is magenta when the capacity is under ``min_capacity``, cyan when
    the coverage is over 100 %, red when both.  ``detailed`` adds the filter
    and field sizes.  The first layer must be the (image) input layer.
    """
    layers = list(net.layers_.values())
    img_size = np.asarray(layers[0].output_shape[2:], dtype=float)
    real_filters = get_real_filter(layers, img_size)
    fields = get_receptive_field(layers, img_size)
    with np.errstate(divide="ignore", invalid="ignore"):
        capacity = 100.0 * real_filters / fields
    capacity[~np.isfinite(capacity)] = 1
    coverage = 100.0 * fields / img_size

    header = ["name", "size", "total", "cap.Y", "cap.X", "cov.Y", "cov.X"]
    if detailed:
        header += ["filter Y", "filter X", "field Y", "field X"]
    rows = []
    for i, layer in enumerate(layers):
        shape = tuple(layer.output_shape[1:])
        name = layer.name or type(layer).__name__
        row = [_colored_name(name, coverage[i], capacity[i], min_capacity), "x".join(map(str, shape)),
               str(reduce(mul, shape)) if shape else "0", *capacity[i], *coverage[i]]
        if detailed:
            row += [*real_filters[i].astype(int), *fields[i].astype(int)]
        rows.append(row)
    return tabulate(rows, header, floatfmt=".2f")
