"""Batched im2col convolutions: a few images per BLAS call instead of one.

aesara's ``CorrMM`` Ops unfold one image at a time and call ``gemm`` once per
image.  For the small images of the post's CNN (14x14 and 6x6 outputs after
the first pool) these are small matrix products that BLAS runs at a fraction
of its speed.  The Ops here unfold a chunk of ``nb`` images into one matrix,
``col[k, n*P + p]`` (``k`` over channel x kernel row x kernel column, ``p``
over an image's output pixels), so each chunk is one larger ``gemm``:

forward         ``out'(M x nbP) = kern(M x K) . col(K x nbP)``, then ``out'`` is
                transposed to ``(n, m, p)`` (adding the bias, when the
                rewrite below folded ``conv + b`` into the Op);
weight grad     ``dW(M x K) += top'(M x nbP) . col(K x nbP)^T``;
input grad      ``col(K x nbP) = kern^T . top'``, then folded back (col2im).

``nb`` is as many images as keep ``col`` and the output block within
``CHUNK_FLOATS`` (cache-sized, so the unfolded matrix is still in cache when
BLAS reads it); the 30x30 outputs of the first layer get one image per call,
written straight into the output.  BLAS runs on one thread; the chunks are
spread over OpenMP threads, as many as BLAS had (the job's thread count).
The results equal aesara's ``CorrMM`` Ops up to float rounding (sums in
another order).

:func:`local_batched_corr` replaces ``CorrMM``, ``CorrMM_gradWeights`` and
``CorrMM_gradInputs`` nodes (plain, shared-weight, undilated, ungrouped
correlations with symmetric padding) after aesara's conv rewrites, and
:func:`local_batched_corr_bias` folds a following per-channel bias add into
the forward Op; both are registered in ``aesara.compile.optdb`` with the
``cxx_only`` tag.
"""
import functools
import os
import warnings

import numpy as np
from aesara.compile import optdb
from aesara.graph.basic import Apply
from aesara.graph.rewriting.basic import copy_stack_trace, in2out, node_rewriter
from aesara.link.c.op import COp
from aesara.tensor import blas_headers
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.blas import ldflags
from aesara.tensor.elemwise import DimShuffle, Elemwise
from aesara.scalar import basic as aes
from aesara.tensor.type import TensorType

with warnings.catch_warnings():  # aesara.tensor.nnet is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import corr

__all__ = [
    "BatchedCorr",
    "BatchedCorrGradWeights",
    "BatchedCorrGradInputs",
    "local_batched_corr",
    "local_batched_corr_bias",
]

# OpenMP threads that spin while they wait for work take a core from the
# thread that has work whenever the cores are shared (a 2-core machine running
# anything else): conv steps took 5-7x longer with libgomp's default policy.
# Waiting threads sleep instead, unless the user chose otherwise.  libgomp
# reads this when it is loaded, which is when the first of these Ops is.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: floats of unfolded images plus output block per BLAS call (a quarter of a 512 KiB L2)
CHUNK_FLOATS = 32 * 1024

