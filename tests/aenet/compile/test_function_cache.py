"""aenet.compile.function_cache: compiled functions reloaded from disk behave as freshly compiled ones."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import aenet  # noqa: F401
import aesara
import aesara.tensor as at

from aenet.compile import function_cache
from helpers.nets import post_net, random_data


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty function cache, and a count of the real compiles."""
    monkeypatch.setenv("AENET_CACHE_DIR", str(tmp_path))
    calls = []
    real = aesara.function

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(aesara, "function", counting)
    numpy_major = np.__version__.split(".")[0]
    return tmp_path / "aesara" / f"numpy{numpy_major}" / "functions", calls


def sgd_step(W0, b0, lr=0.1):
    """A linear least-squares SGD step on fresh shared variables (W0, b0): (function, W, b)."""
    W, b = aesara.shared(W0.copy(), name="W"), aesara.shared(b0.copy(), name="b")
    x, y = at.matrix("x"), at.vector("y")
    loss = at.mean((at.dot(x, W) + b - y) ** 2)
    gW, gb = at.grad(loss, [W, b])
    f = function_cache.function([x, y], loss, updates={W: W - lr * gW, b: b - lr * gb})
    return f, W, b


def numpy_step(W, b, x, y, lr=0.1):
    err = x @ W + b - y
    loss = np.mean(err**2)
    return loss, W - lr * 2 * x.T @ err / len(y), b - lr * 2 * err.mean()


def data(seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((8, 3)).astype("float32"), rng.standard_normal(8).astype("float32"))


