"""The checks and casts a ``NeuralNet`` applies to ``X`` and ``y`` before training or predicting.

``X`` becomes float32 (a float32 array or a ``np.memmap`` is not copied) and
must fit the input layer's shape; ``y`` becomes int32 class labels
``0..K-1`` (or float32 targets for regression), with a one-line error for
anything else.
"""
import numpy as np


def as_float32(X):
    """``X`` as float32: unchanged when it already is (a memmap stays a memmap)."""
    if isinstance(X, np.ndarray) and (X.dtype == np.float32 or isinstance(X, np.memmap)):
        return X  # memmaps of other dtypes are cast batch by batch
    return np.asarray(X, dtype=np.float32)


def batch_float32(Xb):
    """A batch as a contiguous float32 array, as the compiled functions take it."""
    return np.ascontiguousarray(Xb, dtype=np.float32)


def check_lengths(X, y):
    if y is not None and len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} samples in X, {len(y)} in y")


def check_good_input(X, y=None, regression=False):
    """nolearn's ``_check_good_input``: ``(X, y)`` once their lengths are checked.

    ``X`` may be a dict of arrays, which must all have one length; a 1-D
    ``y`` becomes a column for regression.  Other values are returned as given.
    """
    if isinstance(X, dict):
        lengths = {key: len(value) for key, value in X.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Not all values of X are of equal length: {lengths}")
        n = next(iter(lengths.values()), 0)
    else:
        n = len(X)
    if y is not None and len(y) != n:
        raise ValueError(f"X and y are not of equal length: {n} samples in X, {len(y)} in y")
    if regression and y is not None and np.ndim(y) == 1:
        y = np.reshape(y, (-1, 1))
    return X, y


def prepare_X(X, input_layer=None):
    """``X`` as float32, checked against ``input_layer``'s shape when given."""
    if isinstance(X, dict):
        raise ValueError(
            f"X is a dict (keys {sorted(X)}), for several input layers; aenet.nolearn nets have one input layer"
        )
    X = as_float32(X)
    shape = getattr(input_layer, "shape", None)
    if shape is not None:
        shape = tuple(shape)
        fits = X.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape[1:], X.shape[1:]))
        if not fits:
            raise ValueError(f"X has shape {X.shape} but the input layer {input_layer.name!r} expects {shape}")
    return X


def regression_targets(y):
    """``y`` as a float32 matrix (one column per output)."""
    y = np.asarray(y).astype(np.float32, copy=False)
    return y.reshape(-1, 1) if y.ndim == 1 else y


def encoded_labels(y, classes, check=True):
    """The index of each label of ``y`` in the sorted ``classes``, as int32."""
    index = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    if check and np.any(classes[index] != y):
        raise ValueError("y holds labels that were not seen when the label encoder was fitted")
    return index.astype(np.int32)


def class_labels(y, n_outputs=None):
    """``y`` as int32 class labels ``0..K-1``, checked; ``n_outputs`` bounds K when known."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"classification needs y as a 1-D array of class labels, got shape {y.shape} "
            "(use regression=True for continuous targets)"
        )
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if np.any(bad):
            raise ValueError(
                f"classification needs integer class labels 0..K-1 in y, got non-integer "
                f"value {y[bad][0].item()!r} (use regression=True for continuous targets)"
            )
    elif y.dtype.kind not in "iub":
        raise ValueError(
            f"classification needs integer class labels 0..K-1 in y, got dtype {y.dtype} "
            "(use use_label_encoder=True to encode other labels)"
        )
    if y.size and y.min() < 0:
        raise ValueError(f"class labels must be >= 0, got negative label {y.min().item()!r}")
    if n_outputs is not None and y.size and y.max() >= n_outputs:
        raise ValueError(
            f"class label {int(y.max())} is out of range for an output layer with "
            f"{n_outputs} units (labels must be 0..{n_outputs - 1})"
        )
    return y.astype(np.int32)


def r2_score(y_true, y_pred):
    """Coefficient of determination, averaged uniformly over output columns."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(r2.mean())
