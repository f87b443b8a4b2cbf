"""Lasagne- and nolearn-compatible neural networks on aesara.

Importing :mod:`aenet` settles, without importing aesara, what must be set
before aesara's own code runs: the numpy names aesara needs on numpy 2
(:mod:`aenet.compat`), float32, the compile cache and a BLAS
(:mod:`aenet.compile.settings`).  The subpackages that build graphs
(:mod:`aenet.lasagne`, :mod:`aenet.nolearn`, :mod:`aenet.jax`) and
:func:`aenet.device.configure` then call :func:`require_aesara`, which
imports aesara and registers aenet's numpy 2 patches, C Ops and rewrites.
A program may import aesara itself, before or after aenet: ``aenet.pth``
(see ``aenet_import_hook``) runs the same steps around aesara's import.
"""
import sys

from aenet import compat
from aenet.compile import settings

__version__ = "0.1.0"

_set_up = False


def _aesara_loading():
    """Whether aenet is being imported by the import hook, before aesara's code has run."""
    return getattr(sys.modules.get("aenet_import_hook"), "loading", False)


def require_aesara():
    """Import aesara with aenet's set-up (:func:`finish_setup`), once per process."""
    import aesara  # noqa: F401  (through the import hook, this already finishes the set-up)

    finish_setup()


def finish_setup():
    """Patch aesara for numpy 2 and register aenet's C Ops and rewrites (once aesara is imported)."""
    global _set_up
    if _set_up:
        return
    _set_up = True
    import aesara  # noqa: F401

    compat.patch_aesara()
    import aenet.cpu  # noqa: F401  (registers the C Ops' rewrites)
    from aenet.compile import memory  # noqa: F401  (keeps freed memory in the heap)
    from aenet.compile import pch

    pch.enable(settings.compile_dir())


compat.restore_removed_names()
_aesara_first = "aesara" in sys.modules and not _aesara_loading()
settings.configure_aesara(imported=_aesara_first)
if _aesara_first:
    finish_setup()
