"""BatchIterator and TrainSplit of aenet.nolearn (numpy only)."""
import numpy as np
import pytest

from aenet.nolearn import BatchIterator, TrainSplit
from aenet.nolearn.batches import stratified_first_fold


class Regression:
    regression = True


class Classification:
    regression = False


# -- BatchIterator -------------------------------------------------------------


def test_batches_keep_order_and_the_last_partial_batch():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10) * 10
    batches = list(BatchIterator(batch_size=4)(X, y))
    assert [len(Xb) for Xb, _ in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([Xb for Xb, _ in batches]), X)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    assert len(BatchIterator(batch_size=4)(X)) == 3


def test_batches_without_y_yield_none():
    batches = list(BatchIterator(batch_size=3)(np.zeros((7, 2))))
    assert [yb for _, yb in batches] == [None, None, None]
    assert [len(Xb) for Xb, _ in batches] == [3, 3, 1]


def test_batch_iterator_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="10 samples but y has 9"):
        BatchIterator(batch_size=4)(np.zeros((10, 2)), np.zeros(9))


def _epoch(iterator, X, y):
    return np.concatenate([yb for _, yb in iterator(X, y)])


def test_shuffle_is_a_new_permutation_each_epoch_and_reproducible():
    X = np.arange(50, dtype=np.float32).reshape(25, 2)
    y = np.arange(25)
    it = BatchIterator(batch_size=8, shuffle=True, seed=3)
    first, second = _epoch(it, X, y), _epoch(it, X, y)
    np.testing.assert_array_equal(np.sort(first), y)  # every sample exactly once
    np.testing.assert_array_equal(np.sort(second), y)
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, y)
    # Xb rows still belong to their yb.
    for Xb, yb in it(X, y):
        np.testing.assert_array_equal(Xb[:, 0], 2 * yb)

    again = BatchIterator(batch_size=8, shuffle=True, seed=3)
    np.testing.assert_array_equal(_epoch(again, X, y), first)
    np.testing.assert_array_equal(_epoch(again, X, y), second)
    other = BatchIterator(batch_size=8, shuffle=True, seed=4)
    assert not np.array_equal(_epoch(other, X, y), first)


def test_shuffle_leaves_the_data_untouched():
    X = np.arange(12).reshape(6, 2)
    y = np.arange(6)
    list(BatchIterator(batch_size=4, shuffle=True)(X, y))
    np.testing.assert_array_equal(y, np.arange(6))
    np.testing.assert_array_equal(X, np.arange(12).reshape(6, 2))


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_of_a_memmap(tmp_path, shuffle):
    data = np.random.RandomState(0).rand(11, 3).astype(np.float32)
    path = tmp_path / "X.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=data.shape)
    mm[:] = data
    mm.flush()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=data.shape)
    y = np.arange(11)
    batches = list(BatchIterator(batch_size=5, shuffle=shuffle)(X, y))
    assert [len(Xb) for Xb, _ in batches] == [5, 5, 1]
    for Xb, yb in batches:
        np.testing.assert_array_equal(np.asarray(Xb), data[yb])


@pytest.mark.parametrize("shuffle", [False, True])
def test_batch_indices_give_the_batches_iteration_yields(shuffle):
    X = np.arange(46).reshape(23, 2)
    y = np.arange(23) * 10
    by_value, by_index = BatchIterator(8, shuffle=shuffle, seed=5), BatchIterator(8, shuffle=shuffle, seed=5)
    for _ in range(3):  # the same permutation, epoch after epoch
        batches = list(by_value(X, y))
        indices = list(by_index(X, y).batch_indices())
        assert [len(index) for index in indices] == [8, 8, 7]
        for (Xb, yb), index in zip(batches, indices, strict=True):
            assert np.issubdtype(index.dtype, np.integer)
            np.testing.assert_array_equal(X[index], Xb)
            np.testing.assert_array_equal(y[index], yb)


def test_only_plain_batches_can_be_taken_by_index():
    class Augment(BatchIterator):
        def transform(self, Xb, yb):
            return Xb[:, ::-1], yb

    class Interleave(BatchIterator):
        def __iter__(self):
            yield self.X[::2], self.y[::2]

    assert BatchIterator().batches_by_index
    assert not Augment().batches_by_index
    assert not Interleave().batches_by_index


