/* ThreadedDot22's C code: z = alpha * (x . y), the rows of z in one block per thread,
   each block one single-threaded gemm.
   A template: dot.py substitutes its named fields, and a doubled percent sign stands for one. */
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
    int nt = aenet_threads();
    if ((double)m * n * k < %(min_flops)d) nt = 1;
    const int blocks = nt < m ? nt : m;
    const int saved = aenet_blas_one_thread();
    #pragma omp parallel for num_threads(blocks) if (blocks > 1) schedule(static)
    for (int b = 0; b < blocks; b++) {
        const int r0 = (int)((long)m * b / blocks), r1 = (int)((long)m * (b + 1) / blocks);
        const int rows = r1 - r0;
        if (rows <= 0) continue;
        const %(T)s* xb = x_rows ? xp + (long)r0 * k : xp + r0;
        %(gemm)s(&ty, &tx, &n, &rows, &k, &alpha, yp, &ldy, xb, &ldx, &zero, zp + (long)r0 * n, &ldz);
    }
    aenet_blas_restore(saved);
}
Py_DECREF(xa); Py_DECREF(ya);
}
