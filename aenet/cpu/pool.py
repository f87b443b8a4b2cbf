"""A fast CPU max-pool for aesara 2.9.4, through its public rewrite database.

aesara's ``Pool`` and ``MaxPoolGrad`` C code index every element through
``PyArray_GETPTR4`` with the window sizes read at run time; on the post's CNN
``MaxPoolGrad`` alone takes about half of a training step.  :class:`MaxPool2D`
and :class:`MaxPool2DGrad` do the same computation for the common case
(``mode='max'``, ``ignore_border=True``, no padding, constant window and
stride) on contiguous planes, with the window and stride compiled in as
constants, an AVX2 path for float32 2x2 windows 2 apart, and the planes split
over OpenMP threads (as many as aenet's BLAS threads) for large inputs.  The
rewrites below swap them in for aesara's Ops in FAST_RUN; they carry the
``cxx_only`` tag, so the JAX backend keeps aesara's Ops.

Gradient semantics are Theano's (and aesara's): every input equal to its
window's maximum receives that window's output gradient, ties included, and
overlapping windows add up.  A scatter to a single recorded argmax would
differ wherever a window holds equal values, which ReLU outputs do all the
time (a window of zeros); matching the stock Op keeps training results
identical to what Lasagne/Theano computed, and costs nothing here: the
backward pass compares each input to its window's maximum while it writes the
gradient, so no index array has to be stored between the passes.
"""
import functools
import warnings

import numpy as np
from aesara.graph.basic import Apply, Constant
from aesara.graph.rewriting.basic import copy_stack_trace, node_rewriter
from aesara.link.c.op import COp
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.rewriting.basic import register_specialize_device
from aesara.tensor.type import TensorType

with warnings.catch_warnings():  # aesara.tensor.signal is deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.signal.pool import DownsampleFactorMaxGradGrad, MaxPoolGrad, Pool

__all__ = ["MaxPool2D", "MaxPool2DGrad", "local_max_pool_2d", "local_max_pool_2d_grad"]

_DTYPES = ("float32", "float64")


def _pair(value, name):
    pair = tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be two positive ints, got {value!r}")
    return pair


