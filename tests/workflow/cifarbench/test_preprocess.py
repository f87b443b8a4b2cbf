"""cifarbench.preprocess: the grayscale transform, and saving/loading the arrays."""
import os

import numpy as np
import pytest

from cifarbench import preprocess as pp
from cifarbench.data import Cifar10, DataError, read_cifar10

ARRAY_FILES = ["X_test.npy", "X_train.npy", "y_test.npy", "y_train.npy"]


def chw_row(red, green, blue):
    """One CIFAR-10 row from three 32x32 planes, built element by element (CHW, row-major)."""
    row = np.zeros(3072, np.uint8)
    for c, plane in enumerate((red, green, blue)):
        for h in range(32):
            for w in range(32):
                row[c * 1024 + h * 32 + w] = plane[h][w]
    return row


def test_grayscale_hand_computed_pixels():
    # pure red at (0, 0), pure green at (0, 1), pure blue at (1, 0): a transposed
    # or HWC-misread image puts these values elsewhere
    red = np.zeros((32, 32), np.uint8)
    green = np.zeros((32, 32), np.uint8)
    blue = np.zeros((32, 32), np.uint8)
    red[0, 0], green[0, 1], blue[1, 0] = 255, 255, 255
    red[31, 30], green[31, 30], blue[31, 30] = 10, 20, 30
    gray = pp.grayscale(chw_row(red, green, blue)[None, :])
    assert gray.shape == (1, 32, 32) and gray.dtype == np.float32
    assert gray[0, 0, 0] == pytest.approx(0.299 - 0.5, abs=1e-6)
    assert gray[0, 0, 1] == pytest.approx(0.587 - 0.5, abs=1e-6)
    assert gray[0, 1, 0] == pytest.approx(0.114 - 0.5, abs=1e-6)
    # 0.299 * 10 + 0.587 * 20 + 0.114 * 30 = 18.15
    assert gray[0, 31, 30] == pytest.approx(18.15 / 255 - 0.5, abs=1e-6)
    assert gray[0, 30, 31] == pytest.approx(-0.5, abs=1e-6)
    assert gray[0, 5, 5] == pytest.approx(-0.5, abs=1e-6)


def test_grayscale_asymmetric_image_every_pixel():
    planes = [
        [[(7 * h + 3 * w) % 256 for w in range(32)] for h in range(32)],
        [[(11 * h + 2 * w + 50) % 256 for w in range(32)] for h in range(32)],
        [[(h + 13 * w + 100) % 256 for w in range(32)] for h in range(32)],
    ]
    gray = pp.grayscale(chw_row(*planes)[None, :])[0]
    for h in range(32):
        for w in range(32):
            r, g, b = (plane[h][w] for plane in planes)
            expected = (0.299 * r + 0.587 * g + 0.114 * b) / 255 - 0.5
            assert gray[h, w] == pytest.approx(expected, abs=1e-6), (h, w)


def test_grayscale_extremes():
    X = np.stack([np.zeros(3072, np.uint8), np.full(3072, 255, np.uint8)])
    gray = pp.grayscale(X)
    assert np.allclose(gray[0], -0.5) and np.allclose(gray[1], 0.5, atol=1e-6)


def test_grayscale_in_chunks_matches_one_image_at_a_time(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (7, 3072), dtype=np.uint8)
    monkeypatch.setattr(pp, "_CHUNK", 3)
    gray = pp.grayscale(X)
    planes = X.reshape(7, 3, 32, 32).astype(np.float64)
    expected = (0.299 * planes[:, 0] + 0.587 * planes[:, 1] + 0.114 * planes[:, 2]) / 255 - 0.5
    assert gray.shape == (7, 32, 32)
    assert np.allclose(gray, expected, atol=1e-6)


@pytest.mark.parametrize(
    "X, pattern",
    [
        (np.zeros((2, 3072), np.float32), "dtype float32.*already preprocessed"),
        (np.zeros((2, 32, 32, 3), np.uint8), r"shape \(2, 32, 32, 3\)"),
        (np.zeros((2, 1024), np.uint8), r"shape \(2, 1024\)"),
    ],
)
def test_grayscale_rejects(X, pattern):
    with pytest.raises(ValueError, match=pattern):
        pp.grayscale(X)


def test_preprocess_normalizes_every_split_once():
    rng = np.random.default_rng(1)
    raw = Cifar10(
        X_train=rng.integers(0, 256, (5, 3072), dtype=np.uint8),
        y_train=np.array([0, 9, 3, 3, 1], np.int64),
        X_test=rng.integers(200, 256, (3, 3072), dtype=np.uint8),
        y_test=[2, 4, 6],
    )
    out = pp.preprocess(raw)
    for X, raw_X in ((out.X_train, raw.X_train), (out.X_test, raw.X_test)):
        planes = raw_X.reshape(-1, 3, 32, 32).astype(np.float64)
        expected = (0.299 * planes[:, 0] + 0.587 * planes[:, 1] + 0.114 * planes[:, 2]) / 255 - 0.5
        assert X.dtype == np.float32 and np.allclose(X, expected, atol=1e-6)
    assert out.X_test.min() >= 200 / 255 - 0.5 - 1e-6 and out.X_test.max() <= 0.5 + 1e-6
    assert out.y_train.dtype == np.int32 and out.y_train.tolist() == [0, 9, 3, 3, 1]
    assert out.y_test.dtype == np.int32 and out.y_test.tolist() == [2, 4, 6]


