"""aenet.device: one setting selects the backend; no device is ever silently replaced.

The GPU cannot be used on the machines these tests run on, so ``gpu`` must
fail with a message that names the missing piece (checked for each piece by
faking the ones before it in a child process), and leave the configured
device as it was.
"""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aenet import device

HAS_JAX = importlib.util.find_spec("jax") is not None
HAS_CUDA_PLUGIN = importlib.util.find_spec("jax_cuda12_plugin") is not None
HAS_NVIDIA_DRIVER = Path("/proc/driver/nvidia/version").exists()
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed")
no_gpu_stack = pytest.mark.skipif(HAS_CUDA_PLUGIN, reason="a CUDA plugin is installed here")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(autouse=True)
def restore_device():
    """Each test starts on the configured device and leaves it (and JAX_PLATFORMS) as it found them."""
    previous, platforms = device.current(), os.environ.get("JAX_PLATFORMS")
    yield
    device.configure(previous)
    if platforms is None:
        os.environ.pop("JAX_PLATFORMS", None)
    else:
        os.environ["JAX_PLATFORMS"] = platforms


def test_unknown_device_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError, match=r"unknown device 'tpu'; expected one of cpu, gpu, jax-cpu"):
        device.configure("tpu")


def test_cpu_is_aesaras_c_backend():
    from aesara.compile.mode import get_mode

    device.configure("cpu")
    assert device.current() == "cpu"
    assert device.mode() is get_mode("FAST_RUN")
    assert device.jax_device() is None
    assert device.used_device() == f"cpu: {device.cpu_model()} (aesara C backend)"


@needs_jax
def test_jax_cpu_is_aenets_jax_mode_on_the_cpu():
    import jax

    from aenet.jax_ops import JAX_MODE

    assert device.configure("jax-cpu") == "jax-cpu"
    assert device.current() == "jax-cpu"
    assert device.mode() is JAX_MODE
    assert type(JAX_MODE.linker).__name__ == "JAXLinker"
    assert {"cxx_only", "conv_opts", "AbstractConvCheck"} <= set(JAX_MODE.provided_optimizer.exclude)
    assert device.jax_device() == {"platform": "cpu", "kind": "cpu", "id": 0}
    assert device.used_device() == f"cpu: {device.cpu_model()} (aesara JAX backend)"
    assert os.environ["JAX_PLATFORMS"] == "cpu"
    assert jax.config.jax_enable_x64 is False
    assert jax.config.jax_default_matmul_precision == "highest"
    check = device.exp_check(vlen=1000, iters=3)
    assert check["dtype"] == "float32"
    assert check["computed_on"] == device.used_device()


@needs_jax
@no_gpu_stack
@pytest.mark.parametrize("start", ["cpu", "jax-cpu"])
def test_gpu_without_cuda_plugin_names_it_and_keeps_the_device(start):
    device.configure(start)
    mode, platforms = device.mode(), os.environ.get("JAX_PLATFORMS")
    with pytest.raises(device.DeviceError) as error:
        device.configure("gpu")
    message = str(error.value)
    assert "no jaxlib CUDA plugin (jax_cuda12_plugin) installed" in message
    assert "pip install 'jax[cuda12]==0.7.1'" in message and "driver >= 525" in message
    assert device.current() == start
    assert device.mode() is mode
    assert os.environ.get("JAX_PLATFORMS") == platforms


def run_python(script, env=None, timeout=300):
    """Run ``script`` in a fresh interpreter; return its last stdout line, parsed as JSON.

    ``env`` updates the environment; a None value removes the variable.
    """
    full_env = {**os.environ, **(env or {})}
    full_env = {key: value for key, value in full_env.items() if value is not None}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(script)],
        capture_output=True, text=True, env=full_env, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@needs_jax