_SUPPORT = r"""
#ifndef AENET_BATCHED_CORR
#define AENET_BATCHED_CORR
#include <string.h>
#include <stdlib.h>

/* col[k][n * P + p] = padded x[n][c][oh * sh + i - ph][ow * sw + j - pw] for images
   n0 <= n < n1 (columns (n - n0) * P + p, leading dimension ld) */
#define AENET_DEFINE_CORR(T, S)                                                              \
static void aenet_im2col_##S(const T* x, int n0, int n1, int C, int H, int W, int kh, int kw, \
                             int ph, int pw, int sh, int sw, int OH, int OW, T* col, long ld) { \
    const long P = (long)OH * OW;                                                            \
    for (int c = 0; c < C; c++)                                                              \
    for (int i = 0; i < kh; i++)                                                             \
    for (int j = 0; j < kw; j++) {                                                           \
        T* row = col + ((long)(c * kh + i) * kw + j) * ld;                                   \
        for (int n = n0; n < n1; n++) {                                                      \
            const T* plane = x + ((long)n * C + c) * H * W;                                  \
            T* dst = row + (long)(n - n0) * P;                                               \
            for (int oh = 0; oh < OH; oh++) {                                                \
                const int h = oh * sh + i - ph;                                              \
                T* d = dst + (long)oh * OW;                                                  \
                if (h < 0 || h >= H) { memset(d, 0, sizeof(T) * OW); continue; }             \
                const T* src = plane + (long)h * W;                                          \
                if (sw == 1 && pw == 0) { memcpy(d, src + j, sizeof(T) * OW); continue; }     \
                for (int ow = 0; ow < OW; ow++) {                                            \
                    const int w = ow * sw + j - pw;                                          \
                    d[ow] = (w >= 0 && w < W) ? src[w] : (T)0;                               \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
/* the reverse: x[n][c][...] += col[k][(n - n0) * P + p]; x must be zeroed first */          \
static void aenet_col2im_##S(const T* col, int n0, int n1, int C, int H, int W, int kh, int kw, \
                             int ph, int pw, int sh, int sw, int OH, int OW, T* x, long ld) { \
    const long P = (long)OH * OW;                                                            \
    for (int n = n0; n < n1; n++)                                                            \
    for (int c = 0; c < C; c++) {                                                            \
        T* plane = x + ((long)n * C + c) * H * W;                                            \
        for (int i = 0; i < kh; i++)                                                         \
        for (int j = 0; j < kw; j++) {                                                       \
            const T* src = col + ((long)(c * kh + i) * kw + j) * ld + (long)(n - n0) * P;    \
            for (int oh = 0; oh < OH; oh++) {                                                \
                const int h = oh * sh + i - ph;                                              \
                if (h < 0 || h >= H) continue;                                               \
                T* d = plane + (long)h * W;                                                  \
                const T* s = src + (long)oh * OW;                                            \
                if (sw == 1 && pw == 0) {                                                    \
                    T* dj = d + j;                                                           \
                    for (int ow = 0; ow < OW; ow++) dj[ow] += s[ow];                         \
                    continue;                                                                \
                }                                                                            \
                for (int ow = 0; ow < OW; ow++) {                                            \
                    const int w = ow * sw + j - pw;                                          \
                    if (w >= 0 && w < W) d[w] += s[ow];                                      \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
/* dst[b][a][p] = src[a][b][p] (+ bias[a]) for an (A, B, P) block */                         \
static void aenet_swap01_##S(const T* src, T* dst, long A, long B, long P, const T* bias) { \
    for (long a = 0; a < A; a++)                                                             \
        for (long b = 0; b < B; b++) {                                                       \
            const T* s = src + (a * B + b) * P;                                              \
            T* d = dst + (b * A + a) * P;                                                    \
            if (!bias) { memcpy(d, s, sizeof(T) * P); continue; }                            \
            const T v = bias[a];                                                             \
            for (long p = 0; p < P; p++) d[p] = s[p] + v;                                    \
        }                                                                                    \
}                                                                                            \
/* x[a][p] += bias[a] for an (A, P) block */                                                 \
static void aenet_add_rows_##S(T* x, const T* bias, long A, long P) {                       \
    for (long a = 0; a < A; a++) {                                                           \
        const T v = bias[a];                                                                 \
        T* r = x + a * P;                                                                    \
        for (long p = 0; p < P; p++) r[p] += v;                                              \
    }                                                                                        \
}

/* images per BLAS call: as many as keep col and the output block within
   chunk_floats, at least one */
static int aenet_chunk(int N, int K, int M, int P, long chunk_floats) {
    long per_image = (long)(K + M) * P;
    long nb = per_image > 0 ? chunk_floats / per_image : N;
    if (nb < 1) nb = 1;
    if (nb > N) nb = N;
    return (int)nb;
}

AENET_DEFINE_CORR(float, f32)
AENET_DEFINE_CORR(double, f64)
#endif
"""


@functools.lru_cache(maxsize=None)
def _openmp_flags():
    """``["-fopenmp"]`` when the compiler supports OpenMP (aesara's own test, run once), else []."""
    from aesara.link.c.op import OpenMPOp

    return ["-fopenmp"] if OpenMPOp.test_gxx_support() else []


def _openblas():
    from aesara import config

    return "openblas" in config.blas__ldflags


