"""cifarbench.data: the archive reader and the synthetic writer."""
import gzip
import os
import pickle
import tarfile

import numpy as np
import pytest

from cifarbench import data
from cifarbench.data import DataError, read_cifar10, write_cifar10_archive

BATCH_DIR = "cifar-10-batches-py"
TRAIN_NAMES = tuple(f"data_batch_{k}" for k in range(1, 6))
BATCH_NAMES = (*TRAIN_NAMES, "test_batch")
SYNTHETIC_PER_BATCH, SYNTHETIC_TEST = 60, 60  # the sizes of conftest's synthetic_archive

# -- read_cifar10 ----------------------------------------------------------------------------


def test_read_concatenates_batches_in_order(make_archive):
    # archive order differs from batch order; the reader must follow the names
    order = ("test_batch", "data_batch_4", "data_batch_1", "data_batch_5", "data_batch_3", "data_batch_2")
    path, batches = make_archive(n=3, order=order)
    result = read_cifar10(path)
    expected_X = np.vstack([batches[name][b"data"] for name in TRAIN_NAMES])
    expected_y = sum((batches[name][b"labels"] for name in TRAIN_NAMES), [])
    assert result.X_train.shape == (15, 3072) and result.X_train.dtype == np.uint8
    assert np.array_equal(result.X_train, expected_X)
    assert result.y_train.dtype == np.int32 and result.y_train.tolist() == expected_y
    assert np.array_equal(result.X_test, batches["test_batch"][b"data"])
    assert result.y_test.dtype == np.int32 and result.y_test.tolist() == batches["test_batch"][b"labels"]


def test_read_accepts_str_keys_array_labels_and_uneven_batches(make_archive, make_batch):
    odd = make_batch(1, seed=42, str_keys=True)
    odd["labels"] = np.array(odd["labels"], dtype=np.int64)
    path, batches = make_archive(n=2, str_keys=True, overrides={"data_batch_2": odd})
    result = read_cifar10(path)
    assert result.X_train.shape == (9, 3072)
    assert np.array_equal(result.X_train[2], odd["data"][0])
    assert result.y_train[2] == odd["labels"][0]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_read_accepts_any_pickle_protocol(make_archive, make_batch, protocol):
    batch = make_batch(3, seed=11, str_keys=protocol == 4)
    batch_bytes = pickle.dumps(batch, protocol=protocol)
    path, _ = make_archive(n=2, overrides={"test_batch": batch_bytes})
    result = read_cifar10(path)
    data_key = "data" if protocol == 4 else b"data"
    assert np.array_equal(result.X_test, batch[data_key])


def test_read_ignores_extra_members(make_archive):
    path, _ = make_archive(n=2, extra=[(f"{BATCH_DIR}/readme.html", b"<html></html>")])
    assert read_cifar10(path).X_test.shape == (2, 3072)


@pytest.mark.parametrize("missing", ["data_batch_3", "test_batch"])
def test_read_missing_member(make_archive, missing):
    path, _ = make_archive(drop=(missing,))
    with pytest.raises(DataError, match=f"missing member {BATCH_DIR}/{missing}"):
        read_cifar10(path)


@pytest.mark.parametrize(
    "name", ["../x", "/etc/cifar", f"{BATCH_DIR}/../../x", "a/b/../../../x", "..\\x"]
)
def test_read_rejects_unsafe_member_names(make_archive, tmp_path, name):
    path, _ = make_archive(extra=[(name, b"payload")])
    with pytest.raises(DataError) as info:
        read_cifar10(path)
    assert repr(name) in str(info.value) and str(path) in str(info.value)
    assert not (tmp_path.parent / "x").exists()


def test_read_rejects_links_out_of_the_archive(make_archive):
    path, _ = make_archive(extra=[(f"{BATCH_DIR}/evil", ("symlink", "../../etc/passwd"))])
    with pytest.raises(DataError, match="evil.*etc/passwd"):
        read_cifar10(path)


def test_read_rejects_a_duplicated_member(make_archive, make_batch):
    path, _ = make_archive(extra=[(f"{BATCH_DIR}/data_batch_2", make_batch(4, seed=9))])
    with pytest.raises(DataError, match="data_batch_2 appears more than once"):
        read_cifar10(path)




