"""Fixtures for every test: the device after a test, and ``gpu`` / ``no_gpu`` for tests that need a working GPU or its absence."""
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def restore_lasagne_rng():
    """Leave aenet.lasagne's random generator as each test found it (building a net may set it)."""
    from aenet.lasagne.random import get_rng, set_rng

    saved = get_rng()
    yield
    set_rng(saved)


@pytest.fixture(autouse=True)
def restore_thread_settings():
    """Leave OMP_NUM_THREADS as each test found it (setting a thread count writes it)."""
    saved = os.environ.get("OMP_NUM_THREADS")
    yield
    if saved is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = saved


@pytest.fixture
def back_to_cpu():
    """Leave aenet on the cpu device after a test that configures another."""
    yield
    from aenet import device

    device.configure("cpu")


@pytest.fixture(scope="module")
def jax_cpu():
    """aenet on JAX's CPU backend for a whole test module; the previous device afterwards."""
    from aenet import device

    previous = device.current()
    device.configure("jax-cpu")
    yield
    device.configure(previous)


@functools.lru_cache(maxsize=None)
def gpu_status():
    """``(True, used device)`` where ``aenet.device.configure("gpu")`` works here, else ``(False, why not)``.

    Without an NVIDIA driver or a JAX CUDA plugin the answer is known at once;
    otherwise a fresh interpreter configures the device (JAX starts one
    platform per process, so this one's is left alone).  Asked once per session.
    """
    from aenet import device

    if not Path("/proc/driver/nvidia/version").exists() and shutil.which("nvidia-smi") is None:
        return False, "no NVIDIA driver (no /proc/driver/nvidia/version, no nvidia-smi)"
    if not device.installed_cuda_plugins():
        return False, "no JAX CUDA plugin installed (jax[cuda13] or jax[cuda12])"
    script = "from aenet import device; device.configure('gpu'); print(device.used_device())"
    env = {key: value for key, value in os.environ.items() if key != "JAX_PLATFORMS"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    lines = (result.stdout if result.returncode == 0 else result.stderr).strip().splitlines()
    if result.returncode == 0:
        return True, lines[-1]
    return False, lines[-1] if lines else f"configure('gpu') exited with status {result.returncode}"


@pytest.fixture(scope="session")
def gpu():
    """``device.used_device()`` on the gpu device; the test is skipped, with the reason, where it cannot run."""
    works, detail = gpu_status()
    if not works:
        pytest.skip(f"needs a usable GPU: {detail}")
    return detail


@pytest.fixture(scope="session")
def no_gpu():
    """For tests of the failure without a GPU: skipped where ``device=gpu`` works."""
    works, detail = gpu_status()
    if works:
        pytest.skip(f"device=gpu works here ({detail})")
    return detail
