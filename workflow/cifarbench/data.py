"""CIFAR-10's "python version" archive: read it safely, or write one in its layout.

:func:`read_cifar10` reads the archive (``cifar-10-batches-py/data_batch_1..5``
and ``test_batch``: pickled dicts with ``data``, uint8 ``(n, 3072)`` rows of
CHW row-major pixels, and ``labels``, ints in 0..9) member by member, without
extracting anything to disk, and validates every batch.
:func:`write_cifar10_archive` writes a small, reproducible, learnable stand-in
with the same layout for tests and quick runs; :func:`write_archive` writes
given batches in that layout.  The official archive's URL and checksum are
the defaults of the workflow schema's ``data_url`` and ``data_sha256``.
"""
import gzip
import io
import pickle
import re
import tarfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

CIFAR10_DIR = "cifar-10-batches-py"
TRAIN_MEMBERS = tuple(f"{CIFAR10_DIR}/data_batch_{k}" for k in range(1, 6))
TEST_MEMBER = f"{CIFAR10_DIR}/test_batch"
META_MEMBER = f"{CIFAR10_DIR}/batches.meta"
LABEL_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
N_CLASSES = 10
N_PIXELS = 3 * 32 * 32

_TAR_BUFFER = 1 << 20  # bytes per read from a .tar.gz stream


class DataError(ValueError):
    """An archive or data file is missing a part, truncated, or holds invalid data."""


class Cifar10(NamedTuple):
    """The train and test splits: images ``X_*`` and int32 labels ``y_*``.

    From :func:`read_cifar10`, ``X_*`` are uint8 ``(N, 3072)`` CHW rows.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


# -- read_cifar10 ----------------------------------------------------------------------------

# The only globals a CIFAR-10 pickle needs: numpy arrays (protocol 5 pickles
# them through _frombuffer) and scalars, and bytes objects (Python 3 writes
# bytes into protocol-2 pickles as _codecs.encode(...) or bytes() calls).
# Anything else is refused, so a crafted archive cannot run code through pickle.
_PICKLE_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
        ("__builtin__", "bytes"),
        ("builtins", "bytes"),
    }
)


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise _RefusedGlobal(f"refusing to load global {module}.{name}")
        return super().find_class(module, name)


def _one_line(text):
    return " ".join(str(text).split())


def _unsafe_member_name(name):
    """Absolute, drive-qualified or containing a ``..`` component."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return True
    return ".." in re.split(r"[/\\]", name)


def _check_member_name(archive, member):
    if _unsafe_member_name(member.name):
        raise DataError(f"{archive}: unsafe member path {member.name!r} (absolute or with '..')")
    if (member.issym() or member.islnk()) and _unsafe_member_name(member.linkname):
        raise DataError(f"{archive}: member {member.name!r} links to unsafe path {member.linkname!r}")


def _labels_array(where, labels, n):
    if isinstance(labels, np.ndarray):
        array = labels
        if array.dtype.kind not in "iu":
            raise DataError(f"{where}: labels have dtype {array.dtype}, expected integers")
    elif isinstance(labels, (list, tuple)):
        for i, value in enumerate(labels):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise DataError(f"{where}: label {value!r} at index {i} is not an int")
        array = np.array(labels, dtype=np.int64)
    else:
        raise DataError(f"{where}: labels are a {type(labels).__name__}, expected a list of ints")
    if array.ndim != 1 or len(array) != n:
        raise DataError(f"{where}: labels have shape {array.shape}, expected ({n},) to match data")
    outside = np.flatnonzero((array < 0) | (array >= N_CLASSES))
    if outside.size:
        i = int(outside[0])
        raise DataError(
            f"{where}: label {int(array[i])} at index {i} is outside 0..{N_CLASSES - 1}"
            f" ({outside.size} such labels)"
        )
    return array.astype(np.int32)


