"""Device selection: which aesara backend compiles aenet's functions.

``cpu``      aesara's C backend (FAST_RUN) with OpenBLAS.
``gpu``      aesara's JAX backend on a CUDA device (``JAX_PLATFORMS=cuda``).
``jax-cpu``  aesara's JAX backend on the CPU, to compare XLA with aesara's C code.

:func:`configure` never falls back to another device: when the requested one
cannot be used it raises :class:`DeviceError` naming what is missing, and the
previous device stays selected.

On the JAX devices, aenet's JAX implementations of the convolution, pooling
and softmax Ops are registered (:mod:`aenet.jax_ops`), 64-bit types are off
(float32 stays float32), computations are pinned to the selected platform's
first device, and float32 matrix products and convolutions run at full
float32 precision (``jax_default_matmul_precision="highest"``): without it,
recent NVIDIA GPUs would use TF32 and not reproduce the CPU's results.
"""
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import time
from pathlib import Path

DEVICES = ("cpu", "gpu", "jax-cpu")
JAX_PLATFORM = {"gpu": "cuda", "jax-cpu": "cpu"}
JAX_VERSION = "0.7.1"
GPU_INSTALL = f"pip install 'jax[cuda12]=={JAX_VERSION}' (NVIDIA driver >= 525)"
MATMUL_PRECISION = "highest"

_current = {"name": "cpu", "mode": None, "jax_device": None}


class DeviceError(RuntimeError):
    """The requested device cannot be used on this machine."""


def configure(name, excluding=()):
    """Select the device ``name`` for every function aenet compiles from now on.

    ``excluding`` (``cpu`` only) names rewrite tags to leave out, such as
    aenet's CPU rewrites to compare against aesara's own Ops.
    """
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; expected one of {', '.join(DEVICES)}")
    if excluding and name != "cpu":
        raise ValueError(f"excluding= applies to the cpu device only, not {name!r}")
    if name == "cpu":
        from aesara.compile.mode import get_mode

        mode, jax_dev = get_mode("FAST_RUN"), None
        if excluding:
            mode = mode.excluding(*excluding)
    else:
        jax_dev = _start_jax(name)
        from aenet.jax_ops import JAX_MODE

        mode = JAX_MODE
    _current.update(name=name, mode=mode, jax_device=jax_dev)
    return name


def current():
    """The name of the configured device."""
    return _current["name"]


def mode():
    """The aesara Mode for the configured device (FAST_RUN until configured)."""
    if _current["mode"] is None:
        configure("cpu")
    return _current["mode"]


def function(inputs, outputs, updates=None):
    """Compile a function for the configured device, its shared variables kept there.

    On ``cpu`` this is ``aesara.function(..., mode=mode())`` (the shared
    variables already live in host memory), kept in
    :mod:`aenet.function_cache` so that later runs skip the graph rewrites.  On the JAX devices it is an
    :class:`aenet.jax_ops.DeviceFunction`: parameters, optimizer state and
    random streams stay on the device between calls, one copy per shared
    variable for all such functions, and outputs are device arrays.  Either
    way ``sync()`` puts the latest values into the shared variables (call it
    before reading or saving them on the host) and ``reload()`` sends values
    set on the shared variables to the device.
    """
    if current() == "cpu":
        from aenet import function_cache

        compiled = function_cache.function(inputs, outputs, updates=updates, mode=mode(), allow_input_downcast=True)
        compiled.sync = compiled.reload = lambda: None
        return compiled
    from aenet.jax_ops import DeviceFunction

    return DeviceFunction(inputs, outputs, updates=updates, mode=mode())


def put(array):
    """``array`` on the configured device: a JAX array there, or a NumPy array on ``cpu``.

    Meant for data used by many calls (a training set): it is copied once.
    """
    import numpy as np

    if current() == "cpu":
        return np.asarray(array)
    import jax

    return jax.device_put(np.asarray(array), _current["jax_device"])


