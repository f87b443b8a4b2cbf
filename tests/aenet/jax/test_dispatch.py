"""aenet's JAX implementations, Op by Op, against aesara's C backend (FAST_RUN).

Every case compiles the same graph twice, in FAST_RUN (C code, with aenet's
CPU rewrites) and in aenet's JAX mode on JAX's CPU backend, feeds both the
same random float32 inputs and compares the outputs and the gradients to
1e-5 relative.  Each case also checks that the JAX graph holds the Op it is
about, so a rewrite cannot silently route around it.
"""
import warnings

import numpy as np
import pytest

pytest.importorskip("jax")

import aesara  # noqa: E402
import aesara.tensor as at  # noqa: E402
from aesara.compile.mode import get_mode  # noqa: E402

from helpers.backends import RTOL, assert_close, compare, jax_mode, op_types  # noqa: E402

with warnings.catch_warnings():  # aesara.tensor.nnet and .signal are deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import abstract_conv, basic as nnet
    from aesara.tensor.nnet import conv2d
    from aesara.tensor.signal import pool

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("jax_cpu")]


def randn(rng, *shape):
    return rng.standard_normal(shape).astype("float32")


# -- convolution ----------------------------------------------------------------------

CONV_CASES = [
    # (image shape, kernel shape, conv2d keywords)
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode="valid")),
    ((2, 3, 9, 8), (4, 3, 3, 2), dict(border_mode="full")),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode="half")),
    ((2, 3, 9, 8), (4, 3, 2, 2), dict(border_mode="half")),  # even kernel
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode=1)),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode=(2, 1))),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode=((1, 2), (0, 1)))),  # asymmetric
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode="valid", subsample=(2, 3))),
    ((2, 3, 10, 9), (4, 3, 3, 2), dict(border_mode=(1, 2), subsample=(2, 2))),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode="full", subsample=(2, 1))),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode="valid", filter_flip=False)),
    ((2, 3, 9, 8), (4, 3, 3, 2), dict(border_mode="half", filter_flip=False, subsample=(1, 2))),
    ((2, 3, 11, 10), (4, 3, 3, 2), dict(border_mode="valid", filter_dilation=(2, 3))),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(border_mode="half", filter_dilation=(2, 1))),
    ((2, 4, 9, 8), (6, 2, 3, 3), dict(border_mode="valid", num_groups=2)),
    ((1, 1, 32, 32), (16, 1, 3, 3), dict(border_mode="valid")),  # the post's first conv layer
]


@pytest.mark.parametrize("imshp, kshp, kw", CONV_CASES, ids=[str(c[2]) for c in CONV_CASES])
def test_conv2d_and_its_gradients_match_c(imshp, kshp, kw):
    rng = np.random.default_rng(len(str(kw)))
    img, kern = at.tensor4("img"), at.tensor4("kern")
    out = conv2d(img, kern, filter_shape=kshp, **kw)
    compare(
        [img, kern],
        [out],
        [randn(rng, *imshp), randn(rng, *kshp)],
        expect_ops=["AbstractConv2d", "AbstractConv2d_gradWeights", "AbstractConv2d_gradInputs"],
        wrt=[img, kern],
    )


def test_conv2d_flip_is_a_true_convolution():
    """filter_flip=True convolves (the kernel is flipped), False correlates: checked by hand."""
    img, kern = at.tensor4("img"), at.tensor4("kern")
    x = np.zeros((1, 1, 3, 3), "float32")
    x[0, 0, 1, 1] = 1  # an impulse: a convolution returns the kernel, a correlation its flip
    k = np.arange(9, dtype="float32").reshape(1, 1, 3, 3)
    for flip, expected in ((True, k), (False, k[:, :, ::-1, ::-1])):
        f = aesara.function([img, kern], conv2d(img, kern, border_mode="full", filter_flip=flip), mode=jax_mode())
        np.testing.assert_array_equal(np.asarray(f(x, k))[:, :, 1:4, 1:4], expected)


def test_conv2d_grad_inputs_with_leftover_rows():
    """Stride 2 over 10 rows leaves a row no window reads: its gradient is 0 in both backends."""
    rng = np.random.default_rng(3)
    kern, top = at.tensor4("kern"), at.tensor4("top")
    grad = abstract_conv.conv2d_grad_wrt_inputs(
        top, kern, input_shape=(2, 3, 10, 9), filter_shape=(4, 3, 3, 3), subsample=(2, 2)
    )
    c_out, _ = compare(
        [kern, top], [grad], [randn(rng, 4, 3, 3, 3), randn(rng, 2, 4, 4, 4)], ["AbstractConv2d_gradInputs"]
    )
    assert not np.any(c_out[0][:, :, -1, :])


