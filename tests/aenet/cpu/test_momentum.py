"""aenet.cpu.momentum: the fused Nesterov update against numpy and against Lasagne's expressions."""
import numpy as np
import pytest

import aenet  # noqa: F401
import aesara
import aesara.tensor as at
from aesara.tensor.elemwise import Elemwise

from aenet.lasagne import updates
from aenet.cpu.momentum import NesterovStep, nesterov_step


def numpy_step(p, v, g, lr, mu):
    """Bengio et al. (2013)'s form of Nesterov momentum: v' = mu v - lr g, p' = p + mu v' - lr g."""
    new_v = mu * v - lr * g
    return p + mu * new_v - lr * g, new_v


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(7,), (6, 5), (4, 1, 3, 3), ()])
@pytest.mark.parametrize("linker", ["c", "py"])
def test_matches_numpy(shape, dtype, linker):
    rng = np.random.default_rng(0)
    p, v, g = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    kind = at.TensorType(dtype, shape=tuple(1 if s == 1 else None for s in shape))
    ps, vs, gs = kind("p"), kind("v"), kind("g")
    lr, mu = at.scalar("lr", dtype=dtype), at.scalar("mu", dtype=dtype)
    mode = aesara.compile.mode.Mode(linker=linker, optimizer="fast_run")
    f = aesara.function([ps, vs, gs, lr, mu], nesterov_step(ps, vs, gs, lr, mu), mode=mode)
    new_p, new_v = f(p, v, g, np.asarray(0.05, dtype), np.asarray(0.9, dtype))
    want_p, want_v = numpy_step(p, v, g, np.asarray(0.05, dtype), np.asarray(0.9, dtype))
    tol = 1e-6 if dtype == "float32" else 1e-14
    np.testing.assert_allclose(new_v, want_v, rtol=tol, atol=tol)
    np.testing.assert_allclose(new_p, want_p, rtol=tol, atol=tol)
    assert new_p.dtype == new_v.dtype == dtype and new_p.shape == shape


def test_strided_gradient():
    rng = np.random.default_rng(1)
    p, v = (rng.standard_normal((4, 6)).astype("float32") for _ in range(2))
    g = np.asfortranarray(rng.standard_normal((4, 6)).astype("float32"))
    ps, vs, gs = at.matrix("p"), at.matrix("v"), at.matrix("g")
    f = aesara.function([ps, vs, gs], nesterov_step(ps, vs, gs, 0.1, 0.5))
    for got, want in zip(f(p, v, g), numpy_step(p, v, g, np.float32(0.1), np.float32(0.5))):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_sizes_must_agree():
    ps, vs, gs = at.vector("p"), at.vector("v"), at.vector("g")
    f = aesara.function([ps, vs, gs], nesterov_step(ps, vs, gs, 0.1, 0.5))
    with pytest.raises(ValueError, match="differ in size"):
        f(np.zeros(3, "float32"), np.zeros(3, "float32"), np.zeros(4, "float32"))


def test_rejects_integer_parameters():
    with pytest.raises(TypeError, match="float32/float64"):
        NesterovStep()(at.ivector(), at.ivector(), at.ivector(), 0.1, 0.5)


def step_with(make_updates, w0, steps=5):
    """``steps`` updates of w under the loss sum(cos(w) * w), from w0; the final w."""
    w = aesara.shared(w0.copy())
    loss = at.sum(at.cos(w) * w)
    f = aesara.function([], loss, updates=make_updates(loss, [w]))
    for _ in range(steps):
        f()
    return w.get_value()


def test_same_updates_as_lasagnes_expressions():
    w0 = np.linspace(-2, 2, 12, dtype="float32").reshape(3, 4)
    fused = step_with(lambda loss, params: updates.nesterov_momentum(loss, params, 0.05, 0.9), w0)
    composed = step_with(
        lambda loss, params: updates.apply_nesterov_momentum(updates.sgd(loss, params, 0.05), params, 0.9), w0
    )
    np.testing.assert_allclose(fused, composed, rtol=1e-6)


def test_one_fused_node_per_parameter_and_the_lasagne_order():
    W = aesara.shared(np.ones((3, 2), "float32"), name="W")
    b = aesara.shared(np.ones(2, "float32"), name="b")
    x = at.matrix("x")
    result = updates.nesterov_momentum(at.sum(at.dot(x, W) + b), [W, b], 0.1, 0.9)
    keys = list(result)
    assert keys[:2] == [W, b] and len(keys) == 4  # the parameters, then their velocities
    assert all(result[k].owner.op == NesterovStep() for k in keys)
    f = aesara.function([x], [], updates=result)
    ops = [node.op for node in f.maker.fgraph.apply_nodes]
    assert sum(isinstance(op, NesterovStep) for op in ops) == 2
    assert not any(isinstance(op, Elemwise) and node_updates_param(f, op) for op in ops)


def node_updates_param(f, op):
    """Whether an Elemwise node of ``f`` writes a parameter or a velocity (the unfused form does)."""
    fgraph = f.maker.fgraph
    updated = set(fgraph.outputs[len(fgraph.outputs) - len(fgraph.update_mapping):])
    return any(node.op is op and set(node.outputs) & updated for node in fgraph.apply_nodes)