# -- TrainSplit ------------------------------------------------------------------


def test_stratified_first_fold_matches_a_hand_computed_split():
    # 10 of class 0 and 5 of class 1 in 5 folds: fold 0 takes 2 + 1 samples,
    # the first ones of each class.
    y = np.array([0] * 10 + [1] * 5)
    np.testing.assert_array_equal(stratified_first_fold(y, 5), [0, 1, 10])
    # Classes are numbered by first appearance (2, 0, 1): sorted codes
    # 0,0,0,0,0,1,1,1,1,2,2,2 dealt to 3 folds give fold 0 two 2s, one 0, one 1.
    y = np.array([2, 0, 1, 2, 0, 1, 2, 2, 2, 1, 0, 0])
    np.testing.assert_array_equal(stratified_first_fold(y, 3), [0, 1, 2, 3])


def test_train_split_is_stratified_sized_and_deterministic():
    rng = np.random.RandomState(0)
    y = rng.permutation(np.repeat([0, 1, 2], [50, 30, 20])).astype(np.int32)
    X = np.arange(100, dtype=np.float32)[:, None]
    X_train, X_valid, y_train, y_valid = TrainSplit(eval_size=0.2)(X, y, Classification())
    assert (len(X_train), len(X_valid)) == (80, 20)
    assert np.bincount(y_valid).tolist() == [10, 6, 4]
    assert np.bincount(y_train).tolist() == [40, 24, 16]
    # X rows follow their labels, the parts are disjoint and cover everything.
    np.testing.assert_array_equal(y[X_train[:, 0].astype(int)], y_train)
    np.testing.assert_array_equal(y[X_valid[:, 0].astype(int)], y_valid)
    assert sorted(np.concatenate([X_train, X_valid])[:, 0]) == list(range(100))
    # Order is kept within each part.
    assert np.all(np.diff(X_valid[:, 0]) > 0) and np.all(np.diff(X_train[:, 0]) > 0)

    again = TrainSplit(eval_size=0.2)(X, y, Classification())
    np.testing.assert_array_equal(again[1], X_valid)


def test_eval_size_rounds_to_a_number_of_folds():
    y = np.repeat([0, 1], 30)
    _, X_valid, _, y_valid = TrainSplit(eval_size=0.3)(np.zeros((60, 1)), y, Classification())
    assert len(y_valid) == 20  # 1/3: three folds
    assert np.bincount(y_valid).tolist() == [10, 10]


def test_regression_split_takes_the_first_fold():
    """nolearn 0.6 validates on the first fold of an unshuffled k-fold split."""
    X = np.arange(23, dtype=np.float32)[:, None]
    y = X * 2
    X_train, X_valid, y_train, y_valid = TrainSplit(eval_size=0.2)(X, y, Regression())
    assert len(X_valid) == 5  # 23 in 5 folds: the first three folds hold 5
    np.testing.assert_array_equal(X_valid[:, 0], np.arange(5))
    np.testing.assert_array_equal(X_train[:, 0], np.arange(5, 23))
    np.testing.assert_array_equal(y_valid, X_valid * 2)
    np.testing.assert_array_equal(y_train, X_train * 2)


def test_unstratified_classification_split_takes_the_first_fold():
    y = np.repeat([0, 1], 10)
    _, _, y_train, y_valid = TrainSplit(eval_size=0.25, stratify=False)(np.zeros((20, 1)), y, Classification())
    assert y_valid.tolist() == [0] * 5 and y_train.tolist() == [0] * 5 + [1] * 10


def test_eval_size_zero_validates_on_nothing():
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    X_train, X_valid, y_train, y_valid = TrainSplit(eval_size=0)(X, y, Classification())
    assert len(X_train) == 10 and len(y_train) == 10
    assert X_valid.shape == (0, 2) and len(y_valid) == 0


def test_train_split_rejects_bad_eval_size():
    with pytest.raises(ValueError, match="eval_size"):
        TrainSplit(eval_size=1.5)