# -- pooling --------------------------------------------------------------------------

POOL_CASES = [
    # (input shape, ws, stride, pad, ignore_border)
    ((2, 3, 8, 8), (2, 2), None, (0, 0), True),  # the post's pooling: windows tile the input
    ((2, 3, 7, 9), (2, 2), None, (0, 0), True),  # leftover rows and columns
    ((2, 3, 7, 9), (2, 2), None, (0, 0), False),  # partial windows kept
    ((2, 3, 7, 9), (3, 2), (3, 2), (0, 0), False),
    ((2, 3, 7, 9), (3, 3), (1, 1), (0, 0), True),  # overlapping windows
    ((2, 3, 7, 9), (3, 3), (2, 1), (0, 0), False),
    ((2, 3, 7, 9), (3, 2), (1, 3), (0, 0), True),
    ((2, 3, 7, 9), (3, 3), (2, 2), (1, 2), True),  # padding
    ((2, 3, 6, 6), (2, 2), (2, 2), (1, 1), True),
    ((3, 7, 9), (2, 3), (2, 2), (0, 0), True),  # 3-D input
    ((2, 2, 2, 5, 6), (2, 2), None, (0, 0), False),  # 5-D input
]
POOL_IDS = [f"{c[0]}-ws{c[1]}-st{c[2]}-pad{c[3]}-ib{c[4]}" for c in POOL_CASES]


@pytest.mark.parametrize("shape, ws, stride, pad, ignore_border", POOL_CASES, ids=POOL_IDS)
@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
def test_pool_and_its_gradient_match_c(shape, ws, stride, pad, ignore_border, mode):
    rng = np.random.default_rng(sum(shape) + len(mode))
    x = at.TensorType("float32", shape=(None,) * len(shape))("x")
    out = pool.pool_2d(x, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border, mode=mode)
    grad_op = "MaxPoolGrad" if mode == "max" else "AveragePoolGrad"
    values = randn(rng, *shape)
    if mode == "average_exc_pad" and any(pad):
        # aesara's C code has no gradient for this case ("padding must be zero for
        # average_exc_pad"): compare the pooling, and check the JAX gradient is its
        # adjoint: <pool(x), g> == <x, grad(g)>, the pooling being linear.
        c_out, _ = compare([x], [out], [values], expect_ops=["Pool"])
        g = randn(rng, *c_out[0].shape)
        gx = aesara.grad((out * g).sum(), x)
        jax_gx = aesara.function([x], gx, mode=jax_mode())
        assert "AveragePoolGrad" in op_types(jax_gx)
        lhs, rhs = np.sum(c_out[0] * g, dtype=np.float64), np.sum(values * np.asarray(jax_gx(values)), dtype=np.float64)
        assert abs(lhs - rhs) <= RTOL * np.sum(np.abs(c_out[0] * g))
        return
    compare([x], [out], [values], expect_ops=["Pool", grad_op], wrt=[x])


@pytest.mark.parametrize("shape, ws, stride, pad, ignore_border", POOL_CASES, ids=POOL_IDS)
def test_max_pool_grad_grad_matches_c(shape, ws, stride, pad, ignore_border):
    """The gradient of MaxPoolGrad w.r.t. its output gradient: DownsampleFactorMaxGradGrad."""
    rng = np.random.default_rng(sum(shape))
    x = at.TensorType("float32", shape=(None,) * len(shape))("x")
    gz = at.TensorType("float32", shape=(None,) * len(shape))("gz")
    pooled = pool.pool_2d(x, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border, mode="max")
    gx = aesara.grad((pooled * gz).sum(), x)
    ggx = randn(rng, *shape)
    out = aesara.grad((gx * ggx).sum(), gz)
    xv = np.round(randn(rng, *shape))  # integer values: many ties
    gz_shape = aesara.function([x], pooled.shape, mode=get_mode("FAST_RUN"))(xv)
    compare([x, gz], [out], [xv, randn(rng, *gz_shape)], expect_ops=["DownsampleFactorMaxGradGrad"])


