"""Configure aesara before it is imported: float32, a compile cache and a BLAS.

aesara only looks for a BLAS in system folders, so a BLAS installed from PyPI
(``scipy-openblas32``) is wired in here through ``blas__ldflags``.  The
library's symbols carry a ``scipy_`` prefix; aesara declares the BLAS
prototypes itself, so ``-D`` renames on the compiler line are enough.
``blas__ldflags`` is always set, empty when there is no BLAS: aesara's own
search imports ``numpy.distutils``, which numpy 2 and Python 3.12 removed.
"""
import ctypes
import os
import sys
import warnings
from pathlib import Path

# BLAS routines that aesara's C code calls.
BLAS_SYMBOLS = (
    "sgemm dgemm sgemv dgemv sger dger sdot ddot saxpy daxpy scopy dcopy sscal dscal"
).split()
THREAD_SYMBOLS = ("openblas_set_num_threads", "openblas_get_num_threads")


class BlasWarning(UserWarning):
    """No BLAS could be linked; aesara runs slower and cannot compile conv2d."""


def compile_dir():
    """aesara's compile cache: ``$AENET_CACHE_DIR`` or ``~/.cache/aenet``, one folder per numpy major version.

    aesara locks its cache, so concurrent processes can share it.  It keys
    some of its modules by its own version only, so numpy 1 and numpy 2
    builds must live apart.
    """
    from aenet.compat import numpy_major

    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aenet"
    return Path(os.environ.get("AENET_CACHE_DIR", default)) / "aesara" / f"numpy{numpy_major()}"


def openblas_library():
    """Path of the PyPI OpenBLAS shared library, or None when it is missing."""
    try:
        import scipy_openblas32
    except ImportError:
        return None
    lib = Path(scipy_openblas32.get_lib_dir()) / f"lib{scipy_openblas32.get_library()}.so"
    return lib if lib.exists() else None


def blas_ldflags(library):
    """aesara ``blas__ldflags`` linking ``library`` with its prefixed symbols renamed."""
    name = library.name[len("lib"):-len(".so")]
    prefix = "scipy_"
    renames = [f"-D{s}_={prefix}{s}_" for s in BLAS_SYMBOLS]
    renames += [f"-D{s}={s.replace('openblas', prefix + 'openblas')}" for s in THREAD_SYMBOLS]
    return " ".join([f"-L{library.parent}", f"-l{name}", *renames])


def aesara_flags():
    """The aesara settings aenet uses, as a dict (no value may contain a comma)."""
    from aenet.compat import compile_flags

    flags = {"floatX": "float32", "base_compiledir": str(compile_dir()), "blas__ldflags": ""}
    numpy_flags = compile_flags()
    if numpy_flags:
        flags["gcc__cxxflags"] = " ".join(numpy_flags)
    library = openblas_library()
    if library is None:
        warnings.warn(
            "aenet: no BLAS found (pip package scipy-openblas32 missing); aesara "
            "falls back to numpy's gemm, about 2x slower, and conv2d cannot compile",
            BlasWarning,
            stacklevel=3,
        )
    else:
        flags["blas__ldflags"] = blas_ldflags(library)
    return flags


def configure_aesara(imported=None):
    """Apply :func:`aesara_flags` before aesara is imported (or to its config after).

    Flags the user already set in ``AESARA_FLAGS`` win over ours, except that
    our compiler flags are added to the user's ``gcc__cxxflags``.
    ``imported`` says whether aesara's code has already run (default: whether
    aesara is in ``sys.modules``).
    """
    user = os.environ.get("AESARA_FLAGS", "")
    user_flags = dict(item.split("=", 1) for item in user.split(",") if "=" in item)
    user_flags = {key.strip(): value for key, value in user_flags.items()}
    ours = aesara_flags()
    if "gcc__cxxflags" in ours and "gcc__cxxflags" in user_flags:
        user_flags["gcc__cxxflags"] = _join_flags(user_flags["gcc__cxxflags"], ours["gcc__cxxflags"])
    ours = {k: v for k, v in ours.items() if k not in user_flags}
    if "aesara" in sys.modules if imported is None else imported:
        import aesara

        for key, value in ours.items():
            if key == "gcc__cxxflags":
                value = _join_flags(aesara.config.gcc__cxxflags, value)
            if key != "base_compiledir":  # fixed once aesara is imported
                setattr(aesara.config, key, value)
        return
    merged = {**ours, **user_flags}
    os.environ["AESARA_FLAGS"] = ",".join(f"{k}={v}" for k, v in merged.items())


def _join_flags(flags, extra):
    """``flags`` with the words of ``extra`` it lacks appended."""
    words = flags.split()
    return " ".join(words + [word for word in extra.split() if word not in words])


def set_num_threads(n):
    """Set the BLAS thread count (OpenBLAS) and OpenMP's, for this process."""
    os.environ["OMP_NUM_THREADS"] = str(n)
    library = openblas_library()
    if library is not None:
        ctypes.CDLL(str(library)).scipy_openblas_set_num_threads(int(n))
