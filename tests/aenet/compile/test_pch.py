"""aenet.compile.pch: aesara's g++ calls use the precompiled headers, both variants."""
import os
import shlex
import subprocess
import sys

import pytest

import aenet  # noqa: F401
import aesara

from aenet.compile import pch

# Compiles an Elemwise (plain) and a batched convolution (OpenMP) in a fresh
# cache and prints the g++ command lines aesara ran.
COMPILE_AND_LOG = """
import logging, sys
import aenet
import aesara, aesara.tensor as at
from aesara.tensor.nnet import conv2d
logging.basicConfig(stream=sys.stdout, format="%(message)s")
logging.getLogger("aesara.link.c.cmodule").setLevel(logging.DEBUG)
x, w = at.tensor4("x"), at.tensor4("w")
aesara.function([x], at.exp(x) * 3 + 1)
aesara.function([x, w], conv2d(x, w))
"""


@pytest.fixture(scope="module")
def compile_commands(tmp_path_factory):
    cache = tmp_path_factory.mktemp("pch-cache")
    env = {**os.environ, "AESARA_FLAGS": "", "AENET_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", COMPILE_AND_LOG], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    prefix = "Running cmd: "
    commands = [line[len(prefix):] for line in out.stdout.splitlines() if line.startswith(prefix)]
    return [shlex.split(c) for c in commands if "/tmp" in c.rsplit(" ", 2)[-2] or "mod.cpp" in c]


def header_used(command):
    """The precompiled header g++ used for ``command`` (``-H`` marks it with '!'), or None."""
    probe = subprocess.run(command + ["-H", "-fsyntax-only"], capture_output=True, text=True)
    used = [line[2:] for line in probe.stderr.splitlines() if line.startswith("! ")]
    return os.path.basename(used[0]) if used else None


def op_modules(commands, marker):
    sources = [c for c in commands if any(a.endswith("mod.cpp") for a in c)]
    return [c for c in sources if marker in open(next(a for a in c if a.endswith("mod.cpp"))).read()]


def test_plain_modules_use_the_plain_header(compile_commands):
    elemwise = op_modules(compile_commands, "// Op class Elemwise")
    assert elemwise
    assert {header_used(c) for c in elemwise} == {"plain"}


def test_openmp_modules_use_the_openmp_header(compile_commands):
    conv = op_modules(compile_commands, "// Op class BatchedCorr")
    assert conv and all("-fopenmp" in c for c in conv)
    assert {header_used(c) for c in conv} == {"openmp"}


def test_each_command_names_the_header_once_and_the_flags_never(compile_commands):
    assert compile_commands
    for command in compile_commands:
        assert command.count("-include") == 1
        header = command[command.index("-include") + 1]
        assert os.path.exists(header) and header.endswith(pch.HEADER_NAME)
    assert "-include" not in aesara.config.gcc__cxxflags.split()


def test_import_runs_no_compiler_of_aenets_own(tmp_path):
    """Importing aenet.lasagne builds no header and probes no flags; the first compile does both."""
    code = ("import subprocess, sys\n"
            "calls = []\n"
            "real = subprocess.Popen.__init__\n"
            "def spy(self, args, *a, **k):\n"
            "    calls.append(args if isinstance(args, str) else ' '.join(map(str, args)))\n"
            "    real(self, args, *a, **k)\n"
            "subprocess.Popen.__init__ = spy\n"
            "import aenet.lasagne\n"
            "compilers = [c for c in calls if 'g++' in c or 'cc' in c.split()[0]]\n"
            "print('IMPORT', [c for c in compilers if c.split()[1:] not in (['-v'], ['-dumpversion'])])\n"
            "import aesara, aesara.tensor as at\n"
            "x = at.vector()\n"
            "aesara.function([x], at.exp(x) * 2)\n"
            "print('COMPILE', any('c++-header' in c for c in calls))\n")
    env = {**os.environ, "AESARA_FLAGS": "", "AENET_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "IMPORT []" in out.stdout  # only aesara's own `g++ -v` and `-dumpversion` probes
    assert "COMPILE True" in out.stdout
    assert (tmp_path / "aesara").exists()


def test_failed_build_leaves_nothing(tmp_path):
    target = tmp_path / "pch" / "key"
    with pytest.raises((OSError, RuntimeError)):
        pch.build(target, str(tmp_path / "no-such-g++"), [])
    assert not target.exists() and os.listdir(tmp_path / "pch") == []


def test_a_variant_the_compiler_refuses_is_left_out(tmp_path):
    target = tmp_path / "pch" / "key"
    flags = pch.module_flags()
    pch.build(target, aesara.config.cxx, flags, {"plain": [], "broken": ["-fno-such-option"]})
    assert sorted(os.listdir(target / f"{pch.HEADER_NAME}.gch")) == ["plain"]


def test_opt_out(tmp_path):
    code = "import aenet, aesara, aesara.tensor as at; x = at.vector(); aesara.function([x], at.exp(x) * 2)"
    env = {**os.environ, "AESARA_FLAGS": "", "AENET_CACHE_DIR": str(tmp_path), "AENET_PRECOMPILED_HEADERS": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "aesara").exists() and not list(tmp_path.rglob(pch.HEADER_NAME))
