"""CIFAR-10: download with checksums, read the official archive safely, write synthetic ones.

:func:`fetch` downloads (or copies) a file and keeps it only when its checksum
matches.  :func:`read_cifar10` reads the "python version" archive
(``cifar-10-batches-py/data_batch_1..5`` and ``test_batch``: pickled dicts with
``data``, uint8 ``(n, 3072)`` rows of CHW row-major pixels, and ``labels``,
ints in 0..9) member by member, without extracting anything to disk, and
validates every batch.  :func:`write_cifar10_archive` writes a small,
reproducible, learnable stand-in with the same layout for tests and quick runs;
:func:`write_archive` writes given batches in that layout.
"""
import gzip
import hashlib
import http.client
import io
import os
import pickle
import re
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path, PurePosixPath
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np

from aenet.atomic import atomic_open

# The official archive, https://www.cs.toronto.edu/~kriz/cifar.html
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_SIZE = 170_498_071
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"

CIFAR10_DIR = "cifar-10-batches-py"
TRAIN_MEMBERS = tuple(f"{CIFAR10_DIR}/data_batch_{k}" for k in range(1, 6))
TEST_MEMBER = f"{CIFAR10_DIR}/test_batch"
META_MEMBER = f"{CIFAR10_DIR}/batches.meta"
LABEL_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
N_CLASSES = 10
N_PIXELS = 3 * 32 * 32

CHUNK_SIZE = 1 << 20  # bytes per read while fetching
_TAR_BUFFER = 1 << 20  # bytes per read from a .tar.gz stream
PROGRESS_SECONDS = 5.0  # a progress line at least this often (and every 10%)
_RETRY_HTTP_CODES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ChecksumError(ValueError):
    """A fetched file's digest differs from the expected one; nothing was kept."""


class DownloadError(OSError):
    """A download failed for good (retries exhausted or a permanent HTTP error)."""


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


# -- fetch -----------------------------------------------------------------------------------


class _TransientError(Exception):
    """A network failure worth another attempt."""


def _stderr_line(line):
    print(line, file=sys.stderr, flush=True)


def _expected_digests(sha256, md5):
    expected = {}
    for name, value, length in (("sha256", sha256, 64), ("md5", md5, 32)):
        if value is None:
            continue
        if not isinstance(value, str) or not re.fullmatch(f"[0-9a-fA-F]{{{length}}}", value):
            raise ValueError(f"fetch: {name} must be {length} hex digits, got {value!r}")
        expected[name] = value.lower()
    if not expected:
        raise ValueError("fetch: give sha256= or md5= (or both); unverified downloads are not kept")
    return expected


def _parse_source(url):
    """``(http_url, None)`` for http(s) URLs, ``(None, Path)`` for file:// URLs and paths."""
    if isinstance(url, os.PathLike):
        return None, Path(url)
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"fetch: url must be a non-empty string or a path, got {url!r}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if any(ord(c) < 33 or ord(c) == 127 for c in url):
            raise ValueError(f"fetch: malformed URL {url!r}: whitespace or control characters")
        try:
            parts.port  # noqa: B018  (raises ValueError on a bad port)
        except ValueError as exc:
            raise ValueError(f"fetch: malformed URL {url!r}: {exc}") from None
        if not parts.hostname:
            raise ValueError(f"fetch: malformed URL {url!r}: no host name")
        return url, None
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(
                f"fetch: file URL {url!r} names host {parts.netloc!r}; only local files are supported"
            )
        if not parts.path:
            raise ValueError(f"fetch: malformed URL {url!r}: no path")
        return None, Path(urllib.request.url2pathname(parts.path))
    if scheme == "":
        return None, Path(url)
    raise ValueError(
        f"fetch: unsupported URL {url!r}: expected http://, https://, file:// or a local path"
    )


