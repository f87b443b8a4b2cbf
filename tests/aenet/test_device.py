"""aenet.device: one setting selects the backend; no device is ever silently replaced.

Where the GPU cannot be used, ``gpu`` must fail with a message that names the
missing piece (checked for each piece by faking the ones before it in a child
process: CUDA 12 and CUDA 13 plugins, their distributions' versions, the
driver), and leave the configured device as it was.  Where it can be used
(the ``gpu`` fixture), it must compute on the GPU and train as the C backend
does.
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
HAS_CUDA_PLUGIN = bool(device.installed_cuda_plugins())
HAS_NVIDIA_DRIVER = Path("/proc/driver/nvidia/version").exists()
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed")
no_gpu_stack = pytest.mark.skipif(HAS_CUDA_PLUGIN, reason="a JAX CUDA plugin is installed here")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def jax_version():
    import jax

    return jax.__version__


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

    from aenet.jax import JAX_MODE

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
    message, version = str(error.value), jax_version()
    assert message.startswith(
        "device 'gpu': no jaxlib CUDA plugin (jax_cuda13_plugin or jax_cuda12_plugin) installed; pip install"
    )
    assert f'pip install "jax[cuda12]=={version}" (NVIDIA driver >= 525)' in message
    if device.version_in(version, ">=0.7.2"):  # the first jax with CUDA 13 wheels
        assert f'pip install "jax[cuda13]=={version}" (NVIDIA driver >= 580) or ' in message
    else:
        assert "cuda13]" not in message
    assert device.current() == start
    assert device.mode() is mode
    assert os.environ.get("JAX_PLATFORMS") == platforms


def test_gpu_install_names_each_cuda_line_with_its_driver():
    assert device.gpu_install("0.7.1") == 'pip install "jax[cuda12]==0.7.1" (NVIDIA driver >= 525)'
    assert device.gpu_install("0.10.2") == (
        'pip install "jax[cuda13]==0.10.2" (NVIDIA driver >= 580) or '
        'pip install "jax[cuda12]==0.10.2" (NVIDIA driver >= 525)'
    )
    assert device.gpu_install() == (
        f'pip install "jax[cuda13]{device.SUPPORTED_JAX}" (NVIDIA driver >= 580) or '
        f'pip install "jax[cuda12]{device.SUPPORTED_JAX}" (NVIDIA driver >= 525)'
    )


VERSIONS = {
    "0.7.1": True, "0.7.2": True, "0.9.0.1": True, "0.10.2": True, "0.11.0": True, "0.12.0.1": True,
    "0.12.1.dev20261010": True, "0.7.0": False, "0.6.2": False, "0.13.0": False, "0.13.0.dev20261010": False,
    "1.0.0": False,
}  # fmt: skip


@pytest.mark.parametrize("packaging", [True, False], ids=["packaging", "tuples"])
def test_supported_jax_range(packaging, monkeypatch):
    """With packaging (a snakemake dependency) or, without it, by comparing release numbers: the same answers."""
    assert device.SUPPORTED_JAX == ">=0.7.1,<0.13"
    if not packaging:
        monkeypatch.setitem(sys.modules, "packaging.specifiers", None)
    assert {v: device.version_in(v, device.SUPPORTED_JAX) for v in VERSIONS} == VERSIONS


@needs_jax
@pytest.mark.parametrize("name, found", [("jax-cpu", "0.6.2"), ("gpu", "0.13.0")])
def test_jax_outside_the_supported_range_names_the_range_and_keeps_the_device(name, found, monkeypatch):
    import jax

    device.configure("cpu")
    monkeypatch.setattr(jax, "__version__", found)
    with pytest.raises(device.DeviceError) as error:
        device.configure(name)
    message = str(error.value)
    assert message.startswith(f"device {name!r}: aenet supports jax >=0.7.1,<0.13, found jax {found}; ")
    if name == "gpu":
        assert message.endswith(device.gpu_install()) and 'pip install "jax[cuda12]>=0.7.1,<0.13"' in message
    else:
        assert message.endswith('pip install "jax>=0.7.1,<0.13"')
    assert device.current() == "cpu" and device.jax_device() is None


def test_nvidia_driver_version_from_the_kernel_module():
    proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n"
    open_module = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06  Release Build  (dvs@U16)\n"
    assert device.nvidia_driver_version(proprietary) == "535.104.05"
    assert device.nvidia_driver_version(open_module) == "580.65.06"
    assert device.nvidia_driver_version("GCC version:  gcc version 12.2.0\n") is None


def run_python(script, env=None, timeout=300):
    """Run ``script`` in a fresh interpreter; return its last stdout line, parsed as JSON.

    ``env`` updates the environment; a None value removes the variable.  The
    script can import the tests' ``helpers``.
    """
    tests = str(Path(__file__).resolve().parents[1])
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [tests, os.environ.get("PYTHONPATH")])),
                **(env or {})}
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
    """Fake a CUDA 12 plugin, then the driver, then plugin versions and a CUDA 13 plugin, one by one."""
    (tmp_path / "jax_cuda12_plugin").mkdir()
    (tmp_path / "jax_cuda12_plugin" / "__init__.py").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    out = run_python(
        f"""
        import importlib, json, os, stat
        from pathlib import Path
        from aenet import device

        tmp, bin_dir = Path({str(tmp_path)!r}), Path({str(bin_dir)!r})
        messages = []

        def attempt():
            importlib.invalidate_caches()
            try:
                device.configure("gpu")
            except device.DeviceError as error:
                messages.append(str(error))
            assert device.current() == "cpu" and "JAX_PLATFORMS" not in os.environ

        def distribution(name, version):
            info = tmp / f"{{name.replace('-', '_')}}-{{version}}.dist-info"
            for old in tmp.glob(f"{{name.replace('-', '_')}}-*.dist-info"):
                (old / "METADATA").unlink()
                old.rmdir()
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\\nName: {{name}}\\nVersion: {{version}}\\n")

        attempt()  # a CUDA 12 plugin found, no driver
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\\nexit 1\\n")
        smi.chmod(smi.stat().st_mode | stat.S_IEXEC)
        os.environ["PATH"] = f"{{bin_dir}}:{{os.environ['PATH']}}"
        attempt()  # plugin and driver found, JAX sees no CUDA device
        distribution("jax-cuda12-plugin", "0.6.0")
        attempt()  # a plugin for another jaxlib
        pjrt = tmp / "jax_plugins" / "xla_cuda13"  # the namespace form, as jax-cuda13-pjrt installs it
        pjrt.mkdir(parents=True)
        (pjrt / "__init__.py").write_text("def initialize():\\n    pass\\n")
        distribution("jax-cuda13-pjrt", "0.6.1")
        attempt()  # CUDA 13 and CUDA 12 plugins, neither for this jaxlib
        distribution("jax-cuda13-pjrt", device.jaxlib_version())
        attempt()  # the CUDA 13 one matches: it is the one taken
        device.configure("jax-cpu")  # the failed attempts left JAX usable
        messages.append(device.used_device())
        print(json.dumps(messages))
        """,
        env={"PYTHONPATH": str(tmp_path), "JAX_PLATFORMS": None},
    )
    lib, install = device.jaxlib_version(), device.gpu_install(jax_version())
    assert len(out) == 6
    assert out[0] == (
        "device 'gpu': no NVIDIA driver found (/proc/driver/nvidia/version missing, no nvidia-smi); "
        "install the NVIDIA driver >= 525, which CUDA 12 (jax-cuda12-plugin) needs"
    )
    assert out[1].startswith("device 'gpu': JAX found no cuda device (")
    assert out[1].endswith(
        "; jax_cuda12_plugin is installed, which needs an NVIDIA driver >= 525 "
        f"(no NVIDIA driver version in /proc/driver/nvidia/version); {install}"
    )
    assert out[2] == (
        f"device 'gpu': jax-cuda12-plugin 0.6.0 does not match jaxlib {lib} "
        f"(a CUDA plugin's version must equal jaxlib's); {install}"
    )
    assert out[3] == (
        f"device 'gpu': jax-cuda13-pjrt 0.6.1 and jax-cuda12-plugin 0.6.0 do not match jaxlib {lib} "
        f"(a CUDA plugin's version must equal jaxlib's); {install}"
    )
    assert out[4].startswith("device 'gpu': JAX found no cuda device (")
    assert f"; jax-cuda13-pjrt {lib} is installed, which needs an NVIDIA driver >= 580 (" in out[4]
    assert out[5].startswith("cpu: ") and out[5].endswith("(aesara JAX backend)")


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


# -- on a machine with a usable GPU ------------------------------------------------------------
# Each test runs in a fresh interpreter: JAX starts one platform per process.


def test_gpu_computes_on_a_cuda_device(gpu):
    out = run_python(
        """
        import json, os
        from aenet import device
        device.configure("gpu")
        print(json.dumps({
            "current": device.current(),
            "env": os.environ["JAX_PLATFORMS"],
            "device": device.jax_device(),
            "used": device.used_device(),
            "plugin": device.cuda_plugin(),
            "check": device.exp_check(vlen=1000, iters=3),
        }))
        """,
        env={"JAX_PLATFORMS": None},
    )
    assert out["current"] == "gpu" and out["env"] == "cuda"
    assert out["device"]["platform"] in ("gpu", "cuda") and out["device"]["kind"] != "cpu"
    assert out["used"] == gpu
    assert out["used"].startswith(f"{out['device']['platform']}: {out['device']['kind']} (aesara JAX backend, ")
    assert out["plugin"]["cuda"] in (12, 13) and out["plugin"]["plugin"] in out["used"]
    assert out["check"]["dtype"] == "float32" and out["check"]["computed_on"] == out["used"]


def test_gpu_training_agrees_with_the_c_backend(gpu):
    """Two epochs (4 steps) of each net from the same seed: losses, parameters and predictions."""
    out = run_python(
        """
        import json
        import numpy as np
        from aenet import device
        from helpers.nets import SHAPES, post_net

        def fit(name, model):
            device.configure(name)
            rng = np.random.RandomState(0)
            X = rng.rand(300, *SHAPES[model]).astype(np.float32)
            y = (np.arange(300) % 10).astype(np.int32)
            net = post_net(model, seed=42, epochs=2, shuffle=True)
            net.initialize()
            net.fit(X, y)
            return net, X

        def relative(a, b):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))

        out = {}
        for model in ("mlp", "cnn"):
            c, X = fit("cpu", model)
            g, _ = fit("gpu", model)
            params = [
                relative(a, b)
                for layer in c.get_all_params_values()
                for a, b in zip(g.get_all_params_values()[layer], c.get_all_params_values()[layer], strict=True)
            ]
            out[model] = {
                "on_device": bool(g._on_device) and not c._on_device,
                "losses": max(
                    relative([row[key] for row in g.train_history_], [row[key] for row in c.train_history_])
                    for key in ("train_loss", "valid_loss")
                ),
                "params": max(params),
                "proba": relative(g.predict_proba(X[:50]), c.predict_proba(X[:50])),
            }
        out["used"] = device.used_device()
        print(json.dumps(out))
        """,
        env={"JAX_PLATFORMS": None},
        timeout=600,
    )
    assert out["used"] == gpu
    for model in ("mlp", "cnn"):
        result = out[model]
        assert result["on_device"], model
        for key in ("losses", "params", "proba"):
            assert result[key] < 1e-4, (model, key, result)
