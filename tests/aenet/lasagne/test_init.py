"""aenet.lasagne.init and .random (distributions, scaling, seeding), and the docstring examples."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import doctest
import importlib
import os
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

from aenet.lasagne import init
from aenet.lasagne.random import get_rng, set_rng

BIG = (400, 500)  # enough samples for moments to within about 1%


@pytest.fixture(autouse=True)
def private_rng():
    """Each test draws from its own seeded generator; the previous one is restored after."""
    saved = get_rng()
    set_rng(np.random.RandomState(0))
    yield
    set_rng(saved)


def test_constant():
    sample = init.Constant(2.5).sample((3, 2))
    assert sample.dtype == np.float32 and sample.shape == (3, 2)
    assert np.all(sample == 2.5)
    assert np.all(init.Constant()((4,)) == 0)


def test_normal_moments():
    sample = init.Normal(std=0.5, mean=2.0).sample(BIG)
    assert sample.dtype == np.float32
    assert abs(sample.mean() - 2.0) < 0.01 and abs(sample.std() - 0.5) < 0.01
    assert abs(init.Normal().sample(BIG).std() - 0.01) < 1e-4


@pytest.mark.parametrize(
    "kwargs, low, high",
    [
        (dict(), -0.01, 0.01),
        (dict(range=0.3), -0.3, 0.3),
        (dict(range=(1.0, 3.0)), 1.0, 3.0),
        (dict(std=0.2, mean=1.0), 1.0 - 0.2 * np.sqrt(3), 1.0 + 0.2 * np.sqrt(3)),
    ],
)
def test_uniform_bounds(kwargs, low, high):
    sample = init.Uniform(**kwargs).sample(BIG)
    assert sample.dtype == np.float32
    assert sample.min() >= np.float32(low) and sample.max() <= np.float32(high)
    width = high - low  # the extremes of 200000 draws sit within 0.1% of the bounds
    assert sample.min() < low + 0.001 * width and sample.max() > high - 0.001 * width


# (shape, fan_in, fan_out) worked out by hand
FANS = [
    ((300, 200), 300, 200),  # dense: (inputs, units)
    ((64, 32, 3, 5), 32 * 15, 64 * 15),  # conv: (filters, channels, rows, cols)
]


@pytest.mark.parametrize("shape, fan_in, fan_out", FANS)
def test_glorot_uniform_bounds(shape, fan_in, fan_out):
    for gain, factor in [(1.0, 1.0), ("relu", np.sqrt(2)), (0.5, 0.5)]:
        limit = factor * np.sqrt(6.0 / (fan_in + fan_out))
        sample = init.GlorotUniform(gain=gain).sample(shape)
        assert sample.dtype == np.float32 and sample.shape == shape
        assert np.abs(sample).max() <= limit * (1 + 1e-6)
        assert np.abs(sample).max() > 0.99 * limit


def test_glorot_c01b_uses_channels_first_and_filters_last():
    # c01b weights are (channels, rows, cols, filters): 8 channels, 16 filters, 3x5 receptive field
    limit = np.sqrt(6.0 / (8 * 15 + 16 * 15))
    sample = init.GlorotUniform(c01b=True).sample((8, 3, 5, 16))
    assert limit * 0.99 < np.abs(sample).max() <= limit * (1 + 1e-6)
    with pytest.raises(RuntimeError, match=r"\(8, 3, 5\)"):
        init.GlorotUniform(c01b=True).sample((8, 3, 5))


@pytest.mark.parametrize("shape, fan_in, fan_out", FANS)
def test_glorot_normal_std(shape, fan_in, fan_out):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    sample = init.GlorotNormal().sample(shape)
    assert abs(sample.std() / std - 1) < 0.02 and abs(sample.mean()) < 0.05 * std


@pytest.mark.parametrize("shape, fan_in, fan_out", FANS)
def test_he_scaling(shape, fan_in, fan_out):
    std = np.sqrt(2.0 / fan_in)  # gain 'relu'
    normal = init.HeNormal(gain="relu").sample(shape)
    uniform = init.HeUniform(gain="relu").sample(shape)
    assert abs(normal.std() / std - 1) < 0.02
    assert np.sqrt(3) * std * 0.99 < np.abs(uniform).max() <= np.sqrt(3) * std * (1 + 1e-6)


def test_scaled_initializers_need_two_axes():
    for initializer in (init.GlorotUniform(), init.HeNormal()):
        with pytest.raises(RuntimeError, match=r"\(5,\)"):
            initializer.sample((5,))


def test_base_initializer_is_abstract():
    with pytest.raises(NotImplementedError):
        init.Initializer()((2,))


@pytest.mark.parametrize("shape", [(30, 80), (80, 30), (12, 5, 2, 3)])
@pytest.mark.parametrize("gain, factor", [(1.0, 1.0), (2.5, 2.5), ("relu", np.sqrt(2))])
def test_orthogonal_rows_or_columns_are_orthonormal(shape, gain, factor):
    sample = init.Orthogonal(gain).sample(shape)
    assert sample.dtype == np.float32 and sample.shape == shape
    matrix = sample.reshape(shape[0], -1).astype(np.float64) / factor
    small = min(matrix.shape)
    gram = matrix @ matrix.T if matrix.shape[0] == small else matrix.T @ matrix
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)


@pytest.mark.parametrize("sparsity, inputs, per_column", [(0.1, 40, 4), (0.25, 10, 2), (0.5, 7, 3)])
def test_sparse_gives_the_requested_number_of_nonzeros_per_column(sparsity, inputs, per_column):
    sample = init.Sparse(sparsity=sparsity, std=0.5).sample((inputs, 50))
    assert sample.dtype == np.float32 and sample.shape == (inputs, 50)
    np.testing.assert_array_equal((sample != 0).sum(axis=0), per_column)
    rows_used = (sample != 0).any(axis=1).sum()
    assert rows_used > per_column  # the rows differ from column to column
    assert abs(sample[sample != 0].std() - 0.5) < 0.1


@pytest.mark.parametrize("initializer, shape", [(init.Orthogonal(), (5,)), (init.Sparse(), (5,)), (init.Sparse(), (4, 3, 2))])
def test_orthogonal_and_sparse_shape_errors(initializer, shape):
    with pytest.raises(RuntimeError, match=r"got \(" + r"\, ".join(map(str, shape))):
        initializer.sample(shape)


def test_every_initializer_family_is_a_direct_subclass():
    """Lasagne's layout: Glorot and He (not a shared private base) directly below Initializer."""
    direct = set(init.Initializer.__subclasses__())
    expected = {init.Constant, init.Normal, init.Uniform, init.Glorot, init.He, init.Orthogonal, init.Sparse}
    assert expected <= direct
    for family in expected:
        for concrete in family.__subclasses__() or [family]:
            assert concrete().sample((12, 23)).shape == (12, 23)


