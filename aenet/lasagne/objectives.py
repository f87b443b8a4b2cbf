"""Loss functions and their aggregation into a scalar.

The losses return one value per example (or per element); :func:`aggregate`
reduces them, e.g. ``aggregate(categorical_crossentropy(p, y))`` is the mean
cross-entropy.
"""
import warnings

import aesara.tensor as at
import numpy as np

from aenet.lasagne.utils import as_dtype

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import categorical_crossentropy as _categorical_crossentropy

__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "squared_error",
    "binary_hinge_loss",
    "multiclass_hinge_loss",
    "huber_loss",
    "aggregate",
    "binary_accuracy",
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


def _rank_mismatch(predictions, targets):
    return "rank mismatch: for %d-d predictions targets must have %d or %d dimensions, got %d" % (
        predictions.ndim, predictions.ndim - 1, predictions.ndim, targets.ndim
    )


def binary_hinge_loss(predictions, targets, delta=1, log_odds=None, binary=True):
    """``max(0, delta - p * t)`` element-wise, for targets ``t`` in {-1, 1}.

    ``binary=True`` takes targets in {0, 1} (mapped to ``2 t - 1``).  With
    ``log_odds=True`` the predictions are log-odds (e.g. a linear output), with
    ``log_odds=False`` probabilities in (0, 1), turned into log-odds first.
    Left out, ``log_odds`` is True with a FutureWarning, as in Lasagne.
    """
    if log_odds is None:
        warnings.warn(
            "binary_hinge_loss: give log_odds explicitly; it defaults to True (log-odds predictions) "
            "but Lasagne announced a change of that default to False",
            FutureWarning,
            stacklevel=2,
        )
        log_odds = True
    if not log_odds:
        predictions = at.log(predictions / (1 - predictions))
    predictions, targets = align_targets(predictions, targets)
    if binary:
        targets = 2 * targets - 1
    return at.maximum(as_dtype(delta, predictions.dtype) - predictions * targets, 0)


def _one_hot_like(predictions, targets):
    """Integer class targets as a one-hot mask of ``predictions``' shape; one-hot targets as they are."""
    if targets.ndim == predictions.ndim - 1:
        # class numbers 0..n-1 along the last axis; a cumulative sum, as JAX cannot arange a symbolic n
        classes = at.cumsum(at.ones_like(predictions, dtype="int32"), axis=-1) - 1
        return at.eq(at.shape_padright(targets), classes)
    if targets.ndim != predictions.ndim:
        raise TypeError(_rank_mismatch(predictions, targets))
    return targets


def multiclass_hinge_loss(predictions, targets, delta=1):
    """``max(0, delta + max_{j != y} p_j - p_y)`` per row, ``y`` the true class.

    ``targets`` is an int vector of class indices or a one-hot matrix.
    """
    mask = at.neq(_one_hot_like(predictions, targets), 0)
    correct = at.sum(at.switch(mask, predictions, 0), axis=-1)
    lowest = np.array(-np.inf, dtype=predictions.dtype)
    best_other = at.max(at.switch(mask, lowest, predictions), axis=-1)
    return at.maximum(best_other - correct + as_dtype(delta, predictions.dtype), 0)


def huber_loss(predictions, targets, delta=1):
    """Huber loss element-wise: ``(p - t)**2 / 2`` where ``|p - t| <= delta``,
    ``delta * (|p - t| - delta / 2)`` beyond (quadratic near 0, linear far off)."""
    predictions, targets = align_targets(predictions, targets)
    distance = abs(targets - predictions)
    delta = as_dtype(delta, distance.dtype)
    half = as_dtype(0.5, distance.dtype)
    return at.switch(distance <= delta, half * distance**2, delta * (distance - half * delta))


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
            raise ValueError("mode='normalized_sum' needs weights: require weights to divide the sum by")
        return loss.sum() / at.sum(weights)
    raise ValueError("mode must be 'mean', 'sum' or 'normalized_sum', got %r" % (mode,))


def binary_accuracy(predictions, targets, threshold=0.5):
    """1 where ``predictions >= threshold`` agrees with the {0, 1} targets, else 0 (no gradient)."""
    predictions, targets = align_targets(predictions, targets)
    return at.eq(at.ge(predictions, threshold), targets)


def categorical_accuracy(predictions, targets, top_k=1):
    """1 where the true class is among the ``top_k`` highest predictions, else 0.

    ``targets`` is an int vector of class indices or a matrix whose row-wise
    argmax is the class.
    """
    if targets.ndim == predictions.ndim:
        targets = at.argmax(targets, axis=-1)
    elif targets.ndim != predictions.ndim - 1:
        raise TypeError(_rank_mismatch(predictions, targets))
    if top_k == 1:
        return at.eq(at.argmax(predictions, axis=-1), targets)
    top = at.argsort(predictions, axis=-1)[..., -top_k:]
    return at.any(at.eq(top, at.shape_padright(targets)), axis=-1)
