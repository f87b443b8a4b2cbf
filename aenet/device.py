"""Device selection: which aesara backend compiles aenet's functions.

``cpu``      aesara's C backend (FAST_RUN) with OpenBLAS.
``gpu``      aesara's JAX backend on a CUDA device (``JAX_PLATFORMS=cuda``).
``jax-cpu``  aesara's JAX backend on the CPU, to compare XLA with aesara's C code.

:func:`configure` never falls back to another device: when the requested one
cannot be used it raises :class:`DeviceError` naming what is missing, and the
previous device stays selected.

The JAX devices take any jax in :data:`SUPPORTED_JAX`.  ``gpu`` takes JAX's
CUDA 13 or CUDA 12 plugin, whichever is installed at jaxlib's version
(``pip install "jax[cuda13]==<jax version>"``, NVIDIA driver >= 580, or
``"jax[cuda12]==<jax version>"``, driver >= 525); a plugin of another version
is an error naming both versions.

On the JAX devices, aenet's JAX implementations of the convolution, pooling
and softmax Ops are registered (:mod:`aenet.jax`), 64-bit types are off
(float32 stays float32), computations are pinned to the selected platform's
first device, and float32 matrix products and convolutions run at full
float32 precision (``jax_default_matmul_precision="highest"``): without it,
recent NVIDIA GPUs would use TF32 and not reproduce the CPU's results.
"""
import importlib.metadata
import importlib.util
import os
import platform
import re
import shutil
import time
from collections import namedtuple
from pathlib import Path

import aenet

DEVICES = ("cpu", "gpu", "jax-cpu")
JAX_PLATFORM = {"gpu": "cuda", "jax-cpu": "cpu"}
# The jax releases aenet runs on: from 0.7.1, the last one for numpy < 2, through 0.12.
SUPPORTED_JAX = ">=0.7.1,<0.13"
MATMUL_PRECISION = "highest"

# JAX's CUDA wheels: the kernels (``jax_cudaNN_plugin``) and the PJRT plugin
# (``jax_plugins.xla_cudaNN``) JAX loads, each a distribution whose version
# must equal jaxlib's.  The driver minimums are those of JAX's installation
# guide; CUDA 13 wheels exist from jax 0.7.2 on.  Tried in this order.
CudaLine = namedtuple("CudaLine", "cuda modules distributions min_driver first_jax")
CUDA_LINES = (
    CudaLine(13, ("jax_cuda13_plugin", "jax_plugins.xla_cuda13"), ("jax-cuda13-plugin", "jax-cuda13-pjrt"),
             min_driver=580, first_jax="0.7.2"),
    CudaLine(12, ("jax_cuda12_plugin", "jax_plugins.xla_cuda12"), ("jax-cuda12-plugin", "jax-cuda12-pjrt"),
             min_driver=525, first_jax=None),
)  # fmt: skip

