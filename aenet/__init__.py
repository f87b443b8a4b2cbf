"""Lasagne- and nolearn-compatible neural networks on aesara.

Importing :mod:`aenet` prepares aesara before aesara's own code runs: the
numpy 2 compatibility layer (:mod:`aenet.compat`), float32, a compile cache
and a BLAS (:mod:`aenet.backend`).  It then imports aesara and registers
aenet's CPU Ops and rewrites (:func:`finish_setup`).  A program may also
import aesara first: ``aenet.pth`` (see ``aenet_import_hook``) runs the same
steps around aesara's import.
"""
import sys

from aenet import backend, compat

__version__ = "0.1.0"


def _aesara_loading():
    """Whether aenet is being imported by the import hook, before aesara's code has run."""
    return getattr(sys.modules.get("aenet_import_hook"), "loading", False)


def finish_setup():
    """Patch aesara for numpy 2 and register aenet's C Ops and rewrites (once aesara is imported)."""
    import aesara  # noqa: F401

    compat.patch_aesara()
    from aenet import conv  # noqa: F401  (registers the conv rewrites)
    from aenet import pool  # noqa: F401  (registers the max-pool rewrites)
    from aenet import fusion  # noqa: F401  (registers the fused backward-pass rewrites)
    from aenet import corr  # noqa: F401  (registers the batched convolution rewrites)
    from aenet import dot  # noqa: F401  (registers the threaded dense-product rewrite)
    from aenet import fold  # noqa: F401  (folds small constants in Python, not C)
    from aenet import memory  # noqa: F401  (keeps freed memory in the heap; see aenet.memory)
    from aenet import pch

    pch.enable(backend.compile_dir())


compat.restore_removed_names()
backend.configure_aesara(imported="aesara" in sys.modules and not _aesara_loading())
if not _aesara_loading():
    finish_setup()
