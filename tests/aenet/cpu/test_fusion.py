"""aenet.cpu.fusion: ChannelSum, ReluMaxPool2D and MaxPool2DReluGrad against aesara's Ops; training parity."""
import warnings

import numpy as np
import pytest

import aenet  # noqa: F401  (configures aesara, registers the rewrites)
import aesara
import aesara.tensor as at
from aesara.compile.function.types import Supervisor
from aesara.compile.mode import Mode, get_mode
from aesara.scalar.basic import ScalarMaximum
from aesara.graph.fg import FunctionGraph

from aenet.cpu.fusion import ChannelSum, MaxPool2DReluGrad, ReluMaxPool2D

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.signal.pool import pool_2d

STOCK = get_mode("FAST_RUN").excluding("aenet_fusion", "aenet_pool")
FAST = get_mode("FAST_RUN")


def op_types(f):
    return {type(node.op) for node in f.maker.fgraph.apply_nodes}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(128, 16, 30, 30), (3, 5, 7), (2, 4, 3, 5, 2), (4, 3, 1, 1)])
def test_channel_sum_matches_sum(shape, dtype):
    rng = np.random.default_rng(0)
    x = at.TensorType(dtype, shape=(None,) * len(shape))("x")
    axes = (0,) + tuple(range(2, len(shape)))
    s = x.sum(axis=axes)
    f = aesara.function([x], s, mode=FAST)
    assert ChannelSum in op_types(f)
    xv = rng.standard_normal(shape).astype(dtype)
    want = xv.astype(np.float64).sum(axis=axes)
    got = f(xv)
    assert got.dtype == dtype and got.shape == (shape[1],)
    # within a few units in the last place of the float64 sum, like aesara's float64 accumulation
    if dtype == "float32":
        atol = 8 * np.finfo(dtype).eps * np.abs(want).max()
    else:  # float64 either way: both are summation-order rounding
        atol = 1e-13 * np.abs(xv).sum(axis=axes).max()
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    np.testing.assert_allclose(got, aesara.function([x], s, mode=STOCK)(xv), rtol=0, atol=atol)


def test_channel_sum_non_contiguous_and_gradient():
    rng = np.random.default_rng(1)
    x = at.tensor4("x")
    xt = x.dimshuffle(1, 0, 3, 2)
    s = xt.sum(axis=(0, 2, 3))
    f = aesara.function([x], s, mode=FAST)
    assert ChannelSum in op_types(f)
    xv = rng.standard_normal((3, 4, 5, 6)).astype("float32")
    np.testing.assert_allclose(f(xv), xv.sum(axis=(1, 2, 3)), rtol=1e-5, atol=1e-5)
    aesara.gradient.verify_grad(
        lambda v: ChannelSum()(v) ** 2, [rng.standard_normal((2, 3, 4, 5))], rng=rng, mode=FAST
    )


def test_other_sums_untouched():
    x = at.tensor4("x")
    for s in (x.sum(axis=(0, 2)), x.sum(), x.sum(axis=1)):
        assert ChannelSum not in op_types(aesara.function([x], s, mode=FAST))


def relu_pool_grad(ws, stride, mode):
    a = at.tensor4("a")
    c = at.tensor4("c")
    y = at.maximum(a, 0)  # aenet.lasagne's rectify
    z = pool_2d(y, ws=ws, stride=stride, ignore_border=True)
    return aesara.function([a, c], [z, aesara.grad((z * c).sum(), a)], mode=mode)


@pytest.mark.parametrize("ws,stride", [((2, 2), None), ((3, 3), (2, 2)), ((2, 2), (3, 3)), ((3, 2), (1, 2))])
def test_relu_max_pool_and_grad_bitwise(ws, stride):
    rng = np.random.default_rng(2)
    stock = relu_pool_grad(ws, stride, STOCK)
    fused = relu_pool_grad(ws, stride, FAST)
    python = relu_pool_grad(ws, stride, Mode(linker="py", optimizer=FAST.optimizer))
    assert {MaxPool2DReluGrad, ReluMaxPool2D} <= op_types(fused)
    assert not {MaxPool2DReluGrad, ReluMaxPool2D} & op_types(stock)
    # the ReLU output is not computed at all
    assert not any(isinstance(getattr(n.op, "scalar_op", None), ScalarMaximum) for n in fused.maker.fgraph.apply_nodes)
    a = rng.standard_normal((4, 3, 11, 41)).astype("float32")  # 41: vectorised path and tail
    a[..., ::4] = 0  # exact zeros: ReLU's gradient passes at 0, windows of zeros tie
    a[0, 0] = -1  # a plane of negatives: all-zero windows
    z = stock(a, np.zeros((1, 1, 1, 1), "float32"))[0]
    c = rng.standard_normal(z.shape).astype("float32")
    want = stock(a, c)
    for got in (fused(a, c), python(a, c)):
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)


