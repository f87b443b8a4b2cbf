"""Device selection: which aesara backend compiles aenet's functions.

``cpu``      aesara's C backend (FAST_RUN) with OpenBLAS.
``gpu``      aesara's JAX backend on a CUDA device (``JAX_PLATFORMS=cuda``).
``jax-cpu``  aesara's JAX backend on the CPU, to compare XLA with aesara's C code.

:func:`configure` never falls back to another device: when the requested one
cannot be used it raises :class:`DeviceError` naming what is missing.
"""
import importlib.util
import os
import platform
import shutil
import time
from pathlib import Path

DEVICES = ("cpu", "gpu", "jax-cpu")
JAX_PLATFORM = {"gpu": "cuda", "jax-cpu": "cpu"}
GPU_INSTALL = "pip install 'jax[cuda12]==0.7.1' (NVIDIA driver >= 525)"

_current = {"name": "cpu", "mode": None}


class DeviceError(RuntimeError):
    """The requested device cannot be used on this machine."""


def configure(name):
    """Select the device ``name`` for every function aenet compiles from now on."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; expected one of {', '.join(DEVICES)}")
    if name == "cpu":
        mode = "FAST_RUN"
    else:
        _start_jax(name)
        mode = "JAX"
    from aesara.compile.mode import get_mode

    _current.update(name=name, mode=get_mode(mode))
    return name


def current():
    """The name of the configured device."""
    return _current["name"]


def mode():
    """The aesara Mode for the configured device (FAST_RUN until configured)."""
    if _current["mode"] is None:
        configure("cpu")
    return _current["mode"]


def _start_jax(name):
    if importlib.util.find_spec("jax") is None:
        raise DeviceError(f"device {name!r} needs JAX, which is not installed: {GPU_INSTALL}")
    platform_name = JAX_PLATFORM[name]
    os.environ["JAX_PLATFORMS"] = platform_name
    if name == "gpu":
        _check_cuda_stack()
    import jax

    jax.config.update("jax_enable_x64", False)
    try:
        devices = jax.devices(platform_name)
    except RuntimeError as error:
        raise DeviceError(
            f"device {name!r}: JAX found no {platform_name} device ({error}); {GPU_INSTALL}"
        ) from None
    if not devices:
        raise DeviceError(f"device {name!r}: JAX found no {platform_name} device; {GPU_INSTALL}")
    from aenet import jax_ops  # noqa: F401  (registers aenet's JAX implementations)


def _check_cuda_stack():
    """Name the first missing piece of the CUDA stack, before JAX hides it."""
    plugin = importlib.util.find_spec("jax_cuda12_plugin") or importlib.util.find_spec(
        "jax_plugins.xla_cuda12"
    )
    if plugin is None:
        raise DeviceError(f"device 'gpu': no jaxlib CUDA plugin (jax_cuda12_plugin) installed; {GPU_INSTALL}")
    if not Path("/proc/driver/nvidia/version").exists() and shutil.which("nvidia-smi") is None:
        raise DeviceError(
            "device 'gpu': no NVIDIA driver found (/proc/driver/nvidia/version missing, "
            "no nvidia-smi); install the NVIDIA driver >= 525"
        )


def jax_device():
    """The JAX device aenet computes on, as ``{"platform", "kind", "id"}``, or None on cpu."""
    if current() == "cpu":
        return None
    import jax

    device = jax.devices()[0]
    return {"platform": device.platform, "kind": device.device_kind, "id": device.id}


def used_device():
    """A one-line description of the hardware that actually computes, for metrics files."""
    info = jax_device()
    if info is None:
        return f"cpu: {cpu_model()} (aesara C backend)"
    return f"{info['platform']}: {info['kind']} (aesara JAX backend)"


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or platform.processor()."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def exp_check(vlen=10 * 30 * 768, iters=1000):
    """The post's device check: time ``iters`` calls of exp over a float32 vector."""
    import aesara
    import aesara.tensor as at
    import numpy as np

    x = aesara.shared(np.random.default_rng(22).random(vlen, dtype=np.float32), name="x")
    f = aesara.function([], at.exp(x), mode=mode())
    f()
    start = time.perf_counter()
    for _ in range(iters):
        result = f()
    seconds = time.perf_counter() - start
    return {
        "vector_length": vlen,
        "iterations": iters,
        "seconds": seconds,
        "dtype": str(np.asarray(result).dtype),
        "computed_on": used_device(),
    }
