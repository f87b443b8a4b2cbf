"""Download (or copy) a file, keeping it only when its checksum matches: the download stage.

:func:`fetch` takes an http(s):// or file:// URL or a local path, retries
network failures with backoff, reports progress, and renames the file into
place only after every given digest matched.
"""
import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

CHUNK_SIZE = 1 << 20  # bytes per read while fetching
PROGRESS_SECONDS = 5.0  # a progress line at least this often (and every 10%)
_RETRY_HTTP_CODES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ChecksumError(ValueError):
    """A fetched file's digest differs from the expected one; nothing was kept."""


class DownloadError(OSError):
    """A download failed for good (retries exhausted or a permanent HTTP error)."""


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
    # By hand: urllib3's Retry (locked, via requests) does not retry a body that breaks off mid-read.
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

    >>> fetch("https://example.org/data.tar.gz", "resources/data.tar.gz", sha256="ab12...")  # doctest: +SKIP
    """
    from aenet.atomic import atomic_open

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

