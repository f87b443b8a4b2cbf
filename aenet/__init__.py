"""Lasagne- and nolearn-compatible neural networks on aesara.

Importing :mod:`aenet` prepares aesara before aesara's own code runs: the
numpy 2 compatibility layer (:mod:`aenet.compat`), float32, a compile cache
and a BLAS (:mod:`aenet.compile.settings`).  It then imports aesara and registers
aenet's CPU Ops and rewrites (:func:`finish_setup`).  A program may also
import aesara first: ``aenet.pth`` (see ``aenet_import_hook``) runs the same
steps around aesara's import.
"""
import sys

from aenet import compat
from aenet.compile import settings

__version__ = "0.1.0"


def _aesara_loading():
    """Whether aenet is being imported by the import hook, before aesara's code has run."""
    return getattr(sys.modules.get("aenet_import_hook"), "loading", False)


def finish_setup():
    """Patch aesara for numpy 2 and register aenet's C Ops and rewrites (once aesara is imported)."""
    import aesara  # noqa: F401

    compat.patch_aesara()
    import aenet.cpu  # noqa: F401  (registers the C Ops' rewrites)
    from aenet.compile import memory  # noqa: F401  (keeps freed memory in the heap)
    from aenet.compile import pch

    pch.enable(settings.compile_dir())


compat.restore_removed_names()
settings.configure_aesara(imported="aesara" in sys.modules and not _aesara_loading())
if not _aesara_loading():
    finish_setup()
