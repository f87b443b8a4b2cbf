"""aenet.cpu.corr: batched im2col convolutions against aesara's CorrMM Ops and numpy."""
import warnings

import numpy as np
import pytest

import aenet  # noqa: F401  (configures aesara, registers the rewrites)
import aesara
import aesara.tensor as at
from aesara.compile.mode import Mode, get_mode

from aenet.cpu.corr import BatchedCorr, BatchedCorrGradInputs, BatchedCorrGradWeights

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import conv2d
    from aesara.tensor.nnet.corr import CorrMM_gradInputs, CorrMM_gradWeights

    from aenet.cpu.conv import CorrMM

STOCK = get_mode("FAST_RUN").excluding("aenet_corr")
FAST = get_mode("FAST_RUN")
PY = Mode(linker="py", optimizer=get_mode("FAST_RUN").optimizer)
OURS = {BatchedCorr, BatchedCorrGradWeights, BatchedCorrGradInputs}

CASES = [
    # image shape, kernel shape, conv2d keywords
    ((6, 1, 32, 32), (16, 1, 3, 3), {}),  # the post's first layer: per-image products
    ((40, 16, 15, 15), (32, 16, 2, 2), {}),  # chunks of several images
    ((130, 32, 7, 7), (64, 32, 2, 2), {}),  # a last, partial chunk
    ((3, 2, 9, 8), (4, 2, 3, 2), {"border_mode": (1, 2), "subsample": (2, 1)}),
    ((2, 3, 7, 7), (5, 3, 3, 3), {"border_mode": "half"}),
    ((2, 3, 5, 6), (4, 3, 2, 3), {"border_mode": "full", "filter_flip": False}),
    ((1, 2, 6, 6), (3, 2, 6, 6), {}),  # 1x1 output
]


def conv_and_grads(mode, kwargs, dtype="float32"):
    x = at.TensorType(dtype, shape=(None,) * 4)("x")
    w = at.TensorType(dtype, shape=(None,) * 4)("w")
    g = at.TensorType(dtype, shape=(None,) * 4)("g")
    out = conv2d(x, w, **kwargs)
    gw, gx = aesara.grad(None, [w, x], known_grads={out: g})
    return aesara.function([x, w, g], [out, gw, gx], mode=mode)


def op_types(f):
    return {type(node.op) for node in f.maker.fgraph.apply_nodes}


def numpy_corr(x, w):
    """Valid correlation, the plain definition."""
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    out = np.zeros((n, m, h - kh + 1, wd - kw + 1))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i : i + h - kh + 1, j : j + wd - kw + 1]
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, i, j])
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xshape,wshape,kwargs", CASES)
def test_matches_corrmm(xshape, wshape, kwargs, dtype):
    rng = np.random.default_rng(0)
    stock = conv_and_grads(STOCK, kwargs, dtype)
    ours = conv_and_grads(FAST, kwargs, dtype)
    python = conv_and_grads(PY, kwargs, dtype)
    assert OURS <= op_types(ours)
    assert not {CorrMM, CorrMM_gradWeights, CorrMM_gradInputs} & op_types(ours)
    assert not OURS & op_types(stock)
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    xs, ws = at.TensorType(dtype, shape=(None,) * 4)("x"), at.TensorType(dtype, shape=(None,) * 4)("w")
    out = aesara.function([xs, ws], conv2d(xs, ws, **kwargs), mode=STOCK)(x, w)
    g = rng.standard_normal(out.shape).astype(dtype)
    want = stock(x, w, g)
    tol = 2e-5 if dtype == "float32" else 1e-12
    for got in (ours(x, w, g), python(x, w, g)):
        for a, b in zip(got, want):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())


def test_forward_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 3, 11, 9))
    w = rng.standard_normal((4, 3, 3, 2))
    xv, wv = at.tensor4("x", dtype="float64"), at.tensor4("w", dtype="float64")
    f = aesara.function([xv, wv], conv2d(xv, wv, filter_flip=False), mode=FAST)
    assert BatchedCorr in op_types(f)
    np.testing.assert_allclose(f(x, w), numpy_corr(x, w), rtol=1e-12, atol=1e-12)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((9, 2, 6, 5))
    w = rng.standard_normal((3, 2, 2, 3))
    aesara.gradient.verify_grad(lambda a, b: conv2d(a, b, border_mode=(1, 0)), [x, w], rng=rng, mode=FAST)


