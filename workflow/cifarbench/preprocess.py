"""The post's preprocessing: CIFAR-10 rows -> grayscale float32 images centred on zero.

Each uint8 row of 3072 values holds one image as CHW, row-major: 1024 red,
then 1024 green, then 1024 blue values, each plane 32 rows of 32.  The
transform is exactly the post's: reshape to HWC, take the luma
``X[..., :3] @ [0.299, 0.587, 0.114]``, then ``/ 255 - 0.5``, as float32.

The post normalized its CNN training set twice and left its test set in
0..255; here every split is normalized exactly once, and :func:`grayscale`
refuses anything but raw uint8 pixels so that it cannot happen twice.

:func:`save_arrays` stores the result as ``.npy`` files (one per array, each
written atomically); :func:`load_arrays` memory-maps them and returns views
shaped for the MLP ``(N, 1024)`` or the CNN ``(N, 1, 32, 32)``.
"""
from pathlib import Path

import numpy as np

from aenet.atomic import save_npy_atomic
from cifarbench.data import N_CLASSES, N_PIXELS, Cifar10, DataError

GRAY_WEIGHTS = (0.299, 0.587, 0.114)
IMAGE_SIDE = 32
ARRAY_FILES = ("X_train.npy", "y_train.npy", "X_test.npy", "y_test.npy")
MODEL_SHAPES = {"mlp": (IMAGE_SIDE * IMAGE_SIDE,), "cnn": (1, IMAGE_SIDE, IMAGE_SIDE)}

_CHUNK = 4096  # images per step, bounding the float64 temporaries to ~100 MB


def grayscale(X):
    """uint8 ``(N, 3072)`` CHW rows -> float32 ``(N, 32, 32)`` grayscale in [-0.5, 0.5].

    >>> row = np.zeros((1, 3072), np.uint8); row[0, :1024] = 255   # all red
    >>> round(float(grayscale(row)[0, 0, 0]), 6)  # 0.299 * 255 / 255 - 0.5
    -0.201
    """
    X = np.asarray(X)
    if X.dtype != np.uint8:
        raise ValueError(
            f"grayscale: expected raw uint8 pixels, got dtype {X.dtype} (already preprocessed?)"
        )
    if X.ndim != 2 or X.shape[1] != N_PIXELS:
        raise ValueError(f"grayscale: expected (N, {N_PIXELS}) CHW rows, got shape {X.shape}")
    weights = np.array(GRAY_WEIGHTS)
    out = np.empty((len(X), IMAGE_SIDE, IMAGE_SIDE), np.float32)
    for start in range(0, len(X), _CHUNK):
        chw = X[start:start + _CHUNK].reshape(-1, 3, IMAGE_SIDE, IMAGE_SIDE)
        hwc = chw.transpose(0, 2, 3, 1)
        out[start:start + _CHUNK] = hwc[..., :3] @ weights / 255 - 0.5
    return out


def _labels(name, y, n):
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D integer array, got dtype {y.dtype} shape {y.shape}")
    if len(y) != n:
        raise ValueError(f"{name}: {len(y)} labels for {n} images")
    if len(y) and (y.min() < 0 or y.max() >= N_CLASSES):
        raise ValueError(f"{name}: labels outside 0..{N_CLASSES - 1} (min {y.min()}, max {y.max()})")
    return y.astype(np.int32)


def preprocess(data):
    """:class:`~cifarbench.data.Cifar10` of raw uint8 rows -> float32 ``(N, 32, 32)`` images, int32 labels.

    Every split goes through :func:`grayscale` once.
    """
    X_train, X_test = grayscale(data.X_train), grayscale(data.X_test)
    return Cifar10(
        X_train=X_train,
        y_train=_labels("y_train", data.y_train, len(X_train)),
        X_test=X_test,
        y_test=_labels("y_test", data.y_test, len(X_test)),
    )


def _images(name, X):
    X = np.asarray(X)
    side = (IMAGE_SIDE, IMAGE_SIDE)
    if X.dtype != np.float32 or X.shape[1:] not in (side, (1, *side)):
        raise ValueError(
            f"save_arrays: {name} must be float32 (N, 32, 32) or (N, 1, 32, 32) from preprocess(), "
            f"got {X.dtype} {X.shape}"
        )
    return np.ascontiguousarray(X.reshape(len(X), 1, *side))


def save_arrays(data, outdir):
    """Write preprocessed ``data`` as ``X_train.npy``, ``y_train.npy``, ``X_test.npy``, ``y_test.npy``.

    ``data`` is what :func:`preprocess` returns.  Images are stored float32
    ``(N, 1, 32, 32)``, labels int32 ``(N,)``.  Each file is written
    atomically; ``outdir`` is created if needed.  Returns the four paths in
    that order.
    """
    outdir = Path(outdir)
    arrays = {}
    for split in ("train", "test"):
        X = _images(f"X_{split}", getattr(data, f"X_{split}"))
        arrays[f"X_{split}.npy"] = X
        arrays[f"y_{split}.npy"] = _labels(f"y_{split}", getattr(data, f"y_{split}"), len(X))
    return [save_npy_atomic(outdir / name, arrays[name]) for name in ARRAY_FILES]


def _load(path, dtype, item_shape):
    if not path.is_file():
        raise FileNotFoundError(f"load_arrays: missing {path}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({' '.join(str(exc).split())})") from exc
    if not isinstance(array, np.ndarray):  # np.load returns an NpzFile for a .npz
        raise DataError(f"{path}: not a .npy file")
    if array.dtype != dtype or array.shape[1:] != item_shape:
        expected = str(("N", *item_shape)).replace("'", "")
        raise DataError(f"{path}: holds {array.dtype} {array.shape}, expected {np.dtype(dtype)} {expected}")
    return array


def load_arrays(outdir, model):
    """Memory-map the arrays :func:`save_arrays` wrote, shaped for ``model``; a :class:`Cifar10`.

    ``model`` is ``"mlp"`` (``X_*`` as ``(N, 1024)``) or ``"cnn"``
    (``(N, 1, 32, 32)``).  The arrays are read-only views of the files
    (``np.load(mmap_mode="r")``), so nothing is read until it is used.
    ``y_*`` are int32 ``(N,)``.  A missing file raises ``FileNotFoundError``,
    an unreadable or mis-shaped one :class:`~cifarbench.data.DataError`, both
    naming the file.
    """
    if model not in MODEL_SHAPES:
        raise ValueError(f"load_arrays: unknown model {model!r}; expected one of {sorted(MODEL_SHAPES)}")
    outdir = Path(outdir)
    image_shape = (1, IMAGE_SIDE, IMAGE_SIDE)
    loaded = {}
    for split in ("train", "test"):
        X = _load(outdir / f"X_{split}.npy", np.float32, image_shape)
        y = _load(outdir / f"y_{split}.npy", np.int32, ())
        if len(X) != len(y):
            raise DataError(
                f"{outdir / f'X_{split}.npy'} has {len(X)} images but "
                f"{outdir / f'y_{split}.npy'} has {len(y)} labels"
            )
        loaded[f"X_{split}"] = X.reshape(len(X), *MODEL_SHAPES[model])
        loaded[f"y_{split}"] = y
    return Cifar10(**loaded)
