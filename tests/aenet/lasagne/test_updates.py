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


def adagrad_reference(w, lr=0.1, eps=1e-6):
    """Duchi et al. (2011), epsilon under the square root as in Lasagne."""
    accu = np.zeros_like(w)
    for _ in range(STEPS):
        g = grad(w)
        accu = accu + g**2
        w = w - lr * g / np.sqrt(accu + eps)
    return w


def rmsprop_reference(w, lr=0.01, rho=0.9, eps=1e-6):
    accu = np.zeros_like(w)
    for _ in range(STEPS):
        g = grad(w)
        accu = rho * accu + (1 - rho) * g**2
        w = w - lr * g / np.sqrt(accu + eps)
    return w


def adadelta_reference(w, lr=1.0, rho=0.95, eps=1e-6):
    """Zeiler (2012), Algorithm 1: the step uses the squared-step average of the previous step."""
    accu = np.zeros_like(w)
    delta_accu = np.zeros_like(w)
    for _ in range(STEPS):
        g = grad(w)
        accu = rho * accu + (1 - rho) * g**2
        step = g * np.sqrt(delta_accu + eps) / np.sqrt(accu + eps)
        w = w - lr * step
        delta_accu = rho * delta_accu + (1 - rho) * step**2
    return w


def adamax_reference(w, lr=0.02, beta1=0.9, beta2=0.999, eps=1e-8, grads=None):
    """Kingma & Ba (2014), Algorithm 2 (plus Lasagne's epsilon in the denominator)."""
    m = u = np.zeros_like(w)
    for t in range(1, STEPS + 1):
        g = grad(w) if grads is None else grads[t - 1]
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g))
        w = w - lr / (1 - beta1**t) * m / (u + eps)
    return w


def amsgrad_reference(w, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, grads=None):
    """Reddi et al. (2018) with Adam's bias-corrected step size, as in Lasagne."""
    m = v = v_hat = np.zeros_like(w)
    for t in range(1, STEPS + 1):
        g = grad(w) if grads is None else grads[t - 1]
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_hat = np.maximum(v_hat, v)
        w = w - lr * np.sqrt(1 - beta2**t) / (1 - beta1**t) * m / (np.sqrt(v_hat) + eps)
    return w


