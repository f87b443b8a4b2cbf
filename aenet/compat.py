"""aesara 2.9.4 on numpy 2: the numpy changes it predates, answered one by one.

aesara 2.9.4 was written for numpy 1.x.  Each fix below names the numpy 2
change it answers and does nothing where that change does not apply, so the
same code runs on numpy 1.26 and numpy 2.x.  Nothing installed is edited:

- :func:`restore_removed_names` puts back, on the numpy module, the names
  numpy 2.0 removed and aesara still calls (NEP 52).  It must run before
  aesara is imported: ``import aesara`` itself calls ``np.obj2sctype``.
- :func:`patch_aesara` rewrites the C text of the aesara Ops that use C-API
  names numpy 2 removed or changed, and adds a mark to those Ops' cache
  versions so that patched and unpatched builds never share a cache entry.
- :func:`patch_jax_random` fixes aesara's JAX conversion of random generators.
- :func:`compile_flags` gives the compiler flags numpy 2's headers need.

Not answered (aenet uses none of them): the complex-number C code of aesara's
Elemwise Ops (numpy 2's ``npy_cfloat`` has no ``.real``/``.imag`` in C++).
"""
import inspect
import re

# numpy 2's NPY_RAVEL_AXIS (NPY_MIN_INT): "no axis" in its C API.
RAVEL_AXIS = -(2**31)
# Appended to the cache version of every Op whose C text is patched.
PATCH_MARK = "aenet-numpy2-1"


def numpy_major():
    """The installed numpy's major version."""
    import numpy as np

    return int(np.__version__.split(".")[0])


def numpy2():
    """Whether the installed numpy is 2.x or newer."""
    return numpy_major() >= 2


# -- Python names numpy 2.0 removed (NEP 52) -----------------------------------


def _dtype(rep):
    """``np.dtype(rep)``, also for objects whose ``.dtype`` is a name (as aesara's types are).

    numpy 1 accepted those; numpy 2 wants ``.dtype`` to be a dtype.
    """
    import numpy as np

    try:
        return np.dtype(rep)
    except (TypeError, ValueError):
        if isinstance(getattr(rep, "dtype", None), str):
            return np.dtype(rep.dtype)
        raise


class _Cast:
    """numpy 1's ``np.cast[dtype](x)``: ``x`` as an array of ``dtype``."""

    def __getitem__(self, dtype):
        import numpy as np

        dtype = _dtype(dtype)
        return lambda x: np.asarray(x).astype(dtype)


def _obj2sctype(rep, default=None):
    """numpy 1's ``np.obj2sctype``: the scalar type of ``rep``, or ``default``."""
    try:
        return _dtype(rep).type
    except (TypeError, ValueError):
        return default


def removed_names():
    """The names numpy 2.0 removed that aesara uses, with numpy 1 meanings."""
    import numpy as np

    return {
        "obj2sctype": _obj2sctype,  # aesara.tensor.type: dtype checks at import
        "cast": _Cast(),  # scalar gradients (exp2, arcsin, ...), batchnorm
        "sctype2char": lambda sctype: np.dtype(sctype).char,  # Elemwise C code
        "AxisError": np.exceptions.AxisError,  # moved to np.exceptions
        "ComplexWarning": np.exceptions.ComplexWarning,  # moved to np.exceptions
        # aesara's softmax C code compares its axis with NPY_MAXDIMS, 64 in numpy 2.
        "MAXDIMS": 64,
    }


def restore_removed_names():
    """Put :func:`removed_names` back on numpy 2; return the names set (none on numpy 1)."""
    import numpy as np

    if not numpy2():
        return []
    added = [name for name in removed_names() if name not in vars(np)]
    for name in added:
        setattr(np, name, removed_names()[name])
    return added


# -- C text of aesara's Ops ----------------------------------------------------

# numpy 2 removed PyArray_MoveInto (PyArray_CopyInto does the same for
# non-overlapping arrays) and the descriptor's public elsize field.
_BLAS_FIXES = (
    (re.compile(r"\bPyArray_MoveInto\b"), "PyArray_CopyInto"),
    (re.compile(r"PyArray_DESCR\(([^()]+)\)->elsize"), r"PyArray_ITEMSIZE(\1)"),
)
# numpy 2's C API raises AxisError for NPY_MAXDIMS (now 64) as an axis; "no
# axis" is NPY_RAVEL_AXIS.  Only for Ops that pass it to the C API.
_AXIS_FIXES = ((re.compile(r"\bNPY_MAXDIMS\b"), "NPY_RAVEL_AXIS"),)

# (module, class, C text fixes); the methods patched are those that class defines.
C_TEXT_FIXES = (
    ("aesara.tensor.blas", "GemmRelated", _BLAS_FIXES),
    ("aesara.tensor.blas", "Gemm", _BLAS_FIXES),
    ("aesara.tensor.blas", "Dot22", _BLAS_FIXES),
    ("aesara.tensor.blas", "Dot22Scalar", _BLAS_FIXES),
    ("aesara.tensor.blas", "BatchedDot", _BLAS_FIXES),
    ("aesara.tensor.blas_c", "BaseBLAS", _BLAS_FIXES),
    ("aesara.tensor.math", "MaxAndArgmax", _AXIS_FIXES),
    ("aesara.tensor.math", "Argmax", _AXIS_FIXES),
    ("aesara.tensor.extra_ops", "CumOp", _AXIS_FIXES),
    ("aesara.tensor.subtensor", "AdvancedSubtensor1", _AXIS_FIXES),
)
C_TEXT_METHODS = ("c_code", "c_support_code", "c_support_code_apply", "c_code_cleanup", "build_gemm_call")


