"""The symbolic losses, scores and updates of a ``NeuralNet``, compiled into a :class:`CompiledNet`.

:func:`objective` is nolearn's default objective (loss plus optional L1/L2
penalties); :func:`compile_net` builds the training, validation and
prediction graphs of a net from its layers and arguments.
"""
import numpy as np

import aenet  # noqa: F401  (configures aesara before it is imported)
import aesara
import aesara.tensor as at
from aenet.lasagne.layers import get_all_params, get_output
from aenet.lasagne.objectives import aggregate, categorical_crossentropy, squared_error
from aenet.lasagne.utils import floatX
from aenet.nolearn.compiled import CompiledNet


def grad_scale(layer, scale):
    """Scale the gradients of ``layer``'s trainable parameters by ``scale`` in training; returns ``layer``.

    The factor is kept as ``param.tag.grad_scale`` (a float32 scalar) and
    applied by :func:`compile_net` to the gradient before the update rule
    sees it, so ``scale=0`` freezes the layer and ``scale=0.1`` makes it learn
    ten times slower with plain SGD.
    """
    for param in layer.get_params(trainable=True):
        param.tag.grad_scale = floatX(scale)
    return layer


def scaled_grads(loss, params):
    """The gradients of ``loss`` w.r.t. ``params``, each times its parameter's ``tag.grad_scale``."""
    grads = aesara.grad(loss, params)
    for i, param in enumerate(params):
        scale = getattr(param.tag, "grad_scale", 1)
        if scale != 1:
            grads[i] = grads[i] * at.constant(np.asarray(scale, dtype=param.dtype))
    return grads


def objective(
    layers,
    loss_function,
    target,
    aggregate=aggregate,
    deterministic=False,
    l1=0,
    l2=0,
    get_output_kw=None,
):
    """The scalar loss of the last of ``layers`` against ``target``.

    ``aggregate(loss_function(output, target))`` plus ``l1`` times the sum of
    absolute values and ``l2`` times the sum of squares of the parameters
    tagged ``regularizable`` (weights, not biases).  ``deterministic=True``
    turns off dropout and other noise (used for validation).
    """
    output_layer = layers[-1]
    output = get_output(output_layer, deterministic=deterministic, **(get_output_kw or {}))
    loss = aggregate(loss_function(output, target))
    if l1 or l2:
        params = get_all_params(output_layer, regularizable=True)
        if l1:
            loss = loss + np.float32(l1) * sum(at.sum(abs(p)) for p in params)
        if l2:
            loss = loss + np.float32(l2) * sum(at.sum(p**2) for p in params)
    return loss


def output_function(input_layer, layer, deterministic=False):
    """A compiled CPU function from a batch for ``input_layer`` to ``layer``'s output."""
    X = input_layer.input_var.type()
    return aesara.function([X], get_output(layer, {input_layer: X}, deterministic=deterministic))


def _loss_function(net):
    if net.objective_loss_function is not None:
        return net.objective_loss_function
    return squared_error if net.regression else categorical_crossentropy


def _y_variable(net):
    if net.y_tensor_type is not None:
        return net.y_tensor_type("y")
    if net.regression:
        return at.matrix("y", dtype=aesara.config.floatX)
    return at.ivector("y")


def compile_net(net, input_layer, objective_kw, update_kw):
    """The :class:`CompiledNet` of ``net``'s built layers (``net.layers_``).

    The training loss is ``net.objective`` on the noisy output; validation
    returns the deterministic loss, the accuracy (classification) and the
    ``scores_valid``; training also returns the ``scores_train``.
    """
    X, y = input_layer.input_var, _y_variable(net)
    loss_function = _loss_function(net)
    loss_train = net.objective(net.layers_, loss_function=loss_function, target=y, **objective_kw)
    loss_eval = net.objective(
        net.layers_, loss_function=loss_function, target=y, deterministic=True, **objective_kw
    )
    proba = get_output(net.layers_[-1], deterministic=True)
    eval_outputs = [loss_eval]
    if not net.regression:
        hits = at.sum(at.eq(at.argmax(proba, axis=1), y), dtype=aesara.config.floatX)
        # over y's length: a mean would compile a broadcast check of the two lengths
        eval_outputs.append(hits / at.cast(y.shape[0], aesara.config.floatX))
    train_outputs = [loss_train]
    train_outputs += [at.mean(func(proba, y)) for _, func in net.scores_train or []]
    eval_outputs += [at.mean(func(proba, y)) for _, func in net.scores_valid or []]

    params = net.get_all_params(trainable=True)
    updates = net.update(scaled_grads(loss_train, params), params, **update_kw)
    return CompiledNet(X, y, train_outputs, eval_outputs, proba, updates, params)