def validate_batch(where, batch):
    """Check one unpickled batch; return ``(data, labels)`` as uint8 (n, 3072) and int32 (n,).

    Keys may be bytes (the official pickles) or str.  ``where`` names the
    batch in the :class:`DataError` raised for any problem.
    """
    if not isinstance(batch, dict):
        raise DataError(f"{where}: holds a {type(batch).__name__}, expected a dict")
    keys = {}
    for key, value in batch.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else key
        if name in keys:
            raise DataError(f"{where}: key {name!r} appears both as bytes and as str")
        keys[name] = value
    for required in ("data", "labels"):
        if required not in keys:
            found = sorted(str(k) for k in keys)
            raise DataError(f"{where}: missing key {required!r} (keys: {', '.join(found) or 'none'})")
    data = keys["data"]
    if not isinstance(data, np.ndarray):
        raise DataError(f"{where}: data is a {type(data).__name__}, expected a numpy array")
    if data.dtype != np.uint8:
        raise DataError(f"{where}: data has dtype {data.dtype}, expected uint8")
    if data.ndim != 2 or data.shape[1] != N_PIXELS or data.shape[0] < 1:
        raise DataError(f"{where}: data has shape {data.shape}, expected (n, {N_PIXELS}) with n >= 1")
    labels = _labels_array(where, keys["labels"], data.shape[0])
    return data, labels


def _read_member(archive, tar, member):
    where = f"{archive}: {member.name}"
    if not member.isreg():
        raise DataError(f"{where}: not a regular file")
    try:
        with tar.extractfile(member) as f:
            batch = _BatchUnpickler(f, encoding="bytes").load()
    except _RefusedGlobal as exc:
        raise DataError(f"{where}: unsafe pickle, {exc} (a CIFAR-10 batch holds only numpy data)") from None
    except Exception as exc:  # anything a damaged or hostile pickle can raise
        raise DataError(
            f"{where}: truncated or corrupt batch ({type(exc).__name__}: {_one_line(exc)})"
        ) from exc
    return validate_batch(where, batch)