def test_shape_errors_are_reported():
    x, w = at.tensor4("x"), at.tensor4("w")
    f = aesara.function([x, w], BatchedCorr()(x, w), mode=FAST)
    with pytest.raises(ValueError, match="do not fit"):
        f(np.zeros((1, 2, 5, 5), "float32"), np.zeros((1, 3, 2, 2), "float32"))
    with pytest.raises(ValueError, match="do not fit"):
        f(np.zeros((1, 2, 2, 2), "float32"), np.zeros((1, 2, 3, 3), "float32"))


def test_rewrite_is_cxx_only():
    """JAX mode excludes cxx_only rewrites, so it never sees these C Ops."""
    from aesara.compile import optdb

    assert "cxx_only" in get_mode("JAX").provided_optimizer.exclude
    assert optdb["aenet_batched_corr"] in optdb.__db__["cxx_only"]
    jax_rewrites = optdb.query(get_mode("JAX").provided_optimizer).data
    assert optdb["aenet_batched_corr"] not in jax_rewrites
    assert optdb["aenet_batched_corr"] in optdb.query(get_mode("FAST_RUN").provided_optimizer).data


@pytest.mark.parametrize("xshape,wshape", [((3, 1, 32, 32), (16, 1, 3, 3)), ((50, 16, 15, 15), (32, 16, 2, 2))])
def test_bias_is_added_in_the_convolution(xshape, wshape):
    """conv + b.dimshuffle('x', 0, 'x', 'x') (Lasagne's Conv2DLayer) becomes one Op, same values."""
    rng = np.random.default_rng(3)
    x, w, b = at.tensor4("x"), at.tensor4("w"), at.vector("b")
    out = at.maximum(conv2d(x, w) + b.dimshuffle("x", 0, "x", "x"), 0)
    fused = aesara.function([x, w, b], out, mode=FAST)
    separate = aesara.function([x, w, b], out, mode=FAST.excluding("aenet_batched_corr_bias"))
    python = aesara.function([x, w, b], out, mode=PY)
    convs = [n for n in fused.maker.fgraph.apply_nodes if isinstance(n.op, BatchedCorr)]
    assert len(convs) == 1 and len(convs[0].inputs) == 3
    assert not any(isinstance(getattr(n.op, "scalar_op", None), aesara.scalar.Add) for n in fused.maker.fgraph.apply_nodes)
    xv = rng.standard_normal(xshape).astype("float32")
    wv = rng.standard_normal(wshape).astype("float32")
    bv = rng.standard_normal(wshape[0]).astype("float32")
    want = separate(xv, wv, bv)
    np.testing.assert_array_equal(fused(xv, wv, bv), want)
    np.testing.assert_allclose(python(xv, wv, bv), want, rtol=2e-5, atol=2e-5 * np.abs(want).max())


def test_bias_not_fused_when_the_plain_convolution_is_used():
    x, w, b = at.tensor4("x"), at.tensor4("w"), at.vector("b")
    conv = conv2d(x, w)
    f = aesara.function([x, w, b], [conv + b.dimshuffle("x", 0, "x", "x"), conv.sum()], mode=FAST)
    convs = [n for n in f.maker.fgraph.apply_nodes if isinstance(n.op, BatchedCorr)]
    assert len(convs) == 1 and len(convs[0].inputs) == 2


def test_threads_agree_and_are_deterministic():
    """Chunks spread over OpenMP threads (as many as BLAS has): same results, run after run."""
    from aenet.compile import settings

    rng = np.random.default_rng(5)
    f = conv_and_grads(FAST, {})
    x = rng.standard_normal((130, 16, 15, 15)).astype("float32")
    w = rng.standard_normal((32, 16, 2, 2)).astype("float32")
    g = rng.standard_normal((130, 32, 14, 14)).astype("float32")
    try:
        settings.set_num_threads(1)
        one = f(x, w, g)
        settings.set_num_threads(2)
        two = f(x, w, g)
        again = f(x, w, g)
    finally:
        settings.set_num_threads(2)
    for a, b, c in zip(one, two, again):
        np.testing.assert_array_equal(b, c)
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-5 * np.abs(a).max())


@pytest.mark.parametrize("op", [BatchedCorr(), BatchedCorrGradWeights(), BatchedCorrGradInputs()])
def test_bad_inputs_are_refused_naming_the_op(op):
    extra = [] if isinstance(op, BatchedCorr) else [3, 3]
    name = type(op).__name__
    with pytest.raises(TypeError, match=f"^{name} needs 4-D tensors of one dtype"):
        op(at.tensor4(dtype="float32"), at.matrix(dtype="float32"), *extra)
    with pytest.raises(TypeError, match=f"^{name} needs float32/float64, got int32"):
        op(at.tensor4(dtype="int32"), at.tensor4(dtype="int32"), *extra)
