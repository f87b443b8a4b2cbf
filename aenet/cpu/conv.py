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

from aenet.cpu.graph import FLOAT_DTYPES

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
        and node.inputs[0].dtype in FLOAT_DTYPES
    )


def _corr_rewrite(name, abstract_op, corr_op, flipped):
    """The rewrite ``name``: ``abstract_op`` nodes to ``corr_op``.

    With ``filter_flip`` (a convolution, not a correlation) the kernel is
    flipped: the input at index ``flipped``, or the output when ``flipped``
    is ``"output"`` (the kernel's gradient).
    """

    def rewrite(fgraph, node):
        if not _supported(node):
            return None
        inputs = list(node.inputs)
        flip = node.op.filter_flip
        if flip and flipped != "output":
            inputs[flipped] = _flip(inputs[flipped])
        out = corr_op(**_corr_params(node.op))(*inputs)
        if flip and flipped == "output":
            out = _flip(out)
        copy_stack_trace(node.outputs[0], out)
        return [out]

    rewrite.__name__ = rewrite.__qualname__ = name
    rewrite.__doc__ = f"``{abstract_op.__name__}`` -> ``{corr_op.__name__}``."
    return node_rewriter([abstract_op])(rewrite)


local_conv2d_corrmm = _corr_rewrite("local_conv2d_corrmm", AbstractConv2d, CorrMM, flipped=1)
local_conv2d_gradweights_corrmm = _corr_rewrite(
    "local_conv2d_gradweights_corrmm", AbstractConv2d_gradWeights, corr.CorrMM_gradWeights, flipped="output"
)
local_conv2d_gradinputs_corrmm = _corr_rewrite(
    "local_conv2d_gradinputs_corrmm", AbstractConv2d_gradInputs, corr.CorrMM_gradInputs, flipped=0
)

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
