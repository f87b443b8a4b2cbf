"""aenet.compat: aesara 2.9.4 on numpy 2, and nothing changed on numpy 1.

CI runs this module on both stacks (``make test`` and ``make test-numpy1``),
so each fix is checked where it applies and shown to stay out where it does not.
The patched Ops are compiled with aesara's C linker and compared with numpy.
"""
import os
import subprocess
import sys
import textwrap

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.compile.mode import Mode

from aenet import compat
from aenet.compile import pch, settings

NUMPY2 = int(np.__version__.split(".")[0]) >= 2
numpy2_only = pytest.mark.skipif(not NUMPY2, reason="a numpy 2 fix (make test runs it)")
numpy1_only = pytest.mark.skipif(NUMPY2, reason="the numpy 1 case (make test-numpy1 runs it)")
# Every Op in C: a patched Op that fell back to Python would not be checked.
C_ONLY = Mode(linker="c", optimizer="fast_run")


def run_python(code):
    """Run ``code`` in a fresh interpreter of this environment; return its stdout.

    ``AESARA_FLAGS`` is left out: importing aenet here put aenet's flags in it.
    """
    env = {key: value for key, value in os.environ.items() if key != "AESARA_FLAGS"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_numpy2_is_read_from_the_installed_numpy():
    assert compat.numpy2() is NUMPY2


@numpy2_only
def test_removed_names_have_their_numpy1_meaning():
    assert np.obj2sctype("float32") is np.float32
    assert np.obj2sctype("no such type") is None
    assert np.obj2sctype("no such type", default=int) is int
    cast = np.cast["float32"](2)
    assert cast.dtype == np.float32 and cast == 2.0
    assert np.cast[at.scalar(dtype="float32").type](1).dtype == np.float32  # aesara's own use
    assert np.sctype2char(np.float32) == "f" and np.sctype2char("float64") == "d"
    assert np.AxisError is np.exceptions.AxisError
    assert np.ComplexWarning is np.exceptions.ComplexWarning
    assert np.MAXDIMS == 64


@numpy1_only
def test_numpy1_gets_no_fix():
    assert compat.restore_removed_names() == []
    assert compat.patch_aesara() == []
    assert compat.patch_jax_random() is False
    assert compat.compile_flags() == []
    assert "-DNPY_PY3K" not in aesara.config.gcc__cxxflags


def test_c_text_fixes_rename_what_numpy2_removed():
    gemm = "if(PyArray_MoveInto(x_new, V3) == -1) n = PyArray_DESCR(V3)->elsize;"
    assert compat.fix_c_text(gemm, compat._BLAS_FIXES) == (
        "if(PyArray_CopyInto(x_new, V3) == -1) n = PyArray_ITEMSIZE(V3);"
    )
    argmax = "axis = NPY_MAXDIMS; int d[NPY_MAXDIMS_LEGACY_ITERS];"
    assert compat.fix_c_text(argmax, compat._AXIS_FIXES) == "axis = NPY_RAVEL_AXIS; int d[NPY_MAXDIMS_LEGACY_ITERS];"


@numpy2_only
def test_patched_ops_carry_the_mark_in_their_cache_version():
    from aesara.tensor.blas import Gemm
    from aesara.tensor.special import Softmax

    assert Gemm(inplace=False).c_code_cache_version()[-1] == compat.PATCH_MARK
    assert at.argmax(at.matrix(), axis=None).owner.op.c_code_cache_version()[-1] == compat.PATCH_MARK
    assert compat.PATCH_MARK not in Softmax(axis=None).c_code_cache_version()
    assert "-DNPY_PY3K" in aesara.config.gcc__cxxflags


def test_gemm_dot22_and_ger_in_c_match_numpy():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(s).astype("float32") for s in [(5, 4), (4, 3), (5, 3)])
    x, y, z = at.matrices("xyz")
    dot22 = aesara.function([x, y], at.dot(x, y), mode=C_ONLY.excluding("aenet_dot"))
    assert "Dot22" in str(dot22.maker.fgraph.toposort())
    np.testing.assert_allclose(dot22(a, b), a @ b, rtol=1e-5, atol=1e-5)
    gemm = aesara.function([x, y, z], 2 * at.dot(x.T.T, y) + z, mode=C_ONLY)
    np.testing.assert_allclose(gemm(a, b, c), 2 * a @ b + c, rtol=1e-5, atol=1e-5)
    u, v = at.vectors("uv")
    ger = aesara.function([z, u, v], z + 0.5 * at.outer(u, v), mode=C_ONLY)
    np.testing.assert_allclose(ger(c, c[:, 0], c[0]), c + 0.5 * np.outer(c[:, 0], c[0]), rtol=1e-5, atol=1e-5)


def test_batched_dot_in_c_matches_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4, 5)).astype("float32"), rng.standard_normal((3, 5, 2)).astype("float32")
    x, y = at.tensor3s("xy")
    f = aesara.function([x, y], at.batched_dot(x, y), mode=C_ONLY)
    np.testing.assert_allclose(f(a, b), np.einsum("bij,bjk->bik", a, b), rtol=1e-5, atol=1e-5)


def test_reductions_without_axis_in_c_match_numpy():
    m = np.array([[1.0, 7.0], [9.0, 3.0]], dtype="float32")
    x = at.matrix()
    f = aesara.function([x], [*at.max_and_argmax(x, axis=None), at.argmax(x, axis=None)], mode=C_ONLY)
    largest, where, where_too = f(m)
    assert (largest, where, where_too) == (9.0, 2, 2)
    g = aesara.function([x], [at.cumsum(x), at.cumsum(x, axis=1), at.cumprod(x, axis=0)], mode=C_ONLY)
    flat, rows, cols = g(m)
    np.testing.assert_array_equal(flat, [1, 8, 17, 20])
    np.testing.assert_array_equal(rows, [[1, 8], [9, 12]])
    np.testing.assert_array_equal(cols, [[1, 7], [9, 21]])