# The products here are many mid-sized gemm calls; a multi-threaded BLAS wakes
# its threads for each one, which costs more than it saves at these sizes and
# stalls badly when the cores are shared.  So BLAS runs on one thread, and the
# Ops spread the chunks of images over as many OpenMP threads as BLAS had
# (aenet.compile.settings.set_num_threads sets that count).
_SINGLE_THREAD = """
#ifndef AENET_BLAS_ONE_THREAD
#define AENET_BLAS_ONE_THREAD
static int aenet_blas_one_thread(void) {
#if %(openblas)d
    int saved = openblas_get_num_threads();
    if (saved > 1) openblas_set_num_threads(1);
    return saved;
#else
    return 1;
#endif
}
static void aenet_blas_restore(int saved) {
#if %(openblas)d
    if (saved > 1) openblas_set_num_threads(saved);
#endif
}
#endif
"""


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


class _BatchedCorrBase(COp):
    __props__ = ("pad", "subsample")

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
        if a.type.dtype not in ("float32", "float64"):
            raise TypeError(f"{name} needs float32/float64, got {a.type.dtype}")
        return a, b

    def _pads(self, kh, kw):
        """``(ph, pw)`` for a kernel of ``kh x kw`` (ints or symbolic)."""
        if self.pad == "half":
            return kh // 2, kw // 2
        if self.pad == "full":
            return kh - 1, kw - 1
        return self.pad

    def _c_pads(self):
        """C declarations of PH and PW (after kh and kw are known)."""
        ph, pw = {"half": ("kh / 2", "kw / 2"), "full": ("kh - 1", "kw - 1")}.get(self.pad, self.pad)
        return f"const int PH = {ph}, PW = {pw};"

    def c_support_code(self, **kwargs):
        code = blas_headers.blas_header_text()
        if _openblas():
            code += blas_headers.openblas_threads_text() + _SINGLE_THREAD % dict(openblas=1)
        else:
            code += _SINGLE_THREAD % dict(openblas=0)
        return code + _SUPPORT

    def c_libraries(self, **kwargs):
        return ldflags()

    def c_compile_args(self, **kwargs):
        return ldflags(libs=False, flags=True) + _openmp_flags()

    def c_headers(self, **kwargs):
        return ["<omp.h>"] if _openmp_flags() else []

    def c_lib_dirs(self, **kwargs):
        return ldflags(libs=False, libs_dir=True)

    def c_header_dirs(self, **kwargs):
        return ldflags(libs=False, include_dir=True)

    def c_code_cache_version(self):
        return (7, CHUNK_FLOATS, _openblas(), bool(_openmp_flags()), blas_headers.blas_header_version())

    def _types(self, node):
        dtype = node.inputs[0].type.dtype
        return ("float", "f32", "sgemm_") if dtype == "float32" else ("double", "f64", "dgemm_")

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


_CHECK = """
    if (PyArray_NDIM(%(a)s) != 4 || PyArray_NDIM(%(b)s) != 4) {
        PyErr_SetString(PyExc_ValueError, "%(op)s: 4-D inputs required");
        %(fail)s;
    }
"""


