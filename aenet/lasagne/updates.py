"""Gradient-descent update rules.

Each returns an ``OrderedDict`` mapping every parameter (and any state
variable the rule keeps, such as a velocity) to its update expression, ready
for ``aesara.function(..., updates=updates)``.  State variables are shared
variables of their parameter's dtype and broadcast pattern, and hyper-
parameters are cast to that dtype, so float32 parameters stay float32.
Hyper-parameters may be numbers or symbolic scalars (e.g. shared variables,
to change them during training).
"""
from collections import OrderedDict

import aesara
import aesara.tensor as at
import numpy as np
from aesara.compile.sharedvalue import SharedVariable

from aenet.lasagne.utils import as_dtype, floatX

__all__ = [
    "get_or_compute_grads",
    "sgd",
    "apply_momentum",
    "momentum",
    "apply_nesterov_momentum",
    "nesterov_momentum",
    "adam",
]


def get_or_compute_grads(loss_or_grads, params):
    """Gradients of a scalar loss w.r.t. ``params``, or ``loss_or_grads`` if it is a list of them.

    Each gradient is cast to its parameter's dtype.
    """
    if not all(isinstance(param, SharedVariable) for param in params):
        raise ValueError("params must be shared variables, got %r" % (params,))
    if isinstance(loss_or_grads, list):
        if len(loss_or_grads) != len(params):
            raise ValueError("got %d gradients for %d parameters" % (len(loss_or_grads), len(params)))
        grads = loss_or_grads
    else:
        grads = aesara.grad(loss_or_grads, params)
    return [at.cast(grad, param.dtype) for param, grad in zip(params, grads)]


def _zeros_like(param):
    """A zero-filled shared variable with ``param``'s shape, dtype and broadcast pattern."""
    value = param.get_value(borrow=True)
    return aesara.shared(np.zeros(value.shape, dtype=value.dtype), shape=param.type.shape)


def sgd(loss_or_grads, params, learning_rate):
    """Stochastic gradient descent: ``param - learning_rate * grad``."""
    grads = get_or_compute_grads(loss_or_grads, params)
    return OrderedDict(
        (param, param - as_dtype(learning_rate, param.dtype) * grad) for param, grad in zip(params, grads)
    )


def apply_momentum(updates, params=None, momentum=0.9):
    """Add classical momentum to ``updates`` (for ``params``, default: all keys).

    With ``step = updates[param] - param`` and a velocity ``v`` starting at 0:
    ``v <- momentum * v + step`` and ``param <- param + v``.
    """
    params = list(updates) if params is None else params
    updates = OrderedDict(updates)
    for param in params:
        velocity = _zeros_like(param)
        new_param = as_dtype(momentum, param.dtype) * velocity + updates[param]
        updates[velocity] = new_param - param
        updates[param] = new_param
    return updates


def momentum(loss_or_grads, params, learning_rate, momentum=0.9):
    """SGD with classical momentum; see :func:`apply_momentum`."""
    return apply_momentum(sgd(loss_or_grads, params, learning_rate), momentum=momentum)


def apply_nesterov_momentum(updates, params=None, momentum=0.9):
    """Add Nesterov momentum to ``updates`` (for ``params``, default: all keys).

    With ``step = updates[param] - param`` and a velocity ``v`` starting at 0:
    ``v <- momentum * v + step`` and ``param <- param + momentum * v + step``.
    """
    params = list(updates) if params is None else params
    updates = OrderedDict(updates)
    for param in params:
        velocity = _zeros_like(param)
        mu = as_dtype(momentum, param.dtype)
        step = updates[param] - param
        new_velocity = mu * velocity + step
        updates[velocity] = new_velocity
        updates[param] = param + mu * new_velocity + step
    return updates


def nesterov_momentum(loss_or_grads, params, learning_rate, momentum=0.9):
    """SGD with Nesterov momentum; see :func:`apply_nesterov_momentum`.

    The same updates, in the same order (the parameters, then their
    velocities); float parameters are updated by one fused Op each
    (:class:`aenet.cpu.momentum.NesterovStep`), which compiles faster.
    """
    from aenet.cpu.momentum import DTYPES, nesterov_step

    if not all(param.dtype in DTYPES for param in params):
        return apply_nesterov_momentum(sgd(loss_or_grads, params, learning_rate), momentum=momentum)
    grads = get_or_compute_grads(loss_or_grads, params)
    updates, velocities = OrderedDict(), OrderedDict()
    for param, grad in zip(params, grads):
        velocity = _zeros_like(param)
        updates[param], velocities[velocity] = nesterov_step(param, velocity, grad, learning_rate, momentum)
    updates.update(velocities)
    return updates


def adam(loss_or_grads, params, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam (Kingma & Ba, 2014), with the bias correction folded into the step size.

    At step ``t`` (from 1): ``m <- beta1 * m + (1 - beta1) * g``,
    ``v <- beta2 * v + (1 - beta2) * g**2`` and
    ``param <- param - lr_t * m / (sqrt(v) + epsilon)`` with
    ``lr_t = learning_rate * sqrt(1 - beta2**t) / (1 - beta1**t)``.
    """
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev = aesara.shared(floatX(0.0), name="adam_t")
    t = t_prev + 1
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        lr, b1, b2, eps, t_ = (as_dtype(v, param.dtype) for v in (learning_rate, beta1, beta2, epsilon, t))
        lr_t = lr * at.sqrt(1 - b2**t_) / (1 - b1**t_)
        m_prev, v_prev = _zeros_like(param), _zeros_like(param)
        m = b1 * m_prev + (1 - b1) * grad
        v = b2 * v_prev + (1 - b2) * grad**2
        updates[m_prev] = m
        updates[v_prev] = v
        updates[param] = param - lr_t * m / (at.sqrt(v) + eps)
    updates[t_prev] = t
    return updates