RULES = {
    "sgd": (lambda loss, params: updates.sgd(loss, params, LR), sgd_reference),
    "momentum": (lambda loss, params: updates.momentum(loss, params, LR, MU), momentum_reference),
    "nesterov_momentum": (
        lambda loss, params: updates.nesterov_momentum(loss, params, LR, MU),
        nesterov_reference,
    ),
    "adam": (lambda loss, params: updates.adam(loss, params, learning_rate=0.01), adam_reference),
    "adagrad": (lambda loss, params: updates.adagrad(loss, params, learning_rate=0.1), adagrad_reference),
    "rmsprop": (lambda loss, params: updates.rmsprop(loss, params, learning_rate=0.01), rmsprop_reference),
    "adadelta": (lambda loss, params: updates.adadelta(loss, params), adadelta_reference),
    "adamax": (lambda loss, params: updates.adamax(loss, params, learning_rate=0.02), adamax_reference),
    "amsgrad": (lambda loss, params: updates.amsgrad(loss, params, learning_rate=0.01), amsgrad_reference),
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


# Gradients fed in, large then small, so that the running maxima of adamax and amsgrad
# hold an old value (a rule without the max would move differently).
FED = np.array([[4.0, -2.0, 1.0], [0.1, 0.2, -0.1], [0.05, -0.3, 0.0], [0.2, 0.1, 0.1]])


@pytest.mark.parametrize(
    "rule, reference",
    [
        (lambda g, w: updates.adamax([g], [w], beta2=0.5), lambda w: adamax_reference(w, 0.002, beta2=0.5, grads=FED)),
        (lambda g, w: updates.amsgrad([g], [w], beta2=0.5), lambda w: amsgrad_reference(w, 0.001, beta2=0.5, grads=FED)),
    ],
    ids=["adamax", "amsgrad"],
)
def test_running_maxima_with_fed_gradients(rule, reference):
    w = aesara.shared(W0.astype(np.float32))
    g = at.fvector("g")
    step = aesara.function([g], [], updates=rule(g, w))
    for value in FED:
        step(value.astype(np.float32))
    np.testing.assert_allclose(w.get_value(), reference(W0), rtol=1e-5, atol=1e-7)


# (state variables per parameter, whether the rule counts its steps)
STATE = {"adagrad": (1, 0), "rmsprop": (1, 0), "adadelta": (2, 0), "adam": (2, 1), "adamax": (2, 1), "amsgrad": (3, 1)}


@pytest.mark.parametrize("rule", list(STATE))
def test_adaptive_rules_keep_their_state_per_parameter(rule):
    w = aesara.shared(W0.astype(np.float32))
    v = aesara.shared(W0[:2].astype(np.float32))
    result = getattr(updates, rule)(quadratic(w) + at.sum(v**2), [w, v])
    per_param, counter = STATE[rule]
    assert w in result and v in result
    assert len(result) == 2 + 2 * per_param + counter
    state = [var for var in result if var is not w and var is not v and var.ndim]
    assert sorted(var.get_value().shape for var in state) == sorted([(3,)] * per_param + [(2,)] * per_param)


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
    "adagrad": lambda loss, params, h: updates.adagrad(loss, params, h["learning_rate"]),
    "rmsprop": lambda loss, params, h: updates.rmsprop(loss, params, h["learning_rate"], rho=h["momentum"]),
    "adadelta": lambda loss, params, h: updates.adadelta(loss, params, h["learning_rate"], rho=h["momentum"]),
    "adamax": lambda loss, params, h: updates.adamax(loss, params, h["learning_rate"], beta1=h["momentum"]),
    "amsgrad": lambda loss, params, h: updates.amsgrad(loss, params, h["learning_rate"], beta1=h["momentum"]),
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


def test_get_or_compute_grads_returns_a_matching_list_itself():
    w = aesara.shared(np.ones(3, np.float32))
    grads = updates.get_or_compute_grads(at.sum(w**2), [w])
    assert updates.get_or_compute_grads(grads, [w]) is grads


# -- norm constraints --------------------------------------------------------------------


def rescaled(array, axes, max_norm, eps=1e-7):
    """numpy: each slice over ``axes`` scaled to norm ``min(norm, max_norm)``."""
    norms = np.sqrt((array**2).sum(axis=axes, keepdims=True))
    return array * np.minimum(norms, max_norm) / (norms + eps)


@pytest.mark.parametrize(
    "shape, norm_axes, axes",
    [((6, 5), None, (0,)), ((4, 3, 5), None, (1, 2)), ((4, 3, 2, 2), None, (1, 2, 3)), ((3, 4, 2, 5), (0, 2), (0, 2))],
)
def test_norm_constraint_against_numpy(shape, norm_axes, axes):
    rng = np.random.RandomState(2)
    value = (rng.standard_normal(shape) * rng.uniform(0.1, 3, shape[-1:])).astype(np.float32)
    norms = np.sqrt((value.astype(np.float64) ** 2).sum(axis=axes))
    max_norm = float(np.median(norms))  # some vectors above, some below
    param = aesara.shared(value)
    constrained = updates.norm_constraint(param, max_norm, norm_axes=norm_axes)
    assert constrained.dtype == "float32"
    result = constrained.eval()
    np.testing.assert_allclose(result, rescaled(value.astype(np.float64), axes, max_norm), rtol=1e-5, atol=1e-7)
    new_norms = np.sqrt((result.astype(np.float64) ** 2).sum(axis=axes))
    assert new_norms.max() <= max_norm * (1 + 1e-5)
    below = norms < max_norm
    np.testing.assert_allclose(new_norms[below], norms[below], rtol=1e-5)


@pytest.mark.parametrize("ndim", [1, 6])
def test_norm_constraint_needs_axes_for_other_ranks(ndim):
    with pytest.raises(ValueError, match="Unsupported tensor dimensionality %d" % ndim):
        updates.norm_constraint(at.tensor("float32", shape=(None,) * ndim), 1.0)
    assert updates.norm_constraint(at.fvector(), 1.0, norm_axes=(0,)).ndim == 1


@pytest.mark.parametrize("threshold", [5.0, 100.0])
def test_total_norm_constraint_against_numpy(threshold):
    x, m = at.fscalar("x"), at.fmatrix("m")
    scaled, norm = updates.total_norm_constraint([x, m], threshold, return_norm=True)
    x_value, m_value = np.float32(9.0), np.arange(9, dtype=np.float32).reshape(3, 3)
    x_out, m_out, norm_out = aesara.function([x, m], scaled + [norm])(x_value, m_value)
    total = np.sqrt(81.0 + (np.arange(9.0) ** 2).sum())
    factor = min(total, threshold) / (total + 1e-7)
    np.testing.assert_allclose(norm_out, total, rtol=1e-6)
    np.testing.assert_allclose(x_out, 9.0 * factor, rtol=1e-6)
    np.testing.assert_allclose(m_out, m_value * factor, rtol=1e-6)
    assert len(updates.total_norm_constraint([x, m], threshold)) == 2
    assert all(t.dtype == "float32" for t in scaled)