class BatchedCorr(_BatchedCorrBase):
    """Correlation of ``img (N, C, H, W)`` with ``kern (M, C, kh, kw)``: aesara's ``CorrMM``.

    An optional third input, a bias vector of length ``M``, is added to each
    output channel as the products are stored (aesara's ``conv + b.dimshuffle('x', 0, 'x', 'x')``,
    the same rounding).
    """

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

    def c_code(self, node, name, inputs, outputs, sub):
        img, kern = inputs[:2]
        bias = inputs[2] if len(inputs) == 3 else None
        (out,) = outputs
        T, S, gemm = self._types(node)
        sh, sw = self.subsample
        if bias is None:
            bias_check, bias_copy = "", "const %s* bp = NULL;" % T
        else:
            bias_check = """
    if (PyArray_NDIM(%(b)s) != 1 || PyArray_DIMS(%(b)s)[0] != PyArray_DIMS(%(kern)s)[0]) {
        PyErr_SetString(PyExc_ValueError, "BatchedCorr: the bias length differs from the number of kernels");
        %(fail)s;
    }
""" % dict(b=bias, kern=kern, fail=sub["fail"])
            bias_copy = """
    %(T)s* bp = (%(T)s*)malloc(sizeof(%(T)s) * (M > 0 ? M : 1));
    if (!bp) failed = 1;
    else for (int m = 0; m < M; m++) bp[m] = *(const %(T)s*)PyArray_GETPTR1(%(b)s, m);
""" % dict(b=bias, T=T)
        return (_CHECK % dict(a=img, b=kern, op="BatchedCorr", fail=sub["fail"])) + """
    {
    %(bias_check)s
    PyArrayObject* x = PyArray_GETCONTIGUOUS(%(img)s);
    PyArrayObject* k = PyArray_GETCONTIGUOUS(%(kern)s);
    if (!x || !k) { Py_XDECREF(x); Py_XDECREF(k); %(fail)s; }
    const int N = PyArray_DIMS(x)[0], C = PyArray_DIMS(x)[1], H = PyArray_DIMS(x)[2], W = PyArray_DIMS(x)[3];
    const int M = PyArray_DIMS(k)[0], kh = PyArray_DIMS(k)[2], kw = PyArray_DIMS(k)[3];
    %(pads)s
    const int OH = (H + 2 * PH - kh) / %(sh)d + 1, OW = (W + 2 * PW - kw) / %(sw)d + 1;
    if (PyArray_DIMS(k)[1] != C || OH < 1 || OW < 1) {
        PyErr_Format(PyExc_ValueError, "BatchedCorr: image (%%d, %%d, %%d, %%d) and kernel (%%d, %%d, %%d, %%d) do not fit",
                     N, C, H, W, M, (int)PyArray_DIMS(k)[1], kh, kw);
        Py_DECREF(x); Py_DECREF(k); %(fail)s;
    }
    npy_intp dims[4] = {N, M, OH, OW};
    if (!%(out)s || !PyArray_IS_C_CONTIGUOUS(%(out)s) || PyArray_DIMS(%(out)s)[0] != N || PyArray_DIMS(%(out)s)[1] != M
        || PyArray_DIMS(%(out)s)[2] != OH || PyArray_DIMS(%(out)s)[3] != OW) {
        Py_XDECREF(%(out)s);
        %(out)s = (PyArrayObject*)PyArray_EMPTY(4, dims, PyArray_TYPE(x), 0);
        if (!%(out)s) { Py_DECREF(x); Py_DECREF(k); %(fail)s; }
    }
    const int K = C * kh * kw, P = OH * OW;
    const %(T)s one = 1, zero = 0;
    char NN = 'N';
    const %(T)s* xp = (const %(T)s*)PyArray_DATA(x);
    const %(T)s* kp = (const %(T)s*)PyArray_DATA(k);
    %(T)s* op = (%(T)s*)PyArray_DATA(%(out)s);
    int failed = 0;
    %(bias_copy)s
    const int blas_threads = aenet_blas_one_thread();
    if (!failed && N > 0 && M > 0) {
        if (K == 0) {
            memset(op, 0, sizeof(%(T)s) * (size_t)N * M * P);
            for (int n = 0; bp && n < N; n++) aenet_add_rows_%(S)s(op + (long)n * M * P, bp, M, P);
        } else {
            const int nb = aenet_chunk(N, K, M, P, %(chunk)d), chunks = (N + nb - 1) / nb;
            const int nt = blas_threads < chunks ? blas_threads : chunks;
            #pragma omp parallel num_threads(nt) if (nt > 1)
            {
            %(T)s* col = (%(T)s*)malloc(sizeof(%(T)s) * (size_t)K * P * nb);
            %(T)s* tmp = nb > 1 ? (%(T)s*)malloc(sizeof(%(T)s) * (size_t)M * P * nb) : NULL;
            const int ok = col && (nb == 1 || tmp);
            #pragma omp for schedule(dynamic)
            for (int c = 0; c < chunks; c++) {
                if (!ok) continue;
                const int n0 = c * nb, n1 = n0 + nb < N ? n0 + nb : N, NP = (n1 - n0) * P;
                aenet_im2col_%(S)s(xp, n0, n1, C, H, W, kh, kw, PH, PW, %(sh)d, %(sw)d, OH, OW, col, NP);
                if (nb == 1) {  /* straight into the output image */
                    %(T)s* o = op + (long)n0 * M * P;
                    %(gemm)s(&NN, &NN, &NP, &M, &K, &one, col, &NP, kp, &K, &zero, o, &NP);
                    if (bp) aenet_add_rows_%(S)s(o, bp, M, P);
                } else {
                    %(gemm)s(&NN, &NN, &NP, &M, &K, &one, col, &NP, kp, &K, &zero, tmp, &NP);
                    aenet_swap01_%(S)s(tmp, op + (long)n0 * M * P, M, n1 - n0, P, bp);
                }
            }
            free(col); free(tmp);
            if (!ok) {
                #pragma omp atomic write
                failed = 1;
            }
            }
        }
    }
    aenet_blas_restore(blas_threads);
    %(bias_free)s
    Py_DECREF(x); Py_DECREF(k);
    if (failed) { PyErr_NoMemory(); %(fail)s; }
    }
""" % dict(img=img, kern=kern, out=out, T=T, S=S, gemm=gemm, pads=self._c_pads(), sh=sh, sw=sw,
           bias_check=bias_check, bias_copy=bias_copy, bias_free="" if bias is None else "free(bp);",
           chunk=CHUNK_FLOATS, fail=sub["fail"])


