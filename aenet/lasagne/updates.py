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

from aenet.lasagne.utils import as_dtype, floatX, norm_axes_for

__all__ = [
    "get_or_compute_grads",
    "sgd",
    "apply_momentum",
    "momentum",
    "apply_nesterov_momentum",
    "nesterov_momentum",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamax",
    "amsgrad",
    "norm_constraint",
    "total_norm_constraint",
]


def get_or_compute_grads(loss_or_grads, params):
    """Gradients of a scalar loss w.r.t. ``params``, or ``loss_or_grads`` if it is a list of them.

    Each gradient is cast to its parameter's dtype; a list whose dtypes
    already match is returned as is.  Raises ValueError for a parameter that
    is not a shared variable (see :func:`aenet.lasagne.utils.collect_shared_vars`
    for expressions) or a list of the wrong length.
    """
    if not all(isinstance(param, SharedVariable) for param in params):
        raise ValueError("params must be shared variables, got %r" % (params,))
    if isinstance(loss_or_grads, list):
        if len(loss_or_grads) != len(params):
            raise ValueError("got %d gradients for %d parameters" % (len(loss_or_grads), len(params)))
        if all(grad.dtype == param.dtype for param, grad in zip(params, loss_or_grads)):
            return loss_or_grads
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


def _cast_all(dtype, *values):
    """Hyper-parameters (numbers or symbolic scalars) as symbolic scalars of ``dtype``."""
    return [as_dtype(value, dtype) for value in values]


def adagrad(loss_or_grads, params, learning_rate=1.0, epsilon=1e-6):
    """Adagrad (Duchi et al., 2011): steps shrink with the sum of all squared gradients.

    With an accumulator ``a`` starting at 0: ``a <- a + g**2`` and
    ``param <- param - learning_rate * g / sqrt(a + epsilon)``.
    """
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        lr, eps = _cast_all(param.dtype, learning_rate, epsilon)
        accu = _zeros_like(param)
        new_accu = accu + grad**2
        updates[accu] = new_accu
        updates[param] = param - lr * grad / at.sqrt(new_accu + eps)
    return updates


def rmsprop(loss_or_grads, params, learning_rate=1.0, rho=0.9, epsilon=1e-6):
    """RMSProp (Tieleman & Hinton, 2012): steps scaled by a running RMS of the gradients.

    With ``a`` starting at 0: ``a <- rho * a + (1 - rho) * g**2`` and
    ``param <- param - learning_rate * g / sqrt(a + epsilon)``.
    """
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        lr, decay, eps = _cast_all(param.dtype, learning_rate, rho, epsilon)
        accu = _zeros_like(param)
        new_accu = decay * accu + (1 - decay) * grad**2
        updates[accu] = new_accu
        updates[param] = param - lr * grad / at.sqrt(new_accu + eps)
    return updates


def adadelta(loss_or_grads, params, learning_rate=1.0, rho=0.95, epsilon=1e-6):
    """Adadelta (Zeiler, 2012): steps scaled by the ratio of running RMS of steps and gradients.

    With ``a`` (squared gradients) and ``d`` (squared steps) starting at 0:
    ``a <- rho * a + (1 - rho) * g**2``,
    ``step = g * sqrt(d + epsilon) / sqrt(a + epsilon)`` (the old ``d``),
    ``param <- param - learning_rate * step`` and
    ``d <- rho * d + (1 - rho) * step**2``.
    """
    grads = get_or_compute_grads(loss_or_grads, params)
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        lr, decay, eps = _cast_all(param.dtype, learning_rate, rho, epsilon)
        accu, delta_accu = _zeros_like(param), _zeros_like(param)
        new_accu = decay * accu + (1 - decay) * grad**2
        step = grad * at.sqrt(delta_accu + eps) / at.sqrt(new_accu + eps)
        updates[accu] = new_accu
        updates[param] = param - lr * step
        updates[delta_accu] = decay * delta_accu + (1 - decay) * step**2
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


def _step_counter():
    """A floatX shared scalar counting the steps taken, and its value at this step (from 1)."""
    t_prev = aesara.shared(floatX(0.0), name="t")
    return t_prev, t_prev + 1


