"""aenet.nolearn.util: conv/pool detection, real filters, receptive fields, the conv info table."""
import re

import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
from aenet.lasagne import layers
from aenet.nolearn import NeuralNet, PrintLayerInfo
from aenet.nolearn.util import ansi, get_conv_infos, get_real_filter, get_receptive_field, is_conv2d, is_maxpool2d


def conv_stack(size=28):
    """input -> conv 5x5 -> pool 2x2 -> conv 3x3 -> pool 2x2 -> dense."""
    net = NeuralNet(
        layers=[
            ("input", layers.InputLayer), ("conv1", layers.Conv2DLayer), ("pool1", layers.MaxPool2DLayer),
            ("conv2", layers.Conv2DLayer), ("pool2", layers.MaxPool2DLayer), ("output", layers.DenseLayer),
        ],
        input_shape=(None, 1, size, size), conv1_num_filters=2, conv1_filter_size=(5, 5), pool1_pool_size=(2, 2),
        conv2_num_filters=2, conv2_filter_size=(3, 3), pool2_pool_size=(2, 2), output_num_units=3,
    )
    net.initialize_layers()
    return net


def test_is_conv2d_and_is_maxpool2d():
    net = conv_stack()
    conv, pool, dense = net.layers_["conv1"], net.layers_["pool1"], net.layers_["output"]
    assert is_conv2d(conv) and not is_conv2d(pool) and not is_conv2d(dense)
    assert is_maxpool2d(pool) and not is_maxpool2d(conv)
    assert is_conv2d(net.layers_.values()) and is_maxpool2d([dense, pool])
    assert not is_conv2d([dense, pool]) and not is_maxpool2d([dense])


def test_real_filter_and_receptive_field_follow_the_pooling():
    net = conv_stack()
    layer_list = net.layers_.values()
    img = (28, 28)
    # conv1: 5; pool1 keeps it and doubles the scale; conv2: 3 * 2; dense and after: the image.
    expected_filter = [28, 5, 5, 6, 6, 28]
    # conv1: 5; conv2 widens it by (3 - 1) * 2.
    expected_field = [28, 5, 5, 9, 9, 28]
    np.testing.assert_array_equal(get_real_filter(layer_list, img), np.repeat(np.c_[expected_filter], 2, axis=1))
    np.testing.assert_array_equal(get_receptive_field(layer_list, img), np.repeat(np.c_[expected_field], 2, axis=1))


def _row(table, name):
    return next(line for line in table.splitlines() if re.search(rf"(^|m){name}(\x1b|\s)", line))


def test_conv_infos_capacity_coverage_and_colours():
    table = get_conv_infos(conv_stack())
    assert table.splitlines()[0].split() == ["name", "size", "total", "cap.Y", "cap.X", "cov.Y", "cov.X"]
    conv2 = _row(table, "conv2").split()
    # capacity 6 / 9, coverage 9 / 28, in percent
    assert conv2[-4:] == ["66.67", "66.67", "32.14", "32.14"]
    assert conv2[1:3] == ["2x10x10", "200"]
    assert ansi.MAGENTA not in table and ansi.CYAN not in table  # all within the limits
    detailed = get_conv_infos(conv_stack(), min_capacity=80, detailed=True)
    header = detailed.splitlines()[0]
    assert "filter Y" in header and header.rstrip().endswith("field X")
    assert f"{ansi.MAGENTA}conv2{ansi.ENDC}" in detailed  # 66.67 % < 80 %
    assert _row(detailed, "conv2").split()[-4:] == ["6", "6", "9", "9"]


def test_conv_infos_flags_a_field_wider_than_the_image():
    table = get_conv_infos(conv_stack(size=12), min_capacity=70)
    # the receptive field of conv2 (9) covers 9/12 = 75 %; dense: 100 %; the output is not wider.
    assert _row(table, "conv2").split()[-2:] == ["75.00", "75.00"]
    small = NeuralNet(
        layers=[("input", layers.InputLayer), ("c1", layers.Conv2DLayer), ("c2", layers.Conv2DLayer)],
        input_shape=(None, 1, 6, 6), c1_num_filters=1, c1_filter_size=5, c2_num_filters=1, c2_filter_size=3,
    )
    small.initialize_layers()
    # c2: field 5 + 2 = 7 > 6 (coverage 116.67 %), capacity 3 / 7 = 42.86 %.
    assert f"{ansi.CYAN}c2{ansi.ENDC}" in get_conv_infos(small)
    assert f"{ansi.RED}c2{ansi.ENDC}" in get_conv_infos(small, min_capacity=50)


@pytest.mark.parametrize("verbose, expected, unexpected", [
    (1, ["#", "name", "size"], ["cap.Y", "Explanation"]),
    (2, ["cap.Y", "cov.X", "Explanation"], ["filter Y"]),
    (3, ["cap.Y", "filter Y", "field X", "Explanation"], []),
])  # fmt: skip
def test_print_layer_info_shows_conv_infos_from_verbose_2(verbose, expected, unexpected, capsys):
    net = conv_stack()
    net.verbose = verbose
    PrintLayerInfo()(net, [])
    out = capsys.readouterr().out
    n_params = sum(p.get_value().size for p in net.get_all_params(trainable=True))
    assert f"# Neural Network with {n_params} learnable parameters" in out
    for word in expected:
        assert word in out
    for word in unexpected:
        assert word not in out