def _out_len(size, window, stride):
    return max((size - window) // stride + 1, 0)


def _pooled_views(x, ws, stride):
    """Yield ``(k, l, window_view)`` over the window offsets of the last two axes."""
    oh = _out_len(x.shape[-2], ws[0], stride[0])
    ow = _out_len(x.shape[-1], ws[1], stride[1])
    for k in range(ws[0]):
        for l in range(ws[1]):
            rows = slice(k, k + (oh - 1) * stride[0] + 1, stride[0]) if oh else slice(0, 0)
            cols = slice(l, l + (ow - 1) * stride[1] + 1, stride[1]) if ow else slice(0, 0)
            yield k, l, rows, cols



@functools.lru_cache(maxsize=None)
def _openmp_flags():
    """``["-fopenmp"]`` when the compiler supports OpenMP (aesara's own test, run once), else []."""
    from aesara.link.c.op import OpenMPOp

    return ["-fopenmp"] if OpenMPOp.test_gxx_support() else []


def _openblas():
    from aesara import config

    return "openblas" in config.blas__ldflags


def _threads_support():
    """C ``aenet_threads()``: the job's thread count, which aenet keeps as OpenBLAS's."""
    if _openblas():
        return """
extern "C" int openblas_get_num_threads(void);
static int aenet_threads(void) { int n = openblas_get_num_threads(); return n < 1 ? 1 : n; }
"""
    return "static int aenet_threads(void) { return 1; }\n"


class _ThreadedCOp(COp):
    """A COp whose C code may use OpenMP, with as many threads as aenet's BLAS has."""

    def c_support_code(self, **kwargs):
        return "#ifndef AENET_THREADS\n#define AENET_THREADS\n" + _threads_support() + "#endif\n"

    def c_compile_args(self, **kwargs):
        from aesara.tensor.blas import ldflags

        return ldflags(libs=False, flags=True) + _openmp_flags()

    def c_libraries(self, **kwargs):
        from aesara.tensor.blas import ldflags

        return ldflags()

    def c_lib_dirs(self, **kwargs):
        from aesara.tensor.blas import ldflags

        return ldflags(libs=False, libs_dir=True)

    def c_headers(self, **kwargs):
        return ["<omp.h>"] if _openmp_flags() else []

    def _threads_version(self):
        return (_openblas(), bool(_openmp_flags()))


#: pool at least this many input elements before using more than one thread
PARALLEL_MIN_ELEMENTS = 1 << 16

_AVX2_SUPPORT = """
#if defined(__AVX2__) && !defined(AENET_POOL_AVX2)
#define AENET_POOL_AVX2
#include <immintrin.h>
/* the even / odd elements of the 16 floats lo:hi, in order */
static inline __m256 aenet_even(__m256 lo, __m256 hi) {
    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
static inline __m256 aenet_odd(__m256 lo, __m256 hi) {
    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
/* each of the 8 floats of v twice: first the 8 for v0..v3, then for v4..v7 */
static inline void aenet_dup(__m256 v, __m256* first, __m256* second) {
    __m256 lo = _mm256_unpacklo_ps(v, v), hi = _mm256_unpackhi_ps(v, v);
    *first = _mm256_permute2f128_ps(lo, hi, 0x20);
    *second = _mm256_permute2f128_ps(lo, hi, 0x31);
}
/* lane masks for the last rem (< 8) outputs of a row: their 2 * rem inputs
   (first and second 8 floats) and the rem outputs */
static inline void aenet_masks(int rem, __m256i* in0, __m256i* in1, __m256i* out) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    *in0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * rem), idx);
    *in1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * rem - 8), idx);
    *out = _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), idx);
}
/* aesara's maximum(x, 0): (0 > x) ? 0 : ((x >= 0) ? x : NaN) */
static inline __m256 aenet_relu(__m256 x) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 v = _mm256_blendv_ps(_mm256_set1_ps(NAN), x, _mm256_cmp_ps(x, zero, _CMP_GE_OQ));
    return _mm256_blendv_ps(v, zero, _mm256_cmp_ps(zero, x, _CMP_GT_OQ));
}
#endif
"""


class _MaxPoolBase(_ThreadedCOp):
    __props__ = ("ws", "stride")

    def __init__(self, ws=(2, 2), stride=None):
        self.ws = _pair(ws, "ws")
        self.stride = self.ws if stride is None else _pair(stride, "stride")

    @property
    def overlapping(self):
        return self.stride[0] < self.ws[0] or self.stride[1] < self.ws[1]

    def c_headers(self, **kwargs):
        return ["<string.h>", "<math.h>"] + super().c_headers(**kwargs)

    def c_support_code(self, **kwargs):
        return super().c_support_code(**kwargs) + _AVX2_SUPPORT

    def _vectorized(self, node):
        """The AVX2 path covers float32, 2x2 windows 2 apart (the common max-pool)."""
        return node.inputs[0].type.dtype == "float32" and self.ws == (2, 2) and self.stride == (2, 2)

    def _c_constants(self):
        return dict(wh=self.ws[0], ww=self.ws[1], sh=self.stride[0], sw=self.stride[1])


class MaxPool2D(_MaxPoolBase):
    """Max over ``ws`` windows of the last two axes, ``stride`` apart, no padding.

    The output of aesara's ``pool_2d(x, ws, ignore_border=True, stride=stride,
    mode='max')``, bit for bit (the same comparisons in the same order).
    """

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.type.ndim < 2 or x.type.dtype not in _DTYPES:
            raise TypeError(f"MaxPool2D needs a float32/float64 tensor of >= 2 dims, got {x.type}")
        shape = x.type.shape[:-2] + (None, None)
        return Apply(self, [x], [TensorType(x.type.dtype, shape=shape)()])

    def infer_shape(self, fgraph, node, shapes):
        (xs,) = shapes
        from aesara.tensor.math import maximum

        outs = [
            maximum((xs[-2 + i] - self.ws[i]) // self.stride[i] + 1, 0) for i in range(2)
        ]
        return [tuple(xs[:-2]) + tuple(outs)]

    def perform(self, node, inputs, outputs):
        (x,) = inputs
        z = None
        for k, l, rows, cols in _pooled_views(x, self.ws, self.stride):
            window = x[..., rows, cols]
            z = window.copy() if z is None else np.where(window > z, window, z)
        outputs[0][0] = z.astype(x.dtype, copy=False)

    def L_op(self, inputs, outputs, grads):
        (x,) = inputs
        return [MaxPool2DGrad(self.ws, self.stride)(x, outputs[0], grads[0])]

    def c_code_cache_version(self):
        return (5, PARALLEL_MIN_ELEMENTS) + self._threads_version()

    def _c_value(self, element, x):
        """The C expression of the value pooled at ``element`` (a subclass may transform it)."""
        return element

    def _c_vvalue(self, vector):
        """The same for an AVX2 vector of 8 floats."""
        return vector

    def _c_vector_loop(self, node, x, z):
        if not self._vectorized(node):
            return ""
        v = self._c_vvalue
        # max_ps(a, m) is (a > m ? a : m), the scalar loop's comparison, NaN included;
        # full blocks of 8 outputs, then the rest with masked loads and stores
        body = """
                        __m256 m = %s;
                        m = _mm256_max_ps(%s, m);
                        m = _mm256_max_ps(%s, m);
                        m = _mm256_max_ps(%s, m);
""" % (v("aenet_even(p0, p1)"), v("aenet_odd(p0, p1)"), v("aenet_even(q0, q1)"), v("aenet_odd(q0, q1)"))
        return """
#if defined(AENET_POOL_AVX2)
                    for (; j + 8 <= OW; j += 8) {
                        const float* r0 = xrow + 2 * j;
                        const float* r1 = r0 + W;
                        const __m256 p0 = _mm256_loadu_ps(r0), p1 = _mm256_loadu_ps(r0 + 8);
                        const __m256 q0 = _mm256_loadu_ps(r1), q1 = _mm256_loadu_ps(r1 + 8);
                        %(body)s
                        _mm256_storeu_ps(zrow + j, m);
                    }
                    if (j < OW) {
                        const int rem = (int)(OW - j);
                        __m256i mk0, mk1, mko;
                        aenet_masks(rem, &mk0, &mk1, &mko);
                        const float* r0 = xrow + 2 * j;
                        const float* r1 = r0 + W;
                        const __m256 p0 = _mm256_maskload_ps(r0, mk0), p1 = _mm256_maskload_ps(r0 + 8, mk1);
                        const __m256 q0 = _mm256_maskload_ps(r1, mk0), q1 = _mm256_maskload_ps(r1 + 8, mk1);
                        %(body)s
                        _mm256_maskstore_ps(zrow + j, mko, m);
                        j = OW;
                    }
#endif
""" % dict(body=body)

    def c_code(self, node, name, inputs, outputs, sub):
        (x,) = inputs
        (z,) = outputs
        ndim = node.inputs[0].type.ndim
        return """
        {
            const int nd = %(ndim)d;
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            if (!xc) { %(fail)s; }
            npy_intp dims[%(ndim)d];
            npy_intp planes = 1;
            for (int i = 0; i < nd - 2; i++) { dims[i] = PyArray_DIMS(xc)[i]; planes *= dims[i]; }
            const npy_intp H = PyArray_DIMS(xc)[nd - 2], W = PyArray_DIMS(xc)[nd - 1];
            const npy_intp OH = H >= %(wh)d ? (H - %(wh)d) / %(sh)d + 1 : 0;
            const npy_intp OW = W >= %(ww)d ? (W - %(ww)d) / %(sw)d + 1 : 0;
            dims[nd - 2] = OH; dims[nd - 1] = OW;
            int alloc = !%(z)s || !PyArray_IS_C_CONTIGUOUS(%(z)s);
            for (int i = 0; !alloc && i < nd; i++) alloc = PyArray_DIMS(%(z)s)[i] != dims[i];
            if (alloc) {
                Py_XDECREF(%(z)s);
                %(z)s = (PyArrayObject*)PyArray_EMPTY(nd, dims, PyArray_TYPE(xc), 0);
                if (!%(z)s) { Py_DECREF(xc); %(fail)s; }
            }
            const dtype_%(x)s* __restrict__ xp = (const dtype_%(x)s*)PyArray_DATA(xc);
            dtype_%(z)s* __restrict__ zp = (dtype_%(z)s*)PyArray_DATA(%(z)s);
            const int nt = aenet_threads();
            #pragma omp parallel for num_threads(nt) if (nt > 1 && planes * H * W >= %(min_par)d) schedule(static)
            for (npy_intp p = 0; p < planes; p++) {
                const dtype_%(x)s* xplane = xp + p * H * W;
                dtype_%(z)s* zplane = zp + p * OH * OW;
                for (npy_intp i = 0; i < OH; i++) {
                    const dtype_%(x)s* xrow = xplane + i * %(sh)d * W;
                    dtype_%(z)s* zrow = zplane + i * OW;
                    npy_intp j = 0;
                    %(vector)s
                    for (; j < OW; j++) {
                        const dtype_%(x)s* w = xrow + j * %(sw)d;
                        dtype_%(x)s m = %(first)s;
                        for (int k = 0; k < %(wh)d; k++)
                            for (int l = (k == 0); l < %(ww)d; l++) {
                                const dtype_%(x)s a = %(value)s;
                                m = a > m ? a : m;
                            }
                        zrow[j] = m;
                    }
                }
            }
            Py_DECREF(xc);
        }
        """ % dict(
            x=x, z=z, ndim=ndim, fail=sub["fail"], first=self._c_value("w[0]", x),
            vector=self._c_vector_loop(node, x, z), min_par=PARALLEL_MIN_ELEMENTS,
            value=self._c_value("w[k * W + l]", x), **self._c_constants()
        )


class MaxPool2DGrad(_MaxPoolBase):
    """Gradient of :class:`MaxPool2D`: ``gz`` to every input equal to its window's max.

    Inputs ``x`` (the pooled input), ``z`` (the pooled output) and ``gz``;
    the result of aesara's ``MaxPoolGrad`` for the same window and stride.
    """

    def make_node(self, x, z, gz):
        x, z, gz = (as_tensor_variable(v) for v in (x, z, gz))
        if x.type.dtype not in _DTYPES or not x.type.ndim == z.type.ndim == gz.type.ndim >= 2:
            raise TypeError(f"MaxPool2DGrad needs float tensors of equal ndim, got {x.type}, {z.type}, {gz.type}")
        if not x.type.dtype == z.type.dtype == gz.type.dtype:
            raise TypeError(f"MaxPool2DGrad needs one dtype, got {x.type}, {z.type}, {gz.type}")
        return Apply(self, [x, z, gz], [x.type()])

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0]]

    def perform(self, node, inputs, outputs):
        x, z, gz = inputs
        gx = np.zeros_like(x)
        # offsets in reverse order add each input's windows in window order,
        # as the C code and aesara's MaxPoolGrad do
        for k, l, rows, cols in reversed(list(_pooled_views(x, self.ws, self.stride))):
            window = x[..., rows, cols]
            gx[..., rows, cols] += np.where(window == z, gz, 0).astype(x.dtype)
        outputs[0][0] = gx

    def L_op(self, inputs, outputs, grads):
        x, z, gz = inputs
        (ggx,) = grads
        from aesara.tensor.basic import zeros_like

        ggz = DownsampleFactorMaxGradGrad(ignore_border=True, ndim=2)(
            x, z, ggx, self.ws, self.stride, (0, 0)
        )
        return [zeros_like(x), zeros_like(z), ggz]

    def c_code_cache_version(self):
        return (5, PARALLEL_MIN_ELEMENTS) + self._threads_version()

    def _c_condition(self, a, m):
        """C condition for input value ``a`` to receive the gradient of its window's max ``m``."""
        return f"{a} == {m}"

    def _c_vcondition(self, a, m):
        """The same as an AVX2 mask (``a == m`` is false for NaN, as _CMP_EQ_OQ)."""
        return f"_mm256_cmp_ps({a}, {m}, _CMP_EQ_OQ)"

    def _c_vector_loop(self, node):
        if not self._vectorized(node):
            return ""
        c = self._c_vcondition
        return """
#if defined(AENET_POOL_AVX2)
                    for (; j + 8 <= OW; j += 8) {
                        __m256 m0, m1, g0, g1;
                        aenet_dup(_mm256_loadu_ps(zplane + i * OW + j), &m0, &m1);
                        aenet_dup(_mm256_loadu_ps(gzplane + i * OW + j), &g0, &g1);
                        for (int k = 0; k < 2; k++) {
                            const float* r = xrow + k * W + 2 * j;
                            float* gr = gxrow + k * W + 2 * j;
                            const __m256 a0 = _mm256_loadu_ps(r), a1 = _mm256_loadu_ps(r + 8);
                            _mm256_storeu_ps(gr, _mm256_and_ps(%(c0)s, g0));
                            _mm256_storeu_ps(gr + 8, _mm256_and_ps(%(c1)s, g1));
                        }
                    }
                    if (j < OW) {
                        const int rem = (int)(OW - j);
                        __m256i mk0, mk1, mko;
                        aenet_masks(rem, &mk0, &mk1, &mko);
                        __m256 m0, m1, g0, g1;
                        aenet_dup(_mm256_maskload_ps(zplane + i * OW + j, mko), &m0, &m1);
                        aenet_dup(_mm256_maskload_ps(gzplane + i * OW + j, mko), &g0, &g1);
                        for (int k = 0; k < 2; k++) {
                            const float* r = xrow + k * W + 2 * j;
                            float* gr = gxrow + k * W + 2 * j;
                            const __m256 a0 = _mm256_maskload_ps(r, mk0), a1 = _mm256_maskload_ps(r + 8, mk1);
                            _mm256_maskstore_ps(gr, mk0, _mm256_and_ps(%(c0)s, g0));
                            _mm256_maskstore_ps(gr + 8, mk1, _mm256_and_ps(%(c1)s, g1));
                        }
                        j = OW;
                    }
#endif
""" % dict(c0=c("a0", "m0"), c1=c("a1", "m1"))

    def c_code(self, node, name, inputs, outputs, sub):
        x, z, gz = inputs
        (gx,) = outputs
        ndim = node.inputs[0].type.ndim
        consts = self._c_constants()
        cond = self._c_condition("a", "m")
        if self.overlapping:
            # windows share inputs: clear, then add each window's share in
            # window order (the order of aesara's MaxPoolGrad)
            store = "grow[k * W + l] += (%s) ? g : (dtype_%s)0;" % (cond, gx)
        else:
            store = "grow[k * W + l] = (%s) ? g : (dtype_%s)0;" % (cond, gx)
        return """
        {
            const int nd = %(ndim)d;
            PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
            PyArrayObject* zc = PyArray_GETCONTIGUOUS(%(z)s);
            PyArrayObject* gzc = PyArray_GETCONTIGUOUS(%(gz)s);
            if (!xc || !zc || !gzc) { Py_XDECREF(xc); Py_XDECREF(zc); Py_XDECREF(gzc); %(fail)s; }
            npy_intp planes = 1;
            for (int i = 0; i < nd - 2; i++) planes *= PyArray_DIMS(xc)[i];
            const npy_intp H = PyArray_DIMS(xc)[nd - 2], W = PyArray_DIMS(xc)[nd - 1];
            const npy_intp OH = H >= %(wh)d ? (H - %(wh)d) / %(sh)d + 1 : 0;
            const npy_intp OW = W >= %(ww)d ? (W - %(ww)d) / %(sw)d + 1 : 0;
            int bad = PyArray_DIMS(zc)[nd - 2] != OH || PyArray_DIMS(zc)[nd - 1] != OW
                      || PyArray_DIMS(gzc)[nd - 2] != OH || PyArray_DIMS(gzc)[nd - 1] != OW;
            for (int i = 0; i < nd - 2; i++)
                bad |= PyArray_DIMS(zc)[i] != PyArray_DIMS(xc)[i] || PyArray_DIMS(gzc)[i] != PyArray_DIMS(xc)[i];
            if (bad) {
                PyErr_SetString(PyExc_ValueError, "MaxPool2DGrad: z and gz do not match the pooled shape of x");
                Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gzc);
                %(fail)s;
            }
            int alloc = !%(gx)s || !PyArray_IS_C_CONTIGUOUS(%(gx)s);
            for (int i = 0; !alloc && i < nd; i++) alloc = PyArray_DIMS(%(gx)s)[i] != PyArray_DIMS(xc)[i];
            if (alloc) {
                Py_XDECREF(%(gx)s);
                %(gx)s = (PyArrayObject*)PyArray_EMPTY(nd, PyArray_DIMS(xc), PyArray_TYPE(xc), 0);
                if (!%(gx)s) { Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gzc); %(fail)s; }
            }
            const dtype_%(x)s* __restrict__ xp = (const dtype_%(x)s*)PyArray_DATA(xc);
            const dtype_%(z)s* __restrict__ zp = (const dtype_%(z)s*)PyArray_DATA(zc);
            const dtype_%(gz)s* __restrict__ gzp = (const dtype_%(gz)s*)PyArray_DATA(gzc);
            dtype_%(gx)s* __restrict__ gxp = (dtype_%(gx)s*)PyArray_DATA(%(gx)s);
            /* inputs no window covers get 0; with overlapping windows everything
               starts at 0 and accumulates */
            if (%(overlapping)d || OH * %(sh)d != H || OW * %(sw)d != W || %(sh)d != %(wh)d || %(sw)d != %(ww)d)
                memset(gxp, 0, PyArray_NBYTES(%(gx)s));
            const int nt = aenet_threads();
            #pragma omp parallel for num_threads(nt) if (nt > 1 && planes * H * W >= %(min_par)d) schedule(static)
            for (npy_intp p = 0; p < planes; p++) {
                const dtype_%(x)s* xplane = xp + p * H * W;
                dtype_%(gx)s* gxplane = gxp + p * H * W;
                const dtype_%(z)s* zplane = zp + p * OH * OW;
                const dtype_%(gz)s* gzplane = gzp + p * OH * OW;
                for (npy_intp i = 0; i < OH; i++) {
                    const dtype_%(x)s* xrow = xplane + i * %(sh)d * W;
                    dtype_%(gx)s* gxrow = gxplane + i * %(sh)d * W;
                    npy_intp j = 0;
                    %(vector)s
                    for (; j < OW; j++) {
                        const dtype_%(x)s* w = xrow + j * %(sw)d;
                        dtype_%(gx)s* grow = gxrow + j * %(sw)d;
                        const dtype_%(z)s m = zplane[i * OW + j];
                        const dtype_%(gz)s g = gzplane[i * OW + j];
                        for (int k = 0; k < %(wh)d; k++)
                            for (int l = 0; l < %(ww)d; l++) {
                                const dtype_%(x)s a = w[k * W + l];
                                %(store)s
                            }
                    }
                }
            }
            Py_DECREF(xc); Py_DECREF(zc); Py_DECREF(gzc);
        }
        """ % dict(
            x=x, z=z, gz=gz, gx=gx, ndim=ndim, fail=sub["fail"], store=store,
            vector=self._c_vector_loop(node), min_par=PARALLEL_MIN_ELEMENTS,
            overlapping=int(self.overlapping), **consts
        )


