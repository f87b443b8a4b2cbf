"""The base of aenet's OpenMP C Ops, and the C sources they compile.

:class:`ThreadedCOp` gives an Op the compile flags of aesara's BLAS plus
OpenMP (when the compiler has it) and the C function ``aenet_threads()``, the
job's thread count (aenet keeps it as OpenBLAS's).  :class:`BlasThreadedCOp`
adds aesara's BLAS declarations and ``aenet_blas_one_thread()`` /
``aenet_blas_restore()`` for Ops that call ``gemm`` from their own threads.

The C sources live in ``c/`` next to this module: :func:`c_source` reads one,
:func:`c_template` fills in the ``%(name)s`` fields of a per-node template and
:func:`c_source_version` hashes sources for ``c_code_cache_version``.
"""
import functools
import hashlib
import os
from pathlib import Path

from aesara.link.c.op import COp

__all__ = [
    "PARALLEL_MIN_ELEMENTS",
    "BlasThreadedCOp",
    "ThreadedCOp",
    "c_source",
    "c_template",
    "c_source_version",
    "openmp_flags",
    "uses_openblas",
]

#: the directory of aenet's C sources
C_DIR = Path(__file__).resolve().parent / "c"

#: elementwise kernels use more than one thread from this many input elements on
PARALLEL_MIN_ELEMENTS = 1 << 16

# OpenMP threads that spin while they wait for work take a core from the
# thread that has work whenever the cores are shared.  Waiting threads sleep
# instead, unless the user chose otherwise.  libgomp reads this when it is
# loaded, which is when the first of these Ops is.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@functools.lru_cache(maxsize=None)
def c_source(name):
    """The text of ``c/<name>``; a missing file raises ``FileNotFoundError`` naming it."""
    path = C_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"aenet C source {path} is missing")
    return path.read_text()


def c_template(name, **values):
    """``c/<name>`` with each ``%(key)s`` filled in from ``values``."""
    try:
        return c_source(name) % values
    except KeyError as missing:
        raise KeyError(f"aenet C template {C_DIR / name} needs a value for {missing}") from None


def c_source_version(*names):
    """A short hash of the named C sources, for an Op's ``c_code_cache_version``."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0" + c_source(name).encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def openmp_flags():
    """``["-fopenmp"]`` when the compiler supports OpenMP (aesara's own test, run once), else []."""
    from aesara.link.c.op import OpenMPOp

    return ["-fopenmp"] if OpenMPOp.test_gxx_support() else []


def uses_openblas():
    """Whether aesara links OpenBLAS (whose thread count aenet sets)."""
    from aesara import config

    return "openblas" in config.blas__ldflags


def _openblas_define():
    flag = int(uses_openblas())
    return f"#ifndef AENET_OPENBLAS\n#define AENET_OPENBLAS {flag}\n#endif\n"


class ThreadedCOp(COp):
    """A COp whose C code may use OpenMP, with as many threads as aenet's BLAS has."""

    def c_support_code(self, **kwargs):
        return _openblas_define() + c_source("threads.c")

    def c_compile_args(self, **kwargs):
        from aesara.tensor.blas import ldflags

        return ldflags(libs=False, flags=True) + openmp_flags()

    def c_libraries(self, **kwargs):
        from aesara.tensor.blas import ldflags

        return ldflags()

    def c_lib_dirs(self, **kwargs):
        from aesara.tensor.blas import ldflags

        return ldflags(libs=False, libs_dir=True)

    def c_headers(self, **kwargs):
        return ["<omp.h>"] if openmp_flags() else []

    def threads_version(self):
        """The part of ``c_code_cache_version`` that the thread setup decides."""
        return (uses_openblas(), bool(openmp_flags()), c_source_version("threads.c"))


class BlasThreadedCOp(ThreadedCOp):
    """A :class:`ThreadedCOp` that calls aesara's BLAS, one BLAS thread per OpenMP thread.

    BLAS runs on one thread while the Op's own threads share the work: a
    multi-threaded BLAS wakes its threads for every mid-sized call, which
    costs more than it saves and stalls when the cores are shared.
    """

    def c_support_code(self, **kwargs):
        from aesara.tensor import blas_headers

        code = super().c_support_code(**kwargs) + blas_headers.blas_header_text()
        if uses_openblas():
            code += blas_headers.openblas_threads_text()
        return code + c_source("blas_threads.c")

    def c_header_dirs(self, **kwargs):
        from aesara.tensor.blas import ldflags

        return ldflags(libs=False, include_dir=True)

    def threads_version(self):
        from aesara.tensor import blas_headers

        return super().threads_version() + (
            blas_headers.blas_header_version(),
            c_source_version("blas_threads.c"),
        )
