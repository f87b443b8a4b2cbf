"""aenet.lasagne.utils: the helpers Lasagne 0.2 exports, and create_param's kinds of spec."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

from unittest import mock

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne import utils
from aenet.lasagne.layers import DenseLayer, InputLayer, get_output


def test_floatx_and_shared_empty():
    assert utils.floatX([1, 2]).dtype == np.float32
    already = np.zeros(3, np.float32)
    assert utils.floatX(already) is already
    empty = utils.shared_empty(3)
    assert empty.get_value().shape == (1, 1, 1) and empty.dtype == "float32"
    assert not empty.get_value().any()
    assert utils.shared_empty(1, dtype="int32").dtype == "int32"


def test_as_theano_expression():
    x = at.fmatrix()
    assert utils.as_theano_expression(x) is x
    np.testing.assert_array_equal(utils.as_theano_expression(np.arange(3)).eval(), [0, 1, 2])
    with pytest.raises(TypeError, match="dict"):
        utils.as_theano_expression({})


def test_collect_shared_vars_walks_depth_first_from_the_left():
    x, y, z = (aesara.shared(np.float32(0), name=name) for name in "xyz")
    assert utils.collect_shared_vars([x, y, z]) == [x, y, z]
    assert utils.collect_shared_vars([z, y, x, z]) == [z, y, x]
    assert utils.collect_shared_vars((x + y) + z) == [x, y, z]
    assert utils.collect_shared_vars(x + (y + z)) == [x, y, z]
    assert utils.collect_shared_vars([y * z * np.ones(4, np.float32), x**2, at.fmatrix() + x]) == [y, z, x]
    assert utils.collect_shared_vars(at.fmatrix() * 2) == []


def test_one_hot_against_numpy():
    labels = np.array([3, 0, 2, 2, 5])
    expected = np.eye(6)[labels]
    np.testing.assert_array_equal(utils.one_hot(labels).eval(), expected)
    padded = utils.one_hot(at.as_tensor_variable(labels), 8).eval()
    assert padded.shape == (5, 8) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:, :6], expected)


def test_unique_and_as_tuple():
    assert utils.unique([3, 1, 3, 2, 1]) == [3, 1, 2]
    assert utils.as_tuple(2, 3) == (2, 2, 2)
    assert utils.as_tuple(np.int64(2), 2, int) == (2, 2)
    with pytest.raises(ValueError, match="length 4"):
        utils.as_tuple([1, 2, 3], 4)
    with pytest.raises(TypeError, match="int"):
        utils.as_tuple("abcd", 4, int)
    assert isinstance(np.int16(1), utils.int_types) and not isinstance(1.0, utils.int_types)


def test_inspect_kwargs():
    assert utils.inspect_kwargs(lambda a, b, c=42, bar="x": 0) == ["c", "bar"]
    assert utils.inspect_kwargs(lambda x, *args, **kwargs: 0) == []
    assert utils.inspect_kwargs(utils.inspect_kwargs) == []


NORM_CASES = [
    ((6, 5), None, lambda a: np.sqrt((a**2).sum(axis=0))),
    ((4, 3, 2, 2), None, lambda a: np.sqrt((a**2).sum(axis=(1, 2, 3)))),
    ((4, 3, 2, 5), (0, 2), lambda a: np.sqrt((a**2).sum(axis=(0, 2)))),
    ((7,), None, np.abs),
]


@pytest.mark.parametrize("shape, axes, reference", NORM_CASES)
def test_compute_norms_numpy_and_symbolic(shape, axes, reference):
    array = np.random.RandomState(1).standard_normal(shape).astype(np.float32)
    expected = reference(array.astype(np.float64))
    numeric = utils.compute_norms(array, norm_axes=axes)
    assert numeric.dtype == np.float32
    np.testing.assert_allclose(numeric, expected, rtol=1e-5)
    symbolic = utils.compute_norms(aesara.shared(array), norm_axes=axes).eval()
    np.testing.assert_allclose(symbolic, expected, rtol=1e-5)


def test_compute_norms_errors():
    with pytest.raises(RuntimeError, match="Unsupported type"):
        utils.compute_norms([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="Unsupported tensor dimensionality 6"):
        utils.compute_norms(np.zeros((1, 2, 1, 2, 1, 2)))


# -- create_param ------------------------------------------------------------------------


def test_create_param_from_numbers():
    param = utils.create_param(0.25, (), name="alpha")
    assert param.dtype == "float32" and param.get_value() == np.float32(0.25) and param.name == "alpha"
    assert utils.create_param(np.float64(2), ()).dtype == "float64"
    assert utils.create_param(3, ()).get_value() == 3
    with pytest.raises(ValueError, match=r"has shape \(\), expected \(2,\)"):
        utils.create_param(1.0, (2,))


@pytest.mark.parametrize("shape", [(10, 1, 20), (1, 2), (3, 1), (2, 3)])
def test_create_param_arrays_are_broadcastable_along_length_one_axes(shape):
    expected = tuple(s == 1 for s in shape)
    assert utils.create_param(np.zeros, shape).broadcastable == expected
    assert utils.create_param(np.zeros(shape, np.int16), shape).dtype == "int16"


def test_create_param_passes_expressions_through():
    base = aesara.shared(np.ones((2, 3), np.float32), name="base")
    tied = base.T * 2
    assert utils.create_param(tied, (3, 2), name="W") is tied and tied.name == "W"
    factory = mock.Mock(return_value=tied)
    assert utils.create_param(factory, [3, 2]) is tied
    factory.assert_called_once_with((3, 2))
    with pytest.raises(ValueError, match="2 dimensions, expected 3"):
        utils.create_param(tied, (3, 2, 1))
    named = base * 1
    named.name = "mine"
    assert utils.create_param(named, (2, 3), name="other").name == "mine"


def test_create_param_accepts_any_iterable_shape():
    assert utils.create_param(np.ones, (n for n in (2, 3))).get_value().shape == (2, 3)


@pytest.mark.parametrize("spec", [{}, "zeros", lambda shape: {}, mock.Mock(return_value="text")])
def test_create_param_bad_kinds_raise_type_error(spec):
    with pytest.raises(TypeError, match="cannot create parameter 'p'"):
        utils.create_param(spec, (1, 2), name="p")


def test_layers_take_expressions_and_list_the_shared_variables_behind_them():
    l_in = InputLayer((None, 3))
    first = DenseLayer(l_in, 4, name="first")
    tied = DenseLayer(first, 3, W=first.W.T, name="tied")
    assert tied.W.owner is not None  # an expression, not a shared variable
    assert tied.get_params() == [first.W, tied.b]
    assert tied.get_params(unwrap_shared=False) == [tied.W, tied.b]
    assert tied.get_params(regularizable=True) == [first.W]
    x = np.random.RandomState(0).standard_normal((2, 3)).astype(np.float32)
    W, b1, b2 = first.W.get_value(), first.b.get_value(), tied.b.get_value()
    hidden = np.maximum(x @ W + b1, 0)
    expected = np.maximum(hidden @ W.T + b2, 0)
    np.testing.assert_allclose(get_output(tied, x).eval(), expected, rtol=1e-5)


def test_as_dtype_keeps_every_digit_of_a_number_and_casts_expressions():
    precise = utils.as_dtype(1.0507009873554805, "float64")
    assert precise.dtype == "float64" and float(precise.eval()) == 1.0507009873554805
    assert utils.as_dtype(0.1, "float32").eval() == np.float32(0.1)
    x = at.dscalar()
    assert utils.as_dtype(x, "float32").dtype == "float32"
    assert utils.as_dtype(x, "float64") is x
