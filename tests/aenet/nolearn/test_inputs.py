"""aenet.nolearn.inputs: the casts and checks of X and y (no compiling)."""
import numpy as np
import pytest

from aenet.lasagne.layers import InputLayer
from aenet.nolearn.inputs import as_float32, check_lengths, class_labels, encoded_labels, prepare_X, r2_score


@pytest.mark.parametrize(
    "y, message",
    [
        (np.full(12, 0.5), "non-integer value 0.5"),
        (np.array([0, 1, np.nan]), "non-integer value nan"),
        (np.array([0, 1, -1] * 4), "negative label -1"),
        (np.array([0, 1, 3] * 4), r"label 3 is out of range .* 3 units \(labels must be 0..2\)"),
        (np.zeros((12, 2)), "1-D array"),
        (np.array(["a", "b", "c"] * 4), "use_label_encoder"),
    ],
)
def test_bad_labels_are_rejected(y, message):
    with pytest.raises(ValueError, match=message):
        class_labels(y, n_outputs=3)


def test_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match="12 samples in X, 11 in y"):
        check_lengths(np.zeros((12, 6)), np.zeros(11))


def test_wrong_feature_count_names_the_input_layer():
    with pytest.raises(ValueError, match=r"shape \(12, 5\) but the input layer 'input' expects \(None, 6\)"):
        prepare_X(np.zeros((12, 5)), InputLayer((None, 6), name="input"))


def test_labels_are_cast_to_int32_and_X_to_float32(tmp_path):
    y = class_labels(np.array([0.0, 2.0, 1.0]))
    assert y.dtype == np.int32 and y.tolist() == [0, 2, 1]
    assert class_labels(np.array([2, 0], dtype=np.int64)).dtype == np.int32
    X32 = np.ones((3, 6), dtype=np.float32)
    assert prepare_X(X32, InputLayer((None, 6))) is X32  # no copy
    assert prepare_X(np.ones((3, 6))).dtype == np.float32
    on_disk = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64, shape=(3, 6))
    assert as_float32(on_disk) is on_disk  # read and cast batch by batch


def test_label_encoding_refuses_unseen_labels():
    classes = np.array(["cat", "dog"])
    assert encoded_labels(np.array(["dog", "cat", "dog"]), classes).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="labels that were not seen"):
        encoded_labels(np.array(["cat", "emu"]), classes)


def test_r2_score():
    assert r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0  # the mean predicts nothing
    assert r2_score([[1.0, 5.0], [3.0, 5.0]], [[1.0, 5.0], [3.0, 4.0]]) == 0.5  # (1 + 0) / 2 columns
