"""Batched im2col convolutions: a few images per BLAS call instead of one.

aesara's ``CorrMM`` Ops unfold one image at a time and call ``gemm`` once per
image; for the small images of the post's CNN these are small products that
BLAS runs at a fraction of its speed.  The Ops here unfold a chunk of images
into one matrix (``c/corr_support.c``) and make each chunk one larger ``gemm``
(``c/corr_kernels.c``), with the chunks spread over OpenMP threads and BLAS on
one thread.  The chunk holds as many images as keep the unfolded matrix and
the output block within :data:`CHUNK_FLOATS` (cache-sized, so the matrix is
still in cache when BLAS reads it).  The results equal aesara's ``CorrMM``
Ops up to float rounding (sums in another order).

:func:`local_batched_corr` replaces ``CorrMM``, ``CorrMM_gradWeights`` and
``CorrMM_gradInputs`` nodes (plain, shared-weight, undilated, ungrouped
correlations with symmetric padding) after aesara's conv rewrites, and
:func:`local_batched_corr_bias` folds a following per-channel bias add into
the forward Op; both are registered in ``aesara.compile.optdb`` with the
``cxx_only`` tag.
"""
import numpy as np
from aesara.compile import optdb
from aesara.graph.basic import Apply
from aesara.graph.rewriting.basic import copy_stack_trace, in2out, node_rewriter
from aesara.scalar import basic as aes
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.elemwise import DimShuffle, Elemwise
from aesara.tensor.type import TensorType

from aenet.cpu.conv import corr as nnet_corr  # aesara's CorrMM Ops
from aenet.cpu.graph import FLOAT_DTYPES, commuted_operands
from aenet.cpu.threaded import BlasThreadedCOp, c_source, c_source_version

__all__ = [
    "BatchedCorr",
    "BatchedCorrGradWeights",
    "BatchedCorrGradInputs",
    "local_batched_corr",
    "local_batched_corr_bias",
]

#: floats of unfolded images plus output block per BLAS call (a quarter of a 512 KiB L2)
CHUNK_FLOATS = 32 * 1024

_C_SOURCES = ("corr_support.c", "corr_kernels.c")

#: the C codes of the padding modes (c/corr_support.c)
_C_PAD_MODES = {"half": -1, "full": -2}


def _border(op):
    """``(ph, pw)``, ``"half"`` or ``"full"`` for a CorrMM border_mode with symmetric padding, else None."""
    mode = op.border_mode
    if mode == "valid":
        return (0, 0)
    if mode in ("half", "full"):
        return mode
    if isinstance(mode, tuple) and len(mode) == 2 and all(
        isinstance(m, tuple) and len(m) == 2 and m[0] == m[1] for m in mode
    ):
        return (int(mode[0][0]), int(mode[1][0]))
    return None  # asymmetric padding: left to CorrMM