def fix_c_text(text, fixes):
    """``text`` with every ``(pattern, replacement)`` of ``fixes`` applied."""
    for pattern, replacement in fixes:
        text = pattern.sub(replacement, text)
    return text


def _patch_methods(cls, fixes):
    for name in C_TEXT_METHODS:
        method = vars(cls).get(name)
        if method is None or getattr(method, "_aenet_fixes", None) is not None:
            continue

        def fixed(self, *args, _method=method, **kwargs):
            return fix_c_text(_method(self, *args, **kwargs), fixes)

        fixed._aenet_fixes = fixes
        setattr(cls, name, fixed)
    _mark_cache_version(cls)


def _mark_cache_version(cls):
    """Add :data:`PATCH_MARK` to ``cls``'s C cache version (unversioned Ops stay so)."""
    version = inspect.getattr_static(cls, "c_code_cache_version")  # may be a staticmethod
    if getattr(version, "_aenet_marked", False):
        return

    def marked(self, _version=version):
        base = _version.__get__(self, type(self))()
        return (*base, PATCH_MARK) if base else base

    marked._aenet_marked = True
    cls.c_code_cache_version = marked


def _python_only(cls):
    """Make aesara use ``cls``'s Python ``perform`` instead of its C code."""
    from aesara.graph.utils import MethodNotDefined

    def no_c_code(self, *args, **kwargs):
        raise MethodNotDefined(f"{type(self).__name__}: numpy 2 removed the MapIter C API it uses")

    cls.c_code = no_c_code


def patch_aesara():
    """Apply the C text fixes to aesara's Ops on numpy 2; return the classes patched."""
    import importlib

    if not numpy2():
        return []
    patched = []
    for module_name, class_name, fixes in C_TEXT_FIXES:
        cls = getattr(importlib.import_module(module_name), class_name)
        _patch_methods(cls, fixes)
        patched.append(cls)
    # numpy 2 removed the MapIter API that AdvancedIncSubtensor1's C code uses
    # (it falls back to np.add.at, as aesara's perform does).
    from aesara.tensor.extra_ops import CumOp
    from aesara.tensor.subtensor import AdvancedIncSubtensor1

    _python_only(AdvancedIncSubtensor1)
    patched.append(AdvancedIncSubtensor1)
    # CumOp's C code compares its axis parameter with the renamed constant.
    CumOp.c_axis = property(lambda self: RAVEL_AXIS if self.axis is None else self.axis)
    _patch_generator_equality()
    _python_scan()
    return patched


def _python_scan():
    """Make aesara's Scan run its Python loop: its Cython loop (``scan_perform.c``,
    shipped pre-generated) reads a descriptor field numpy 2 removed, and Scan
    raises instead of falling back when it does not compile."""
    from aesara.scan.op import Scan

    original = Scan.make_thunk

    def make_thunk(self, node, storage_map, compute_map, no_recycling, impl=None):
        return original(self, node, storage_map, compute_map, no_recycling, impl="py")

    Scan.make_thunk = make_thunk


def _generator_state(rng):
    """A numpy Generator's state as numpy 1's ``Generator.__getstate__`` gave it."""
    return dict(rng.bit_generator.state)


def _patch_generator_equality():
    """numpy 2's ``Generator.__getstate__()`` is None, so aesara found all generators equal."""
    from aesara.tensor.random.type import RandomGeneratorType

    compare = RandomGeneratorType.values_eq
    if getattr(compare, "_aenet_fixed", False):
        return

    def values_eq(a, b):
        import numpy as np

        state = lambda g: g if isinstance(g, dict) else _generator_state(g)  # noqa: E731
        if isinstance(a, (dict, np.random.Generator)) and isinstance(b, (dict, np.random.Generator)):
            return compare(state(a), state(b))
        return compare(a, b)

    values_eq._aenet_fixed = True
    RandomGeneratorType.values_eq = staticmethod(values_eq)


def patch_jax_random():
    """Register a JAX conversion of numpy Generators that reads ``bit_generator.state``.

    aesara's own reads ``Generator.__getstate__()``, which is None on numpy 2.
    """
    if not numpy2():
        return False
    import numpy as np
    from aesara.link.jax.dispatch import jax_typify
    from aesara.link.jax.dispatch.random import jax_typify_Generator

    if getattr(jax_typify.dispatch(np.random.Generator), "_aenet_fixed", False):
        return False

    class _StateView:
        """What aesara's converter reads of a Generator: ``__getstate__()``."""

        def __init__(self, rng):
            self.rng = rng

        def __getstate__(self):
            return _generator_state(self.rng)

    def typify_generator(rng, **kwargs):
        return jax_typify_Generator(_StateView(rng), **kwargs)

    typify_generator._aenet_fixed = True
    jax_typify.register(np.random.Generator, typify_generator)
    return True


def compile_flags():
    """Compiler flags aesara's C needs with numpy 2's headers (none on numpy 1).

    numpy 2's ``npy_3kcompat.h`` no longer defines ``NPY_PY3K`` (without it
    aesara's lazylinker_c.c takes its Python 2 branches) nor the ``PyInt_*``
    aliases of ``PyLong_*`` that lazylinker_c.c calls.
    """
    if not numpy2():
        return []
    aliases = ("AsLong", "FromLong", "Check")
    return ["-DNPY_PY3K", *(f"-DPyInt_{name}=PyLong_{name}" for name in aliases)]
