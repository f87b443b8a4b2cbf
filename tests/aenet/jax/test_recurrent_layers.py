"""Recurrent layers on aesara's C backend and on aenet's JAX backend: same outputs, same training."""
import aenet.lasagne  # noqa: F401  (configures aesara first)
import numpy as np
import pytest
from helpers.backends import compare, train_both

from aenet.lasagne import nonlinearities
from aenet.lasagne.layers import (
    CustomRecurrentLayer,
    DenseLayer,
    GRULayer,
    InputLayer,
    LSTMLayer,
    RecurrentLayer,
    get_output,
)

pytestmark = pytest.mark.usefixtures("jax_cpu")

RNG = np.random.RandomState(3)
X = RNG.randn(2, 4, 3).astype("float32")
MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype="float32")


def build(kind, l_in, l_mask, **options):
    if kind == "custom":
        f_in = DenseLayer(InputLayer((None, 3)), 5, nonlinearity=None)
        f_hid = DenseLayer(InputLayer((None, 5)), 5, nonlinearity=None)
        return CustomRecurrentLayer(l_in, f_in, f_hid, nonlinearity=nonlinearities.tanh, **options)
    cls = {"rnn": RecurrentLayer, "lstm": LSTMLayer, "gru": GRULayer}[kind]
    return cls(l_in, 5, **options)


CASES = [
    ("rnn", {}),
    ("custom", {"precompute_input": False}),
    ("lstm", {}),
    ("lstm", {"peepholes": False, "precompute_input": False, "only_return_final": True, "masked": True}),
    ("gru", {}),
    ("gru", {"gradient_steps": 2, "grad_clipping": 0.5}),
    ("rnn", {"masked": True, "learn_init": True}),
    ("lstm", {"unroll_scan": True, "backwards": True}),
]


@pytest.mark.parametrize("kind, options", CASES)
def test_training_agrees(kind, options):
    l_in, l_mask = InputLayer((2, 4, 3)), InputLayer((2, 4))
    options = dict(options)
    masked = options.pop("masked", False)
    layer = build(kind, l_in, l_mask, mask_input=l_mask if masked else None, **options)
    values = {l_in: X, l_mask: MASK} if masked else {l_in: X}
    train_both(layer, values)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_backwards_outputs_agree(kind):
    l_in, l_mask = InputLayer((2, 4, 3)), InputLayer((2, 4))
    layer = build(kind, l_in, l_mask, backwards=True, mask_input=l_mask)
    compare([l_in.input_var, l_mask.input_var], [get_output(layer)], [X, MASK], expect_ops=["Scan"])
