"""aenet.cpu.pool: parity with aesara's Pool/MaxPoolGrad, gradients, ties, and the rewrites."""
import warnings

import numpy as np
import pytest

import aenet  # noqa: F401  (configures aesara, registers the rewrites)
import aesara
import aesara.tensor as at
from aesara.compile.mode import Mode, get_mode
from aesara.compile.function.types import Supervisor
from aesara.graph.fg import FunctionGraph

from aenet.cpu.pool import MaxPool2D, MaxPool2DGrad

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.signal.pool import MaxPoolGrad, Pool, pool_2d

STOCK = get_mode("FAST_RUN").excluding("aenet_pool")
FAST = get_mode("FAST_RUN")
PY = Mode(linker="py", optimizer=get_mode("FAST_RUN").optimizer)

CASES = [
    # (input shape, ws, stride)
    ((3, 4, 8, 8), (2, 2), None),
    ((2, 3, 9, 7), (2, 2), None),  # odd sizes: last row/col dropped
    ((2, 3, 21, 37), (2, 2), None),  # wide rows: the vectorised path, a tail, a dropped column
    ((2, 3, 10, 11), (3, 2), (1, 2)),  # overlapping rows
    ((2, 2, 9, 9), (3, 3), (2, 2)),  # overlapping both ways
    ((2, 2, 11, 10), (2, 2), (3, 3)),  # gaps between windows
    ((5, 7, 6), (2, 3), None),  # 3-D input
    ((2, 2, 2, 6, 6), (2, 2), None),  # 5-D input
    ((2, 2, 1, 5), (2, 2), None),  # empty output
]


def pool_and_grad(ndim, ws, stride, mode, dtype="float32"):
    x = at.TensorType(dtype, shape=(None,) * ndim)("x")
    gz_seed = at.TensorType(dtype, shape=(None,) * ndim)("c")
    z = pool_2d(x, ws=ws, stride=stride, ignore_border=True, mode="max")
    gx = aesara.grad((z * gz_seed).sum(), x)
    return aesara.function([x, gz_seed], [z, gx], mode=mode, on_unused_input="ignore")


def op_types(f):
    return {type(node.op) for node in f.maker.fgraph.apply_nodes}


def data(shape, rng, ties=False, dtype="float32"):
    x = rng.standard_normal(shape).astype(dtype)
    if ties:
        # ReLU-like data: many exact zeros, plus repeated values
        x = np.maximum(x, 0)
        x[..., ::3] = np.round(x[..., ::3], 1)
    return x


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shape,ws,stride", CASES)
def test_parity_with_aesara(shape, ws, stride, ties, dtype):
    rng = np.random.default_rng(0)
    ndim = len(shape)
    stock = pool_and_grad(ndim, ws, stride, STOCK, dtype)
    ours = pool_and_grad(ndim, ws, stride, FAST, dtype)
    python = pool_and_grad(ndim, ws, stride, PY, dtype)
    assert Pool in op_types(stock) and MaxPoolGrad in op_types(stock)
    assert {MaxPool2D, MaxPool2DGrad} <= op_types(ours)
    assert not {Pool, MaxPoolGrad} & op_types(ours)
    x = data(shape, rng, ties, dtype)
    z_ref, _ = stock(x, np.zeros((1,) * ndim, dtype))
    gz = rng.standard_normal(z_ref.shape).astype(dtype)
    want = stock(x, gz)
    for got in (ours(x, gz), python(x, gz)):
        for w, g in zip(want, got):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_array_equal(g, w)


def test_non_contiguous_input():
    rng = np.random.default_rng(1)
    x = at.tensor4("x")
    xt = x.dimshuffle(0, 1, 3, 2)
    z = pool_2d(xt, ws=(2, 2), ignore_border=True)
    gx = aesara.grad((z**2).sum(), x)
    xv = rng.standard_normal((2, 3, 8, 6)).astype("float32")
    want = aesara.function([x], [z, gx], mode=STOCK)(xv)
    f = aesara.function([x], [z, gx], mode=FAST)
    assert MaxPool2D in op_types(f)
    for w, g in zip(want, f(xv)):
        np.testing.assert_array_equal(g, w)