class _Progress:
    """Reports ``label: done of total MB (pct%)`` every 10% and every few seconds."""

    def __init__(self, label, total, report):
        self.label, self.total, self.report = label, total, report
        self.done = 0
        self.start = self.last = time.monotonic()
        self.next_pct = 10
        self.reported_done = -1

    def update(self, nbytes):
        self.done += nbytes
        now = time.monotonic()
        pct = 100 * self.done // self.total if self.total else None
        if (pct is not None and pct >= self.next_pct) or now - self.last >= PROGRESS_SECONDS:
            self._emit(now)
            if pct is not None:
                self.next_pct = (pct // 10 + 1) * 10

    def finish(self):
        if self.done != self.reported_done:
            self._emit(time.monotonic())

    def _emit(self, now):
        rate = self.done / max(now - self.start, 1e-9) / 1e6
        if self.total:
            amount = f"{self.done / 1e6:.1f} of {self.total / 1e6:.1f} MB ({100 * self.done // self.total}%)"
        else:
            amount = f"{self.done / 1e6:.1f} MB"
        self.report(f"fetch {self.label}: {amount}, {rate:.1f} MB/s")
        self.last, self.reported_done = now, self.done


def _copy_stream(src, out, hashers, progress, on_read_error=None):
    while True:
        try:
            chunk = src.read(CHUNK_SIZE)
        except (OSError, http.client.HTTPException) as exc:
            if on_read_error is None:
                raise
            raise on_read_error(exc) from exc
        if not chunk:
            break
        out.write(chunk)
        for h in hashers.values():
            h.update(chunk)
        progress.update(len(chunk))
    progress.finish()


def _describe(exc):
    reason = getattr(exc, "reason", None) if isinstance(exc, urllib.error.URLError) else None
    text = str(reason if reason is not None else exc) or type(exc).__name__
    return " ".join(text.split())


def _download_once(url, out, hashers, timeout, report):
    request = urllib.request.Request(url, headers={"User-Agent": "aenet-fetch/1"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        message = f"HTTP {exc.code} {_describe(exc)}"
        if exc.code in _RETRY_HTTP_CODES:
            raise _TransientError(message) from exc
        raise DownloadError(f"fetch: {url}: {message}") from None
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        raise _TransientError(_describe(exc)) from exc
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        progress = _Progress(url, total, report)
        _copy_stream(
            response, out, hashers, progress,
            on_read_error=lambda exc: _TransientError(f"read failed: {_describe(exc)}"),
        )
    if total is not None and progress.done != total:
        raise _TransientError(f"connection closed after {progress.done} of {total} bytes")


def _download(url, out, hash_names, retries, timeout, backoff, report):
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        out.seek(0)
        out.truncate()
        hashers = {name: hashlib.new(name, usedforsecurity=False) for name in hash_names}
        try:
            _download_once(url, out, hashers, timeout, report)
            return hashers
        except _TransientError as exc:
            if attempt == attempts:
                raise DownloadError(
                    f"fetch: {url}: giving up after {attempts} attempt(s): {exc}"
                ) from exc
            delay = backoff * 2 ** (attempt - 1)
            report(f"fetch {url}: attempt {attempt} of {attempts} failed ({exc}); retrying in {delay:g} s")
            time.sleep(delay)
    raise AssertionError("unreachable")


def fetch(url, dest, sha256=None, md5=None, retries=3, timeout=60, progress=None, backoff=1.0):
    """Download ``url`` to ``dest``, keeping it only if its checksum matches; return ``dest``.

    ``url`` is an ``http://`` or ``https://`` URL, a ``file://`` URL or a local
    path; anything else raises ``ValueError`` naming it.  At least one of
    ``sha256`` and ``md5`` (hex digests) is required, and every digest given
    must match.  The data goes to a temporary file next to ``dest``, which is
    renamed onto ``dest`` only after the checksum passed; on any error nothing
    is left behind and an existing ``dest`` is untouched.

    Network errors (connection failures, timeouts, HTTP 5xx/408/429, a body
    shorter than its Content-Length) are retried ``retries`` more times, after
    ``backoff``, ``2 * backoff``, ``4 * backoff``... seconds; then
    :class:`DownloadError`.  Other HTTP errors (404...) raise
    :class:`DownloadError` at once.  A wrong checksum raises
    :class:`ChecksumError` (not retried: the source is wrong, not the network).
    ``timeout`` is the socket timeout in seconds for each connect and read.

    ``progress`` is called with one line of text every 10% and at least every
    few seconds; ``None`` prints to stderr.

    >>> fetch(CIFAR10_URL, "resources/cifar-10-python.tar.gz", sha256=CIFAR10_SHA256)  # doctest: +SKIP
    """
    expected = _expected_digests(sha256, md5)
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"fetch: retries must be an int >= 0, got {retries!r}")
    http_url, local = _parse_source(url)
    report = progress if progress is not None else _stderr_line
    dest = Path(dest)
    source = http_url or str(local)
    with atomic_open(dest, "wb") as out:
        if http_url is not None:
            hashers = _download(http_url, out, expected, retries, timeout, backoff, report)
        else:
            hashers = {name: hashlib.new(name, usedforsecurity=False) for name in expected}
            with open(local, "rb") as src:
                total = local.stat().st_size
                _copy_stream(src, out, hashers, _Progress(str(local), total, report))
        size = out.tell()
        actual = {name: h.hexdigest() for name, h in hashers.items()}
        wrong = [
            f"{name} expected {expected[name]}, got {actual[name]}"
            for name in expected
            if actual[name] != expected[name]
        ]
        if wrong:
            raise ChecksumError(
                f"fetch: checksum mismatch for {source} ({size} bytes): {'; '.join(wrong)}; "
                f"{dest} was not written"
            )
    report(f"fetch {source}: {size} bytes, {', '.join(expected)} ok -> {dest}")
    return dest


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
    with atomic_open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                for name, payload in members:
                    _add_member(tar, name, payload)
    return Path(path)