class BatchedCorrGradWeights(_BatchedCorrBase):
    """Gradient of :class:`BatchedCorr` wrt the kernel: aesara's ``CorrMM_gradWeights``.

    Inputs ``img``, ``topgrad`` and the kernel's height and width.
    """

    def make_node(self, img, topgrad, kh, kw):
        img, topgrad = self._float_4d_pair(img, topgrad)
        kh, kw = as_tensor_variable(kh).astype("int64"), as_tensor_variable(kw).astype("int64")
        shape = (topgrad.type.shape[1], img.type.shape[1], None, None)
        return Apply(self, [img, topgrad, kh, kw], [TensorType(img.type.dtype, shape=shape)()])

    def infer_shape(self, fgraph, node, shapes):
        img, top = shapes[:2]
        return [(top[1], img[1], node.inputs[2], node.inputs[3])]

    def perform(self, node, inputs, outputs):
        img, top, kh, kw = inputs
        cols = self._numpy_cols(img, int(kh), int(kw))  # (C, kh, kw, N, OH, OW)
        grad = np.tensordot(top, cols, axes=([0, 2, 3], [3, 4, 5]))  # (M, C, kh, kw)
        outputs[0][0] = np.ascontiguousarray(grad, dtype=img.dtype)

    def c_code(self, node, name, inputs, outputs, sub):
        img, top, kh, kw = inputs
        (out,) = outputs
        T, S, gemm = self._types(node)
        sh, sw = self.subsample
        return (_CHECK % dict(a=img, b=top, op="BatchedCorrGradWeights", fail=sub["fail"])) + """
    {
    PyArrayObject* x = PyArray_GETCONTIGUOUS(%(img)s);
    PyArrayObject* t = PyArray_GETCONTIGUOUS(%(top)s);
    if (!x || !t) { Py_XDECREF(x); Py_XDECREF(t); %(fail)s; }
    const int N = PyArray_DIMS(x)[0], C = PyArray_DIMS(x)[1], H = PyArray_DIMS(x)[2], W = PyArray_DIMS(x)[3];
    const int M = PyArray_DIMS(t)[1], OH = PyArray_DIMS(t)[2], OW = PyArray_DIMS(t)[3];
    const int kh = (int)*(dtype_%(kh)s*)PyArray_DATA(%(kh)s), kw = (int)*(dtype_%(kw)s*)PyArray_DATA(%(kw)s);
    %(pads)s
    if (PyArray_DIMS(t)[0] != N || kh < 1 || kw < 1
        || OH != (H + 2 * PH - kh) / %(sh)d + 1 || OW != (W + 2 * PW - kw) / %(sw)d + 1) {
        PyErr_Format(PyExc_ValueError, "BatchedCorrGradWeights: image (%%d, %%d, %%d, %%d), output gradient (%%d, %%d, %%d, %%d) and kernel %%dx%%d do not fit",
                     N, C, H, W, (int)PyArray_DIMS(t)[0], M, OH, OW, kh, kw);
        Py_DECREF(x); Py_DECREF(t); %(fail)s;
    }
    npy_intp dims[4] = {M, C, kh, kw};
    if (!%(out)s || !PyArray_IS_C_CONTIGUOUS(%(out)s) || PyArray_DIMS(%(out)s)[0] != M || PyArray_DIMS(%(out)s)[1] != C
        || PyArray_DIMS(%(out)s)[2] != kh || PyArray_DIMS(%(out)s)[3] != kw) {
        Py_XDECREF(%(out)s);
        %(out)s = (PyArrayObject*)PyArray_EMPTY(4, dims, PyArray_TYPE(x), 0);
        if (!%(out)s) { Py_DECREF(x); Py_DECREF(t); %(fail)s; }
    }
    const int K = C * kh * kw, P = OH * OW;
    const %(T)s one = 1, zero = 0;
    char NN = 'N', TT = 'T';
    const %(T)s* xp = (const %(T)s*)PyArray_DATA(x);
    const %(T)s* tp = (const %(T)s*)PyArray_DATA(t);
    %(T)s* op = (%(T)s*)PyArray_DATA(%(out)s);
    int failed = 0;
    const int blas_threads = aenet_blas_one_thread();
    if (N == 0 || P == 0) {
        memset(op, 0, sizeof(%(T)s) * (size_t)M * K);
    } else if (M > 0 && K > 0) {
        const int nb = aenet_chunk(N, K, M, P, %(chunk)d), chunks = (N + nb - 1) / nb;
        const int nt = blas_threads < chunks ? blas_threads : chunks;
        /* thread t sums its share of the chunks into part[t] (static schedule:
           the same split every call), then the parts are added in order */
        %(T)s* part = nt > 1 ? (%(T)s*)malloc(sizeof(%(T)s) * (size_t)M * K * nt) : op;
        if (!part) failed = 1;
        #pragma omp parallel num_threads(nt) if (nt > 1)
        {
        %(T)s* col = (%(T)s*)malloc(sizeof(%(T)s) * (size_t)K * P * nb);
        %(T)s* tt = nb > 1 ? (%(T)s*)malloc(sizeof(%(T)s) * (size_t)M * P * nb) : NULL;
        const int ok = part && col && (nb == 1 || tt);
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        %(T)s* mine = part + (long)tid * M * K;
        int first = 1;
        #pragma omp for schedule(static)
        for (int c = 0; c < chunks; c++) {
            if (!ok) continue;
            const int n0 = c * nb, n1 = n0 + nb < N ? n0 + nb : N, NP = (n1 - n0) * P;
            const %(T)s* top = tp + (long)n0 * M * P;
            aenet_im2col_%(S)s(xp, n0, n1, C, H, W, kh, kw, PH, PW, %(sh)d, %(sw)d, OH, OW, col, NP);
            if (nb > 1) { aenet_swap01_%(S)s(top, tt, n1 - n0, M, P, NULL); top = tt; }
            %(gemm)s(&TT, &NN, &K, &M, &NP, &one, col, &NP, top, &NP, first ? &zero : &one, mine, &K);
            first = 0;
        }
        if (ok && first) memset(mine, 0, sizeof(%(T)s) * (size_t)M * K);  /* no chunk for this thread */
        free(col); free(tt);
        if (!ok) {
            #pragma omp atomic write
            failed = 1;
        }
        }
        if (!failed && nt > 1) {
            memcpy(op, part, sizeof(%(T)s) * (size_t)M * K);
            for (int t = 1; t < nt; t++)
                for (long i = 0; i < (long)M * K; i++) op[i] += part[(long)t * M * K + i];
        }
        if (nt > 1) free(part);
    }
    aenet_blas_restore(blas_threads);
    Py_DECREF(x); Py_DECREF(t);
    if (failed) { PyErr_NoMemory(); %(fail)s; }
    }
""" % dict(img=img, top=top, kh=kh, kw=kw, out=out, T=T, S=S, gemm=gemm, pads=self._c_pads(), sh=sh,
           sw=sw, chunk=CHUNK_FLOATS, fail=sub["fail"])


