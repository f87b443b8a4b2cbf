"""JAX implementations of aesara's abstract 2-d convolution and its two gradients."""
import warnings

import jax
from aesara.link.jax.dispatch import jax_funcify


with warnings.catch_warnings():  # aesara.tensor.nnet and .signal are deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet.abstract_conv import (
        AbstractConv2d,
        AbstractConv2d_gradInputs,
        AbstractConv2d_gradWeights,
        border_mode_to_pad,
    )
from aenet.jax.mode import as_dtype, constant_ints, static_ints

_CONV_DIMENSIONS = ("NCHW", "OIHW", "NCHW")

# -- convolution ------------------------------------------------------------------


def _check_conv_op(op):
    if op.unshared:
        raise NotImplementedError("aenet has no JAX implementation of unshared convolutions")
    if op.convdim != 2:
        raise NotImplementedError(f"aenet's JAX convolutions are 2-D, got convdim={op.convdim}")


def _conv2d(op, img, kern):
    """``AbstractConv2d`` with ``op``'s flags: a convolution when ``filter_flip``, else a correlation."""
    dilated = tuple((k - 1) * d + 1 for k, d in zip(kern.shape[2:], op.filter_dilation))
    padding = [tuple(p) for p in border_mode_to_pad(op.border_mode, 2, dilated)]
    if op.filter_flip:
        kern = kern[:, :, ::-1, ::-1]
    return jax.lax.conv_general_dilated(
        img,
        kern,
        window_strides=tuple(op.subsample),
        padding=padding,
        rhs_dilation=tuple(op.filter_dilation),
        dimension_numbers=_CONV_DIMENSIONS,
        feature_group_count=op.num_groups,
    )


@jax_funcify.register(AbstractConv2d)
def jax_funcify_AbstractConv2d(op, node=None, **kwargs):
    _check_conv_op(op)

    def abstract_conv2d(img, kern):
        return _conv2d(op, img, kern)

    return abstract_conv2d


@jax_funcify.register(AbstractConv2d_gradWeights)
def jax_funcify_AbstractConv2d_gradWeights(op, node=None, **kwargs):
    """The kernel gradient: the transpose of the convolution, as a function of the kernel."""
    _check_conv_op(op)
    constant_shape = constant_ints(node.inputs[2]) if node is not None else None

    def abstract_conv2d_grad_weights(img, topgrad, shape):
        spatial = constant_shape or static_ints(shape, "the kernel shape of a conv2d gradient")
        kshp = (topgrad.shape[1], img.shape[1] // op.num_groups) + spatial
        transpose = jax.linear_transpose(
            lambda kern: _conv2d(op, img, kern), jax.ShapeDtypeStruct(kshp, img.dtype)
        )
        return transpose(as_dtype(topgrad, img.dtype))[0]

    return abstract_conv2d_grad_weights


@jax_funcify.register(AbstractConv2d_gradInputs)
def jax_funcify_AbstractConv2d_gradInputs(op, node=None, **kwargs):
    """The image gradient: the transpose of the convolution, as a function of the image."""
    _check_conv_op(op)
    constant_shape = constant_ints(node.inputs[2]) if node is not None else None

    def abstract_conv2d_grad_inputs(kern, topgrad, shape):
        spatial = constant_shape or static_ints(shape, "the image shape of a conv2d gradient")
        imshp = (topgrad.shape[0], kern.shape[1] * op.num_groups) + spatial
        transpose = jax.linear_transpose(
            lambda img: _conv2d(op, img, kern), jax.ShapeDtypeStruct(imshp, kern.dtype)
        )
        return transpose(as_dtype(topgrad, kern.dtype))[0]

    return abstract_conv2d_grad_inputs