@pytest.mark.parametrize("shape, ws, stride, pad, ignore_border", POOL_CASES[:8], ids=POOL_IDS[:8])
def test_max_pool_grad_ties_match_c(shape, ws, stride, pad, ignore_border):
    """Windows holding equal values (ReLU zeros): every maximum gets the gradient, like aesara."""
    rng = np.random.default_rng(1)
    x = at.tensor4("x")
    out = pool.pool_2d(x, ws=ws, stride=stride, pad=pad, ignore_border=ignore_border, mode="max")
    values = np.maximum(np.round(randn(rng, *shape)), 0)  # mostly 0 and 1
    compare([x], [out], [values], expect_ops=["MaxPoolGrad"], wrt=[x])


def test_max_pool_grad_sends_the_gradient_to_every_tied_maximum():
    x = at.tensor4("x")
    gx = aesara.grad(pool.pool_2d(x, ws=(2, 2), ignore_border=True).sum(), x)
    f = aesara.function([x], gx, mode=jax_mode())
    values = np.array([[[[0, 0, 1, 3], [0, 0, 3, 2]]]], dtype="float32")
    np.testing.assert_array_equal(np.asarray(f(values)), [[[[1, 1, 0, 1], [1, 1, 1, 0]]]])


def test_pool_padding_never_wins_the_maximum():
    x = at.tensor4("x")
    f = aesara.function([x], pool.pool_2d(x, ws=(2, 2), pad=(1, 1), ignore_border=True), mode=jax_mode())
    values = -np.ones((1, 1, 2, 2), "float32")
    np.testing.assert_array_equal(np.asarray(f(values)), -np.ones((1, 1, 2, 2)))


# -- softmax, cross-entropy, argmax ---------------------------------------------------


@pytest.fixture(scope="module")
def logits():
    rng = np.random.default_rng(7)
    x, b = randn(rng, 16, 10) * 3, randn(rng, 10)
    y = rng.integers(0, 10, 16).astype("int32")
    return x, b, y


def test_softmax_with_bias_matches_c(logits):
    x, b = at.matrix("x"), at.vector("b")
    compare(
        [x, b], [nnet.softmax(x + b, axis=-1)], logits[:2], expect_ops=["SoftmaxWithBias"], wrt=[x, b]
    )


def test_crossentropy_softmax_ops_match_c(logits):
    """The ops the post's loss becomes: softmax + categorical cross-entropy on int labels."""
    x, b, y = at.matrix("x"), at.vector("b"), at.ivector("y")
    nll, sm, am = nnet.crossentropy_softmax_argmax_1hot_with_bias(x, b, y)
    compare(
        [x, b, y],
        [nll, sm, am],
        logits,
        expect_ops=["CrossentropySoftmaxArgmax1HotWithBias", "CrossentropySoftmax1HotWithBiasDx"],
        wrt=[x, b],
    )


def test_crossentropy_of_softmax_is_rewritten_and_matches_c(logits):
    x, b, y = at.matrix("x"), at.vector("b"), at.ivector("y")
    loss = nnet.categorical_crossentropy(nnet.softmax(x + b, axis=-1), y).mean()
    compare(
        [x, b, y],
        [loss],
        logits,
        expect_ops=["CrossentropySoftmaxArgmax1HotWithBias", "CrossentropySoftmax1HotWithBiasDx"],
        wrt=[x, b],
    )


@pytest.mark.parametrize("dy_shape", [(16,), (1,), ()], ids=["per-row", "length-1", "scalar"])
def test_crossentropy_softmax_dx_broadcasts_dy_like_c(logits, dy_shape):
    rng = np.random.default_rng(2)
    x, y = logits[0], logits[2]
    sm_value = np.exp(x - x.max(1, keepdims=True))
    sm_value /= sm_value.sum(1, keepdims=True)
    dy = at.TensorType("float32", shape=(1,) if dy_shape == (1,) else (None,) * len(dy_shape))("dy")
    sm, y_var = at.matrix("sm"), at.ivector("y")
    dx = nnet.crossentropy_softmax_1hot_with_bias_dx(dy, sm, y_var)
    compare(
        [dy, sm, y_var],
        [dx],
        [randn(rng, *dy_shape), sm_value.astype("float32"), y],
        expect_ops=["CrossentropySoftmax1HotWithBiasDx"],
    )


