"""A CPU 2-D convolution for aesara 2.9.4, through its public rewrite database.

aesara lowers ``AbstractConv2d`` and its two gradients to the BLAS-based
``CorrMM`` Ops, but ``CorrMM.make_node`` in 2.9.4 calls ``tuple(a, b, c, d)``
and raises ``TypeError``, so every conv graph fails to compile in FAST_RUN.
:class:`CorrMM` fixes ``make_node`` in a subclass, and the rewrites below are
registered in aesara's ``conv_opts`` group ahead of aesara's own.  They carry
the ``cxx_only`` tag, so JAX mode never sees them.
"""
import warnings

from aesara.graph.basic import Apply
from aesara.graph.rewriting.basic import copy_stack_trace, node_rewriter
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.type import TensorType

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import corr
    from aesara.tensor.nnet.abstract_conv import (
        AbstractConv2d,
        AbstractConv2d_gradInputs,
        AbstractConv2d_gradWeights,
    )
    from aesara.tensor.nnet.rewriting import conv_groupopt


class CorrMM(corr.CorrMM):
    """``aesara.tensor.nnet.corr.CorrMM`` with a working ``make_node``."""

    def make_node(self, img, kern):
        img, kern = self.as_common_dtype(as_tensor_variable(img), as_tensor_variable(kern))
        if img.type.ndim != 4 or kern.type.ndim != 4:
            raise TypeError(
                f"CorrMM needs 4-D image and kernel, got {img.type.ndim}-D and {kern.type.ndim}-D"
            )
        shape = (
            1 if img.type.shape[0] == 1 else None,
            1 if kern.type.shape[0] == 1 else None,
            None,
            None,
        )
        return Apply(self, [img, kern], [TensorType(img.type.dtype, shape=shape)()])


def _corr_params(op):
    return dict(
        border_mode=op.border_mode,
        subsample=op.subsample,
        filter_dilation=op.filter_dilation,
        num_groups=op.num_groups,
        unshared=op.unshared,
    )


def _flip(kern):
    return kern[:, :, ::-1, ::-1]


def _supported(node):
    """Plain 2-D, shared-weight convolutions on float32/float64 tensors."""
    return (
        not node.op.unshared
        and all(isinstance(v.type, TensorType) for v in node.inputs[:2])
        and node.inputs[0].dtype in ("float32", "float64")
    )


@node_rewriter([AbstractConv2d])
def local_conv2d_corrmm(fgraph, node):
    """``AbstractConv2d`` -> ``CorrMM`` (a correlation; flip the kernel for a convolution)."""
    if not _supported(node):
        return None
    img, kern = node.inputs
    out = CorrMM(**_corr_params(node.op))(img, _flip(kern) if node.op.filter_flip else kern)
    copy_stack_trace(node.outputs[0], out)
    return [out]


@node_rewriter([AbstractConv2d_gradWeights])
def local_conv2d_gradweights_corrmm(fgraph, node):
    """``AbstractConv2d_gradWeights`` -> ``CorrMM_gradWeights``."""
    if not _supported(node):
        return None
    img, topgrad, shape = node.inputs
    out = corr.CorrMM_gradWeights(**_corr_params(node.op))(img, topgrad, shape)
    if node.op.filter_flip:
        out = _flip(out)
    copy_stack_trace(node.outputs[0], out)
    return [out]


@node_rewriter([AbstractConv2d_gradInputs])
def local_conv2d_gradinputs_corrmm(fgraph, node):
    """``AbstractConv2d_gradInputs`` -> ``CorrMM_gradInputs``."""
    if not _supported(node):
        return None
    kern, topgrad, shape = node.inputs
    kern = _flip(kern) if node.op.filter_flip else kern
    out = corr.CorrMM_gradInputs(**_corr_params(node.op))(kern, topgrad, shape)
    copy_stack_trace(node.outputs[0], out)
    return [out]


for _rewrite in (local_conv2d_corrmm, local_conv2d_gradweights_corrmm, local_conv2d_gradinputs_corrmm):
    conv_groupopt.register(
        _rewrite.__name__,
        _rewrite,
        "fast_compile",
        "fast_run",
        "cxx_only",
        "aenet_conv",
        position=10,  # ahead of aesara's conv_gemm rewrites (30)
    )
