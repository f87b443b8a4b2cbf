"""The symbolic losses, scores and updates of a ``NeuralNet``, compiled into a :class:`CompiledNet`.

:func:`compile_net` builds the training, validation and prediction graphs
of a net from its layers and arguments (nolearn's default objective is
:func:`aenet.nolearn.base.objective`).
"""
import numpy as np

import aenet  # noqa: F401  (configures aesara before it is imported)
import aesara
import aesara.tensor as at
from aenet.lasagne.layers import get_output
from aenet.lasagne.objectives import categorical_crossentropy, squared_error
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
    returns the deterministic loss, the accuracy (classification, of the
    first output layer) and the ``scores_valid``; training also returns the
    ``scores_train``.  Prediction returns a list, one output per output layer
    (``net._output_layers()``); scores see that output, or the list of them
    when there are several.
    """
    X, y = input_layer.input_var, _y_variable(net)
    loss_function = _loss_function(net)
    loss_train = net.objective(net.layers_, loss_function=loss_function, target=y, **objective_kw)
    loss_eval = net.objective(
        net.layers_, loss_function=loss_function, target=y, deterministic=True, **objective_kw
    )
    probas = get_output(net._output_layers(), deterministic=True)
    proba = probas[0] if len(probas) == 1 else probas
    eval_outputs = [loss_eval]
    if not net.regression:
        hits = at.sum(at.eq(at.argmax(probas[0], axis=1), y), dtype=aesara.config.floatX)
        # over y's length: a mean would compile a broadcast check of the two lengths
        eval_outputs.append(hits / at.cast(y.shape[0], aesara.config.floatX))
    train_outputs = [loss_train]
    train_outputs += [at.mean(func(proba, y)) for _, func in net.scores_train or []]
    eval_outputs += [at.mean(func(proba, y)) for _, func in net.scores_valid or []]

    params = net.get_all_params(trainable=True)
    updates = net.update(scaled_grads(loss_train, params), params, **update_kw)
    return CompiledNet(X, y, train_outputs, eval_outputs, probas, updates, params)
