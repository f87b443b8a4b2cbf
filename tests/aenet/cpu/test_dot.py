"""aenet.cpu.dot: ThreadedDot22 against aesara's Dot22 / Dot22Scalar."""
import numpy as np
import pytest

import aenet  # noqa: F401  (configures aesara, registers the rewrites)
import aesara
import aesara.tensor as at
from aesara.compile.mode import Mode, get_mode
from aesara.tensor import blas

from aenet.cpu.dot import ThreadedDot22

STOCK = get_mode("FAST_RUN").excluding("aenet_dot")
FAST = get_mode("FAST_RUN")
PY = Mode(linker="py", optimizer=get_mode("FAST_RUN").optimizer)


def op_types(f):
    return {type(node.op) for node in f.maker.fgraph.apply_nodes}


def layouts(rng, shape, dtype):
    """The same matrix C-contiguous, F-contiguous (a transposed array) and strided."""
    a = rng.standard_normal(shape).astype(dtype)
    strided = np.zeros((shape[0], 2 * shape[1]), dtype)[:, ::2]
    strided[...] = a
    return [a, np.asfortranarray(a), strided]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,k,n", [(128, 576, 200), (7, 3, 5), (1, 300, 2), (600, 128, 100)])
def test_matches_dot22(m, k, n, dtype):
    rng = np.random.default_rng(0)
    x = at.matrix("x", dtype=dtype)
    y = at.matrix("y", dtype=dtype)
    out = [at.dot(x, y), np.asarray(0.25, dtype) * at.dot(x, y)]
    stock = aesara.function([x, y], out, mode=STOCK)
    ours = aesara.function([x, y], out, mode=FAST)
    python = aesara.function([x, y], out, mode=PY)
    assert {blas.Dot22, blas.Dot22Scalar} & op_types(stock)
    assert ThreadedDot22 in op_types(ours)
    assert not {blas.Dot22, blas.Dot22Scalar} & op_types(ours)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for xv in layouts(rng, (m, k), dtype):
        for yv in layouts(rng, (k, n), dtype):
            want = stock(xv, yv)
            for got in (ours(xv, yv), python(xv, yv)):
                for a, b in zip(got, want):
                    assert a.dtype == b.dtype and a.shape == b.shape
                    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max())


def test_empty_and_misaligned():
    x, y = at.matrix("x"), at.matrix("y")
    f = aesara.function([x, y], at.dot(x, y), mode=FAST)
    assert ThreadedDot22 in op_types(f)
    np.testing.assert_array_equal(f(np.zeros((3, 0), "float32"), np.zeros((0, 4), "float32")), np.zeros((3, 4)))
    assert f(np.zeros((0, 2), "float32"), np.zeros((2, 4), "float32")).shape == (0, 4)
    with pytest.raises(ValueError):
        f(np.zeros((3, 2), "float32"), np.zeros((3, 4), "float32"))


def test_threads_agree():
    from aenet.compile import settings

    rng = np.random.default_rng(1)
    x, y = at.matrix("x"), at.matrix("y")
    f = aesara.function([x, y], at.dot(x, y), mode=FAST)
    xv = rng.standard_normal((256, 512)).astype("float32")
    yv = rng.standard_normal((512, 300)).astype("float32")
    try:
        settings.set_num_threads(1)
        one = f(xv, yv)
        settings.set_num_threads(2)
        two = f(xv, yv)
    finally:
        settings.set_num_threads(2)
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-5 * np.abs(one).max())


def test_rewrite_is_cxx_only():
    from aesara.compile import optdb

    assert optdb["aenet_threaded_dot22"] not in optdb.query(get_mode("JAX").provided_optimizer).data
    assert optdb["aenet_threaded_dot22"] in optdb.query(get_mode("FAST_RUN").provided_optimizer).data
