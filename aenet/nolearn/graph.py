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
from aenet.nolearn.compiled import CompiledNet


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
    updates = net.update(loss_train, params, **update_kw)
    return CompiledNet(X, y, train_outputs, eval_outputs, proba, updates, params)
