"""aenet.lasagne.layers: symbolic gradients against central finite differences.

Everything runs in float64 (parameters given as float64 arrays keep their
dtype), with the input and parameters held in shared variables.  For each
layer the cost is ``sum(output * R)`` for a fixed random ``R``; its gradient
with respect to the input and to each parameter is checked along random
directions ``d``: ``<grad, d>`` must equal ``(cost(v + h d) - cost(v - h d)) / 2h``.
Each case compiles its own small function: aesara rewrites one graph holding
every layer much more slowly than the pieces.
"""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import numpy as np
import pytest

from aenet.lasagne import nonlinearities
from aenet.lasagne.layers import (Conv2DLayer, DenseLayer, DropoutLayer, FlattenLayer, InputLayer,
                                   MaxPool2DLayer, NonlinearityLayer, ReshapeLayer, get_output,
                                   get_output_shape)

X_SHAPE = (2, 2, 7, 6)
STEP = 1e-5
DIRECTIONS = 3


def float64_init(seed):
    rng = np.random.RandomState(seed)
    return lambda shape: rng.standard_normal(shape)


def conv(**kwargs):
    return lambda l_in, seed: Conv2DLayer(
        l_in, num_filters=3, W=float64_init(seed), b=float64_init(seed + 1), nonlinearity=None, **kwargs
    )


def dense(nonlinearity, flatten_first=False):
    def make(l_in, seed):
        incoming = FlattenLayer(l_in) if flatten_first else l_in
        return DenseLayer(
            incoming, 4, W=float64_init(seed), b=float64_init(seed + 1), nonlinearity=nonlinearity
        )

    return make


CASES = {
    "dense-4d-tanh": dense(nonlinearities.tanh),
    "dense-rectify": dense(nonlinearities.rectify, flatten_first=True),
    "dense-softmax": dense(nonlinearities.softmax, flatten_first=True),
    "dense-sigmoid": dense(nonlinearities.sigmoid, flatten_first=True),
    "conv-valid": conv(filter_size=(3, 2)),
    "conv-valid-noflip": conv(filter_size=(3, 2), flip_filters=False),
    "conv-full-stride-noflip": conv(filter_size=(2, 3), pad="full", stride=(2, 1), flip_filters=False),
    "conv-same-stride": conv(filter_size=3, pad="same", stride=2),
    "conv-int": conv(filter_size=(3, 2), pad=1),
    "conv-tuple-noflip": conv(filter_size=(3, 3), pad=(2, 1), flip_filters=False),
    "conv-untied": conv(filter_size=(3, 2), untie_biases=True),
    "conv-rectify": lambda l_in, seed: Conv2DLayer(
        l_in, 3, 3, W=float64_init(seed), b=float64_init(seed + 1)
    ),
    "pool-2": lambda l_in, seed: MaxPool2DLayer(l_in, 2),
    "pool-keep-border": lambda l_in, seed: MaxPool2DLayer(l_in, 3, stride=2, ignore_border=False),
    "pool-pad": lambda l_in, seed: MaxPool2DLayer(l_in, 3, stride=(2, 1), pad=(1, 2)),
    "flatten": lambda l_in, seed: FlattenLayer(l_in, outdim=3),
    "reshape": lambda l_in, seed: ReshapeLayer(l_in, ([0], -1, 3)),
    "nonlinearity-tanh": lambda l_in, seed: NonlinearityLayer(l_in, nonlinearities.tanh),
}


def compile_case(name):
    """The case's layer on a shared float64 input, the variables differentiated, and a
    function returning ``[cost, *gradients]``."""
    rng = np.random.RandomState(0)
    x = aesara.shared(rng.standard_normal(X_SHAPE), name="x")
    l_in = InputLayer(X_SHAPE, input_var=aesara.tensor.dtensor4())
    layer = CASES[name](l_in, 10)
    projection = rng.standard_normal(get_output_shape(layer, {l_in: X_SHAPE}))
    cost = (get_output(layer, x) * projection).sum()
    wrt = [x] + layer.get_params()
    return layer, wrt, aesara.function([], [cost] + aesara.grad(cost, wrt))


def finite_difference(cost_of, var, direction):
    value = var.get_value()
    try:
        var.set_value(value + STEP * direction)
        plus = cost_of()
        var.set_value(value - STEP * direction)
        minus = cost_of()
    finally:
        var.set_value(value)
    return (plus - minus) / (2 * STEP)


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_matches_finite_differences(name):
    layer, wrt, fn = compile_case(name)
    grads = fn()[1:]
    if name.startswith(("dense", "conv")):
        assert [v.name for v in wrt[1:]] == ["W", "b"]
    rng = np.random.RandomState(1)
    for var, grad in zip(wrt, grads):
        assert grad.dtype == np.float64 and grad.shape == var.get_value().shape
        for _ in range(DIRECTIONS):
            direction = rng.standard_normal(grad.shape)
            expected = finite_difference(lambda: fn()[0], var, direction)
            np.testing.assert_allclose(np.sum(grad * direction), expected, rtol=1e-6, atol=1e-8)


def test_conv_gradients_use_aenet_conv_rewrites():
    from aenet.cpu.corr import BatchedCorr, BatchedCorrGradInputs, BatchedCorrGradWeights

    _, _, fn = compile_case("conv-full-stride-noflip")
    ops = {type(node.op) for node in fn.maker.fgraph.apply_nodes}
    assert {BatchedCorr, BatchedCorrGradInputs, BatchedCorrGradWeights} <= ops


def test_float32_conv_gradients_match_float64():
    """The float32 training path gives the float64 gradients, to float32 precision."""
    rng = np.random.RandomState(7)
    x, W, b = rng.standard_normal(X_SHAPE), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    R, grads = None, {}
    for dtype in ("float64", "float32"):
        l_in = InputLayer(X_SHAPE, input_var=aesara.tensor.tensor4(dtype=dtype))
        layer = Conv2DLayer(
            l_in, 3, (2, 3), pad="full", stride=(2, 1), flip_filters=False,
            W=W.astype(dtype), b=b.astype(dtype), nonlinearity=None,
        )  # fmt: skip
        R = rng.standard_normal(layer.output_shape) if R is None else R
        cost = (get_output(layer) * R.astype(dtype)).sum()
        fn = aesara.function([l_in.input_var], aesara.grad(cost, [l_in.input_var, layer.W, layer.b]))
        grads[dtype] = fn(x.astype(dtype))
    for g32, g64 in zip(grads["float32"], grads["float64"]):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def dropout_grad_fn():
    l_in = InputLayer((None, 50), input_var=aesara.tensor.dmatrix())
    R = aesara.tensor.dmatrix()
    layer = DropoutLayer(l_in, p=0.4)
    out, det = get_output(layer), get_output(layer, deterministic=True)
    grads = aesara.grad((out * R).sum(), l_in.input_var), aesara.grad((det * R).sum(), l_in.input_var)
    return aesara.function([l_in.input_var, R], [out, *grads])


def test_dropout_gradient_is_the_mask_that_was_applied(dropout_grad_fn):
    """d sum(out * R) / dx = R * mask / (1 - p) = R * out / x for the mask drawn in the same call."""
    rng = np.random.RandomState(2)
    x, R = rng.uniform(1, 2, (20, 50)), rng.standard_normal((20, 50))
    out, grad, grad_det = dropout_grad_fn(x, R)
    assert 0 < np.mean(out == 0) < 1
    np.testing.assert_allclose(grad, R * out / x, rtol=1e-12)
    np.testing.assert_array_equal(grad_det, R)
