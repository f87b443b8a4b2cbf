"""Dense-layer products split over OpenMP threads, each calling a one-thread BLAS.

aesara's ``Dot22`` and ``Dot22Scalar`` (``x @ y`` and ``a * (x @ y)``, the
dense layers and their weight gradients) hand each product to a
multi-threaded BLAS.  OpenBLAS's threads spin between calls; when the cores
are shared with other work (or with the OpenMP threads of aenet's conv and
pool Ops) a training step waits for them: on a 2-core machine a
``128 x 576 x 200`` product took 7-12 ms with two BLAS threads against 0.3 ms
with one.  :class:`ThreadedDot22` splits the rows of the result into one
block per thread (the job's thread count: aenet keeps it as OpenBLAS's), runs
one single-threaded ``gemm`` per block under OpenMP, whose waiting threads
sleep (see :mod:`aenet.cpu.corr`), and gives the same values as the BLAS call
(each block is the same dot products).

:func:`local_threaded_dot22` replaces ``Dot22`` and ``Dot22Scalar`` nodes of
float32/float64 matrices after aesara's BLAS rewrites; it is registered in
``aesara.compile.optdb`` with the ``cxx_only`` tag.
"""
import numpy as np
from aesara.compile import optdb
from aesara.graph.basic import Apply
from aesara.graph.rewriting.basic import copy_stack_trace, in2out, node_rewriter
from aesara.tensor import blas, blas_headers
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.type import TensorType

from aenet.cpu import corr  # noqa: F401  (sets OMP_WAIT_POLICY before libgomp loads)
from aenet.cpu.pool import _openblas, _ThreadedCOp

__all__ = ["ThreadedDot22", "local_threaded_dot22"]

#: products with fewer multiply-adds than this run on one thread
PARALLEL_MIN_FLOPS = 1 << 20