class BatchedCorrGradInputs(_BatchedCorrBase):
    """Gradient of :class:`BatchedCorr` wrt the image: aesara's ``CorrMM_gradInputs``.

    Inputs ``kern``, ``topgrad`` and the image's height and width.
    """

    def make_node(self, kern, topgrad, h, w):
        kern, topgrad = self._float_4d_pair(kern, topgrad)
        h, w = as_tensor_variable(h).astype("int64"), as_tensor_variable(w).astype("int64")
        shape = (topgrad.type.shape[0], kern.type.shape[1], None, None)
        return Apply(self, [kern, topgrad, h, w], [TensorType(kern.type.dtype, shape=shape)()])

    def infer_shape(self, fgraph, node, shapes):
        kern, top = shapes[:2]
        return [(top[0], kern[1], node.inputs[2], node.inputs[3])]

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

    def c_code(self, node, name, inputs, outputs, sub):
        kern, top, h, w = inputs
        (out,) = outputs
        T, S, gemm = self._types(node)
        sh, sw = self.subsample
        return (_CHECK % dict(a=kern, b=top, op="BatchedCorrGradInputs", fail=sub["fail"])) + """
    {
    PyArrayObject* k = PyArray_GETCONTIGUOUS(%(kern)s);
    PyArrayObject* t = PyArray_GETCONTIGUOUS(%(top)s);
    if (!k || !t) { Py_XDECREF(k); Py_XDECREF(t); %(fail)s; }
    const int M = PyArray_DIMS(k)[0], C = PyArray_DIMS(k)[1], kh = PyArray_DIMS(k)[2], kw = PyArray_DIMS(k)[3];
    %(pads)s
    const int N = PyArray_DIMS(t)[0], OH = PyArray_DIMS(t)[2], OW = PyArray_DIMS(t)[3];
    const int H = (int)*(dtype_%(h)s*)PyArray_DATA(%(h)s), W = (int)*(dtype_%(w)s*)PyArray_DATA(%(w)s);
    if (PyArray_DIMS(t)[1] != M || H < 0 || W < 0
        || OH != (H + 2 * PH - kh) / %(sh)d + 1 || OW != (W + 2 * PW - kw) / %(sw)d + 1) {
        PyErr_Format(PyExc_ValueError, "BatchedCorrGradInputs: kernel (%%d, %%d, %%d, %%d), output gradient (%%d, %%d, %%d, %%d) and image %%dx%%d do not fit",
                     M, C, kh, kw, N, (int)PyArray_DIMS(t)[1], OH, OW, H, W);
        Py_DECREF(k); Py_DECREF(t); %(fail)s;
    }
    npy_intp dims[4] = {N, C, H, W};
    if (!%(out)s || !PyArray_IS_C_CONTIGUOUS(%(out)s) || PyArray_DIMS(%(out)s)[0] != N || PyArray_DIMS(%(out)s)[1] != C
        || PyArray_DIMS(%(out)s)[2] != H || PyArray_DIMS(%(out)s)[3] != W) {
        Py_XDECREF(%(out)s);
        %(out)s = (PyArrayObject*)PyArray_EMPTY(4, dims, PyArray_TYPE(k), 0);
        if (!%(out)s) { Py_DECREF(k); Py_DECREF(t); %(fail)s; }
    }
    const int K = C * kh * kw, P = OH * OW;
    const %(T)s one = 1, zero = 0;
    char NN = 'N', TT = 'T';
    const %(T)s* kp = (const %(T)s*)PyArray_DATA(k);
    const %(T)s* tp = (const %(T)s*)PyArray_DATA(t);
    %(T)s* op = (%(T)s*)PyArray_DATA(%(out)s);
    int failed = 0;
    const int blas_threads = aenet_blas_one_thread();
    memset(op, 0, sizeof(%(T)s) * (size_t)N * C * H * W);
    if (N > 0 && K > 0 && P > 0 && M > 0) {
        const int nb = aenet_chunk(N, K, M, P, %(chunk)d), chunks = (N + nb - 1) / nb;
        const int nt = blas_threads < chunks ? blas_threads : chunks;
        #pragma omp parallel num_threads(nt) if (nt > 1)
        {
        %(T)s* col = (%(T)s*)malloc(sizeof(%(T)s) * (size_t)K * P * nb);
        %(T)s* tt = nb > 1 ? (%(T)s*)malloc(sizeof(%(T)s) * (size_t)M * P * nb) : NULL;
        const int ok = col && (nb == 1 || tt);
        #pragma omp for schedule(dynamic)
        for (int c = 0; c < chunks; c++) {
            if (!ok) continue;
            const int n0 = c * nb, n1 = n0 + nb < N ? n0 + nb : N, NP = (n1 - n0) * P;
            const %(T)s* top = tp + (long)n0 * M * P;
            if (nb > 1) { aenet_swap01_%(S)s(top, tt, n1 - n0, M, P, NULL); top = tt; }
            %(gemm)s(&NN, &TT, &NP, &K, &M, &one, top, &NP, kp, &K, &zero, col, &NP);
            aenet_col2im_%(S)s(col, n0, n1, C, H, W, kh, kw, PH, PW, %(sh)d, %(sw)d, OH, OW, op, NP);
        }
        free(col); free(tt);
        if (!ok) {
            #pragma omp atomic write
            failed = 1;
        }
        }
    }
    aenet_blas_restore(blas_threads);
    Py_DECREF(k); Py_DECREF(t);
    if (failed) { PyErr_NoMemory(); %(fail)s; }
    }
""" % dict(kern=kern, top=top, h=h, w=w, out=out, T=T, S=S, gemm=gemm, pads=self._c_pads(), sh=sh,
           sw=sw, chunk=CHUNK_FLOATS, fail=sub["fail"])


