"""aenet.lasagne.theano_extensions: Lasagne's 1D convolutions and constant padding."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara.tensor as at
import numpy as np
import pytest

from aenet.lasagne.theano_extensions import conv, padding

RNG = np.random.RandomState(0)
X_VALUES = RNG.rand(2, 3, 11).astype("float32")
W_VALUES = RNG.rand(4, 3, 4).astype("float32")


def reference(x, w, stride=1, flip=True, pad=0):
    """Each output step by hand: the window times the (flipped) filters, summed over channels and taps."""
    x = np.pad(x, [(0, 0), (0, 0), (pad, pad)])
    taps = w.shape[2]
    kernel = w[:, :, ::-1] if flip else w
    steps = [np.einsum("bck,fck->bf", x[:, :, i:i + taps], kernel) for i in range(x.shape[2] - taps + 1)]
    return np.stack(steps, axis=2)[:, :, ::stride]


@pytest.mark.parametrize("name", conv.__all__)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("flip", [True, False])
def test_every_implementation_convolves(name, stride, flip):
    X, W = at.tensor3(), at.tensor3()
    out = getattr(conv, name)(X, W, X_VALUES.shape, W_VALUES.shape, subsample=(stride,), filter_flip=flip)
    np.testing.assert_allclose(out.eval({X: X_VALUES, W: W_VALUES}), reference(X_VALUES, W_VALUES, stride, flip),
                               rtol=1e-5)  # fmt: skip


@pytest.mark.parametrize("name", ["conv1d_mc0", "conv1d_mc1"])
@pytest.mark.parametrize("border_mode, pad", [(2, 2), ((1,), 1), ("full", 3)])
def test_the_2d_layouts_pad(name, border_mode, pad):
    X, W = at.tensor3(), at.tensor3()
    out = getattr(conv, name)(X, W, None, None, border_mode=border_mode)
    np.testing.assert_allclose(out.eval({X: X_VALUES, W: W_VALUES}), reference(X_VALUES, W_VALUES, pad=pad), rtol=1e-5)


@pytest.mark.parametrize("name", conv.__all__)
def test_an_unknown_border_mode_is_refused(name):
    with pytest.raises(ValueError, match="border_mode"):
        getattr(conv, name)(at.tensor3(), at.tensor3(), (1, 1, 10), (2, 1, 3), border_mode=None)


@pytest.mark.parametrize("name", ["conv1d_sc", "conv1d_unstrided", "conv1d_sd", "conv1d_md"])
def test_valid_only_implementations_refuse_padding(name):
    with pytest.raises(ValueError, match="'valid' convolutions only"):
        getattr(conv, name)(at.tensor3(), at.tensor3(), (1, 1, 10), (2, 1, 3), border_mode="full")


@pytest.mark.parametrize("name", ["conv1d_unstrided", "conv1d_sd", "conv1d_md"])
def test_folded_strides_need_a_filter_length_multiple_of_the_stride(name):
    with pytest.raises(ValueError, match="filter length 3 is not a multiple of the stride 2"):
        getattr(conv, name)(at.tensor3(), at.tensor3(), (1, 1, 10), (2, 1, 3), subsample=(2,))


@pytest.mark.parametrize("width, batch_ndim, expected", [
    (3, 1, [(0, 0), (3, 3), (3, 3), (3, 3)]),
    ((1, 2), 2, [(0, 0), (0, 0), (1, 1), (2, 2)]),
    ([(1, 2), (0, 4)], 2, [(0, 0), (0, 0), (1, 2), (0, 4)]),
])  # fmt: skip
@pytest.mark.parametrize("val", [0, 7])
def test_pad_fills_the_trailing_axes(width, batch_ndim, expected, val):
    X = at.tensor4()
    values = RNG.rand(2, 3, 4, 5).astype("float32")
    padded = padding.pad(X, width, val, batch_ndim).eval({X: values})
    np.testing.assert_array_equal(padded, np.pad(values, expected, constant_values=val))
    assert padded.dtype == np.float32


@pytest.mark.parametrize("width, message", [((1, 2, 3), "3 entries for 2 padded axes"), ([(1, -1), 2], ">= 0")])
def test_pad_refuses_bad_widths(width, message):
    with pytest.raises(ValueError, match=message):
        padding.pad(at.tensor4(), width, batch_ndim=2)


@pytest.mark.usefixtures("jax_cpu")
@pytest.mark.parametrize("name", ["conv1d_sc", "conv1d_mc1", "conv1d_md"])
def test_the_jax_backend_agrees_with_c(name):
    pytest.importorskip("jax")
    from helpers.backends import compare

    X, W = at.tensor3(), at.tensor3()
    out = getattr(conv, name)(X, W, X_VALUES.shape, W_VALUES.shape, subsample=(2,))
    padded = padding.pad(out, [(1, 0)], 0.5, 2)
    compare([X, W], [padded], [X_VALUES, W_VALUES], expect_ops=["AbstractConv2d"], wrt=[X, W])