def test_preprocess_rejects_mismatched_labels():
    raw = Cifar10(np.zeros((2, 3072), np.uint8), [1], np.zeros((1, 3072), np.uint8), [0])
    with pytest.raises(ValueError, match="y_train: 1 labels for 2 images"):
        pp.preprocess(raw)


# -- save_arrays / load_arrays ---------------------------------------------------------------


@pytest.fixture
def arrays():
    rng = np.random.default_rng(2)
    return Cifar10(
        X_train=rng.uniform(-0.5, 0.5, (6, 32, 32)).astype(np.float32),
        y_train=np.array([0, 1, 2, 3, 4, 5], np.int32),
        X_test=rng.uniform(-0.5, 0.5, (4, 32, 32)).astype(np.float32),
        y_test=np.array([9, 8, 7, 6], np.int32),
    )


@pytest.fixture
def saved(arrays, tmp_path):
    outdir = tmp_path / "arrays"
    pp.save_arrays(arrays, outdir)
    return outdir


def test_save_arrays_files(saved, arrays):
    assert sorted(os.listdir(saved)) == ARRAY_FILES  # and no temporary files
    X_train = np.load(saved / "X_train.npy")
    assert X_train.shape == (6, 1, 32, 32) and X_train.dtype == np.float32
    assert np.array_equal(X_train[:, 0], arrays.X_train)
    y_test = np.load(saved / "y_test.npy")
    assert y_test.dtype == np.int32 and y_test.tolist() == [9, 8, 7, 6]


def test_load_arrays_cnn(saved, arrays):
    out = pp.load_arrays(saved, "cnn")
    assert out.X_train.shape == (6, 1, 32, 32) and out.X_test.shape == (4, 1, 32, 32)
    assert out.X_train.dtype == np.float32 and out.y_train.dtype == np.int32
    assert np.array_equal(out.X_test[2, 0], arrays.X_test[2])
    assert out.y_train.tolist() == [0, 1, 2, 3, 4, 5]


def test_load_arrays_mlp_rows_are_flattened_images(saved, arrays):
    out = pp.load_arrays(saved, "mlp")
    assert out.X_train.shape == (6, 1024) and out.X_test.shape == (4, 1024)
    for i in range(6):
        assert np.array_equal(out.X_train[i], arrays.X_train[i].ravel())
    assert out.y_test.tolist() == [9, 8, 7, 6]


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_load_arrays_memory_maps_read_only(saved, model):
    out = pp.load_arrays(saved, model)
    for array in out:
        assert isinstance(array, np.memmap)
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 0


def test_load_arrays_unknown_model(saved):
    with pytest.raises(ValueError, match="'resnet'"):
        pp.load_arrays(saved, "resnet")


def test_load_arrays_missing_file(saved):
    (saved / "y_test.npy").unlink()
    with pytest.raises(FileNotFoundError, match="y_test.npy"):
        pp.load_arrays(saved, "mlp")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_load_arrays_corrupt_file(saved, damage):
    path = saved / "X_train.npy"
    blob = path.read_bytes()
    path.write_bytes({"truncate": blob[:1000], "garbage": b"\x00" * 500, "empty": b""}[damage])
    with pytest.raises(DataError, match="X_train.npy"):
        pp.load_arrays(saved, "cnn")


@pytest.mark.parametrize(
    "name, array, pattern",
    [
        ("X_train.npy", np.zeros((6, 1, 32, 32), np.float64), "float64"),
        ("X_test.npy", np.zeros((4, 32, 32), np.float32), r"\(4, 32, 32\)"),
        ("y_train.npy", np.zeros(6, np.int64), "int64"),
        ("y_test.npy", np.zeros((4, 1), np.int32), r"\(4, 1\)"),
    ],
)
def test_load_arrays_wrong_dtype_or_shape(saved, name, array, pattern):
    np.save(saved / name, array)
    with pytest.raises(DataError, match=f"{name}.*{pattern}"):
        pp.load_arrays(saved, "cnn")


def test_load_arrays_length_mismatch(saved):
    np.save(saved / "y_train.npy", np.zeros(5, np.int32))
    with pytest.raises(DataError, match="6 images but .*y_train.npy has 5 labels"):
        pp.load_arrays(saved, "mlp")


def test_save_arrays_rejects_raw_pixels(tmp_path):
    raw = Cifar10(np.zeros((2, 3072), np.uint8), np.zeros(2, np.int32), np.zeros((1, 3072), np.uint8), [0])
    with pytest.raises(ValueError, match="X_train must be float32"):
        pp.save_arrays(raw, tmp_path / "out")
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_synthetic_archive_end_to_end(synthetic_archive, tmp_path):
    raw = read_cifar10(synthetic_archive)
    pp.save_arrays(pp.preprocess(raw), tmp_path)
    mlp = pp.load_arrays(tmp_path, "mlp")
    cnn = pp.load_arrays(tmp_path, "cnn")
    n_train, n_test = len(raw.y_train), len(raw.y_test)
    assert mlp.X_train.shape == (n_train, 1024) and cnn.X_test.shape == (n_test, 1, 32, 32)
    assert np.array_equal(mlp.y_train, raw.y_train) and np.array_equal(cnn.y_test, raw.y_test)
    # the first test image, converted independently
    planes = raw.X_test[0].reshape(3, 32, 32).astype(np.float64)
    expected = (0.299 * planes[0] + 0.587 * planes[1] + 0.114 * planes[2]) / 255 - 0.5
    assert np.allclose(cnn.X_test[0, 0], expected, atol=1e-6)
    assert np.allclose(mlp.X_test[0], expected.ravel(), atol=1e-6)