def _plain(op):
    """``(pad, subsample)`` when aenet's batched Ops can replace this CorrMM-family Op."""
    if op.unshared or op.num_groups != 1 or tuple(op.filter_dilation) != (1, 1):
        return None
    pad = _border(op)
    return None if pad is None else (pad, tuple(op.subsample))


@node_rewriter([corr.CorrMM, corr.CorrMM_gradWeights, corr.CorrMM_gradInputs])
def local_batched_corr(fgraph, node):
    """aesara's ``CorrMM`` Ops -> :class:`BatchedCorr` and its gradients."""
    params = _plain(node.op)
    if params is None or node.inputs[0].type.dtype not in ("float32", "float64"):
        return None
    if len({v.type.dtype for v in node.inputs[:2]}) != 1:
        return None
    if isinstance(node.op, corr.CorrMM_gradWeights):
        if len(node.inputs) != 4:
            return None
        out = BatchedCorrGradWeights(*params)(*node.inputs)
    elif isinstance(node.op, corr.CorrMM_gradInputs):
        if len(node.inputs) != 4:
            return None
        out = BatchedCorrGradInputs(*params)(*node.inputs)
    else:
        out = BatchedCorr(*params)(*node.inputs)
    if out.type.dtype != node.outputs[0].type.dtype:
        return None
    copy_stack_trace(node.outputs[0], out)
    return [out]