_current = {"name": "cpu", "mode": None, "jax_device": None, "cuda": None}


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
    aenet.require_aesara()
    if name == "cpu":
        from aesara.compile.mode import get_mode

        mode, jax_dev, cuda = get_mode("FAST_RUN"), None, None
        if excluding:
            mode = mode.excluding(*excluding)
    else:
        jax_dev, cuda = _start_jax(name)
        from aenet.jax import JAX_MODE

        mode = JAX_MODE
    _current.update(name=name, mode=mode, jax_device=jax_dev, cuda=cuda)
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
    :mod:`aenet.compile.function_cache` so that later runs skip the graph rewrites.  On the JAX devices it is an
    :class:`aenet.jax.DeviceFunction`: parameters, optimizer state and
    random streams stay on the device between calls, one copy per shared
    variable for all such functions, and outputs are device arrays.  Either
    way ``sync()`` puts the latest values into the shared variables (call it
    before reading or saving them on the host) and ``reload()`` sends values
    set on the shared variables to the device.
    """
    if current() == "cpu":
        from aenet.compile import function_cache

        compiled = function_cache.function(inputs, outputs, updates=updates, mode=mode(), allow_input_downcast=True)
        compiled.sync = compiled.reload = lambda: None
        return compiled
    from aenet.jax import DeviceFunction

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
    """Check the stack for ``name``, start JAX on its platform; return the device and the CUDA plugin.

    The plugin is as :func:`cuda_plugin` gives it on ``gpu``, None on ``jax-cpu``.
    """
    if importlib.util.find_spec("jax") is None:
        hint = gpu_install() if name == "gpu" else f'pip install "jax{SUPPORTED_JAX}"'
        raise DeviceError(f"device {name!r} needs JAX, which is not installed; {hint}")
    import jax

    jax_version = jax.__version__
    if not version_in(jax_version, SUPPORTED_JAX):
        hint = gpu_install() if name == "gpu" else f'pip install "jax{SUPPORTED_JAX}"'
        raise DeviceError(f"device {name!r}: aenet supports jax {SUPPORTED_JAX}, found jax {jax_version}; {hint}")
    platform_name = JAX_PLATFORM[name]
    cuda = _check_cuda_stack(jax_version, jaxlib_version()) if name == "gpu" else None
    # Effective until JAX starts its backends; the environment is for child processes.
    started = jax.config.jax_platforms
    jax.config.update("jax_platforms", platform_name)
    try:
        devices = jax.devices(platform_name)
    except Exception as error:  # noqa: BLE001  (JAX raises RuntimeError or plugin errors)
        jax.config.update("jax_platforms", started)
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        hint = _no_device_hint(name, cuda, jax_version)
        raise DeviceError(
            f"device {name!r}: JAX found no {platform_name} device ({detail}); {hint}"
            + (
                f". JAX in this process was started for {started!r}; use a new process"
                if started and started != platform_name
                else ""
            )
        ) from None
    if not devices:
        raise DeviceError(
            f"device {name!r}: JAX found no {platform_name} device; {_no_device_hint(name, cuda, jax_version)}"
        )
    os.environ["JAX_PLATFORMS"] = platform_name
    jax.config.update("jax_enable_x64", False)
    jax.config.update("jax_default_matmul_precision", MATMUL_PRECISION)
    jax.config.update("jax_default_device", devices[0])
    return devices[0], cuda


def version_in(version, spec):
    """Whether ``version`` satisfies ``spec`` (such as :data:`SUPPORTED_JAX`); development builds count.

    Uses :mod:`packaging` when it is installed, else compares the leading
    numbers of each version (``0.12.0.dev1`` as ``0.12.0``).
    """
    try:
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion, Version
    except ImportError:
        pass
    else:
        try:
            return SpecifierSet(spec).contains(Version(version), prereleases=True)
        except InvalidVersion:
            pass
    compare = {
        ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    }  # fmt: skip
    found = _release(version)
    for clause in spec.split(","):
        op, bound = re.fullmatch(r"\s*(>=|<=|==|!=|<|>)\s*(\S+)\s*", clause).groups()
        bound = _release(bound)
        width = max(len(found), len(bound))
        if not compare[op](found + (0,) * (width - len(found)), bound + (0,) * (width - len(bound))):
            return False
    return True


def _release(version):
    """The leading dotted numbers of ``version`` as a tuple (``"0.7.1rc1"`` -> ``(0, 7, 1)``)."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def _same_release(a, b):
    """Whether two versions have the same release numbers, as jaxlib compares a plugin with itself."""
    return _release(a) == _release(b)


def jaxlib_version():
    """The installed jaxlib's version, as jaxlib reports it."""
    try:
        from jaxlib.version import __version__

        return __version__
    except ImportError:
        return importlib.metadata.version("jaxlib")


def gpu_install(jax_version=None):
    """The commands that install JAX's CUDA wheels for ``jax_version`` (any supported one if None)."""
    pin = f"=={jax_version}" if jax_version else SUPPORTED_JAX
    commands = [
        f'pip install "jax[cuda{line.cuda}]{pin}" (NVIDIA driver >= {line.min_driver})'
        for line in CUDA_LINES
        if jax_version is None or line.first_jax is None or version_in(jax_version, f">={line.first_jax}")
    ]
    return " or ".join(commands)