def test_softmax_over_all_axes_in_c_matches_numpy():
    m = np.array([[0.0, 1.0], [2.0, 3.0]], dtype="float32")
    f = aesara.function([(x := at.matrix())], at.special.softmax(x, axis=None), mode=C_ONLY)
    np.testing.assert_allclose(f(m), np.exp(m) / np.exp(m).sum(), rtol=1e-6)


def test_indexing_and_repeated_increments_match_numpy():
    values, index = np.arange(5, dtype="float32"), np.array([1, 1, 4])
    v, i = at.vector(), at.lvector()
    f = aesara.function([v, i], [v[i], at.inc_subtensor(v[i], 1.0)], mode=Mode(linker="c|py", optimizer="fast_run"))
    taken, incremented = f(values, index)
    np.testing.assert_array_equal(taken, [1, 1, 4])
    np.testing.assert_array_equal(incremented, [0, 3, 2, 3, 5])
    with pytest.raises(IndexError):
        f(values, np.array([5]))


def test_scalar_gradients_that_cast_constants():
    x = at.scalar()
    f = aesara.function([x], aesara.grad(at.arcsin(x) + at.exp2(x), x))
    expected = 1 / np.sqrt(1 - 0.25) + np.log(2) * 2**0.5
    assert f(np.float32(0.5)) == pytest.approx(expected, rel=1e-5)


def test_random_generators_compare_by_state():
    from aesara.tensor.random.type import RandomGeneratorType

    a, b = np.random.default_rng(1), np.random.default_rng(1)
    assert RandomGeneratorType.values_eq(a, b)
    b.random()
    assert not RandomGeneratorType.values_eq(a, b)
    assert not RandomGeneratorType.values_eq(a, np.random.default_rng(2))


def test_jax_conversion_of_a_generator_reads_its_state(jax_cpu):
    from aesara.link.jax.dispatch import jax_typify

    converted = jax_typify(np.random.default_rng(5))
    assert converted["bit_generator"] == 1  # PCG64 in aesara's numbering
    again = jax_typify(np.random.default_rng(5))
    np.testing.assert_array_equal(np.asarray(converted["jax_state"]), np.asarray(again["jax_state"]))
    other = jax_typify(np.random.default_rng(6))
    assert not np.array_equal(np.asarray(converted["jax_state"]), np.asarray(other["jax_state"]))


def test_compile_cache_is_kept_per_numpy_major_version():
    major = np.__version__.split(".")[0]
    assert settings.compile_dir().name == f"numpy{major}"
    assert aesara.config.compiledir.startswith(str(settings.compile_dir()))


def test_precompiled_header_key_covers_numpy(monkeypatch, tmp_path):
    before = pch.pch_dir(tmp_path, "g++", ["-O3"])
    monkeypatch.setattr(np, "__version__", "9.9.9")
    assert pch.pch_dir(tmp_path, "g++", ["-O3"]) != before


def test_users_compiler_flags_are_kept_beside_ours(monkeypatch):
    monkeypatch.setenv("AESARA_FLAGS", "gcc__cxxflags=-O1,floatX=float64")
    settings.configure_aesara(imported=False)
    flags = dict(item.split("=", 1) for item in os.environ["AESARA_FLAGS"].split(","))
    assert flags["floatX"] == "float64"
    assert flags["gcc__cxxflags"].split() == ["-O1", *compat.compile_flags()]
    assert flags["blas__ldflags"] == settings.blas_ldflags(settings.openblas_library())


IMPORT_CHECK = """
    import sys
    assert "aenet" in sys.modules
    import aesara, aesara.tensor as at, numpy as np
    from aenet.lasagne import layers
    assert aesara.config.floatX == "float32", aesara.config.floatX
    assert "scipy_openblas" in aesara.config.blas__ldflags
    assert "numpy.distutils" not in sys.modules
    net = layers.Conv2DLayer(layers.InputLayer((None, 1, 8, 8)), 4, 3)
    x = at.tensor4()
    f = aesara.function([x], layers.get_output(net, x))
    ops = {type(node.op).__module__ for node in f.maker.fgraph.apply_nodes}
    assert any(name.startswith("aenet.") for name in ops), ops
    print(f(np.ones((2, 1, 8, 8), "float32")).shape)
"""


@pytest.mark.parametrize("first", ["import aesara", "import aesara.tensor", "import aenet", "import aenet.lasagne"])
def test_either_import_order_gives_aenets_fast_path(first):
    code = f"{first}\nimport aenet\n" + textwrap.dedent(IMPORT_CHECK)
    assert run_python(code).strip() == "(2, 4, 6, 6)"


def test_import_aenet_alone_leaves_aesara_unimported():
    out = run_python("import sys, aenet, aenet.atomic, aenet.device; print('aesara' in sys.modules)")
    assert out.strip() == "False"


def test_without_a_blas_aesara_is_never_asked_to_search_for_one():
    out = run_python("""
        import sys, warnings
        sys.modules["scipy_openblas32"] = None  # as if it were not installed
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import aenet, aesara
        print(repr(aesara.config.blas__ldflags), "numpy.distutils" in sys.modules)
        print(sorted({type(w.message).__name__ for w in caught if "BLAS" in str(w.message)}))
    """)
    assert out.splitlines() == ["'' False", "['BlasWarning']"]