class _BatchedCorrBase(BlasThreadedCOp):
    __props__ = ("pad", "subsample")

    #: the C function (c/corr_kernels.c) that computes the Op's output
    c_function = None

    def __init__(self, pad=(0, 0), subsample=(1, 1)):
        self.pad = pad if pad in ("half", "full") else tuple(int(p) for p in pad)
        self.subsample = tuple(int(s) for s in subsample)
        if isinstance(self.pad, tuple) and (len(self.pad) != 2 or min(self.pad) < 0):
            raise ValueError(f"pad must be 'half', 'full' or two ints >= 0, got {pad!r}")
        if len(self.subsample) != 2 or min(self.subsample) < 1:
            raise ValueError(f"subsample must be two ints >= 1, got {subsample!r}")

    def _float_4d_pair(self, a, b):
        """``a`` and ``b`` as 4-D tensors of one float dtype, or a ``TypeError`` naming the Op."""
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        name = type(self).__name__
        if a.type.ndim != 4 or b.type.ndim != 4 or a.type.dtype != b.type.dtype:
            raise TypeError(f"{name} needs 4-D tensors of one dtype, got {a.type}, {b.type}")
        if a.type.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name} needs float32/float64, got {a.type.dtype}")
        return a, b

    def _pads(self, kh, kw):
        """``(ph, pw)`` for a kernel of ``kh x kw`` (ints or symbolic)."""
        if self.pad == "half":
            return kh // 2, kw // 2
        if self.pad == "full":
            return kh - 1, kw - 1
        return self.pad

    def _numpy_cols(self, img, kh, kw):
        """``col`` as a ``(C, kh, kw, N, OH, OW)`` array (numpy reference)."""
        (ph, pw), (sh, sw) = self._pads(kh, kw), self.subsample
        x = np.pad(img, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        n, c, h, w = x.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        cols = np.empty((c, kh, kw, n, oh, ow), dtype=img.dtype)
        for i in range(kh):
            for j in range(kw):
                cols[:, i, j] = x[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw].transpose(1, 0, 2, 3)
        return cols

    def c_support_code(self, **kwargs):
        return super().c_support_code(**kwargs) + "".join(c_source(name) for name in _C_SOURCES)

    def c_code_cache_version(self):
        return (8, CHUNK_FLOATS, c_source_version(*_C_SOURCES)) + self.threads_version()

    def c_code(self, node, name, inputs, outputs, sub):
        """A call of :attr:`c_function` on the inputs, the output, padding, strides and chunk size."""
        (out,) = outputs
        pad = (_C_PAD_MODES[self.pad],) * 2 if self.pad in _C_PAD_MODES else self.pad
        args = [*self._c_inputs(inputs), f"&{out}", *(str(int(v)) for v in pad + self.subsample)]
        call = f"{self.c_function}<dtype_{out}>({', '.join(args)}, {CHUNK_FLOATS}L)"
        return f"if ({call}) {{ {sub['fail']}; }}\n"


class BatchedCorr(_BatchedCorrBase):
    """Correlation of ``img (N, C, H, W)`` with ``kern (M, C, kh, kw)``: aesara's ``CorrMM``.

    An optional third input, a bias vector of length ``M``, is added to each
    output channel as the products are stored (aesara's ``conv + b.dimshuffle('x', 0, 'x', 'x')``,
    the same rounding).
    """

    c_function = "aenet_batched_corr"

    def make_node(self, img, kern, bias=None):
        img, kern = self._float_4d_pair(img, kern)
        inputs = [img, kern]
        if bias is not None:
            bias = as_tensor_variable(bias)
            if bias.type.ndim != 1 or bias.type.dtype != img.type.dtype:
                raise TypeError(f"BatchedCorr's bias must be a vector of {img.type.dtype}, got {bias.type}")
            inputs.append(bias)
        shape = (img.type.shape[0], kern.type.shape[0], None, None)
        return Apply(self, inputs, [TensorType(img.type.dtype, shape=shape)()])

    def infer_shape(self, fgraph, node, shapes):
        (n, _, h, w), (m, _, kh, kw) = shapes[:2]
        (ph, pw), (sh, sw) = self._pads(kh, kw), self.subsample
        return [(n, m, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)]

    def perform(self, node, inputs, outputs):
        img, kern = inputs[:2]
        m, c, kh, kw = kern.shape
        cols = self._numpy_cols(img, kh, kw)
        out = np.tensordot(kern, cols, axes=([1, 2, 3], [0, 1, 2]))  # (M, N, OH, OW)
        out = np.ascontiguousarray(out.transpose(1, 0, 2, 3), dtype=img.dtype)
        if len(inputs) == 3:
            if inputs[2].shape != (m,):
                raise ValueError(f"BatchedCorr: bias of shape {inputs[2].shape} for {m} channels")
            out += inputs[2][:, None, None]
        outputs[0][0] = out

    def _c_inputs(self, inputs):
        return [*inputs[:2], inputs[2] if len(inputs) == 3 else "NULL"]


class _BatchedCorrGrad(_BatchedCorrBase):
    """A gradient: inputs an array, ``topgrad`` and the sizes of the result's last two axes."""

    #: the axis of ``topgrad`` that is the result's first
    _top_axis = None

    def make_node(self, array, topgrad, size0, size1):
        array, topgrad = self._float_4d_pair(array, topgrad)
        sizes = [as_tensor_variable(s).astype("int64") for s in (size0, size1)]
        shape = (topgrad.type.shape[self._top_axis], array.type.shape[1], None, None)
        return Apply(self, [array, topgrad, *sizes], [TensorType(array.type.dtype, shape=shape)()])

    def infer_shape(self, fgraph, node, shapes):
        array, top = shapes[:2]
        return [(top[self._top_axis], array[1], *node.inputs[2:])]

    def _c_inputs(self, inputs):
        return [*inputs[:2], *(f"(int)*(dtype_{v}*)PyArray_DATA({v})" for v in inputs[2:])]


class BatchedCorrGradWeights(_BatchedCorrGrad):
    """Gradient of :class:`BatchedCorr` wrt the kernel: aesara's ``CorrMM_gradWeights``.

    Inputs ``img``, ``topgrad`` and the kernel's height and width.
    """

    c_function = "aenet_batched_corr_grad_weights"
    _top_axis = 1

    def perform(self, node, inputs, outputs):
        img, top, kh, kw = inputs
        cols = self._numpy_cols(img, int(kh), int(kw))  # (C, kh, kw, N, OH, OW)
        grad = np.tensordot(top, cols, axes=([0, 2, 3], [3, 4, 5]))  # (M, C, kh, kw)
        outputs[0][0] = np.ascontiguousarray(grad, dtype=img.dtype)


class BatchedCorrGradInputs(_BatchedCorrGrad):
    """Gradient of :class:`BatchedCorr` wrt the image: aesara's ``CorrMM_gradInputs``.

    Inputs ``kern``, ``topgrad`` and the image's height and width.
    """

    c_function = "aenet_batched_corr_grad_inputs"
    _top_axis = 0

    def perform(self, node, inputs, outputs):
        kern, top, h, w = inputs
        n, m, oh, ow = top.shape
        _, c, kh, kw = kern.shape
        (ph, pw), (sh, sw) = self._pads(kh, kw), self.subsample
        cols = np.tensordot(kern, top, axes=([0], [1]))  # (C, kh, kw, N, OH, OW)
        x = np.zeros((n, c, int(h) + 2 * ph, int(w) + 2 * pw), dtype=kern.dtype)
        for i in range(kh):
            for j in range(kw):
                x[:, :, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw] += cols[:, i, j].transpose(1, 0, 2, 3)
        outputs[0][0] = np.ascontiguousarray(x[:, :, ph : ph + int(h), pw : pw + int(w)])


def _plain(op):
    """``(pad, subsample)`` when aenet's batched Ops can replace this CorrMM-family Op."""
    if op.unshared or op.num_groups != 1 or tuple(op.filter_dilation) != (1, 1):
        return None
    pad = _border(op)
    return None if pad is None else (pad, tuple(op.subsample))


#: aesara's Op -> aenet's batched Op, and the number of inputs it must have
_REPLACEMENTS = {
    nnet_corr.CorrMM: (BatchedCorr, 2),
    nnet_corr.CorrMM_gradWeights: (BatchedCorrGradWeights, 4),
    nnet_corr.CorrMM_gradInputs: (BatchedCorrGradInputs, 4),
}


@node_rewriter(list(_REPLACEMENTS))
def local_batched_corr(fgraph, node):
    """aesara's ``CorrMM`` Ops -> :class:`BatchedCorr` and its gradients."""
    params = _plain(node.op)
    if params is None or node.inputs[0].type.dtype not in FLOAT_DTYPES:
        return None
    if len({v.type.dtype for v in node.inputs[:2]}) != 1:
        return None
    op_class, n_inputs = next(new for old, new in _REPLACEMENTS.items() if isinstance(node.op, old))
    if len(node.inputs) != n_inputs:
        return None
    out = op_class(*params)(*node.inputs)
    if out.type.dtype != node.outputs[0].type.dtype:
        return None
    copy_stack_trace(node.outputs[0], out)
    return [out]


def _channel_bias(var):
    """``b`` when ``var`` is ``b.dimshuffle('x', 0, 'x', 'x')``, else None."""
    owner = var.owner
    if owner is None or not isinstance(owner.op, DimShuffle):
        return None
    return owner.inputs[0] if tuple(owner.op.new_order) == ("x", 0, "x", "x") else None


@node_rewriter([Elemwise])
def local_batched_corr_bias(fgraph, node):
    """``BatchedCorr(x, W) + b.dimshuffle('x', 0, 'x', 'x')`` -> ``BatchedCorr(x, W, b)``."""
    for conv, bias in commuted_operands(node, aes.Add):
        owner = conv.owner
        if owner is None or not isinstance(owner.op, BatchedCorr) or len(owner.inputs) != 2:
            continue
        b = _channel_bias(bias)
        # the conv without bias must not be needed elsewhere
        if b is None or len(fgraph.clients[conv]) != 1:
            continue
        if b.type.dtype != conv.type.dtype or node.outputs[0].type.dtype != conv.type.dtype:
            continue
        out = owner.op(*owner.inputs, b)
        if out.type.broadcastable != node.outputs[0].type.broadcastable:
            continue
        copy_stack_trace(node.outputs[0], out)
        return [out]
    return None


# after aesara's conv rewrites (conv_opts, 48.7), before elemwise fusion (49)
for _name, _rewrite, _position in (
    ("aenet_batched_corr", local_batched_corr, 48.75),
    ("aenet_batched_corr_bias", local_batched_corr_bias, 48.76),
):
    optdb.register(
        _name,
        in2out(_rewrite),
        "fast_run",
        "cxx_only",
        "aenet_corr",
        position=_position,
    )