def start(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(3).astype("float32"), np.float32(rng.standard_normal())


def test_second_compile_is_a_hit_bound_to_its_own_shared_variables(cache):
    entries, calls = cache
    f1, W1, b1 = sgd_step(*start(0))
    assert len(calls) == 1 and len(list(entries.iterdir())) == 1
    W_start, b_start = start(1)  # other values, same graph
    f2, W2, b2 = sgd_step(W_start, b_start)
    assert len(calls) == 1  # loaded, not compiled
    x, y = data(2)
    loss, W_next, b_next = numpy_step(W_start, b_start, x, y)
    np.testing.assert_allclose(f2(x, y), loss, rtol=1e-5)
    np.testing.assert_allclose(W2.get_value(), W_next, rtol=1e-5)
    np.testing.assert_allclose(b2.get_value(), b_next, rtol=1e-5)
    np.testing.assert_array_equal(W1.get_value(), start(0)[0])  # the first net is untouched


def test_values_set_on_the_host_are_used(cache):
    sgd_step(*start(0))
    f, W, b = sgd_step(*start(0))
    W.set_value(np.ones(3, "float32"))
    b.set_value(np.float32(0.5))
    x, y = data(3)
    loss, W_next, _ = numpy_step(np.ones(3, "float32"), np.float32(0.5), x, y)
    np.testing.assert_allclose(f(x, y), loss, rtol=1e-5)
    np.testing.assert_allclose(W.get_value(), W_next, rtol=1e-5)


def test_another_constant_is_another_entry(cache):
    entries, calls = cache
    sgd_step(*start(0), lr=0.1)
    f, W, b = sgd_step(*start(0), lr=0.01)
    assert len(calls) == 2 and len(list(entries.iterdir())) == 2
    x, y = data(4)
    f(x, y)
    np.testing.assert_allclose(W.get_value(), numpy_step(*start(0), x, y, lr=0.01)[1], rtol=1e-5)


def test_damaged_entry_is_compiled_anew(cache):
    entries, calls = cache
    sgd_step(*start(0))
    (entry,) = entries.iterdir()
    entry.write_bytes(b"not a pickle")
    with pytest.warns(function_cache.FunctionCacheWarning, match=entry.name):
        f, W, b = sgd_step(*start(0))
    assert len(calls) == 2 and entry.stat().st_size > 100
    x, y = data(5)
    np.testing.assert_allclose(f(x, y), numpy_step(*start(0), x, y)[0], rtol=1e-5)


def test_updates_given_as_pairs(cache):
    entries, calls = cache
    W = aesara.shared(np.zeros(3, "float32"))
    x = at.vector("x")
    for _ in range(2):
        f = function_cache.function([x], [], updates=[(W, W + x)])
    assert len(calls) == 1
    f(np.ones(3, "float32"))
    np.testing.assert_array_equal(W.get_value(), [1, 1, 1])


def test_switched_off(cache, monkeypatch):
    entries, calls = cache
    monkeypatch.setenv("AENET_FUNCTION_CACHE", "0")
    sgd_step(*start(0))
    sgd_step(*start(0))
    assert len(calls) == 2 and not entries.exists()


KEY_IN_CHILD = """
import sys
import numpy
import aenet, aesara, aesara.tensor as at
from aenet.compile import function_cache
[at.vector() for _ in range(int(sys.argv[1]))]  # other variables made first
W = aesara.shared(numpy.zeros(3, "float32"))
x = at.matrix("x")
out = at.dot(x, W)
shared = function_cache.shared_variables([out], [(W, W * 2)])
print(function_cache.key([x], [out], [(W, W * 2)], shared, None, {}))
"""


def test_key_does_not_depend_on_what_the_process_built_before():
    keys = {
        subprocess.run([sys.executable, "-c", KEY_IN_CHILD, str(n)], capture_output=True, text=True,
                       check=True).stdout.strip()
        for n in (0, 25)
    }
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_nets_train_alike_with_and_without_the_cache(cache):
    entries, calls = cache
    X, y = random_data("mlp", 512, seed=3)
    histories = []
    for _ in range(2):  # the second net loads the first one's functions
        net = post_net("mlp", seed=11, epochs=2, eval_size=0)
        net.initialize()
        net.fit(X, y)
        histories.append(([h["train_loss"] for h in net.train_history_], net.get_all_params_values()))
    assert len(calls) == 3 and len(list(entries.iterdir())) == 3
    np.testing.assert_array_equal(histories[0][0], histories[1][0])
    for name, values in histories[0][1].items():
        for a, b in zip(values, histories[1][1][name]):
            np.testing.assert_array_equal(a, b)


# Compiles a small graph through aenet.device.function; prints its result and how many times
# aesara.function ran (0 when the function came from the cache).
CHILD = """
import aesara, aesara.tensor as at, numpy as np
import aenet
from aenet import device
real, calls = aesara.function, []
aesara.function = lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs)
w = aesara.shared(np.arange(6, dtype="float32").reshape(3, 2), name="w")
x = at.matrix("x")
f = device.function([x], at.maximum(at.dot(x, w) - 7, 0).sum(axis=1))
print(f(np.ones((2, 3), "float32")).tolist(), len(calls))
"""


def test_processes_compiling_the_same_graph_at_once_share_the_cache_safely(tmp_path):
    """Two processes compile into one empty cache at the same time; a third finds the function there."""
    env = {**os.environ, "AENET_CACHE_DIR": str(tmp_path)}
    env.pop("AESARA_FLAGS", None)  # set for this process by importing aenet, with its cache folder
    run = lambda: subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE,  # noqa: E731
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
    first, second = run(), run()
    for proc in (first, second):
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err[-3000:]
        assert out.split() == ["[2.0,", "2.0]", "1"]  # x @ w rows are [6, 9]; minus 7, clipped at 0: [0, 2]
    third = run()
    out, err = third.communicate(timeout=900)
    assert third.returncode == 0, err[-3000:]
    assert out.split() == ["[2.0,", "2.0]", "0"]
    numpy_major = np.__version__.split(".")[0]
    assert len(list((tmp_path / "aesara" / f"numpy{numpy_major}" / "functions").glob("*.pkl"))) == 1


def test_key_covers_the_rewrites_and_c_code_but_not_the_apis_or_the_workflow():
    names = {path.as_posix() for path in function_cache.shaping_sources()}
    assert {"cpu/corr.py", "cpu/pool.py", "compat.py", "compile/settings.py"} <= names
    c_sources = {path.relative_to(Path(aenet.__file__).parent).as_posix()
                 for path in Path(aenet.__file__).parent.glob("cpu/**/*.c")}
    assert c_sources <= names
    assert not [name for name in names if name.startswith(("lasagne/", "nolearn/", "jax/"))]
