"""A disk cache of compiled aesara functions: a second run skips the graph rewrites.

aesara keeps the C modules it compiles, but rewrites every graph anew, one to
two seconds for a training step.  :func:`function` stores each compiled
function, pickled, under a hash of all that determines it: the graph as given
(structure, types and constants; shared variables by position and type, never
by value), the mode and keywords, aesara's configuration and the versions of
aesara, numpy, Python and aenet's own source.  A hit unpickles the rewritten
graph, links the cached C modules and binds the function to the caller's
shared variables, so its updates land in them as a fresh compile's would.  An
unreadable entry is compiled anew and replaced, with a warning.

The entries live in ``functions/`` beside aesara's compile cache
(:func:`aenet.compile.settings.compile_dir`); ``AENET_FUNCTION_CACHE=0`` turns the
cache off.
"""
import hashlib
import io
import os
import pickle
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

FORMAT = 1  # bump when what is stored changes
_PLAIN = (int, float, bool, str, bytes, type(None))


class FunctionCacheWarning(UserWarning):
    """A cache entry could not be read or written; the function was compiled as usual."""


def enabled():
    return os.environ.get("AENET_FUNCTION_CACHE", "1") != "0"


def function(inputs, outputs, updates=None, mode=None, **kwargs):
    """``aesara.function(inputs, outputs, updates=updates, mode=mode, **kwargs)``, cached on disk."""
    import aesara

    def compile_():
        return aesara.function(inputs, outputs, updates=updates, mode=mode, **kwargs)

    if not enabled():
        return compile_()
    update_pairs = list(updates.items() if hasattr(updates, "items") else updates or [])
    shared = shared_variables(outputs, update_pairs)
    path = entry_path(key(inputs, outputs, update_pairs, shared, mode, kwargs))
    if path.exists():
        try:
            return load(path, shared)
        except Exception as error:  # any damage: compile anew below
            warnings.warn(f"aenet: cached function {path} unreadable ({type(error).__name__}: {error}); "
                          "compiling it anew", FunctionCacheWarning, stacklevel=2)
    compiled = compile_()
    store(path, compiled, shared)
    return compiled


def shared_variables(outputs, update_pairs):
    """The graph's shared variables, in a fixed order (first appearance)."""
    from aesara.compile.sharedvalue import SharedVariable
    from aesara.graph.basic import graph_inputs

    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    roots = graph_inputs(outs + [value for _, value in update_pairs])
    found = [v for v in roots if isinstance(v, SharedVariable)]
    found += [var for var, _ in update_pairs]
    return list({id(v): v for v in found}.values())


class _Pickler(pickle.Pickler):
    """Pickles a graph or function with the shared variables (and their storage) left out."""

    def __init__(self, file, shared, with_types=False):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._ids = {}
        for i, var in enumerate(shared):
            self._ids[id(var)] = ("shared", i, str(var.type) if with_types else None)
            self._ids[id(var.container)] = ("container", i, None)
            self._ids[id(var.container.storage)] = ("storage", i, None)  # what compiled functions share
            if not isinstance(var.container.data, _PLAIN):
                self._ids[id(var.container.data)] = ("value", i, None)

    def persistent_id(self, obj):
        return self._ids.get(id(obj))


class _KeyPickler(_Pickler):
    """Pickles a graph for its hash, without what varies from call to call but does not
    change the compiled function: a variable's ``auto_name`` (a process-wide counter) and
    the stack trace of its creation (kept for error messages)."""

    def __init__(self, file, shared):
        super().__init__(file, shared, with_types=True)

    def reducer_override(self, obj):
        from aesara.graph.basic import Variable

        if not isinstance(obj, Variable):
            return NotImplemented
        state = {k: v for k, v in obj.__dict__.items() if k != "auto_name"}
        state["tag"] = {k: v for k, v in vars(obj.tag).items() if k != "trace"}
        return object.__new__, (type(obj),), state


class _Unpickler(pickle.Unpickler):
    """Loads what :class:`_Pickler` wrote, with the caller's shared variables put back."""

    def __init__(self, file, shared):
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid):
        kind, i, _ = pid
        var = self._shared[i]
        container = var.container
        return {"shared": var, "container": container, "storage": container.storage, "value": container.data}[kind]


def key(inputs, outputs, update_pairs, shared, mode, kwargs):
    """The hash naming a function's cache entry."""
    import aesara

    digest = hashlib.sha256()
    for part in (FORMAT, aesara.__version__, np.__version__, sys.version, _source_digest(),
                 _config_values(), [str(v.type) for v in shared]):
        digest.update(repr(part).encode())
    buffer = io.BytesIO()
    _KeyPickler(buffer, shared).dump((inputs, outputs, update_pairs, mode, sorted(kwargs.items())))
    digest.update(buffer.getvalue())
    return digest.hexdigest()


def _config_values():
    """aesara's settings as (name, value) pairs (its ``str()`` also shows object addresses)."""
    import aesara

    pairs, name = [], None
    for line in str(aesara.config).splitlines():
        if re.match(r"[A-Za-z_]\w* \(", line):
            name = line.split(" ", 1)[0]
        elif line.strip().startswith("Value:"):
            pairs.append((name, line.split("Value:", 1)[1].strip()))
    return pairs


# The code that shapes a compiled function beyond its graph: the rewrites and
# C Ops, the numpy 2 patches, aesara's settings and this module's own format.
SHAPING_SOURCES = ("cpu/**/*.py", "cpu/**/*.c", "compat.py", "compile/settings.py", "compile/function_cache.py")


def shaping_sources():
    """The files of :data:`SHAPING_SOURCES`, relative to the aenet package, sorted."""
    package = Path(__file__).resolve().parents[1]
    return sorted({path.relative_to(package) for pattern in SHAPING_SOURCES for path in package.glob(pattern)})


def _source_digest(_memo=[]):
    """A hash of the :func:`shaping_sources` (names and contents)."""
    if not _memo:
        package = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for path in shaping_sources():
            digest.update(str(path).encode() + b"\0" + (package / path).read_bytes())
        _memo.append(digest.hexdigest())
    return _memo[0]


def entry_path(name):
    from aenet.compile.settings import compile_dir

    return compile_dir() / "functions" / f"{name}.pkl"


def load(path, shared):
    with open(path, "rb") as file:
        return _Unpickler(file, shared).load()


def store(path, compiled, shared):
    """Write ``compiled`` to ``path`` atomically; on failure warn and leave no file."""
    try:
        buffer = io.BytesIO()
        _Pickler(buffer, shared).dump(compiled)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(buffer.getvalue())
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception as error:
        warnings.warn(f"aenet: compiled function not cached in {path.parent} "
                      f"({type(error).__name__}: {error})", FunctionCacheWarning, stacklevel=3)
