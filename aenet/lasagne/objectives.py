"""Loss functions and their aggregation into a scalar.

The losses return one value per example (or per element); :func:`aggregate`
reduces them, e.g. ``aggregate(categorical_crossentropy(p, y))`` is the mean
cross-entropy.
"""
import warnings

import aesara.tensor as at

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import categorical_crossentropy as _categorical_crossentropy

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "squared_error",
    "aggregate",
    "categorical_accuracy",
]


def align_targets(predictions, targets):
    """Targets of a ``(batch,)`` vector made a ``(batch, 1)`` column if predictions are one.

    Integer targets are cast to the predictions' dtype, so int32 labels do not
    turn a float32 loss into float64.
    """
    if predictions.ndim == 2 and targets.ndim == 1 and predictions.broadcastable[1]:
        targets = targets.dimshuffle(0, "x")
    if targets.dtype.startswith(("int", "uint", "bool")):
        targets = at.cast(targets, predictions.dtype)
    return predictions, targets


def binary_crossentropy(predictions, targets):
    """``-(t * log(p) + (1 - t) * log(1 - p))`` element-wise, for p in (0, 1)."""
    predictions, targets = align_targets(predictions, targets)
    return -(targets * at.log(predictions) + (1 - targets) * at.log(1 - predictions))


def categorical_crossentropy(predictions, targets):
    """``-log`` of the probability given to the true class, per row of ``predictions``.

    ``targets`` is an int vector of class indices or a matrix of target
    distributions (e.g. one-hot rows), giving ``-sum(t * log(p), axis=1)``.
    """
    return _categorical_crossentropy(predictions, targets)


def squared_error(a, b):
    """``(a - b) ** 2`` element-wise."""
    a, b = align_targets(a, b)
    return at.square(a - b)


def aggregate(loss, weights=None, mode="mean"):
    """Reduce a loss tensor to a scalar, optionally weighting its elements.

    ``mode`` is ``'mean'``, ``'sum'`` or ``'normalized_sum'`` (weighted sum
    divided by the sum of ``weights``, which it requires).
    """
    if weights is not None:
        loss = loss * weights
    if mode == "mean":
        return loss.mean()
    if mode == "sum":
        return loss.sum()
    if mode == "normalized_sum":
        if weights is None:
            raise ValueError("mode='normalized_sum' needs weights")
        return loss.sum() / at.sum(weights)
    raise ValueError("mode must be 'mean', 'sum' or 'normalized_sum', got %r" % (mode,))


def categorical_accuracy(predictions, targets, top_k=1):
    """1 where the true class is among the ``top_k`` highest predictions, else 0.

    ``targets`` is an int vector of class indices or a matrix whose row-wise
    argmax is the class.
    """
    if targets.ndim == predictions.ndim:
        targets = at.argmax(targets, axis=-1)
    elif targets.ndim != predictions.ndim - 1:
        raise TypeError(
            "targets must have %d or %d dimensions, got %d"
            % (predictions.ndim - 1, predictions.ndim, targets.ndim)
        )
    if top_k == 1:
        return at.eq(at.argmax(predictions, axis=-1), targets)
    top = at.argsort(predictions, axis=-1)[..., -top_k:]
    return at.any(at.eq(top, at.shape_padright(targets)), axis=-1)
