"""Mini-batches and the train/validation split of :class:`~aenet.nolearn.NeuralNet`.

Both are plain objects a net calls, so they can be swapped or subclassed:
``BatchIterator.transform`` is the hook for per-batch augmentation, and any
callable ``split(X, y, net) -> (X_train, X_valid, y_train, y_valid)`` can
replace :class:`TrainSplit`.
"""
import numpy as np


def _take(X, index):
    """``X[index]`` for an array, or for each value of a dict of arrays."""
    if isinstance(X, dict):
        return {key: value[index] for key, value in X.items()}
    return X[index]


def n_samples(X):
    """The number of samples of an array, or of a dict of equally long arrays."""
    if not isinstance(X, dict):
        return len(X)
    lengths = {key: len(value) for key, value in X.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Not all values of X are of equal length: {lengths}")
    return next(iter(lengths.values()), 0)


class BatchIterator:
    """Iterate over ``(Xb, yb)`` mini-batches of ``X`` and ``y``.

    ``BatchIterator(batch_size=128, shuffle=False, seed=42)``

    Calling the iterator with ``(X, y=None)`` binds the data and returns the
    iterator itself; iterating it yields ``self.transform(Xb, yb)`` for
    consecutive batches.  The last batch keeps the remaining samples, so it
    may be smaller than ``batch_size``.  ``yb`` is None when ``y`` is None.
    ``X`` (or ``y``) may be a dict of equally long arrays, as for a net with
    several input layers: its batches are dicts with the same keys.

    With ``shuffle=True`` every call draws a new permutation from the
    iterator's own ``RandomState(seed)``: the order changes from epoch to
    epoch, and the sequence of orders is the same in every run.  Batches are
    taken with fancy indexing, so a ``np.memmap`` is read batch by batch and
    never copied whole; without shuffling they are views (slices).

    >>> it = BatchIterator(batch_size=4)
    >>> [len(Xb) for Xb, yb in it(np.zeros((10, 3)), np.arange(10))]
    [4, 4, 2]
    """

    def __init__(self, batch_size=128, shuffle=False, seed=42):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = seed
        self.random = np.random.RandomState(seed)
        self.X = self.y = None
        self._order = None

    def __call__(self, X, y=None):
        n = n_samples(X)
        if y is not None and n_samples(y) != n:
            raise ValueError(f"X has {n} samples but y has {n_samples(y)}")
        self.X, self.y = X, y
        self._order = self.random.permutation(n) if self.shuffle else None
        return self

    @property
    def n_samples(self):
        return n_samples(self.X)

    def __len__(self):
        """The number of batches for the bound data."""
        return -(-self.n_samples // self.batch_size)

    def __iter__(self):
        bs = self.batch_size
        for start in range(0, self.n_samples, bs):
            index = slice(start, start + bs) if self._order is None else self._order[start:start + bs]
            Xb = _take(self.X, index)
            yb = None if self.y is None else _take(self.y, index)
            yield self.transform(Xb, yb)

    def batch_indices(self):
        """The sample indices of each batch of the bound data, as int arrays.

        The same batches, in the same order, as iterating yields (before
        :meth:`transform`): ``X[index]`` is the batch.  Binding the data draws
        the permutation, so ``it(X, y).batch_indices()`` follows the same
        sequence of shuffles as ``iter(it(X, y))``.
        """
        bs, n = self.batch_size, self.n_samples
        order = np.arange(n) if self._order is None else self._order
        for start in range(0, n, bs):
            yield order[start:start + bs]

    @property
    def batches_by_index(self):
        """Whether each batch is ``(X[index], y[index])`` for :meth:`batch_indices`.

        True unless a subclass changes the batches (overrides ``transform``,
        e.g. for augmentation, or ``__iter__``): a net may then take the
        batches from a copy of the data on its device by index.
        """
        cls = type(self)
        return cls.transform is BatchIterator.transform and cls.__iter__ is BatchIterator.__iter__

    def transform(self, Xb, yb):
        """Hook for subclasses (e.g. data augmentation); returns the batch unchanged."""
        return Xb, yb

    def __getstate__(self):
        state = dict(self.__dict__)
        state.update(X=None, y=None, _order=None)  # never pickle the bound data
        return state

    def __repr__(self):
        return (
            f"{type(self).__name__}(batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed})"
        )


def stratified_first_fold(y, n_splits):
    """Validation indices of the first fold of an unshuffled stratified k-fold.

    Follows the allocation of scikit-learn's ``StratifiedKFold(n_splits)``
    (no shuffling): classes are numbered in order of first appearance, the
    sorted class codes are dealt round-robin to the folds, and each class
    gives its first samples (in the original order) to fold 0.  The result is
    sorted, and deterministic.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"stratification needs 1-D class labels, got y of shape {y.shape}")
    _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
    # Number classes by first appearance, as scikit-learn does.
    codes = np.argsort(np.argsort(first))[inverse]
    n_classes = len(first)
    per_fold0 = np.bincount(np.sort(codes)[::n_splits], minlength=n_classes)
    valid = []
    for code in range(n_classes):
        members = np.flatnonzero(codes == code)
        valid.append(members[: per_fold0[code]])
    return np.sort(np.concatenate(valid)) if valid else np.zeros(0, dtype=np.intp)


class TrainSplit:
    """Split ``(X, y)`` into training and validation parts, deterministically.

    ``TrainSplit(eval_size=0.2, stratify=True, shuffle=False, seed=42)``

    The validation part is the first of ``round(1 / eval_size)`` folds, so
    ``eval_size=0.2`` keeps 1/5 of the samples and ``eval_size=0.3`` keeps 1/3.
    For classification with ``stratify=True`` the fold is stratified (each
    class keeps its proportion in both parts; see
    :func:`stratified_first_fold`).  For regression, or with
    ``stratify=False``, it is the first ``ceil(n / folds)`` samples, the
    first fold of an unshuffled k-fold split, as in nolearn 0.6.  ``eval_size=0`` (or None) trains on everything and validates on
    nothing.  Sample order is kept inside each part.  With ``shuffle=True``
    the samples are first put in a random order, a new one at each call,
    drawn from the split's own ``RandomState(seed)`` (the data are copied, not
    shuffled in place as nolearn does).

    ``split(X, y, net=None)`` returns ``X_train, X_valid, y_train, y_valid``.
    """

    def __init__(self, eval_size=0.2, stratify=True, shuffle=False, seed=42):
        if eval_size and not 0 < eval_size < 1:
            raise ValueError(f"eval_size must be in [0, 1), got {eval_size!r}")
        self.eval_size = eval_size
        self.stratify = stratify
        self.shuffle = shuffle
        self.random = np.random.RandomState(seed)

    def n_splits(self):
        return max(2, int(round(1.0 / self.eval_size)))

    def __call__(self, X, y, net=None):
        n = len(y)
        if self.shuffle:
            order = self.random.permutation(n)
            X, y = _take(X, order), y[order]
        if not self.eval_size:
            return X, _take(X, slice(n, None)), y, y[n:]
        regression = bool(getattr(net, "regression", False))
        folds = self.n_splits()
        if self.stratify and not regression:
            valid = stratified_first_fold(y, folds)
            mask = np.ones(n, dtype=bool)
            mask[valid] = False
            train = np.flatnonzero(mask)
            return _take(X, train), _take(X, valid), y[train], y[valid]
        cut = -(-n // folds)
        return _take(X, slice(cut, None)), _take(X, slice(None, cut)), y[cut:], y[:cut]

    def __repr__(self):
        return f"{type(self).__name__}(eval_size={self.eval_size!r}, stratify={self.stratify!r})"


class LegacyTrainTestSplit:
    """The split of a net that defines nolearn's older ``train_test_split(X, y, eval_size)`` method.

    ``NeuralNet`` uses it in place of ``train_split`` when a subclass has
    that method (deprecated): ``split(X, y, net)`` returns
    ``net.train_test_split(X, y, eval_size)``.
    """

    def __init__(self, eval_size=0.2):
        self.eval_size = eval_size

    def __call__(self, X, y, net):
        return net.train_test_split(X, y, self.eval_size)

    def __repr__(self):
        return f"{type(self).__name__}(eval_size={self.eval_size!r})"