class ThreadedDot22(_ThreadedCOp):
    """``x @ y`` (and ``alpha * (x @ y)`` with a third, scalar input) for float matrices."""

    __props__ = ()

    def make_node(self, x, y, alpha=None):
        x, y = as_tensor_variable(x), as_tensor_variable(y)
        inputs = [x, y]
        if alpha is not None:
            alpha = as_tensor_variable(alpha)
            if alpha.type.ndim != 0:
                raise TypeError(f"ThreadedDot22's alpha must be a scalar, got {alpha.type}")
            inputs.append(alpha)
        dtypes = {v.type.dtype for v in inputs}
        if x.type.ndim != 2 or y.type.ndim != 2 or len(dtypes) != 1 or x.type.dtype not in ("float32", "float64"):
            raise TypeError(f"ThreadedDot22 needs float matrices of one dtype, got {[v.type for v in inputs]}")
        shape = (x.type.shape[0], y.type.shape[1])
        return Apply(self, inputs, [TensorType(x.type.dtype, shape=shape)()])

    def infer_shape(self, fgraph, node, shapes):
        return [(shapes[0][0], shapes[1][1])]

    def perform(self, node, inputs, outputs):
        x, y = inputs[:2]
        z = np.dot(x, y)
        if len(inputs) == 3:
            z = inputs[2] * z
        outputs[0][0] = np.asarray(z, dtype=x.dtype)

    def c_support_code(self, **kwargs):
        code = super().c_support_code(**kwargs) + blas_headers.blas_header_text()
        if _openblas():
            code += blas_headers.openblas_threads_text()
        return code

    def c_header_dirs(self, **kwargs):
        return blas.ldflags(libs=False, include_dir=True)

    def c_code_cache_version(self):
        return (1, PARALLEL_MIN_FLOPS, blas_headers.blas_header_version()) + self._threads_version()

    def c_code(self, node, name, inputs, outputs, sub):
        x, y = inputs[:2]
        alpha = inputs[2] if len(inputs) == 3 else None
        (z,) = outputs
        dtype = node.inputs[0].type.dtype
        T, gemm = ("float", "sgemm_") if dtype == "float32" else ("double", "dgemm_")
        alpha_value = f"*({T}*)PyArray_DATA({alpha})" if alpha else "1"
        set_one = "if (saved > 1) openblas_set_num_threads(1);" if _openblas() else ""
        restore = "if (saved > 1) openblas_set_num_threads(saved);" if _openblas() else ""
        return """
        {
        if (PyArray_NDIM(%(x)s) != 2 || PyArray_NDIM(%(y)s) != 2) {
            PyErr_SetString(PyExc_ValueError, "ThreadedDot22: matrices required"); %(fail)s;
        }
        const int m = PyArray_DIMS(%(x)s)[0], k = PyArray_DIMS(%(x)s)[1], n = PyArray_DIMS(%(y)s)[1];
        if (PyArray_DIMS(%(y)s)[0] != k) {
            PyErr_Format(PyExc_ValueError, "ThreadedDot22: shapes (%%d, %%d) and (%%d, %%d) not aligned",
                         m, k, (int)PyArray_DIMS(%(y)s)[0], n);
            %(fail)s;
        }
        /* each operand row-major (C) or column-major (F, i.e. a transposed row-major matrix), else copied */
        PyArrayObject* xa = (PyArray_IS_C_CONTIGUOUS(%(x)s) || PyArray_IS_F_CONTIGUOUS(%(x)s))
                            ? (Py_INCREF(%(x)s), %(x)s) : (PyArrayObject*)PyArray_NewCopy(%(x)s, NPY_CORDER);
        PyArrayObject* ya = (PyArray_IS_C_CONTIGUOUS(%(y)s) || PyArray_IS_F_CONTIGUOUS(%(y)s))
                            ? (Py_INCREF(%(y)s), %(y)s) : (PyArrayObject*)PyArray_NewCopy(%(y)s, NPY_CORDER);
        if (!xa || !ya) { Py_XDECREF(xa); Py_XDECREF(ya); %(fail)s; }
        npy_intp dims[2] = {m, n};
        if (!%(z)s || !PyArray_IS_C_CONTIGUOUS(%(z)s) || PyArray_DIMS(%(z)s)[0] != m || PyArray_DIMS(%(z)s)[1] != n) {
            Py_XDECREF(%(z)s);
            %(z)s = (PyArrayObject*)PyArray_EMPTY(2, dims, PyArray_TYPE(xa), 0);
            if (!%(z)s) { Py_DECREF(xa); Py_DECREF(ya); %(fail)s; }
        }
        const int x_rows = PyArray_IS_C_CONTIGUOUS(xa);  /* else column-major */
        const int y_rows = PyArray_IS_C_CONTIGUOUS(ya);
        const %(T)s* xp = (const %(T)s*)PyArray_DATA(xa);
        const %(T)s* yp = (const %(T)s*)PyArray_DATA(ya);
        %(T)s* zp = (%(T)s*)PyArray_DATA(%(z)s);
        const %(T)s alpha = %(alpha_value)s, zero = 0;
        if (m > 0 && n > 0 && k == 0) memset(zp, 0, sizeof(%(T)s) * (size_t)m * n);
        if (m > 0 && n > 0 && k > 0) {
            /* row-major z = x . y is column-major z^T = y^T . x^T */
            char ty = y_rows ? 'N' : 'T', tx = x_rows ? 'N' : 'T';
            const int ldy = y_rows ? n : k, ldx = x_rows ? k : m, ldz = n;
            const int saved = aenet_threads();
            int nt = saved;
            if ((double)m * n * k < %(min_flops)d) nt = 1;
            int blocks = nt < m ? nt : m;
            %(set_one)s
            #pragma omp parallel for num_threads(blocks) if (blocks > 1) schedule(static)
            for (int b = 0; b < blocks; b++) {
                const int r0 = (int)((long)m * b / blocks), r1 = (int)((long)m * (b + 1) / blocks);
                const int rows = r1 - r0;
                if (rows <= 0) continue;
                const %(T)s* xb = x_rows ? xp + (long)r0 * k : xp + r0;
                %(gemm)s(&ty, &tx, &n, &rows, &k, &alpha, yp, &ldy, xb, &ldx, &zero, zp + (long)r0 * n, &ldz);
            }
            %(restore)s
        }
        Py_DECREF(xa); Py_DECREF(ya);
        }
        """ % dict(x=x, y=y, z=z, T=T, gemm=gemm, alpha_value=alpha_value, set_one=set_one,
                   restore=restore, min_flops=PARALLEL_MIN_FLOPS, fail=sub["fail"])


@node_rewriter([blas.Dot22, blas.Dot22Scalar])
def local_threaded_dot22(fgraph, node):
    """aesara's ``Dot22`` / ``Dot22Scalar`` -> :class:`ThreadedDot22`."""
    if node.inputs[0].type.dtype not in ("float32", "float64"):
        return None
    if len({v.type.dtype for v in node.inputs}) != 1:
        return None
    out = ThreadedDot22()(*node.inputs)
    if out.type.dtype != node.outputs[0].type.dtype or out.type.ndim != 2:
        return None
    copy_stack_trace(node.outputs[0], out)
    return [out]


# after aesara's BLAS rewrites (1.7) and aenet's conv rewrites (48.7x), before fusion (49)
optdb.register(
    "aenet_threaded_dot22",
    in2out(local_threaded_dot22),
    "fast_run",
    "cxx_only",
    "aenet_dot",
    position=48.78,
)
