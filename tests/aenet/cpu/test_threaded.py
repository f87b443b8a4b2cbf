"""aenet.cpu.threaded: the C sources next to the package, and the Ops' C cache versions."""
import importlib.resources
import shutil

import pytest

import aenet  # noqa: F401  (configures aesara, registers the rewrites)
from aenet.cpu import threaded
from aenet.cpu.corr import BatchedCorr, BatchedCorrGradInputs, BatchedCorrGradWeights
from aenet.cpu.dot import ThreadedDot22
from aenet.cpu.fusion import ChannelSum, MaxPool2DReluGrad, ReluMaxPool2D
from aenet.cpu.momentum import NesterovStep
from aenet.cpu.pool import MaxPool2D, MaxPool2DGrad

CORR = {"threads.c", "blas_threads.c", "corr_support.c", "corr_kernels.c"}
POOL = {"threads.c", "pool_avx2.c", "max_pool.c", "max_pool_avx2.c"}
POOL_GRAD = {"threads.c", "pool_avx2.c", "max_pool_grad.c", "max_pool_grad_avx2.c"}

#: each Op and the C sources its compiled code is made of
SOURCES = [
    (BatchedCorr(), CORR),
    (BatchedCorrGradWeights(), CORR),
    (BatchedCorrGradInputs(), CORR),
    (MaxPool2D(), POOL),
    (ReluMaxPool2D(), POOL),
    (MaxPool2DGrad(), POOL_GRAD),
    (MaxPool2DReluGrad(), POOL_GRAD),
    (ThreadedDot22(), {"threads.c", "blas_threads.c", "threaded_dot.c"}),
    (ChannelSum(), {"threads.c", "channel_sum.c"}),
    (NesterovStep(), {"nesterov_step.c"}),
]
ALL_SOURCES = set().union(*(names for _, names in SOURCES))


@pytest.fixture
def c_copy(tmp_path, monkeypatch):
    """A copy of the C sources that threaded reads instead of the package's."""
    copy = tmp_path / "c"
    shutil.copytree(threaded.C_DIR, copy)
    monkeypatch.setattr(threaded, "C_DIR", copy)
    threaded.c_source.cache_clear()
    yield copy
    threaded.c_source.cache_clear()


def test_c_sources_ship_inside_the_package():
    package_c = importlib.resources.files("aenet.cpu") / "c"
    shipped = {entry.name for entry in package_c.iterdir() if entry.name.endswith(".c")}
    assert shipped == ALL_SOURCES
    for name in ALL_SOURCES:
        assert threaded.c_source(name) == (package_c / name).read_text()


@pytest.mark.parametrize("op,names", SOURCES, ids=[type(op).__name__ for op, _ in SOURCES])
def test_cache_version_follows_each_c_source(c_copy, op, names):
    before = op.c_code_cache_version()
    for name in sorted(names):
        path = c_copy / name
        path.write_text(path.read_text() + "\n/* edited */\n")
        threaded.c_source.cache_clear()
        after = op.c_code_cache_version()
        assert after != before, f"{type(op).__name__}'s cache version ignores {name}"
        before = after


@pytest.mark.parametrize("op,names", SOURCES, ids=[type(op).__name__ for op, _ in SOURCES])
def test_cache_version_ignores_other_c_sources(c_copy, op, names):
    before = op.c_code_cache_version()
    for name in sorted(ALL_SOURCES - names):
        path = c_copy / name
        path.write_text(path.read_text() + "\n/* edited */\n")
    threaded.c_source.cache_clear()
    assert op.c_code_cache_version() == before


def test_missing_c_source_names_the_file(c_copy):
    (c_copy / "threads.c").unlink()
    with pytest.raises(FileNotFoundError, match=r"c/threads\.c is missing"):
        threaded.c_source("threads.c")


def test_c_template_names_a_missing_value():
    with pytest.raises(KeyError, match=r"channel_sum\.c needs a value for 'min_par'"):
        threaded.c_template("channel_sum.c", x="x", z="z", ndim=4, fail="fail")
