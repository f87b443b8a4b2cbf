"""aenet.nolearn.visualize: the plotted data, read back from the figures (Agg backend)."""
import sys

import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
from aenet.lasagne import layers
from aenet.lasagne.nonlinearities import rectify, softmax
from aenet.nolearn import NeuralNet, visualize

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    plt.close("all")
    yield
    plt.close("all")


def images(ax):
    return [np.asarray(image.get_array()) for image in ax.images]


def softmax_np(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def image_net(h=5, w=4, n_classes=3, seed=0):
    """A softmax over a dense layer on one-channel ``h x w`` images, with its numpy weights."""
    rng = np.random.RandomState(seed)
    W = rng.randn(h * w, n_classes).astype(np.float32)
    b = rng.randn(n_classes).astype(np.float32)
    out = layers.DenseLayer(layers.InputLayer((None, 1, h, w)), n_classes, W=W, b=b, nonlinearity=softmax)
    net = NeuralNet(out, update_learning_rate=0.1)
    net.initialize()
    return net, W, b


def test_plot_loss_draws_both_losses():
    class Trained:
        train_history_ = [{"train_loss": t, "valid_loss": v} for t, v in [(3.0, 4.0), (2.0, 3.5), (1.0, 3.7)]]

    visualize.plot_loss(Trained())
    lines = plt.gca().get_lines()
    assert [line.get_label() for line in lines] == ["train loss", "valid loss"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [3.0, 2.0, 1.0])
    np.testing.assert_array_equal(lines[1].get_ydata(), [4.0, 3.5, 3.7])


def test_plot_conv_weights_one_figure_per_input_channel():
    conv = layers.Conv2DLayer(layers.InputLayer((None, 2, 6, 6)), num_filters=5, filter_size=3)
    W = np.arange(5 * 2 * 3 * 3, dtype=np.float32).reshape(5, 2, 3, 3)
    conv.W.set_value(W)
    visualize.plot_conv_weights(conv)
    figures = [plt.figure(n) for n in plt.get_fignums()]
    assert len(figures) == 2
    for channel, fig in enumerate(figures):
        assert len(fig.axes) == 9  # a 3 x 3 grid for 5 filters
        drawn = [images(ax) for ax in fig.axes]
        for i in range(5):
            np.testing.assert_array_equal(drawn[i][0], W[i, channel])
        assert all(not d for d in drawn[5:])


def test_plot_conv_activity_shows_the_image_and_negated_feature_maps():
    conv = layers.Conv2DLayer(layers.InputLayer((None, 1, 4, 4)), num_filters=3, filter_size=1, nonlinearity=rectify)
    scales, shifts = np.array([1.0, -2.0, 0.5], np.float32), np.array([0.0, 1.0, -0.25], np.float32)
    conv.W.set_value(scales.reshape(3, 1, 1, 1))
    conv.b.set_value(shifts)
    x = np.random.RandomState(1).rand(1, 1, 4, 4).astype(np.float32)
    visualize.plot_conv_activity(conv, x)
    axes = plt.gcf().axes  # (2 + 1) rows x 2 columns
    assert len(axes) == 6
    np.testing.assert_allclose(images(axes[1])[0], 1 - x[0, 0])
    assert axes[1].get_title() == "original"
    for k in range(3):
        expected = -np.maximum(scales[k] * x[0, 0] + shifts[k], 0)
        np.testing.assert_allclose(images(axes[2 + k])[0], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="one sample"):
        visualize.plot_conv_activity(conv, np.zeros((2, 1, 4, 4), np.float32))


def occlusion_reference(x, W, b, target, length):
    """nolearn's construction: zero a square in a padded copy of the image, then crop."""
    _, _, h, w = x.shape
    pad = length // 2 + 1
    heat = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            padded = np.pad(x[0], ((0, 0), (pad, pad), (pad, pad)))
            padded[:, i:i + length, j:j + length] = 0
            occluded = padded[:, pad:-pad, pad:-pad]
            heat[i, j] = softmax_np(occluded.reshape(-1) @ W + b)[target]
    return heat


@pytest.mark.parametrize("length", [1, 3])
def test_occlusion_heatmap_matches_a_direct_computation(length):
    net, W, b = image_net()
    x = np.random.RandomState(2).rand(1, 1, 5, 4).astype(np.float32)
    heat = visualize.occlusion_heatmap(net, x, target=1, square_length=length)
    np.testing.assert_allclose(heat, occlusion_reference(x, W, b, 1, length), rtol=1e-5)


def test_occlusion_heatmap_checks_its_arguments():
    net, _, _ = image_net()
    with pytest.raises(ValueError, match="odd"):
        visualize.occlusion_heatmap(net, np.zeros((1, 1, 5, 4), np.float32), 0, square_length=2)
    with pytest.raises(ValueError, match=r"\(1, c, h, w\)"):
        visualize.occlusion_heatmap(net, np.zeros((2, 1, 5, 4), np.float32), 0)


def test_plot_occlusion_draws_image_heatmap_and_overlay():
    net, W, b = image_net()
    X = np.random.RandomState(3).rand(2, 1, 5, 4).astype(np.float32)
    visualize.plot_occlusion(net, X, target=[0, 2], square_length=3)
    axes = np.array(plt.gcf().axes).reshape(2, 3)
    for n, target in enumerate([0, 2]):
        heat = occlusion_reference(X[n:n + 1], W, b, target, 3)
        np.testing.assert_allclose(images(axes[n, 0])[0], -X[n, 0])
        np.testing.assert_allclose(images(axes[n, 1])[0], -heat, rtol=1e-5)
        assert len(images(axes[n, 2])) == 2 and axes[n, 1].get_title() == "critical parts"


def test_saliency_is_the_gradient_of_the_log_probability_of_the_predicted_class():
    net, W, b = image_net()
    X = np.random.RandomState(4).rand(1, 1, 5, 4).astype(np.float32)
    p = softmax_np(X.reshape(-1) @ W + b)
    k = int(np.argmax(p))
    expected = np.abs(W[:, k] - W @ p).reshape(5, 4)  # d log p_k / d x
    np.testing.assert_allclose(visualize.saliency_map_net(net, X), expected, rtol=1e-4, atol=1e-6)
    visualize.plot_saliency(net, X)
    axes = plt.gcf().axes
    np.testing.assert_allclose(images(axes[1])[0], expected, rtol=1e-4, atol=1e-6)


def test_get_hex_color_families():
    def family(name):
        return visualize._COLORS.index(visualize.get_hex_color(name)) // 5

    assert family("Conv2DLayer") == 0 and family("myconvthing") == 0
    assert family("MaxPool2DLayer") == 1
    assert family("LSTMLayer") == 2 and family("GRULayer") == 2
    assert family("DenseLayer") == 3
    assert visualize.get_hex_color("DenseLayer") == visualize.get_hex_color("DenseLayer")


def test_missing_matplotlib_and_pydotplus_raise_clear_import_errors(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="needs matplotlib"):
        visualize.plot_loss(None)
    monkeypatch.setitem(sys.modules, "pydotplus", None)
    with pytest.raises(ImportError, match="needs pydotplus"):
        visualize.make_pydot_graph([])
