"""aenet.lasagne.updates: steps on a tiny quadratic against hand-derived numpy steps, and dtypes.

The loss is ``0.5 * sum(a * (w - c)**2)``, whose gradient is ``a * (w - c)``.
"""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.compile.sharedvalue import SharedVariable

from aenet.lasagne import updates

A = np.array([1.0, 4.0, 0.5])
C = np.array([0.3, -1.0, 2.0])
W0 = np.array([1.0, 1.0, -1.0])
STEPS = 4
LR, MU = 0.05, 0.9


def grad(w):
    return A * (w - C)


# -- numpy references, written from the update rules' definitions ------------------------


def sgd_reference(w):
    for _ in range(STEPS):
        w = w - LR * grad(w)
    return w


def momentum_reference(w):
    v = np.zeros_like(w)
    for _ in range(STEPS):
        v = MU * v - LR * grad(w)
        w = w + v
    return w


def nesterov_reference(w):
    """Sutskever et al. (2013) in the form of Bengio et al. (2013): look ahead along v."""
    v = np.zeros_like(w)
    for _ in range(STEPS):
        g = grad(w)
        v = MU * v - LR * g
        w = w + MU * v - LR * g
    return w


def adam_reference(w, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8):
    """Kingma & Ba (2014), Algorithm 1 with the step-size form given below it."""
    m = v = np.zeros_like(w)
    for t in range(1, STEPS + 1):
        g = grad(w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        w = w - lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v) + eps)
    return w


RULES = {
    "sgd": (lambda loss, params: updates.sgd(loss, params, LR), sgd_reference),
    "momentum": (lambda loss, params: updates.momentum(loss, params, LR, MU), momentum_reference),
    "nesterov_momentum": (
        lambda loss, params: updates.nesterov_momentum(loss, params, LR, MU),
        nesterov_reference,
    ),
    "adam": (lambda loss, params: updates.adam(loss, params, learning_rate=0.01), adam_reference),
}


def quadratic(w):
    return 0.5 * at.sum(A.astype(np.float32) * (w - C.astype(np.float32)) ** 2)


@pytest.mark.parametrize("rule", list(RULES))
def test_steps_match_numpy(rule):
    make, reference = RULES[rule]
    w = aesara.shared(W0.astype(np.float32), name="w")
    step = aesara.function([], [], updates=make(quadratic(w), [w]))
    for _ in range(STEPS):
        step()
    expected = reference(W0)
    assert not np.allclose(expected, W0)  # the steps moved
    np.testing.assert_allclose(w.get_value(), expected, rtol=1e-5, atol=1e-6)


def test_nesterov_is_sgd_with_nesterov_momentum_applied():
    w1, w2 = (aesara.shared(W0.astype(np.float32)) for _ in range(2))
    direct = updates.nesterov_momentum(quadratic(w1), [w1], LR, MU)
    composed = updates.apply_nesterov_momentum(updates.sgd(quadratic(w2), [w2], LR), [w2], MU)
    step = aesara.function([], [], updates=list(direct.items()) + list(composed.items()))
    for _ in range(STEPS):
        step()
    np.testing.assert_allclose(w1.get_value(), w2.get_value(), rtol=1e-6)


def test_momentum_velocity_holds_the_last_step():
    w = aesara.shared(W0.astype(np.float32))
    result = updates.momentum(quadratic(w), [w], LR, MU)
    (velocity,) = [var for var in result if var is not w]
    step = aesara.function([], [], updates=result)
    before = w.get_value()
    step()
    np.testing.assert_allclose(velocity.get_value(), w.get_value() - before, rtol=1e-6)
    np.testing.assert_allclose(velocity.get_value(), -LR * grad(W0), rtol=1e-6)


def test_adam_counts_its_steps():
    w = aesara.shared(W0.astype(np.float32))
    result = updates.adam(quadratic(w), [w])
    step = aesara.function([], [], updates=result)
    for _ in range(3):
        step()
    (t,) = [var for var in result if var.ndim == 0]
    assert t.get_value() == 3


# -- dtypes ------------------------------------------------------------------------------