@pytest.mark.parametrize("make", [init.Sparse, init.Orthogonal])
def test_orthogonal_and_sparse_draw_from_the_lasagne_rng(make):
    set_rng(np.random.RandomState(7))
    first = make().sample((20, 20))
    set_rng(np.random.RandomState(7))
    np.testing.assert_array_equal(make().sample((20, 20)), first)


def test_set_rng_makes_samples_reproducible():
    set_rng(np.random.RandomState(42))
    first = init.GlorotUniform().sample((20, 30))
    set_rng(np.random.RandomState(42))
    again = init.GlorotUniform().sample((20, 30))
    set_rng(np.random.RandomState(43))
    other = init.GlorotUniform().sample((20, 30))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_fresh_import_configures_aesara_and_uses_numpys_global_rng():
    """Checked in a fresh interpreter, since other tests may have called set_rng."""
    code = (
        "import aenet.lasagne.random as r, aesara, numpy as np\n"
        "assert aesara.config.floatX == 'float32', aesara.config.floatX\n"
        "assert r.get_rng() is np.random, r.get_rng()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "AESARA_FLAGS": ""})


def test_numpy_seed_drives_the_numpy_rng():
    set_rng(np.random)
    np.random.seed(3)
    first = init.Normal().sample((10,))
    np.random.seed(3)
    np.testing.assert_array_equal(init.Normal().sample((10,)), first)


def lasagne_modules():
    package = importlib.import_module("aenet.lasagne")
    names = [info.name for info in pkgutil.walk_packages(package.__path__, "aenet.lasagne.")]
    return ["aenet.lasagne"] + names


@pytest.mark.parametrize("name", lasagne_modules())
def test_docstring_examples(name):
    failures, _ = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert failures == 0