def test_maximum_zero_first_keeps_its_own_gradient():
    """``maximum(0, a)`` passes no gradient at a == 0 (unlike ``maximum(a, 0)``): not fused."""
    a = at.tensor4("a")
    z = pool_2d(at.maximum(0, a), ws=(2, 2), ignore_border=True)
    f = aesara.function([a], aesara.grad(z.sum(), a), mode=FAST)
    assert MaxPool2DReluGrad not in op_types(f)
    av = np.array([[[[0, -1], [-2, -3]]]], dtype="float32")
    np.testing.assert_array_equal(f(av), aesara.function([a], aesara.grad(z.sum(), a), mode=STOCK)(av))


def test_max_pool_relu_grad_finite_differences():
    rng = np.random.default_rng(3)
    a = rng.permutation(2 * 2 * 8 * 8).reshape(2, 2, 8, 8) / 10.0 - 6.35  # distinct, none near 0

    def f(v):
        return pool_2d(at.maximum(v, 0), ws=(2, 2), ignore_border=True) ** 2

    aesara.gradient.verify_grad(f, [a], rng=rng, mode=FAST, eps=1e-4)


def test_jax_mode_keeps_aesara_ops():
    a = at.tensor4("a")
    z = pool_2d(at.maximum(a, 0), ws=(2, 2), ignore_border=True)
    loss = z.sum() + (z.sum(axis=(0, 2, 3)) ** 2).sum()
    fgraph = FunctionGraph([a], [aesara.grad(loss, a)], clone=True)
    fgraph.attach_feature(Supervisor(fgraph.inputs))
    get_mode("JAX").optimizer.rewrite(fgraph)
    types = {type(node.op) for node in fgraph.apply_nodes}
    assert not {ChannelSum, MaxPool2DReluGrad, ReluMaxPool2D} & types


def test_cnn_training_parity():
    """The post's CNN trains to the same losses and weights with and without aenet's rewrites."""
    from aenet import device
    from aenet.cpu.corr import BatchedCorr
    from helpers.nets import post_net, random_data

    X, y = random_data("cnn", 4 * 128, seed=5)
    results = {}
    saved = dict(device._current)
    without = get_mode("FAST_RUN").excluding("aenet_fusion", "aenet_pool", "aenet_corr", "aenet_dot")
    try:
        for name, mode in (("stock", without), ("fast", FAST)):
            device._current.update(name="cpu", mode=mode)
            net = post_net("cnn", seed=7, eval_size=0)
            net.initialize()
            fused = {ReluMaxPool2D, MaxPool2DReluGrad, ChannelSum, BatchedCorr} <= op_types(net.train_iter_)
            assert fused == (name == "fast")
            losses = [float(net.train_iter_(X[i : i + 128], y[i : i + 128])[0]) for i in range(0, len(X), 128)]
            results[name] = losses, [p.get_value() for p in net.get_all_params()]
    finally:
        device._current.clear()
        device._current.update(saved)
    np.testing.assert_allclose(results["fast"][0], results["stock"][0], rtol=1e-5)
    for fast, stock in zip(results["fast"][1], results["stock"][1]):
        np.testing.assert_allclose(fast, stock, rtol=1e-4, atol=1e-6)


def test_relu_max_pool_every_row_length():
    rng = np.random.default_rng(6)
    stock = relu_pool_grad((2, 2), None, STOCK)
    fused = relu_pool_grad((2, 2), None, FAST)
    for width in range(2, 42):
        a = rng.standard_normal((2, 2, 4, width)).astype("float32")
        a[..., ::3] = 0
        c = rng.standard_normal((2, 2, 2, width // 2)).astype("float32")
        for w, g in zip(stock(a, c), fused(a, c)):
            np.testing.assert_array_equal(g, w)