@pytest.mark.parametrize(
    "change, pattern",
    [
        (lambda b: b.pop(b"data"), "missing key 'data'"),
        (lambda b: b.pop(b"labels"), "missing key 'labels'"),
        (lambda b: b.update({b"data": b[b"data"].astype(np.float32)}), "dtype float32, expected uint8"),
        (lambda b: b.update({b"data": b[b"data"].astype(np.int64)}), "dtype int64, expected uint8"),
        (lambda b: b.update({b"data": b[b"data"][:, :3071]}), r"shape \(4, 3071\)"),
        (lambda b: b.update({b"data": b[b"data"].reshape(4, 3, 32, 32)}), r"shape \(4, 3, 32, 32\)"),
        (lambda b: b.update({b"data": b[b"data"][:0]}), r"shape \(0, 3072\)"),
        (lambda b: b.update({b"data": b[b"data"].tolist()}), "data is a list"),
        (lambda b: b.update({b"labels": [0, 1, 10, 2]}), "label 10 at index 2 is outside 0..9"),
        (lambda b: b.update({b"labels": [0, -1, 3, 2]}), "label -1 at index 1 is outside 0..9"),
        (lambda b: b.update({b"labels": np.array([0, 1, 2, 99])}), "label 99 at index 3 is outside 0..9"),
        (lambda b: b.update({b"labels": [0, 1, 2]}), r"labels have shape \(3,\), expected \(4,\)"),
        (lambda b: b.update({b"labels": [0, 1.0, 2, 3]}), "label 1.0 at index 1 is not an int"),
        (lambda b: b.update({b"labels": np.zeros(4)}), "labels have dtype float64"),
    ],
    ids=[
        "no-data", "no-labels", "float-data", "int64-data", "short-rows", "4d-data", "empty",
        "list-data", "label-10", "label-neg", "array-label-99", "label-count", "float-label",
        "float-label-array",
    ],
)
def test_read_names_the_problem_and_the_member(make_archive, make_batch, change, pattern):
    batch = make_batch(4, seed=7)
    change(batch)
    path, _ = make_archive(overrides={"data_batch_4": batch})
    with pytest.raises(DataError, match=pattern) as info:
        read_cifar10(path)
    message = str(info.value)
    assert f"{BATCH_DIR}/data_batch_4" in message and str(path) in message and "\n" not in message


def test_read_rejects_a_non_dict_batch(make_archive):
    path, _ = make_archive(overrides={"test_batch": [1, 2, 3]})
    with pytest.raises(DataError, match="test_batch: holds a list, expected a dict"):
        read_cifar10(path)


