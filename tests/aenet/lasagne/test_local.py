"""LocallyConnected2DLayer: one filter per output position, against a loop over positions."""
import numpy as np
import pytest

import aenet.lasagne  # noqa: F401  (configures aesara)
import aesara
import aesara.tensor as at
from aesara.gradient import verify_grad

from aenet.lasagne.layers import InputLayer, LocallyConnected2DLayer

RNG = np.random.default_rng(11)


def rand(*shape):
    return RNG.standard_normal(shape).astype(aesara.config.floatX)


def np_local(x, w, flip, channelwise):
    """Output (f, r, c) sums input x around (r, c), zero outside, times that position's own filter."""
    batch, channels, rows, cols = x.shape
    fr, fc = w.shape[-4:-2] if not channelwise else w.shape[1:3]
    out = np.zeros((batch, w.shape[0], rows, cols))
    for r in range(rows):
        for c in range(cols):
            for i in range(fr):
                for j in range(fc):
                    rr, cc = r + i - fr // 2, c + j - fc // 2
                    if not (0 <= rr < rows and 0 <= cc < cols):
                        continue
                    ti, tj = (fr - 1 - i, fc - 1 - j) if flip else (i, j)
                    if channelwise:
                        out[:, :, r, c] += x[:, :, rr, cc] * w[:, ti, tj, r, c]
                    else:
                        out[:, :, r, c] += x[:, :, rr, cc] @ w[:, :, ti, tj, r, c].T
    return out


def run(layer, x):
    var = at.tensor4("x")
    return aesara.function([var], layer.get_output_for(var))(x)


@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("channelwise", [False, True])
@pytest.mark.parametrize("filter_size", [(3, 3), (3, 5)])
def test_matches_a_loop_over_positions(flip, channelwise, filter_size):
    x = rand(2, 3, 5, 4)
    w_shape = (3,) + ((filter_size + (5, 4)) if channelwise else ((3,) + filter_size + (5, 4)))
    w, b = rand(*w_shape), rand(3)
    layer = LocallyConnected2DLayer(InputLayer((None, 3, 5, 4)), 3, filter_size, W=w, b=b, nonlinearity=None,
                                    flip_filters=flip, channelwise=channelwise)
    assert layer.output_shape == (None, 3, 5, 4)
    expected = np_local(x, w, flip, channelwise) + b[:, None, None]
    np.testing.assert_allclose(run(layer, x), expected, rtol=1e-4, atol=1e-4)


def test_untied_biases_and_parameter_shapes():
    layer = LocallyConnected2DLayer((None, 2, 4, 3), 5, 3, untie_biases=True)
    assert layer.W.get_value().shape == (5, 2, 3, 3, 4, 3)
    assert layer.b.get_value().shape == (5, 4, 3)
    assert layer.get_params(regularizable=False) == [layer.b]


@pytest.mark.parametrize("channelwise", [False, True])
def test_gradients_match_finite_differences(channelwise):
    w_shape = (2, 3, 3, 4, 3) if channelwise else (2, 2, 3, 3, 4, 3)
    w = aesara.shared(rand(*w_shape).astype("float64"))

    def output(x):
        layer = LocallyConnected2DLayer((None, 2, 4, 3), 2, 3, W=w, b=None, nonlinearity=None, channelwise=channelwise)
        return layer.get_output_for(x)

    verify_grad(output, [rand(2, 2, 4, 3).astype("float64")], rng=np.random.default_rng(0))

    def output_wrt_weights(weights):
        layer = LocallyConnected2DLayer((None, 2, 4, 3), 2, 3, W=weights, b=None, nonlinearity=None,
                                        channelwise=channelwise)
        return layer.get_output_for(at.constant(rand(2, 2, 4, 3).astype("float64")))

    verify_grad(output_wrt_weights, [w.get_value()], rng=np.random.default_rng(1))


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: LocallyConnected2DLayer((2, 3, 4, 4), 2, 3, pad="valid"), NotImplementedError, "requires pad='same'"),
        (lambda: LocallyConnected2DLayer((2, 3, 4, 4), 2, 3, pad=1), NotImplementedError, "requires pad='same'"),
        (lambda: LocallyConnected2DLayer((2, 3, 4, 4), 2, 3, stride=2), NotImplementedError,
         r"requires stride=1 / \(1, 1\)"),
        (lambda: LocallyConnected2DLayer((2, 3, 4, 4), 2, 2), NotImplementedError, "odd filter size"),
        (lambda: LocallyConnected2DLayer((2, 3, 4, 4), 4, 3, channelwise=True), ValueError,
         "num_filters and the number of input channels should match"),
        (lambda: LocallyConnected2DLayer((2, None, 4, 4), 4, 3), ValueError,
         r"requires a fixed input shape \(except for the batch size\)"),
    ],
)
def test_invalid_settings_raise(make, error, message):
    with pytest.raises(error, match=message):
        make()