def test_jax_cpu_overrides_a_jax_platforms_setting_made_before_jax_started():
    """JAX_PLATFORMS=cuda in the environment and jax already imported: jax-cpu still runs on the CPU."""
    out = run_python(
        """
        import json, os
        import jax
        from aenet import device
        device.configure("jax-cpu")
        import jax.numpy as jnp
        print(json.dumps({
            "env": os.environ["JAX_PLATFORMS"],
            "device": device.jax_device(),
            "computed_on": sorted(d.platform for d in (jnp.ones(3) * 2).devices()),
        }))
        """,
        env={"JAX_PLATFORMS": "cuda"},
    )
    assert out == {"env": "cpu", "device": {"platform": "cpu", "kind": "cpu", "id": 0}, "computed_on": ["cpu"]}


@needs_jax
@no_gpu_stack
@pytest.mark.skipif(HAS_NVIDIA_DRIVER, reason="an NVIDIA driver is installed here")
def test_gpu_names_each_missing_piece_of_the_cuda_stack(tmp_path):
    """Fake the CUDA plugin, then the driver, then a mismatched plugin version, one by one."""
    (tmp_path / "jax_cuda12_plugin").mkdir()
    (tmp_path / "jax_cuda12_plugin" / "__init__.py").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    out = run_python(
        f"""
        import json, os, stat
        from pathlib import Path
        from aenet import device

        tmp, bin_dir = Path({str(tmp_path)!r}), Path({str(bin_dir)!r})
        messages = []

        def attempt():
            try:
                device.configure("gpu")
            except device.DeviceError as error:
                messages.append(str(error))
            assert device.current() == "cpu" and "JAX_PLATFORMS" not in os.environ

        attempt()  # plugin found, no driver
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\\nexit 1\\n")
        smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
        os.environ["PATH"] = f"{{bin_dir}}:{{os.environ['PATH']}}"
        attempt()  # plugin and driver found, JAX sees no CUDA device
        info = tmp / "jax_cuda12_plugin-0.6.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\\nName: jax-cuda12-plugin\\nVersion: 0.6.0\\n")
        attempt()  # a plugin for another JAX
        device.configure("jax-cpu")  # the failed attempts left JAX usable
        messages.append(device.used_device())
        print(json.dumps(messages))
        """,
        env={"PYTHONPATH": str(tmp_path), "JAX_PLATFORMS": None},
    )
    assert len(out) == 4
    assert out[0].startswith("device 'gpu': no NVIDIA driver found") and "driver >= 525" in out[0]
    assert out[1].startswith("device 'gpu': JAX found no cuda device") and "jax[cuda12]==0.7.1" in out[1]
    assert out[2].startswith("device 'gpu': jax-cuda12-plugin 0.6.0 does not match jax 0.7.1")
    assert out[3].startswith("cpu: ") and out[3].endswith("(aesara JAX backend)")


@pytest.mark.parametrize("name", ["cpu", pytest.param("jax-cpu", marks=needs_jax)])
def test_function_keeps_shared_variables_on_the_device_until_synced(name):
    """``device.function`` and ``device.put``: one training-style API for every device."""
    import aesara
    import aesara.tensor as at
    import numpy as np

    device.configure(name)
    w = aesara.shared(np.ones(3, dtype=np.float32), name="w")
    data, index = at.matrix("data"), at.ivector("index")
    loss = (data[index] @ w).sum()
    step = device.function([data, index], loss, updates={w: w - np.float32(0.5) * aesara.grad(loss, w)})
    X = device.put(np.arange(12, dtype=np.float32).reshape(4, 3))
    assert isinstance(X, np.ndarray) == (name == "cpu")
    losses = [float(step(X, np.array([0, 1], np.int32))) for _ in range(2)]
    assert losses == [15.0, -26.5]  # the gradient is always (3, 5, 7): w = 1, then (-0.5, -1.5, -2.5)
    step.sync()
    np.testing.assert_array_equal(w.get_value(), [-2, -4, -6])
    w.set_value(np.zeros(3, np.float32))
    step.reload()
    assert float(step(X, np.array([3], np.int32))) == 0.0
