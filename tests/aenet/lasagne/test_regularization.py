"""aenet.lasagne.regularization against numpy sums of the parameters."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import numpy as np
import pytest

from aenet.lasagne import regularization as reg
from aenet.lasagne.layers import DenseLayer, InputLayer


@pytest.fixture
def net():
    l_in = InputLayer((None, 3))
    hidden = DenseLayer(l_in, 4, b=np.ones(4, np.float32))
    out = DenseLayer(hidden, 2, b=np.full(2, 2.0, np.float32))
    return hidden, out


def test_penalties_of_a_tensor():
    value = np.array([[1.0, -2.0], [0.5, -0.25]])
    x = aesara.shared(value)
    np.testing.assert_allclose(reg.l1(x).eval(), np.abs(value).sum())
    np.testing.assert_allclose(reg.l2(x).eval(), (value**2).sum())


def test_apply_penalty_sums_over_lists_and_passes_kwargs():
    a, b = aesara.shared(np.array([1.0, -3.0])), aesara.shared(np.array([2.0]))
    np.testing.assert_allclose(reg.apply_penalty([a, b], reg.l2).eval(), 14.0)
    np.testing.assert_allclose(reg.apply_penalty((t for t in [a, b]), reg.l1).eval(), 6.0)
    np.testing.assert_allclose(reg.apply_penalty(a, reg.l1).eval(), 4.0)
    powered = reg.apply_penalty([a, b], lambda t, power: (abs(t) ** power).sum(), power=3)
    np.testing.assert_allclose(powered.eval(), 1 + 27 + 8)
    assert reg.apply_penalty([], reg.l2) == 0


def test_layer_and_network_penalties_skip_biases(net):
    hidden, out = net
    W1, W2 = hidden.W.get_value().astype(np.float64), out.W.get_value().astype(np.float64)
    np.testing.assert_allclose(reg.regularize_layer_params(out, reg.l2).eval(), (W2**2).sum(), rtol=1e-5)
    np.testing.assert_allclose(
        reg.regularize_layer_params([hidden, out], reg.l1).eval(), np.abs(W1).sum() + np.abs(W2).sum(), rtol=1e-5
    )
    np.testing.assert_allclose(
        reg.regularize_network_params(out, reg.l2).eval(), (W1**2).sum() + (W2**2).sum(), rtol=1e-5
    )
    # other tags: the biases only
    biases = reg.regularize_network_params(out, reg.l1, tags={"regularizable": False})
    np.testing.assert_allclose(biases.eval(), 4 * 1.0 + 2 * 2.0, rtol=1e-6)


def test_weighted_layer_penalties(net):
    hidden, out = net
    W1, W2 = hidden.W.get_value().astype(np.float64), out.W.get_value().astype(np.float64)
    weighted = reg.regularize_layer_params_weighted({hidden: 0.1, out: 0.5}, reg.l2)
    np.testing.assert_allclose(weighted.eval(), 0.1 * (W1**2).sum() + 0.5 * (W2**2).sum(), rtol=1e-5)
    with_bias = reg.regularize_layer_params_weighted({out: 2.0}, reg.l1, tags={"trainable": True})
    np.testing.assert_allclose(with_bias.eval(), 2.0 * (np.abs(W2).sum() + 4.0), rtol=1e-5)
