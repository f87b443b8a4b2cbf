"""Precompiled headers for aesara's C modules.

Every C module aesara compiles starts with the same headers (Python, numpy,
the C++ library), and parsing them is most of a small module's compile time.
:func:`enable` has them precompiled at aesara's first compile, once per
compiler and flag set, in two variants (with and without OpenMP), and adds
``-include`` to every g++ command line aesara runs.  g++ uses the variant
whose flags match the module's and reads the plain header when none does: a
mismatch costs time, never correctness.  ``-g0`` drops the debug information
aesara asks for, which nobody reads.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

HEADER_NAME = "aenet_pch.h"
# In the order aesara's modules include them; Python.h must come first.
HEADER = """\
#if __has_include(<Python.h>)  /* not so in aesara's probes of the compiler */
#include <Python.h>
#include <iostream>
#include <math.h>
#include <numpy/arrayobject.h>
#include <numpy/arrayscalars.h>
#include <vector>
#include <algorithm>
#include <string.h>
#include <stdlib.h>
#include <cmath>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#endif
"""
# The variants, by name: the extra flags a module's Ops may add.
VARIANTS = {"plain": [], "openmp": ["-fopenmp"]}


class PchWarning(UserWarning):
    """The headers could not be precompiled; modules compile, only slower."""


def module_flags():
    """The g++ flags aesara puts on every module's command line (ours left out)."""
    import aesara.tensor as at
    from aesara.graph.fg import FunctionGraph
    from aesara.link.c.basic import CLinker

    x = at.scalar()
    linker = CLinker().accept(FunctionGraph([x], [x], clone=False))
    return _without_ours(linker.compile_args())


def _without_ours(flags):
    """``flags`` without the ones :func:`enable` adds (and no ``-g0``)."""
    kept, i = [], 0
    while i < len(flags):
        if flags[i] == "-include" and flags[i + 1 : i + 2] and flags[i + 1].endswith(HEADER_NAME):
            i += 2
            continue
        if flags[i] != "-g0":
            kept.append(flags[i])
        i += 1
    return kept


def include_flags(flags):
    from aesara.link.c.cmodule import std_include_dirs

    return [f"-I{d}" for d in std_include_dirs()] + flags


def pch_dir(cache, compiler, flags):
    """Folder of the precompiled header for this compiler, these flags and this numpy.

    numpy's version and include folder are part of the key: a header built
    against one numpy fails every module of another.
    """
    import numpy as np

    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    parts = [compiler, version, HEADER, np.__version__, np.get_include(), *flags]
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return Path(cache) / "pch" / key[:20]


def build(target, compiler, flags, variants=VARIANTS):
    """Write the header and its variants into ``target`` (atomically; concurrent builds are fine).

    A variant the compiler cannot build (OpenMP missing) is left out: its
    modules read the plain header.  Without the plain variant nothing is kept.
    """
    if (target / HEADER_NAME).exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        header = work / HEADER_NAME
        header.write_text(HEADER)
        (work / f"{HEADER_NAME}.gch").mkdir()
        jobs = [
            subprocess.Popen(
                [compiler, "-x", "c++-header", *include_flags(flags), *extra, "-g0", str(header),
                 "-o", str(work / f"{HEADER_NAME}.gch" / name)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for name, extra in variants.items()
        ]
        failed = {name: job.communicate()[1].strip() for name, job in zip(variants, jobs) if job.wait() != 0}
        if "plain" in failed:
            raise RuntimeError(failed["plain"].splitlines()[-1] if failed["plain"] else "g++ failed")
        work.chmod(0o755)  # mkdtemp's 0o700 would shut out other users of a shared cache
        try:
            os.rename(work, target)
        except OSError:  # another process built it first
            if not (target / HEADER_NAME).exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def enable(cache):
    """Have aesara's g++ calls include the precompiled headers, built (once) at the first compile.

    Nothing runs now: aesara's compiler entry point is wrapped so that its
    first call builds the headers in ``cache`` and every call adds
    ``-include`` to the command line (not to ``gcc__cxxflags``, so module and
    function cache keys do not depend on it).
    """
    from aesara.link.c.cmodule import GCC_compiler

    if os.environ.get("AENET_PRECOMPILED_HEADERS", "1") == "0":
        return
    compile_str = GCC_compiler.compile_str
    if getattr(compile_str, "pch_cache", None) is not None:
        return

    def with_header(module_name, src_code, location=None, include_dirs=None, lib_dirs=None,
                    libs=None, preargs=None, *args, **kwargs):
        preargs = list(preargs or [])
        header = header_for(cache)
        if header is not None:
            preargs = _without_ours(preargs) + ["-g0", "-include", str(header)]
        return compile_str(module_name, src_code, location, include_dirs, lib_dirs, libs, preargs,
                           *args, **kwargs)

    with_header.pch_cache = cache
    GCC_compiler.compile_str = staticmethod(with_header)


_built = {}


def header_for(cache):
    """The precompiled header in ``cache`` for aesara's compiler and flags, built on first use; None if it fails."""
    import aesara

    if cache not in _built:
        flags = module_flags()
        target = pch_dir(cache, aesara.config.cxx, flags)
        try:
            build(target, aesara.config.cxx, flags)
            _built[cache] = target / HEADER_NAME
        except (OSError, RuntimeError) as error:
            warnings.warn(f"aenet: headers not precompiled in {target} ({error}); "
                          "C modules compile about 2.5x slower", PchWarning, stacklevel=2)
            _built[cache] = None
    return _built[cache]