def test_ties_all_receive_the_gradient():
    """Theano's semantics: every input equal to the window max gets the window's gradient."""
    x = at.tensor4("x")
    z = pool_2d(x, ws=(2, 2), ignore_border=True)
    g = aesara.grad((z * np.float32(3)).sum(), x)
    f = aesara.function([x], g, mode=FAST)
    assert MaxPool2DGrad in op_types(f)
    xv = np.array([[[[0, 0, 1, 2], [0, 0, 2, 1], [5, 1, 4, 4], [1, 5, 4, 4]]]], dtype="float32")
    want = np.array([[[[3, 3, 0, 3], [3, 3, 3, 0], [3, 0, 3, 3], [0, 3, 3, 3]]]], dtype="float32")
    np.testing.assert_array_equal(f(xv), want)


def test_overlapping_windows_add_up():
    x = at.matrix("x")
    z = pool_2d(x, ws=(2, 2), stride=(1, 1), ignore_border=True)
    f = aesara.function([x], aesara.grad(z.sum(), x), mode=FAST)
    assert MaxPool2DGrad in op_types(f)
    xv = np.array([[0, 1, 0], [0, 9, 0], [0, 0, 0]], dtype="float32")
    np.testing.assert_array_equal(f(xv), [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


@pytest.mark.parametrize("ws,stride", [((2, 2), None), ((3, 2), (1, 2)), ((2, 2), (3, 3))])
def test_gradient_matches_finite_differences(ws, stride):
    rng = np.random.default_rng(2)
    # distinct values, well apart: no ties, no max switching within eps
    x = rng.permutation(2 * 3 * 9 * 8).reshape(2, 3, 9, 8).astype("float64") / 10
    aesara.gradient.verify_grad(
        lambda v: pool_2d(v, ws=ws, stride=stride, ignore_border=True).sum() * 1.0
        + (pool_2d(v, ws=ws, stride=stride, ignore_border=True) ** 2).sum(),
        [x],
        rng=rng,
        mode=FAST,
        eps=1e-4,
    )


def test_op_gradient_directly():
    """The Ops' own L_op (used when graphs are built from them directly)."""
    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6).astype("float64") / 7
    aesara.gradient.verify_grad(
        lambda v: MaxPool2D((2, 2))(v) ** 2, [x], rng=rng, mode=FAST, eps=1e-4
    )


def test_not_rewritten_when_unsupported():
    x = at.tensor4("x")
    cases = [
        pool_2d(x, ws=(2, 2), ignore_border=False),
        pool_2d(x, ws=(3, 3), ignore_border=True, pad=(1, 1)),
        pool_2d(x, ws=(2, 2), ignore_border=True, mode="average_inc_pad"),
    ]
    for z in cases:
        f = aesara.function([x], [z, aesara.grad(z.sum(), x)], mode=FAST)
        assert MaxPool2D not in op_types(f) and MaxPool2DGrad not in op_types(f)


def test_jax_mode_keeps_aesara_ops():
    """The rewrites are cxx_only: JAX mode's rewrites leave aesara's Ops in place."""
    x = at.tensor4("x")
    z = pool_2d(x, ws=(2, 2), ignore_border=True)
    gx = aesara.grad(z.sum(), x)
    fgraph = FunctionGraph([x], [z, gx], clone=True)
    fgraph.attach_feature(Supervisor(fgraph.inputs))
    get_mode("JAX").optimizer.rewrite(fgraph)
    types = {type(node.op) for node in fgraph.apply_nodes}
    assert Pool in types and MaxPoolGrad in types
    assert not {MaxPool2D, MaxPool2DGrad} & types


def test_bad_arguments():
    with pytest.raises(ValueError, match="ws"):
        MaxPool2D((2,))
    with pytest.raises(TypeError):
        MaxPool2D((2, 2))(at.ivector())


def test_every_row_length():
    """Rows of 1 to 20 outputs: full vector blocks, masked ends, odd widths."""
    rng = np.random.default_rng(4)
    stock = pool_and_grad(4, (2, 2), None, STOCK)
    ours = pool_and_grad(4, (2, 2), None, FAST)
    for width in range(2, 42):
        x = data((2, 2, 5, width), rng, ties=width % 2 == 0)
        gz = rng.standard_normal((2, 2, 2, width // 2)).astype("float32")
        for w, g in zip(stock(x, gz), ours(x, gz)):
            np.testing.assert_array_equal(g, w)
