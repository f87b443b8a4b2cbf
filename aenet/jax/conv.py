"""JAX implementations of aesara's abstract 2-d and 3-d convolutions and their two gradients."""
import jax
from aesara.link.jax.dispatch import jax_funcify

from aenet.jax.mode import as_dtype, constant_ints, static_ints
from aenet.jax.mode import nnet_conv as C  # noqa: N812

_CONV_DIMENSIONS = {2: ("NCHW", "OIHW", "NCHW"), 3: ("NCDHW", "OIDHW", "NCDHW")}

# -- convolution ------------------------------------------------------------------


def _check_conv_op(op):
    if op.unshared:
        raise NotImplementedError("aenet has no JAX implementation of unshared convolutions")
    if op.convdim not in _CONV_DIMENSIONS:
        raise NotImplementedError(f"aenet's JAX convolutions are 2-D or 3-D, got convdim={op.convdim}")


def _conv(op, img, kern):
    """``AbstractConv2d``/``3d`` with ``op``'s flags: a convolution when ``filter_flip``, else a correlation."""
    nd = op.convdim
    dilated = tuple((k - 1) * d + 1 for k, d in zip(kern.shape[2:], op.filter_dilation))
    padding = [tuple(p) for p in C.border_mode_to_pad(op.border_mode, nd, dilated)]
    if op.filter_flip:
        kern = kern[(slice(None), slice(None)) + (slice(None, None, -1),) * nd]
    return jax.lax.conv_general_dilated(
        img,
        kern,
        window_strides=tuple(op.subsample),
        padding=padding,
        rhs_dilation=tuple(op.filter_dilation),
        dimension_numbers=_CONV_DIMENSIONS[nd],
        feature_group_count=op.num_groups,
    )


@jax_funcify.register(C.AbstractConv2d)
@jax_funcify.register(C.AbstractConv3d)
def jax_funcify_AbstractConv(op, node=None, **kwargs):
    _check_conv_op(op)

    def abstract_conv(img, kern):
        return _conv(op, img, kern)

    return abstract_conv


def _conv_transpose(op, node, wrt):
    """The gradient of the convolution for ``wrt`` ("kernel" or "image"): its transpose in that argument."""
    _check_conv_op(op)
    constant_shape = constant_ints(node.inputs[2]) if node is not None else None

    def conv_gradient(known, topgrad, shape):
        spatial = constant_shape or static_ints(shape, f"the {wrt} shape of a conv2d gradient")
        if wrt == "kernel":  # known is the image
            full = (topgrad.shape[1], known.shape[1] // op.num_groups) + spatial
            def conv(kern): return _conv(op, known, kern)  # noqa: E704
        else:  # known is the kernel
            full = (topgrad.shape[0], known.shape[1] * op.num_groups) + spatial
            def conv(img): return _conv(op, img, known)  # noqa: E704
        transpose = jax.linear_transpose(conv, jax.ShapeDtypeStruct(full, known.dtype))
        return transpose(as_dtype(topgrad, known.dtype))[0]

    return conv_gradient


@jax_funcify.register(C.AbstractConv2d_gradWeights)
@jax_funcify.register(C.AbstractConv3d_gradWeights)
def jax_funcify_AbstractConv2d_gradWeights(op, node=None, **kwargs):
    """The kernel gradient: the transpose of the convolution, as a function of the kernel."""
    return _conv_transpose(op, node, "kernel")


@jax_funcify.register(C.AbstractConv2d_gradInputs)
@jax_funcify.register(C.AbstractConv3d_gradInputs)
def jax_funcify_AbstractConv2d_gradInputs(op, node=None, **kwargs):
    """The image gradient: the transpose of the convolution, as a function of the image."""
    return _conv_transpose(op, node, "image")
