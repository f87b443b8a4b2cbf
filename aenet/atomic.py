"""Atomic output files: readers see the old file or the complete new one, never a part.

Every writer goes through :func:`atomic_path`: it writes to a hidden temporary
name in the destination's own folder (so the final rename stays on one file
system) and renames it onto the destination only when the writer finished
without an exception; the writers below also fsync before the rename.  On any
exception, including ``KeyboardInterrupt``, the temporary file is removed and
the destination is left as it was.

>>> from pathlib import Path; import tempfile
>>> out = Path(tempfile.mkdtemp()) / "x.json"
>>> _ = write_json_atomic(out, {"a": 1})
>>> out.read_text()
'{\\n  "a": 1\\n}\\n'
"""
import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def temp_name(path):
    """The temporary sibling of ``path``: ``.<name>.tmp-<pid>-<random>`` in its folder.

    The pid says which process left a stray file behind after a hard kill; the
    random part keeps two writers in one process (threads) apart.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}")


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The body must create the yielded file.  The destination's folder is created
    if needed.  On an exception the temporary file is removed and the exception
    propagates; ``path`` is untouched.

    >>> with atomic_path("out.txt") as tmp:          # doctest: +SKIP
    ...     tmp.write_text("complete or nothing")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"atomic_path: the body did not create {str(tmp)!r} for {str(path)!r}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path, mode="w", **kwargs):
    """``open()`` a temporary file for ``path``; flush, fsync and rename it on success.

    ``mode`` is ``"w"``, ``"wt"`` or ``"wb"``; keywords go to :func:`open`.
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open: mode must be 'w', 'wt' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def save_npy_atomic(path, array):
    """Write ``array`` to ``path`` in ``.npy`` format (no pickles), atomically.

    Unlike ``np.save``, no ``.npy`` suffix is appended to ``path``.
    """
    array = np.asanyarray(array)
    with atomic_open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)
    return Path(path)


def write_bytes_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path, text, encoding="utf-8"):
    """Write ``text`` to ``path`` atomically (``"\\n"`` line endings, no translation)."""
    with atomic_open(path, "w", encoding=encoding, newline="\n") as f:
        f.write(text)
    return Path(path)


def write_json_atomic(path, obj, indent=2, sort_keys=False, **kwargs):
    """Write ``obj`` as JSON (indented, with a final newline) to ``path`` atomically.

    Extra keywords go to :func:`json.dumps`.  The object is serialized before
    anything is written, so an unserializable value leaves no file behind.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, **kwargs) + "\n"
    return write_text_atomic(path, text)