def _start_jax(name):
    """Check the stack for ``name``, start JAX on its platform and return the device to use."""
    if importlib.util.find_spec("jax") is None:
        raise DeviceError(f"device {name!r} needs JAX, which is not installed: pip install 'jax=={JAX_VERSION}'")
    platform_name = JAX_PLATFORM[name]
    if name == "gpu":
        _check_cuda_stack()
    import jax

    if jax.__version__ != JAX_VERSION:
        raise DeviceError(
            f"device {name!r}: aenet needs jax {JAX_VERSION} (the last release for numpy<2, "
            f"which aesara needs), found {jax.__version__}"
        )
    # Effective until JAX starts its backends; the environment is for child processes.
    started = jax.config.jax_platforms
    jax.config.update("jax_platforms", platform_name)
    try:
        devices = jax.devices(platform_name)
    except Exception as error:  # noqa: BLE001  (JAX raises RuntimeError or plugin errors)
        jax.config.update("jax_platforms", started)
        hint = GPU_INSTALL if name == "gpu" else "check the jaxlib installation"
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise DeviceError(
            f"device {name!r}: JAX found no {platform_name} device ({detail}); {hint}"
            + (
                f". JAX in this process was started for {started!r}; use a new process"
                if started and started != platform_name
                else ""
            )
        ) from None
    if not devices:
        raise DeviceError(f"device {name!r}: JAX found no {platform_name} device; {GPU_INSTALL}")
    os.environ["JAX_PLATFORMS"] = platform_name
    jax.config.update("jax_enable_x64", False)
    jax.config.update("jax_default_matmul_precision", MATMUL_PRECISION)
    jax.config.update("jax_default_device", devices[0])
    return devices[0]


def _check_cuda_stack():
    """Name the first missing piece of the CUDA stack, before JAX hides it."""
    plugin = _find_module("jax_cuda12_plugin") or _find_module("jax_plugins.xla_cuda12")
    if not plugin:
        raise DeviceError(
            f"device 'gpu': no jaxlib CUDA plugin (jax_cuda12_plugin) installed; {GPU_INSTALL}"
        )
    try:
        version = importlib.metadata.version("jax-cuda12-plugin")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version is not None and version != JAX_VERSION:
        raise DeviceError(
            f"device 'gpu': jax-cuda12-plugin {version} does not match jax {JAX_VERSION}; {GPU_INSTALL}"
        )
    if not Path("/proc/driver/nvidia/version").exists() and shutil.which("nvidia-smi") is None:
        raise DeviceError(
            "device 'gpu': no NVIDIA driver found (/proc/driver/nvidia/version missing, "
            "no nvidia-smi); install the NVIDIA driver >= 525"
        )


def _find_module(name):
    """Whether module ``name`` can be imported (a missing parent package counts as missing)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def jax_device():
    """The JAX device aenet computes on, as ``{"platform", "kind", "id"}``, or None on cpu."""
    device = _current["jax_device"]
    if device is None:
        return None
    return {"platform": device.platform, "kind": device.device_kind, "id": device.id}


def used_device():
    """A one-line description of the hardware that actually computes, for metrics files."""
    info = jax_device()
    if info is None:
        return f"cpu: {cpu_model()} (aesara C backend)"
    kind = cpu_model() if info["platform"] == "cpu" else info["kind"]
    return f"{info['platform']}: {kind} (aesara JAX backend)"


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or platform.processor()."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def exp_check(vlen=10 * 30 * 768, iters=1000):
    """The post's device check: time ``iters`` calls of exp over a float32 vector.

    The vector is a shared variable kept on the device (:func:`function`), as
    Theano kept it on the GPU.
    """
    import aesara
    import aesara.tensor as at
    import numpy as np

    x = aesara.shared(np.random.default_rng(22).random(vlen, dtype=np.float32), name="x")
    f = function([], at.exp(x))
    f()
    start = time.perf_counter()
    for _ in range(iters):
        result = f()
    getattr(result, "block_until_ready", lambda: None)()  # JAX returns before computing
    seconds = time.perf_counter() - start
    return {
        "vector_length": vlen,
        "iterations": iters,
        "seconds": seconds,
        "dtype": str(np.asarray(result).dtype),
        "computed_on": used_device(),
    }