def float32_param():
    """A float32 row with a broadcastable first axis, so velocities must copy the pattern."""
    return aesara.shared(np.ones((1, 3), np.float32), shape=(1, None), name="w")


HYPER_KINDS = {
    "python": dict(learning_rate=0.1, momentum=0.9),
    "numpy-float64": dict(learning_rate=np.float64(0.1), momentum=np.float64(0.9)),
    "shared-float32": dict(
        learning_rate=aesara.shared(np.float32(0.1)), momentum=aesara.shared(np.float32(0.9))
    ),
}

DTYPE_RULES = {
    "sgd": lambda loss, params, h: updates.sgd(loss, params, h["learning_rate"]),
    "momentum": lambda loss, params, h: updates.momentum(loss, params, **h),
    "nesterov_momentum": lambda loss, params, h: updates.nesterov_momentum(loss, params, **h),
    "adam": lambda loss, params, h: updates.adam(
        loss, params, h["learning_rate"], beta1=h["momentum"], beta2=np.float64(0.999), epsilon=1e-8
    ),
}


@pytest.mark.parametrize("kind", list(HYPER_KINDS))
@pytest.mark.parametrize("rule", list(DTYPE_RULES))
def test_float32_params_stay_float32(rule, kind):
    w = float32_param()
    result = DTYPE_RULES[rule](at.sum(w**2), [w], HYPER_KINDS[kind])
    for var, expression in result.items():
        assert expression.dtype == "float32", var
        assert expression.broadcastable == var.broadcastable, var
        if var is not w and var.ndim:
            assert isinstance(var, SharedVariable) and var.dtype == "float32"
            assert var.broadcastable == w.broadcastable
    step = aesara.function([], [], updates=result)
    float64 = [v for v in step.maker.fgraph.variables if getattr(v.type, "dtype", None) == "float64"]
    assert float64 == []
    step()
    assert w.get_value().dtype == np.float32


@pytest.mark.parametrize("rule", list(DTYPE_RULES))
def test_float64_loss_still_gives_float32_updates(rule):
    w = float32_param()
    loss = at.sum((w - np.float64(0.5)) ** 2)
    assert loss.dtype == "float64"
    result = DTYPE_RULES[rule](loss, [w], HYPER_KINDS["python"])
    assert {expression.dtype for expression in result.values()} == {"float32"}


def test_float64_params_stay_float64():
    w = aesara.shared(np.ones(3))
    for result in (updates.nesterov_momentum(at.sum(w**2), [w], 0.1), updates.adam(at.sum(w**2), [w])):
        assert result[w].dtype == "float64"


# -- get_or_compute_grads and apply_* arguments ------------------------------------------


def test_get_or_compute_grads_passes_a_list_through():
    w = aesara.shared(np.ones(3, np.float32))
    g = at.fvector("g")
    (returned,) = updates.get_or_compute_grads([g], [w])
    assert returned is g
    fn = aesara.function([g], updates.sgd([g], [w], 0.5)[w])
    np.testing.assert_allclose(fn(np.array([2, 4, 6], np.float32)), [0, -1, -2])


def test_get_or_compute_grads_errors():
    w, v = aesara.shared(np.ones(3)), aesara.shared(np.ones(2))
    with pytest.raises(ValueError, match=r"got 1 gradients for 2 parameters"):
        updates.get_or_compute_grads([at.dvector()], [w, v])
    x = at.dvector("x")
    with pytest.raises(ValueError, match=r"shared variables.*x"):
        updates.get_or_compute_grads(at.sum(x**2), [x])


def test_apply_momentum_only_to_the_given_params():
    w, v = aesara.shared(np.ones(3, np.float32)), aesara.shared(np.ones(2, np.float32))
    plain = updates.sgd(at.sum(w**2) + at.sum(v**2), [w, v], 0.1)
    for apply in (updates.apply_momentum, updates.apply_nesterov_momentum):
        assert len(apply(plain, [w])) == 3
        assert len(apply(plain)) == 4
        assert len(plain) == 2  # the input dict is not modified