@node_rewriter([Elemwise])
def local_batched_corr_bias(fgraph, node):
    """``BatchedCorr(x, W) + b.dimshuffle('x', 0, 'x', 'x')`` -> ``BatchedCorr(x, W, b)``."""
    if not isinstance(node.op.scalar_op, aes.Add) or len(node.inputs) != 2:
        return None
    for conv, bias in (node.inputs, node.inputs[::-1]):
        owner = conv.owner
        if owner is None or not isinstance(owner.op, BatchedCorr) or len(owner.inputs) != 2:
            continue
        if len(fgraph.clients[conv]) != 1:  # the conv without bias is needed elsewhere
            continue
        if bias.owner is None or not isinstance(bias.owner.op, DimShuffle):
            continue
        if tuple(bias.owner.op.new_order) != ("x", 0, "x", "x"):
            continue
        b = bias.owner.inputs[0]
        if b.type.dtype != conv.type.dtype or node.outputs[0].type.dtype != conv.type.dtype:
            continue
        out = owner.op(*owner.inputs, b)
        if out.type.broadcastable != node.outputs[0].type.broadcastable:
            continue
        copy_stack_trace(node.outputs[0], out)
        return [out]
    return None


# after aesara's conv rewrites (conv_opts, 48.7), before elemwise fusion (49)
optdb.register(
    "aenet_batched_corr",
    in2out(local_batched_corr),
    "fast_run",
    "cxx_only",
    "aenet_corr",
    position=48.75,
)
optdb.register(
    "aenet_batched_corr_bias",
    in2out(local_batched_corr_bias),
    "fast_run",
    "cxx_only",
    "aenet_corr",
    position=48.76,
)
