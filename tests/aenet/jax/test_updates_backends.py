"""aenet.lasagne's update rules, norm constraints, losses and nonlinearities on the C
backend and in aenet's JAX mode (JAX's CPU): the same steps, values and gradients."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import numpy as np
import pytest

pytest.importorskip("jax")

import aesara  # noqa: E402
import aesara.tensor as at  # noqa: E402
from aesara.compile.mode import get_mode  # noqa: E402
from helpers.backends import assert_close, compare, jax_mode, train_both  # noqa: E402

from aenet.lasagne import nonlinearities, objectives, updates  # noqa: E402
from aenet.lasagne.layers import DenseLayer, InputLayer  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("jax_cpu")]

RNG = np.random.RandomState(0)
W_INIT = RNG.standard_normal((4, 3)).astype(np.float32)
B_INIT = RNG.standard_normal(3).astype(np.float32)
X = RNG.standard_normal((5, 4)).astype(np.float32)

RULES = {
    "adagrad": lambda loss, params: updates.adagrad(loss, params, learning_rate=0.1),
    "rmsprop": lambda loss, params: updates.rmsprop(loss, params, learning_rate=0.01),
    "adadelta": lambda loss, params: updates.adadelta(loss, params),
    "adam": lambda loss, params: updates.adam(loss, params, learning_rate=0.01),
    "adamax": lambda loss, params: updates.adamax(loss, params),
    "amsgrad": lambda loss, params: updates.amsgrad(loss, params, learning_rate=0.01),
    "momentum": lambda loss, params: updates.momentum(loss, params, 0.05),
    "nesterov_momentum": lambda loss, params: updates.nesterov_momentum(loss, params, 0.05),
    "clipped_sgd": lambda loss, params: updates.sgd(
        updates.total_norm_constraint(aesara.grad(loss, params), 0.5), params, 0.1
    ),
    "max_norm_sgd": lambda loss, params: {
        param: updates.norm_constraint(step, 1.0) if step.ndim == 2 else step
        for param, step in updates.sgd(loss, params, 0.5).items()
    },
}


def train(rule, mode, steps=3):
    """Fresh parameters (and rule state), ``steps`` steps on a small softplus regression."""
    W, b = aesara.shared(W_INIT.copy(), name="W"), aesara.shared(B_INIT.copy(), name="b")
    x = at.fmatrix("x")
    loss = at.mean(nonlinearities.softplus(at.dot(x, W) + b) ** 2)
    step = aesara.function([x], loss, updates=RULES[rule](loss, [W, b]), mode=mode)
    losses = [float(step(X)) for _ in range(steps)]
    return losses, [W.get_value(), b.get_value()]


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_takes_the_same_steps_on_both_backends(rule):
    c_losses, c_params = train(rule, get_mode("FAST_RUN"))
    jax_losses, jax_params = train(rule, jax_mode())
    np.testing.assert_allclose(jax_losses, c_losses, rtol=1e-5)
    for c, j in zip(c_params, jax_params, strict=True):
        assert_close(j, c, rtol=1e-5)
    assert not np.allclose(c_params[0], W_INIT), "the rule did not move the weights"


def test_norm_constraints_values_and_gradients():
    w = at.fmatrix("w")
    conv = at.ftensor4("conv")
    values = [X * 2, RNG.standard_normal((3, 2, 2, 2)).astype(np.float32)]
    (scaled,) = updates.total_norm_constraint([w], 3.0)
    outputs = [updates.norm_constraint(w, 1.5), updates.norm_constraint(conv, 1.0), scaled]
    compare([w, conv], outputs, values, wrt=[w, conv])


NONLINEARITIES = [
    nonlinearities.LeakyRectify(0.1), nonlinearities.very_leaky_rectify, nonlinearities.elu,
    nonlinearities.selu, nonlinearities.SELU(2, 3), nonlinearities.softplus, nonlinearities.ScaledTanH(0.5, 2.27),
]  # fmt: skip


def test_nonlinearities_values_and_gradients():
    x = at.fmatrix("x")
    compare([x], [function(x) for function in NONLINEARITIES], [X * 2], wrt=[x])


def test_losses_values_and_gradients():
    p, y, t = at.fmatrix("p"), at.ivector("y"), at.fmatrix("t")
    labels = np.array([0, 2, 1, 1, 0], np.int32)
    outputs = [
        objectives.multiclass_hinge_loss(p, y, delta=0.5),
        objectives.huber_loss(p, t, delta=0.7),
        objectives.binary_hinge_loss(p[:, 0], y, log_odds=True),
    ]
    compare([p, y, t], outputs, [X[:, :3], labels, X[:, 1:]], wrt=[p])


def test_a_selu_network_trains_on_both_backends():
    l_in = InputLayer((None, 4))
    hidden = DenseLayer(l_in, 6, nonlinearity=nonlinearities.selu)
    out = DenseLayer(hidden, 2, nonlinearity=nonlinearities.LeakyRectify(0.2))
    train_both(out, {l_in: X})