def read_cifar10(archive):
    """Read the CIFAR-10 "python version" ``archive`` (a .tar.gz) into a :class:`Cifar10`.

    Reads ``cifar-10-batches-py/data_batch_1`` .. ``_5`` (concatenated in that
    order into ``X_train``, ``y_train``) and ``test_batch`` by name, without
    extracting anything.  Any member with an absolute path or a ``..``
    component makes the whole archive invalid.  Batches may hold any number of
    images n >= 1, so small archives in the same layout (see
    :func:`write_cifar10_archive`) work too.  ``X_*`` are uint8 ``(N, 3072)``
    CHW rows, ``y_*`` int32.  Every problem (a missing member or key, wrong
    dtype or shape, a label outside 0..9, a truncated or corrupt archive)
    raises :class:`DataError` with a one-line message naming the archive and
    the member.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"read_cifar10: no such archive: {archive}")
    wanted = (*TRAIN_MEMBERS, TEST_MEMBER)
    batches, last = {}, None
    try:
        # One pass over the stream: each member is checked, and the wanted ones
        # unpickled, as they come.  Then the rest of the gzip stream is read,
        # so that gzip checks its CRC and length over everything.
        with open(archive, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            with tarfile.open(fileobj=gz, mode="r|", bufsize=_TAR_BUFFER) as tar:
                for member in tar:
                    last = member.name
                    _check_member_name(archive, member)
                    if member.name not in wanted:
                        continue
                    if member.name in batches:
                        raise DataError(f"{archive}: member {member.name} appears more than once")
                    batches[member.name] = _read_member(archive, tar, member)
            while gz.read(_TAR_BUFFER):
                pass
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        where = f" at or after member {last}" if last else ""
        raise DataError(
            f"{archive}: truncated or corrupt archive{where} ({type(exc).__name__}: {_one_line(exc)})"
        ) from exc
    missing = [name for name in wanted if name not in batches]
    if missing:
        raise DataError(f"{archive}: missing member {missing[0]} ({len(missing)} of {len(wanted)} missing)")
    train = [batches[name] for name in TRAIN_MEMBERS]
    X_test, y_test = batches[TEST_MEMBER]
    return Cifar10(
        X_train=np.concatenate([data for data, _ in train]),
        y_train=np.concatenate([labels for _, labels in train]),
        X_test=np.ascontiguousarray(X_test),
        y_test=y_test,
    )


# -- write_cifar10_archive -------------------------------------------------------------------

_ARCHIVE_MTIME = 1262304000  # 2010-01-01, fixed so archives are byte-identical

# Class-dependent spatial frequencies (rows, columns) and colour tints.
_PATTERN_FREQ = np.array([(0, 1), (1, 0), (1, 1), (2, 0), (0, 2), (2, 1), (1, 2), (2, 2), (3, 0), (0, 3)])
_TINT = np.array(
    [(-20, 0, 20), (20, 0, -20), (0, 20, -20), (-20, 20, 0), (20, -20, 0),
     (0, -20, 20), (10, 10, -20), (-10, -10, 20), (15, -15, 0), (-15, 15, 0)]
)


def synthetic_images(rng, labels):
    """uint8 (n, 3072) CHW rows whose brightness, stripes and tint depend on the class.

    Each class has its own mean brightness (a per-image jitter keeps classes
    overlapping), its own stripe orientation and frequency, and a colour tint,
    under per-pixel Gaussian noise: easy enough that a small MLP or CNN beats
    chance within an epoch or two, not so easy that one pixel gives it away.
    """
    labels = np.asarray(labels)
    n = len(labels)
    rows, cols = np.mgrid[0:32, 0:32]
    freq = _PATTERN_FREQ[labels]
    stripes = np.sin(2 * np.pi * (freq[:, 0, None, None] * rows + freq[:, 1, None, None] * cols) / 32)
    brightness = 50 + 17 * labels + rng.normal(0, 10, n)
    images = (
        brightness[:, None, None, None]
        + _TINT[labels][:, :, None, None]
        + 35 * stripes[:, None, :, :]
        + rng.normal(0, 30, (n, 3, 32, 32))
    )
    return np.clip(np.rint(images), 0, 255).astype(np.uint8).reshape(n, N_PIXELS)


def _synthetic_batch(rng, n, batch_label, first_index):
    labels = rng.permutation(np.arange(n) % N_CLASSES)
    return {
        b"batch_label": batch_label.encode(),
        b"labels": [int(c) for c in labels],
        b"data": synthetic_images(rng, labels),
        b"filenames": [
            f"{LABEL_NAMES[c]}_s_{first_index + i:06d}.png".encode() for i, c in enumerate(labels)
        ],
    }


def _add_member(tar, name, payload):
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = _ARCHIVE_MTIME, 0, 0, "", ""
    if payload is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    else:
        info.size, info.mode = len(payload), 0o644
        tar.addfile(info, io.BytesIO(payload))


def write_cifar10_archive(path, n_per_batch=100, n_test=100, seed=0, n_batches=5):
    """Write a synthetic CIFAR-10 archive in the official layout to ``path``; return ``path``.

    ``n_batches`` training batches ``data_batch_1..`` of ``n_per_batch`` images,
    a ``test_batch`` of ``n_test`` images and ``batches.meta``, as pickled
    (protocol 2) dicts with bytes keys, like the official files.  Labels are
    balanced within each batch; images come from :func:`synthetic_images`.
    The same arguments give a byte-identical archive (fixed tar and gzip
    times).  :func:`read_cifar10` needs ``n_batches=5``; fewer make an
    incomplete archive on purpose.  Written atomically.
    """
    for name, value, low in (("n_per_batch", n_per_batch, 1), ("n_test", n_test, 1), ("n_batches", n_batches, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"write_cifar10_archive: {name} must be an int >= {low}, got {value!r}")
    rng = np.random.default_rng(seed)
    train = [
        _synthetic_batch(rng, n_per_batch, f"training batch {k} of {n_batches}", (k - 1) * n_per_batch)
        for k in range(1, n_batches + 1)
    ]
    test = _synthetic_batch(rng, n_test, "testing batch 1 of 1", n_batches * n_per_batch)
    return write_archive(path, train, test, cases_per_batch=n_per_batch)


def write_archive(path, train_batches, test_batch, cases_per_batch):
    """Write batch dicts as an archive in the official layout to ``path``; return ``path``.

    ``train_batches`` become ``data_batch_1..``, ``test_batch`` ``test_batch``,
    each pickled (protocol 2) as given, then ``batches.meta`` (the label names,
    ``cases_per_batch``, 3072).  Fixed tar and gzip times: the same batches
    give a byte-identical archive.  Written atomically.
    """
    members = [(CIFAR10_DIR, None)]
    for k, batch in enumerate(train_batches, 1):
        members.append((f"{CIFAR10_DIR}/data_batch_{k}", pickle.dumps(batch, protocol=2)))
    members.append((TEST_MEMBER, pickle.dumps(test_batch, protocol=2)))
    meta = {
        b"num_cases_per_batch": cases_per_batch,
        b"label_names": [name.encode() for name in LABEL_NAMES],
        b"num_vis": N_PIXELS,
    }
    members.append((META_MEMBER, pickle.dumps(meta, protocol=2)))
    from aenet.atomic import atomic_open

    with atomic_open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                for name, payload in members:
                    _add_member(tar, name, payload)
    return Path(path)