def test_crossentropy_categorical_1hot_matches_c(logits):
    """Cross-entropy of probabilities that are not a softmax keeps the generic Ops."""
    x, y = at.matrix("x"), at.ivector("y")
    p = at.sigmoid(x) / at.sigmoid(x).sum(axis=1, keepdims=True)
    loss = nnet.crossentropy_categorical_1hot(p, y).mean()
    compare(
        [x, y],
        [loss],
        [logits[0], logits[2]],
        expect_ops=["CrossentropyCategorical1Hot", "CrossentropyCategorical1HotGrad"],
        wrt=[x],
    )


@pytest.mark.parametrize("axis", [1, 0, -1, None, (1, 2), (0, 2)])
def test_argmax_matches_c(axis):
    rng = np.random.default_rng(5)
    x = at.tensor3("x")
    values = np.round(randn(rng, 4, 5, 6))  # ties: the first maximum wins in both
    c_out, jax_out = compare([x], [at.argmax(x, axis=axis)], [values], expect_ops=["Argmax"])
    assert np.asarray(jax_out[0]).dtype == np.int32  # JAX runs without 64-bit types


# -- float32 throughout, host-side shapes ---------------------------------------------


def test_jax_graphs_stay_float32():
    from aenet.jax import JAX_MODE

    x, b, y = at.matrix("x"), at.vector("b"), at.ivector("y")
    proba = nnet.softmax(x + b, axis=-1)
    loss = nnet.categorical_crossentropy(proba, y).mean()
    accuracy = at.mean(at.eq(at.argmax(proba, axis=1), y), dtype=aesara.config.floatX)
    f = aesara.function([x, b, y], [loss, accuracy, *aesara.grad(loss, [x, b])], mode=JAX_MODE)
    wide = [v for v in f.maker.fgraph.variables if getattr(v.type, "dtype", "") == "float64"]
    assert not wide
    rng = np.random.default_rng(0)
    outputs = f(randn(rng, 4, 3), randn(rng, 3), np.array([0, 1, 2, 0], "int32"))
    assert all(np.asarray(o).dtype == np.float32 for o in outputs)


def test_shape_arithmetic_is_evaluated_on_the_host():
    """Flattening a pooled conv and reshaping back needs concrete sizes under jax.jit."""
    from aenet.jax import HostShapeOp

    x = at.tensor4("x")
    pooled = pool.pool_2d(x, ws=(2, 2), ignore_border=True)
    flat = pooled.flatten(2)
    gx = aesara.grad((flat * at.cos(flat)).sum(), x)
    f = aesara.function([x], gx, mode=jax_mode())
    assert any(isinstance(n.op, HostShapeOp) for n in f.maker.fgraph.apply_nodes)
    values = np.random.default_rng(0).standard_normal((2, 3, 9, 8)).astype("float32")
    expected = aesara.function([x], gx, mode=get_mode("FAST_RUN"))(values)
    assert_close(f(values), expected)


# -- dropout --------------------------------------------------------------------------


def test_binomial_masks_in_jax_mode():
    """Dropout's binomial draws: 0/1 with the right rate, a new mask at every call."""
    from aesara.tensor.random.utils import RandomStream

    srng = RandomStream(42)
    x = at.matrix("x")
    mask = srng.binomial(1, 0.8, size=x.shape)
    f = aesara.function([x], at.cast(mask, "float32") * x, mode=jax_mode())
    ones = np.ones((200, 100), "float32")
    first, second = np.asarray(f(ones)), np.asarray(f(ones))
    assert set(np.unique(first)) <= {0.0, 1.0}
    assert abs(first.mean() - 0.8) < 0.01
    assert np.mean(first != second) > 0.2


def test_specify_shape_with_unknown_dimensions():
    """aesara's JAX SpecifyShape rejects None dimensions; aenet checks the static shape."""
    x = at.matrix("x")
    f = aesara.function([x], at.specify_shape(x, (None, 3)) * 2, mode=jax_mode())
    np.testing.assert_array_equal(np.asarray(f(np.ones((2, 3), "float32"))), 2 * np.ones((2, 3)))
    with pytest.raises(AssertionError, match="axis 1 has length 4, expected 3"):
        f(np.ones((2, 4), "float32"))


def test_nesterov_step_matches_c():
    from aenet.cpu.momentum import nesterov_step

    rng = np.random.default_rng(8)
    p, v, g = at.matrix("p"), at.matrix("v"), at.matrix("g")
    new_p, new_v = nesterov_step(p, v, g, np.float32(0.01), np.float32(0.9))
    compare([p, v, g], [new_p, new_v], [randn(rng, 5, 7) for _ in range(3)], expect_ops=["NesterovStep"])
