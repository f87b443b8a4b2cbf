"""What a device is, for the workflow's configure stage: ``results/device/{device}.json``.

:func:`describe` selects the device with :func:`aenet.device.configure` (which
raises :class:`aenet.device.DeviceError` when it cannot be used: there is no
fallback), runs the post's ``exp`` check on it and collects the aesara
settings, the hardware found and the package versions.
"""
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path

# Distributions whose versions go into every device and metrics file.
PACKAGES = (
    "aenet", "aesara", "numpy", "scipy", "scipy-openblas32", "jax", "jaxlib",
    "jax-cuda13-plugin", "jax-cuda13-pjrt", "jax-cuda12-plugin", "jax-cuda12-pjrt",
    "snakemake", "pandas", "matplotlib",
)  # fmt: skip


def versions():
    """``{"python": ..., package: version}`` for the installed :data:`PACKAGES`."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def aesara_settings():
    """The aesara settings functions are compiled with on the configured device."""
    import aesara

    from aenet import device

    mode = device.mode()
    config = aesara.config
    return {
        "floatX": config.floatX,
        "mode": "FAST_RUN" if device.current() == "cpu" else "JAX",
        "linker": type(mode.linker).__name__,
        "config_linker": config.linker,
        "optimizer": str(config.optimizer),
        "blas__ldflags": config.blas__ldflags,
        "cxx": config.cxx,
        "openmp": bool(config.openmp),
        "compiledir": str(config.compiledir),
        "AESARA_FLAGS": os.environ.get("AESARA_FLAGS", ""),
    }


def _physical_cores(cpuinfo_text):
    """Distinct (physical id, core id) pairs in /proc/cpuinfo text, or None."""
    cores, physical = set(), "0"
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            cores.add((physical, value.strip()))
    return len(cores) or None


def _memory_mb(meminfo_text):
    for line in meminfo_text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def nvidia_smi():
    """GPUs as nvidia-smi lists them (name, driver, memory in MiB), or [] without it."""
    if shutil.which("nvidia-smi") is None:
        return []
    query = "name,driver_version,memory.total"
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            name, driver, memory = parts
            gpus.append({"name": name, "driver": driver, "memory_mb": int(memory) if memory.isdigit() else memory})
    return gpus


def jax_gpus():
    """The GPUs JAX computes on (after ``configure("gpu")``): kind, id, memory limit."""
    import jax

    gpus = []
    for d in jax.devices():
        if d.platform != "gpu" and d.platform != "cuda":
            continue
        stats = {}
        try:
            stats = d.memory_stats() or {}
        except Exception:  # not every backend reports memory
            pass
        limit = stats.get("bytes_limit")
        gpus.append({
            "name": d.device_kind,
            "id": d.id,
            "memory_mb": limit // 2**20 if limit else None,
        })  # fmt: skip
    return gpus


def hardware(device_name):
    """CPU model and cores, memory, and the GPUs (JAX's view on ``gpu``, nvidia-smi's)."""
    from aenet import device

    cpuinfo = _read("/proc/cpuinfo")
    info = {
        "cpu_model": device.cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "physical_cores": _physical_cores(cpuinfo),
        "memory_mb": _memory_mb(_read("/proc/meminfo")),
        "machine": platform.machine(),
        "system": platform.platform(),
    }
    driver = _read("/proc/driver/nvidia/version").splitlines()
    info["nvidia_driver"] = driver[0].strip() if driver else None
    info["nvidia_smi"] = nvidia_smi()
    info["gpus"] = jax_gpus() if device_name == "gpu" else []
    return info


def describe(device_name):
    """Configure ``device_name`` and return its description (a JSON-able dict).

    Raises :class:`aenet.device.DeviceError` when the device cannot be used and
    ``ValueError`` for a name not in :data:`aenet.device.DEVICES`.
    """
    from aenet import device

    device.configure(device_name)
    check = device.exp_check()
    return {
        "device": device_name,
        "used_device": device.used_device(),
        "cuda_plugin": device.cuda_plugin(),
        "exp_check": check,
        "aesara": aesara_settings(),
        "hardware": hardware(device_name),
        "versions": versions(),
    }
