"""Lasagne's alternative 1D convolutions (``theano_extensions.conv``), on aesara's conv2d.

Every function convolves ``input`` ``(batch, channels, length)`` with
``filters`` ``(filters, channels, filter_length)`` into ``(batch, filters,
output_length)``.  Lasagne offered them as speed alternatives (a single
input channel, a 2D convolution of height or width 1, folded strides, dot
products); aenet keeps their names, arguments and checks, and computes them
all with the same 2D convolution, whose C and JAX versions aenet tunes.

=====================  =============================================  ===========================
function               layout it stands for                           limits kept from Lasagne
=====================  =============================================  ===========================
``conv1d_sc``          channels as an image row, one input channel    ``border_mode='valid'``
``conv1d_mc0``         images of height 1                             any conv2d ``border_mode``
``conv1d_mc1``         images of width 1                              any conv2d ``border_mode``
``conv1d_unstrided``   strides folded into channels                   ``'valid'``; shapes needed;
``conv1d_sd``          one dot product                                filter length a multiple
``conv1d_md``          a dot product per stride step                  of the stride
=====================  =============================================  ===========================
"""
import warnings

from aenet.lasagne.utils import int_types

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import conv2d

__all__ = ["conv1d_sc", "conv1d_mc0", "conv1d_mc1", "conv1d_unstrided", "conv1d_sd", "conv1d_md"]


def _pad_1d(border_mode, name):
    """``border_mode`` for the length axis: a conv2d mode string or an int padding."""
    if border_mode in ("valid", "full", "half"):
        return border_mode
    if isinstance(border_mode, tuple) and len(border_mode) == 1:
        border_mode = border_mode[0]
    if isinstance(border_mode, int_types) and border_mode >= 0:
        return int(border_mode)
    raise ValueError("%s: unsupported border_mode %r; expected 'valid', 'full', 'half' or an int >= 0"
                     % (name, border_mode))  # fmt: skip


def _with_unit_axis(shape, axis):
    return None if shape is None else tuple(shape[:axis]) + (1,) + tuple(shape[axis:])


def _conv_2d(input, filters, image_shape, filter_shape, pad, stride, filter_flip, axis):
    """The 1D convolution as a 2D one with a unit axis inserted at ``axis`` (2 or 3)."""
    pattern = (0, 1, "x", 2) if axis == 2 else (0, 1, 2, "x")
    border = pad if isinstance(pad, str) else ((0, pad) if axis == 2 else (pad, 0))
    conved = conv2d(
        input.dimshuffle(*pattern), filters.dimshuffle(*pattern),
        input_shape=_with_unit_axis(image_shape, axis), filter_shape=_with_unit_axis(filter_shape, axis),
        border_mode=border, subsample=(1, stride) if axis == 2 else (stride, 1), filter_flip=filter_flip,
    )  # fmt: skip
    return conved[:, :, 0, :] if axis == 2 else conved[:, :, :, 0]


def conv1d_mc0(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1,),
               filter_flip=True):  # fmt: skip
    """1D convolution as a 2D one over images of height 1."""
    pad = _pad_1d(border_mode, "conv1d_mc0")
    return _conv_2d(input, filters, image_shape, filter_shape, pad, subsample[0], filter_flip, axis=2)


def conv1d_mc1(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1,),
               filter_flip=True):  # fmt: skip
    """1D convolution as a 2D one over images of width 1."""
    pad = _pad_1d(border_mode, "conv1d_mc1")
    return _conv_2d(input, filters, image_shape, filter_shape, pad, subsample[0], filter_flip, axis=3)


def _valid_only(border_mode, name):
    if border_mode != "valid":
        raise ValueError("%s: unsupported border_mode %r; it computes 'valid' convolutions only" % (name, border_mode))


def conv1d_sc(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1,),
              filter_flip=True):  # fmt: skip
    """1D convolution with the channels as the rows of a single-channel image (``'valid'`` only)."""
    _valid_only(border_mode, "conv1d_sc")
    return conv1d_mc0(input, filters, image_shape, filter_shape, "valid", subsample, filter_flip)


def _strided(name):
    """One of Lasagne's folded-stride convolutions: its checks, then :func:`conv1d_mc0`."""

    def convolve(input, filters, image_shape, filter_shape, border_mode="valid", subsample=(1,), filter_flip=True):
        _valid_only(border_mode, name)
        stride, filter_length = subsample[0], filter_shape[-1]
        if filter_length % stride:
            raise ValueError("%s: the filter length %d is not a multiple of the stride %d"
                             % (name, filter_length, stride))  # fmt: skip
        return conv1d_mc0(input, filters, image_shape, filter_shape, "valid", subsample, filter_flip)

    convolve.__name__ = convolve.__qualname__ = name
    convolve.__doc__ = (f"1D convolution standing for Lasagne's ``{name}``: ``'valid'`` only, "
                        "``image_shape`` and ``filter_shape`` needed, the filter length a multiple of the stride.")
    return convolve


conv1d_unstrided = _strided("conv1d_unstrided")
conv1d_sd = _strided("conv1d_sd")
conv1d_md = _strided("conv1d_md")