class _Planted:
    """Unpickling this would create a file: a pickle that runs code."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_read_refuses_pickles_that_run_code(make_archive, make_batch, tmp_path):
    marker = tmp_path / "planted"
    batch = make_batch(4, seed=3)
    batch[b"filenames"] = _Planted(str(marker))
    path, _ = make_archive(overrides={"data_batch_1": batch})
    with pytest.raises(DataError, match="data_batch_1: unsafe pickle, refusing to load global io.open"):
        read_cifar10(path)
    assert not marker.exists()


def test_read_garbage_member(make_archive):
    path, _ = make_archive(overrides={"data_batch_5": b"not a pickle at all"})
    with pytest.raises(DataError, match="data_batch_5: truncated or corrupt batch"):
        read_cifar10(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_read_truncated_archive(synthetic_archive, tmp_path, keep):
    blob = synthetic_archive.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(blob[: int(len(blob) * keep)])
    with pytest.raises(DataError, match="truncated or corrupt") as info:
        read_cifar10(cut)
    assert str(cut) in str(info.value)


def test_truncated_archive_names_the_member_it_stopped_in(tmp_path):
    """Past the first megabyte read, the message names the last member reached."""
    big = write_cifar10_archive(tmp_path / "big.tar.gz", n_per_batch=1000, n_test=1000)  # ~3 MB per batch
    blob = big.read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(blob[: len(blob) * 7 // 10])
    with pytest.raises(DataError) as info:
        read_cifar10(cut)
    message = str(info.value)
    members = [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)] + ["cifar-10-batches-py/test_batch"]
    named = [m for m in members if f"member {m} " in message or message.startswith(f"{cut}: {m}:")]
    assert len(named) == 1, message
    assert named[0] not in ("cifar-10-batches-py/data_batch_1",) and "truncated or corrupt" in message


@pytest.mark.parametrize("where", [0.3, 0.7, -5], ids=["early", "late", "gzip-crc"])
def test_read_detects_a_flipped_bit(synthetic_archive, tmp_path, where):
    blob = bytearray(synthetic_archive.read_bytes())
    blob[int(len(blob) * where) if where > 0 else where] ^= 0x10
    damaged = tmp_path / "flipped.tar.gz"
    damaged.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="corrupt") as info:
        read_cifar10(damaged)
    assert str(damaged) in str(info.value)


def test_read_truncated_tar_inside_valid_gzip(make_archive, tmp_path):
    path, _ = make_archive(n=20)
    tar_bytes = gzip.decompress(path.read_bytes())
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(gzip.compress(tar_bytes[: len(tar_bytes) * 2 // 3]))
    with pytest.raises(DataError) as info:
        read_cifar10(cut)
    assert str(cut) in str(info.value)


@pytest.mark.parametrize("content", [b"", b"plain text, not gzip", gzip.compress(b"gzip, but no tar" * 100)])
def test_read_not_an_archive(tmp_path, content):
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(content)
    with pytest.raises(DataError, match="bad.tar.gz"):
        read_cifar10(path)


def test_read_missing_archive(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.tar.gz"):
        read_cifar10(tmp_path / "absent.tar.gz")


# -- write_cifar10_archive -------------------------------------------------------------------


def test_synthetic_archive_layout(synthetic_archive):
    with tarfile.open(synthetic_archive, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        expected = {BATCH_DIR} | {f"{BATCH_DIR}/{name}" for name in (*BATCH_NAMES, "batches.meta")}
        assert set(members) == expected
        assert len({m.mtime for m in members.values()}) == 1
        for name in BATCH_NAMES:
            blob = tar.extractfile(members[f"{BATCH_DIR}/{name}"]).read()
            assert blob[:2] == b"\x80\x02"  # pickle protocol 2
            batch = pickle.loads(blob, encoding="bytes")
            assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
            n = SYNTHETIC_TEST if name == "test_batch" else SYNTHETIC_PER_BATCH
            assert batch[b"data"].shape == (n, 3072) and batch[b"data"].dtype == np.uint8
            assert len(batch[b"labels"]) == n and len(batch[b"filenames"]) == n
        meta = pickle.loads(tar.extractfile(members[f"{BATCH_DIR}/batches.meta"]).read(), encoding="bytes")
        assert meta[b"label_names"][0] == b"airplane" and len(meta[b"label_names"]) == 10
    assert synthetic_archive.read_bytes()[4:8] == b"\0\0\0\0"  # gzip header mtime


def test_synthetic_archive_reads_back_balanced(synthetic_archive):
    result = read_cifar10(synthetic_archive)
    assert result.X_train.shape == (5 * SYNTHETIC_PER_BATCH, 3072)
    assert result.X_test.shape == (SYNTHETIC_TEST, 3072)
    assert np.bincount(result.y_train, minlength=10).tolist() == [5 * SYNTHETIC_PER_BATCH // 10] * 10
    assert np.bincount(result.y_test, minlength=10).tolist() == [SYNTHETIC_TEST // 10] * 10


def test_synthetic_archive_is_deterministic(tmp_path):
    first = data.write_cifar10_archive(tmp_path / "a" / "x.tar.gz", n_per_batch=10, n_test=10, seed=3)
    second = data.write_cifar10_archive(tmp_path / "b" / "x.tar.gz", n_per_batch=10, n_test=10, seed=3)
    other = data.write_cifar10_archive(tmp_path / "c" / "x.tar.gz", n_per_batch=10, n_test=10, seed=4)
    assert first.read_bytes() == second.read_bytes()
    assert other.read_bytes() != first.read_bytes()


def test_synthetic_images_are_learnable(synthetic_archive):
    """A nearest-class-mean classifier on grayscale pixels beats chance (0.1) by far."""
    result = read_cifar10(synthetic_archive)

    def gray(X):
        r, g, b = (X.reshape(-1, 3, 1024)[:, c].astype(float) for c in range(3))
        return (0.299 * r + 0.587 * g + 0.114 * b) / 255 - 0.5

    train, test = gray(result.X_train), gray(result.X_test)
    means = np.stack([train[result.y_train == c].mean(axis=0) for c in range(10)])
    distances = ((test[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    accuracy = (distances.argmin(axis=1) == result.y_test).mean()
    assert accuracy > 0.5


def test_synthetic_archive_with_fewer_batches_is_incomplete(tmp_path):
    path = data.write_cifar10_archive(tmp_path / "three.tar.gz", n_per_batch=10, n_test=10, n_batches=3)
    with pytest.raises(DataError, match="missing member cifar-10-batches-py/data_batch_4"):
        read_cifar10(path)


@pytest.mark.parametrize("kwargs", [{"n_per_batch": 0}, {"n_test": -1}, {"n_batches": 2.5}])
def test_synthetic_archive_rejects_bad_sizes(tmp_path, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.write_cifar10_archive(tmp_path / "x.tar.gz", **kwargs)
    assert os.listdir(tmp_path) == []