def _constant_pair(var):
    if not isinstance(var, Constant):
        return None
    data = np.asarray(var.data)
    if data.shape != (2,):
        return None
    return tuple(int(v) for v in data)


def _pool_params(op, ws, stride, pad):
    """``(ws, stride)`` when aenet's Ops can replace this aesara pool node, else None."""
    if op.mode != "max" or not op.ignore_border or op.ndim != 2:
        return None
    ws, stride, pad = _constant_pair(ws), _constant_pair(stride), _constant_pair(pad)
    if ws is None or stride is None or pad != (0, 0) or min(ws + stride) < 1:
        return None
    return ws, stride


@node_rewriter([Pool])
def local_max_pool_2d(fgraph, node):
    """aesara ``Pool`` (max, ignore_border, no padding) -> :class:`MaxPool2D`."""
    x, ws, stride, pad = node.inputs
    params = _pool_params(node.op, ws, stride, pad)
    if params is None or x.type.dtype not in _DTYPES:
        return None
    out = MaxPool2D(*params)(x)
    copy_stack_trace(node.outputs[0], out)
    return [out]


@node_rewriter([MaxPoolGrad])
def local_max_pool_2d_grad(fgraph, node):
    """aesara ``MaxPoolGrad`` (ignore_border, no padding) -> :class:`MaxPool2DGrad`."""
    x, z, gz, ws, stride, pad = node.inputs
    params = _pool_params(node.op, ws, stride, pad)
    if params is None or x.type.dtype not in _DTYPES:
        return None
    if not x.type.dtype == z.type.dtype == gz.type.dtype:
        return None
    out = MaxPool2DGrad(*params)(x, z, gz)
    copy_stack_trace(node.outputs[0], out)
    return [out]


for _rewrite in (local_max_pool_2d, local_max_pool_2d_grad):
    register_specialize_device(_rewrite, "cxx_only", "aenet_pool")