def installed_cuda_plugins():
    """``[(line, {distribution: version or None})]`` for each of :data:`CUDA_LINES` with a module installed.

    A version is None where the module is there but not its distribution's metadata.
    """
    found = []
    for line in CUDA_LINES:
        if any(_find_module(module) for module in line.modules):
            found.append((line, {dist: _distribution_version(dist) for dist in line.distributions}))
    return found


def _distribution_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _check_cuda_stack(jax_version, lib_version):
    """Pick the installed CUDA plugin that matches jaxlib, and check for a driver, before JAX hides what is missing."""
    installed = installed_cuda_plugins()
    if not installed:
        modules = " or ".join(line.modules[0] for line in CUDA_LINES)
        raise DeviceError(
            f"device 'gpu': no jaxlib CUDA plugin ({modules}) installed; {gpu_install(jax_version)}"
        )
    mismatched = []
    for line, versions in installed:
        wrong = [f"{dist} {v}" for dist, v in versions.items() if v is not None and not _same_release(v, lib_version)]
        if not wrong:
            break
        mismatched += wrong
    else:
        raise DeviceError(
            f"device 'gpu': {' and '.join(mismatched)} {'does' if len(mismatched) == 1 else 'do'} not match "
            f"jaxlib {lib_version} (a CUDA plugin's version must equal jaxlib's); {gpu_install(jax_version)}"
        )
    if not Path("/proc/driver/nvidia/version").exists() and shutil.which("nvidia-smi") is None:
        raise DeviceError(
            "device 'gpu': no NVIDIA driver found (/proc/driver/nvidia/version missing, "
            f"no nvidia-smi); install the NVIDIA driver >= {line.min_driver}, which CUDA {line.cuda} "
            f"({line.distributions[0]}) needs"
        )
    found = [(dist, v) for dist, v in versions.items() if v is not None]
    plugin, version = found[0] if found else (next(m for m in line.modules if _find_module(m)), None)
    return {"cuda": line.cuda, "plugin": plugin, "version": version}


def _no_device_hint(name, cuda, jax_version):
    """What to check when JAX finds no device for ``name``."""
    if name != "gpu":
        return "check the jaxlib installation"
    plugin = cuda["plugin"] + (f" {cuda['version']}" if cuda["version"] else "")
    driver = nvidia_driver_version()
    minimum = next(line.min_driver for line in CUDA_LINES if line.cuda == cuda["cuda"])
    found = f"NVIDIA driver {driver}" if driver else "no NVIDIA driver version in /proc/driver/nvidia/version"
    return f"{plugin} is installed, which needs an NVIDIA driver >= {minimum} ({found}); {gpu_install(jax_version)}"


def nvidia_driver_version(text=None):
    """The loaded NVIDIA kernel module's version (``"580.65.06"``), or None.

    ``text`` is the content of /proc/driver/nvidia/version (read when None).
    """
    if text is None:
        try:
            text = Path("/proc/driver/nvidia/version").read_text()
        except OSError:
            return None
    match = re.search(r"Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)", text)
    return match.group(1) if match else None


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


def cuda_plugin():
    """JAX's CUDA plugin on ``gpu`` as ``{"cuda": 13, "plugin": "jax-cuda13-plugin", "version": ...}``, else None.

    ``plugin`` is the first of the line's distributions found (its module where
    no distribution metadata is installed; ``version`` is None then).
    """
    return dict(_current["cuda"]) if _current["cuda"] else None


def used_device():
    """A one-line description of the hardware that actually computes, for metrics files.

    ``cpu: <model> (aesara C backend)``, ``cpu: <model> (aesara JAX backend)``
    or, on ``gpu``, ``gpu: <GPU name> (aesara JAX backend, jax-cuda13-plugin 0.10.2)``.
    """
    info = jax_device()
    if info is None:
        return f"cpu: {cpu_model()} (aesara C backend)"
    kind = cpu_model() if info["platform"] == "cpu" else info["kind"]
    backend = "aesara JAX backend"
    cuda = _current["cuda"]
    if cuda and info["platform"] != "cpu":
        backend += f", {cuda['plugin']}" + (f" {cuda['version']}" if cuda["version"] else "")
    return f"{info['platform']}: {kind} ({backend})"


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
