"""The Makefile's choice of Python: 3.11 to 3.13 for the default lock, with a one-line refusal otherwise."""
import os
import shutil
import subprocess
import sys

import pytest

from helpers.project import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def fake_python(tmp_path, version):
    """An interpreter that reports ``version`` (this Python underneath), as ``python3``."""
    path = tmp_path / "python3"
    code = f"import sys; sys.version_info = {tuple(version)!r}; exec(sys.argv[1])"
    path.write_text(f'#!/bin/sh\n[ "$1" = -c ] || exit 99\nexec {sys.executable} -c "{code}" "$2"\n')
    path.chmod(0o755)
    return path


def run_make(*args):
    """make in the repository, without the variables a make running these tests passed on (make test-numpy1)."""
    passed_on = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTHON", "VENV", "LOCK", "SUPPORTED"}
    env = {k: v for k, v in os.environ.items() if k not in passed_on}
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args],
                          capture_output=True, text=True, timeout=120, env=env)  # fmt: skip


def make_venv(tmp_path, python, *extra):
    venv = tmp_path / "venv"
    return run_make("venv", f"PYTHON={python}", f"VENV={venv}", *extra), venv


@pytest.mark.parametrize("version", [(3, 10, 14), (3, 14, 0)])
def test_an_unsupported_python_gets_one_line_and_no_venv(tmp_path, version):
    python = fake_python(tmp_path, version)
    result, venv = make_venv(tmp_path, python)
    assert result.returncode != 0
    message = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert message == [
        f"{python} is Python {version[0]}.{version[1]}; requirements.lock needs Python 3.11 3.12 3.13: "
        "run make PYTHON=python3.X with one of those"
    ]
    assert not venv.exists()


def test_the_numpy1_lock_refuses_python_3_13(tmp_path):
    python = fake_python(tmp_path, (3, 13, 1))
    result, venv = make_venv(tmp_path, python, "LOCK=requirements-numpy1.lock", "SUPPORTED=3.11 3.12")
    assert result.returncode != 0
    assert "is Python 3.13; requirements-numpy1.lock needs Python 3.11 3.12" in result.stderr
    assert not venv.exists()
    dry = run_make("-n", "test-numpy1")
    assert 'SUPPORTED="3.11 3.12"' in dry.stdout and "LOCK=requirements-numpy1.lock" in dry.stdout
