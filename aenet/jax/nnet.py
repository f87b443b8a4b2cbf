"""JAX implementations of softmax, cross-entropy, argmax, the Nesterov step and dropout masks."""
import jax
import jax.numpy as jnp
from aesara.link.jax.dispatch import jax_funcify
from aesara.link.jax.dispatch.random import jax_sample_fn
from aesara.tensor.math import Argmax
from aesara.tensor.random.basic import BinomialRV

from aenet.cpu.momentum import NesterovStep

from aenet.jax.mode import as_dtype, canonical, nnet_basic

SoftmaxWithBias = nnet_basic.SoftmaxWithBias
CrossentropySoftmaxArgmax1HotWithBias = nnet_basic.CrossentropySoftmaxArgmax1HotWithBias
CrossentropySoftmax1HotWithBiasDx = nnet_basic.CrossentropySoftmax1HotWithBiasDx
CrossentropyCategorical1Hot = nnet_basic.CrossentropyCategorical1Hot
CrossentropyCategorical1HotGrad = nnet_basic.CrossentropyCategorical1HotGrad

# -- softmax, cross-entropy and argmax ------------------------------------------


def _one_hot(y_idx, n_classes):
    """Boolean ``(rows, n_classes)`` mask of ``y_idx``, without a scatter."""
    return y_idx[:, None] == jnp.arange(n_classes, dtype=y_idx.dtype)[None, :]


def _softmax_rows(row):
    """Row-wise softmax, its row max and normalizer, as aesara's C code computes them."""
    row_max = jnp.max(row, axis=1, keepdims=True)
    e = jnp.exp(row - row_max)
    total = jnp.sum(e, axis=1, keepdims=True)
    return e * (1 / total), row_max[:, 0], total[:, 0]


@jax_funcify.register(SoftmaxWithBias)
def jax_funcify_SoftmaxWithBias(op, **kwargs):
    def softmax_with_bias(x, b):
        return _softmax_rows(x + b[None, :])[0]

    return softmax_with_bias


@jax_funcify.register(CrossentropySoftmaxArgmax1HotWithBias)
def jax_funcify_CrossentropySoftmaxArgmax1HotWithBias(op, **kwargs):
    def crossentropy_softmax_argmax_1hot_with_bias(x, b, y_idx):
        row = x + b[None, :]
        sm, row_max, total = _softmax_rows(row)
        true_logit = jnp.sum(jnp.where(_one_hot(y_idx, row.shape[1]), row, 0), axis=1)
        nll = -true_logit + row_max + jnp.log(total)
        am = jnp.argmax(row, axis=1).astype(y_idx.dtype)
        return nll, sm, am

    return crossentropy_softmax_argmax_1hot_with_bias


@jax_funcify.register(CrossentropySoftmax1HotWithBiasDx)
def jax_funcify_CrossentropySoftmax1HotWithBiasDx(op, **kwargs):
    def crossentropy_softmax_1hot_with_bias_dx(dy, sm, y_idx):
        dy = as_dtype(jnp.reshape(dy, (-1, 1)), sm.dtype)  # a scalar or one value per row
        return dy * sm - jnp.where(_one_hot(y_idx, sm.shape[1]), dy, jnp.zeros((), sm.dtype))

    return crossentropy_softmax_1hot_with_bias_dx


@jax_funcify.register(CrossentropyCategorical1Hot)
def jax_funcify_CrossentropyCategorical1Hot(op, **kwargs):
    def crossentropy_categorical_1hot(coding, one_of_n):
        picked = jnp.sum(jnp.where(_one_hot(one_of_n, coding.shape[1]), coding, 0), axis=1)
        return -jnp.log(picked)

    return crossentropy_categorical_1hot


@jax_funcify.register(CrossentropyCategorical1HotGrad)
def jax_funcify_CrossentropyCategorical1HotGrad(op, **kwargs):
    def crossentropy_categorical_1hot_grad(g_y, coding, one_of_n):
        g_y = as_dtype(g_y, coding.dtype)[:, None]
        mask = _one_hot(one_of_n, coding.shape[1])
        return jnp.where(mask, -g_y / jnp.where(mask, coding, 1), jnp.zeros((), coding.dtype))

    return crossentropy_categorical_1hot_grad


@jax_funcify.register(NesterovStep)
def jax_funcify_NesterovStep(op, node=None, **kwargs):
    """The new parameter and velocity, in the C code's order of operations."""

    def nesterov_step(param, velocity, grad, learning_rate, momentum):
        step = learning_rate * grad
        new_velocity = momentum * velocity - step
        return (momentum * new_velocity + param) - step, new_velocity

    return nesterov_step


@jax_funcify.register(Argmax)
def jax_funcify_Argmax(op, node=None, **kwargs):
    """Index of the maximum over ``op.axis``; several axes count as one, flattened in order."""
    axis = op.axis
    out_dtype = canonical(node.outputs[0].dtype if node is not None else "int64")

    def argmax(x):
        axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in axis)
        keep = tuple(a for a in range(x.ndim) if a not in axes)
        moved = jnp.transpose(x, keep + axes)
        flat = moved.reshape(moved.shape[: len(keep)] + (-1,))
        return jnp.argmax(flat, axis=-1).astype(out_dtype)

    return argmax


# -- random masks (DropoutLayer) ------------------------------------------------


@jax_sample_fn.register(BinomialRV)
def jax_sample_fn_binomial(op):
    """``binomial(n, p)`` draws, from the random key the JAX linker threads through the graph."""

    def sample_fn(rng, size, dtype, n, p):
        key, sampling_key = jax.random.split(rng["jax_state"], 2)
        shape = None if size is None else tuple(size)
        if shape is None:
            shape = jnp.broadcast_shapes(jnp.shape(n), jnp.shape(p))
        p = jnp.asarray(p, jnp.result_type(float))
        sample = jax.random.binomial(sampling_key, jnp.asarray(n, p.dtype), p, shape=shape)
        rng["jax_state"] = key
        return rng, sample.astype(canonical(dtype))

    return sample_fn