def adamax(loss_or_grads, params, learning_rate=0.002, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adamax (Kingma & Ba, 2014), Adam with an infinity norm in place of the RMS.

    At step ``t`` (from 1): ``m <- beta1 * m + (1 - beta1) * g``,
    ``u <- max(beta2 * u, |g|)`` and
    ``param <- param - learning_rate / (1 - beta1**t) * m / (u + epsilon)``.
    """
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev, t = _step_counter()
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        lr, b1, b2, eps, t_ = _cast_all(param.dtype, learning_rate, beta1, beta2, epsilon, t)
        m_prev, u_prev = _zeros_like(param), _zeros_like(param)
        m = b1 * m_prev + (1 - b1) * grad
        u = at.maximum(b2 * u_prev, abs(grad))
        updates[m_prev] = m
        updates[u_prev] = u
        updates[param] = param - lr / (1 - b1**t_) * m / (u + eps)
    updates[t_prev] = t
    return updates


def amsgrad(loss_or_grads, params, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """AMSGrad (Reddi et al., 2018): Adam dividing by the largest second moment seen so far.

    As :func:`adam`, with ``v_hat <- max(v_hat, v)`` and
    ``param <- param - lr_t * m / (sqrt(v_hat) + epsilon)``.
    """
    grads = get_or_compute_grads(loss_or_grads, params)
    t_prev, t = _step_counter()
    updates = OrderedDict()
    for param, grad in zip(params, grads):
        lr, b1, b2, eps, t_ = _cast_all(param.dtype, learning_rate, beta1, beta2, epsilon, t)
        lr_t = lr * at.sqrt(1 - b2**t_) / (1 - b1**t_)
        m_prev, v_prev, v_hat_prev = _zeros_like(param), _zeros_like(param), _zeros_like(param)
        m = b1 * m_prev + (1 - b1) * grad
        v = b2 * v_prev + (1 - b2) * grad**2
        v_hat = at.maximum(v_hat_prev, v)
        updates[m_prev] = m
        updates[v_prev] = v
        updates[v_hat_prev] = v_hat
        updates[param] = param - lr_t * m / (at.sqrt(v_hat) + eps)
    updates[t_prev] = t
    return updates


def _scale_to(norm, max_norm, epsilon, dtype):
    """The factor bringing ``norm`` down to at most ``max_norm``: ``min(norm, max_norm) / (norm + epsilon)``."""
    max_norm, epsilon = _cast_all(dtype, max_norm, epsilon)
    return at.clip(norm, 0, max_norm) / (norm + epsilon)


def norm_constraint(tensor_var, max_norm, norm_axes=None, epsilon=1e-7):
    """``tensor_var`` with each incoming weight vector rescaled to a norm of at most ``max_norm``.

    The norms are taken over ``norm_axes``; by default over axis 0 of a dense
    ``(inputs, units)`` matrix and over all axes but the first of a 3-5
    dimensional conv weight (ValueError otherwise).  Use it on an update
    expression (a max-norm constraint) or on a gradient (clipping).
    """
    if norm_axes is None and tensor_var.ndim < 2:
        raise ValueError("Unsupported tensor dimensionality %d: give norm_axes for it" % tensor_var.ndim)
    axes = norm_axes_for(tensor_var.ndim, norm_axes)
    norms = at.sqrt(at.sum(at.square(tensor_var), axis=axes, keepdims=True))
    return tensor_var * _scale_to(norms, max_norm, epsilon, tensor_var.dtype)


def total_norm_constraint(tensor_vars, max_norm, epsilon=1e-7, return_norm=False):
    """``tensor_vars`` all rescaled by one factor so that their joint L2 norm is at most ``max_norm``.

    Commonly applied to the gradients of a recurrent network.  With
    ``return_norm`` also returns the joint norm before rescaling.
    """
    norm = at.sqrt(sum(at.sum(tensor**2) for tensor in tensor_vars))
    scale = _scale_to(norm, max_norm, epsilon, norm.dtype)
    scaled = [tensor * at.cast(scale, tensor.dtype) for tensor in tensor_vars]
    return (scaled, norm) if return_norm else scaled
