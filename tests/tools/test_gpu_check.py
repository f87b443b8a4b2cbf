"""tools/gpu-check.sh, gpu_check.py and gpu_bundle.py: argument errors, the host check, the
checks of a finished run and the bundle's dependency walk (fast: nothing is downloaded,
installed or trained)."""
import importlib.util
import json
import os
import subprocess
import sys
import types
import zipfile

import pytest

from helpers.project import ROOT

_spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "tools" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)


def run_check(*args):
    return subprocess.run(["bash", str(ROOT / "tools" / "gpu-check.sh"), *map(str, args)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHON": sys.executable})


@pytest.fixture
def bundle(tmp_path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "host-requirements.txt").write_text("numpy\n")
    (folder / "x-1.0-py3-none-any.whl").write_bytes(b"")
    return folder


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "cifar.tar.gz"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("args, message", [
    (lambda b, d, o: [b, d], "usage: bash tools/gpu-check.sh BUNDLE DATA OUTDIR [gpu|jax-cpu]"),
    (lambda b, d, o: [b.parent / "none", d, o], "none' is not a folder made by tools/gpu-bundle.sh"),
    (lambda b, d, o: [b, d.parent / "none.tar.gz", o], "DATA '{d.parent}/none.tar.gz': no such file"),
    (lambda b, d, o: [b, d, o, "tpu"], "DEVICE 'tpu': expected gpu or jax-cpu"),
    (lambda b, d, o: [b, d, d.parent], "OUTDIR '{d.parent}' exists and is not empty"),
])  # fmt: skip
def test_bad_arguments(bundle, data, tmp_path, args, message):
    result = run_check(*args(bundle, data, tmp_path / "out"))
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("gpu-check: ")
    assert message.format(d=data) in result.stderr
    assert not (tmp_path / "out").exists()


def test_bundle_without_wheels(bundle, data, tmp_path):
    (bundle / "x-1.0-py3-none-any.whl").unlink()
    result = run_check(bundle, data, tmp_path / "out")
    assert result.returncode == 2 and "holds no wheels" in result.stderr


def test_missing_host_package_stops_the_check(bundle, data, tmp_path):
    (bundle / "host-requirements.txt").write_text("numpy\nno-such-package-here==1.0\n")
    result = run_check(bundle, data, tmp_path / "out", "jax-cpu")
    assert result.returncode == 1
    assert "gpu-check: the host lacks no-such-package-here" in result.stdout
    log = (tmp_path / "out" / "gpu-check.log").read_text()
    assert "numpy" in log and "FAILED" in log and "installing the bundle" not in log


def test_host_check_reports_versions(tmp_path):
    import numpy

    req = tmp_path / "host.txt"
    req.write_text("# comment\nnumpy==0.0.1\npytest\n")
    lines = list(gpu_check.check_host(req))
    assert lines[0] == f"numpy {numpy.__version__}  (the bundle was made for 0.0.1)"
    assert lines[1] == f"pytest {pytest.__version__}"
    req.write_text("numpy>=2\n")
    with pytest.raises(gpu_check.CheckError, match="cannot read the line 'numpy>=2'"):
        list(gpu_check.check_host(req))


def _finished_run(out, device="jax-cpu", used=None):
    """The files of a finished check of ``device``, ``used`` its used_device."""
    used = {"cpu": "cpu: AMD EPYC (aesara C backend)", device: used or "cpu: AMD EPYC (aesara JAX backend)"}
    for name in ("summary.png", "versions.txt"):
        (out / name).write_text("x")
    (out / "bench.md").write_text(f"| net | threads |\n|---|---|\n| mlp | 2 | 0.1 |\n\n- aenet on {used[device]}\n")
    rows = ["model,device,epochs"]
    for sub in ("device", "metrics"):
        (out / sub).mkdir()
    for dev in ("cpu", device):
        (out / "device" / f"{dev}.json").write_text(json.dumps({"used_device": used[dev]}))
        for model in ("mlp", "cnn"):
            (out / "metrics" / f"{model}_{dev}.json").write_text(json.dumps({"used_device": used[dev]}))
            rows.append(f"{model},{dev},1")
    (out / "summary.csv").write_text("\n".join(rows) + "\n")
    return out


def gpu_used_device(monkeypatch):
    """aenet.device.used_device() as a run on an H200 with JAX's CUDA 13 plugin writes it."""
    from aenet import device

    h200 = types.SimpleNamespace(platform="gpu", device_kind="NVIDIA H200", id=0)
    cuda = {"plugin": "jax-cuda13-plugin", "version": "0.11.2"}
    monkeypatch.setitem(device._current, "jax_device", h200)
    monkeypatch.setitem(device._current, "cuda", cuda)
    return device.used_device()


def test_verify_accepts_a_complete_run(tmp_path, monkeypatch):
    assert gpu_check.verify(_finished_run(tmp_path), "jax-cpu") == ["cnn", "mlp"]
    (tmp_path / "gpu").mkdir()
    used = gpu_used_device(monkeypatch)
    assert used == "gpu: NVIDIA H200 (aesara JAX backend, jax-cuda13-plugin 0.11.2)"
    assert gpu_check.verify(_finished_run(tmp_path / "gpu", "gpu", used), "gpu") == ["cnn", "mlp"]


def test_verify_refuses_a_cpu_run_as_gpu(tmp_path):
    out = _finished_run(tmp_path, "gpu", "cpu: AMD EPYC (aesara JAX backend)")
    with pytest.raises(gpu_check.CheckError, match=r"gpu.json: used_device 'cpu: AMD EPYC .*' is not gpu"):
        gpu_check.verify(out, "gpu")


def test_verify_names_a_missing_row(tmp_path):
    out = _finished_run(tmp_path)
    csv = (out / "summary.csv").read_text().replace("cnn,jax-cpu,1\n", "")
    (out / "summary.csv").write_text(csv)
    with pytest.raises(gpu_check.CheckError, match="summary.csv: no row for cnn on jax-cpu"):
        gpu_check.verify(out, "jax-cpu")


def test_sample_tarball_has_the_jpeg_layout(tmp_path):
    from cifarbench.cifar_jpeg import archive_layout, read_jpeg_tarball

    subprocess.run([sys.executable, str(ROOT / "tools" / "gpu_check.py"), "sample", str(tmp_path / "s.tar.gz"), "2", "1"],
                   check=True, timeout=60)
    assert archive_layout(tmp_path / "s.tar.gz") == "jpeg"
    splits = read_jpeg_tarball(tmp_path / "s.tar.gz")
    assert sorted(splits["train"][1]) == sorted(list(range(10)) * 2) and sorted(splits["test"][1]) == list(range(10))


def test_bundle_follows_unconditional_requirements_for_the_target(tmp_path):
    spec = importlib.util.spec_from_file_location("gpu_bundle", ROOT / "tools" / "gpu_bundle.py")
    gpu_bundle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_bundle)
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo-1.0.dist-info/METADATA", "\n".join([
            "Metadata-Version: 2.1", "Name: demo", "Version: 1.0",
            "Requires-Dist: Typing_Extensions>=4", "Requires-Dist: tomli; python_version < '3.11'",
            "Requires-Dist: pywin32; sys_platform == 'win32'", "Requires-Dist: pytest; extra == 'test'",
        ]) + "\n")  # fmt: skip
    assert gpu_bundle.wheel_requires(wheel, gpu_bundle.marker_env("3.12")) == {"typing-extensions"}
    assert gpu_bundle.wheel_requires(wheel, gpu_bundle.marker_env("3.10")) == {"typing-extensions", "tomli"}
    lock = tmp_path / "lock.txt"
    lock.write_text("# pins\nPyYAML==6.0.4\nsmart_open==7.7.1  # comment\n")
    assert gpu_bundle.read_pins(lock) == {"pyyaml": "PyYAML==6.0.4", "smart-open": "smart_open==7.7.1"}
