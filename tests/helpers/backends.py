"""The same graph on aesara's C backend and on aenet's JAX backend (JAX's CPU).

``compare`` compiles outputs (and gradients) both ways and checks they agree;
``train_both`` trains a network a few SGD steps both ways from the same
parameters.  Tests that use them need the ``jax_cpu`` fixture (and jax).
"""
import aesara
import aesara.tensor as at
import numpy as np
from aesara.compile.mode import get_mode

RTOL = 1e-5


def jax_mode():
    from aenet.jax import JAX_MODE

    return JAX_MODE


def assert_close(actual, expected, rtol=RTOL):
    """Equal to ``rtol`` relative, elementwise or to the array's largest magnitude."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    if expected.dtype.kind in "iub":
        np.testing.assert_array_equal(actual, expected)
        return
    assert actual.dtype == expected.dtype
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def op_types(function):
    """Names of the Op classes in a compiled function's graph."""
    return {type(node.op).__name__ for node in function.maker.fgraph.apply_nodes}


def compare(inputs, outputs, values, expect_ops=(), wrt=None, rtol=RTOL):
    """Compile ``outputs`` (and the gradients of ``sum(out * cos(out))`` w.r.t. ``wrt``)
    in FAST_RUN and in JAX mode, check ``expect_ops`` are in the JAX graph, and
    compare the results.

    The cosine makes the output gradients differ from element to element.
    Returns the C and JAX results (outputs, then gradients).
    """
    outputs = list(outputs)
    if wrt:
        cost = sum((out * at.cos(out)).sum() for out in outputs if out.dtype.startswith("float"))
        outputs = outputs + aesara.grad(cost, wrt)
    c_fn = aesara.function(inputs, outputs, mode=get_mode("FAST_RUN"))
    jax_fn = aesara.function(inputs, outputs, mode=jax_mode())
    missing = set(expect_ops) - op_types(jax_fn)
    assert not missing, f"not in the JAX graph: {missing} (found {sorted(op_types(jax_fn))})"
    c_out, jax_out = c_fn(*values), jax_fn(*values)
    for c, j in zip(c_out, jax_out, strict=True):
        assert_close(j, c, rtol)
    return c_out, jax_out


def train_both(output_layer, values, steps=3, learning_rate=0.1, rtol=1e-4, deterministic=False):
    """Train ``output_layer``'s network ``steps`` SGD steps on each backend, from
    the same initial parameters, on the loss ``mean(output ** 2)``.

    ``values`` maps each InputLayer to its numpy input.  Checks that both
    backends give the same losses and final parameters and that the loss
    changed; returns the C backend's losses.
    """
    from aenet.lasagne.layers import get_all_params, get_output
    from aenet.lasagne.updates import sgd

    layers = list(values)
    params = get_all_params(output_layer, trainable=True)
    assert params, "the network has no trainable parameters to train"
    loss = at.mean(get_output(output_layer, deterministic=deterministic) ** 2)
    updates = sgd(loss, params, learning_rate)
    initial = [p.get_value() for p in params]
    results = {}
    for name, mode in (("c", get_mode("FAST_RUN")), ("jax", jax_mode())):
        for param, value in zip(params, initial):
            param.set_value(value.copy())
        step = aesara.function([layer.input_var for layer in layers], loss, updates=updates, mode=mode)
        losses = [float(step(*values.values())) for _ in range(steps)]
        results[name] = losses, [p.get_value() for p in params]
    (c_losses, c_params), (jax_losses, jax_params) = results["c"], results["jax"]
    np.testing.assert_allclose(jax_losses, c_losses, rtol=rtol)
    for c, j in zip(c_params, jax_params, strict=True):
        assert_close(j, c, rtol)
    assert c_losses[-1] != c_losses[0], "training did not change the loss"
    return c_losses
