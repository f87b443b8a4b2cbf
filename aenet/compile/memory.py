"""Keep freed memory in the process heap, so training steps do not page-fault.

aesara frees each intermediate array of a compiled function as soon as its
last reader has run (``allow_gc``), and allocates it again on the next call.
glibc serves blocks above its mmap threshold (128 KiB, raised dynamically to
at most a few MiB) with fresh ``mmap`` pages and hands large free blocks at
the top of the heap back to the kernel, so every training step faults in its
intermediates again (README, "Benchmark", gives what that costs the post's CNN).

:func:`keep_freed_memory` raises glibc's mmap threshold to its maximum
(32 MiB) and its trim threshold to 1 GiB, so freed blocks are reused from the
heap without faults.  The process keeps its peak heap size instead of
returning it to the kernel.  aenet's set-up (:func:`aenet.require_aesara`)
applies it on glibc systems;
``AENET_KEEP_FREED_MEMORY=0`` in the environment turns it off.  aesara's own
``allow_gc=False`` flag has the same effect on aesara's intermediates (it
keeps every function's buffers between calls), if set before aesara is
imported.
"""
import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
TRIM_THRESHOLD = 1024 * 1024 * 1024

_applied = {}


def keep_freed_memory(mmap_threshold=MMAP_THRESHOLD, trim_threshold=TRIM_THRESHOLD):
    """Set glibc's mmap and trim thresholds; return True when both were accepted.

    Does nothing (returns False) where the C library is not glibc.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
        mallopt(M_TRIM_THRESHOLD, int(trim_threshold))
    )
    _applied.update(mmap_threshold=mmap_threshold, trim_threshold=trim_threshold, ok=ok)
    return ok


def applied():
    """The settings :func:`keep_freed_memory` applied in this process ({} if none)."""
    return dict(_applied)


if os.environ.get("AENET_KEEP_FREED_MEMORY", "1") not in ("0", "false", "False", "no"):
    keep_freed_memory()
