/* ChannelSum's C code: each (n, c) plane summed with eight partial sums, the plane
   sums in double, the channels over OpenMP threads.
   A template: fusion.py substitutes its named fields, and a doubled percent sign stands for one. */
{
    PyArrayObject* xc = PyArray_GETCONTIGUOUS(%(x)s);
    if (!xc) { %(fail)s; }
    const npy_intp N = PyArray_DIMS(xc)[0], C = PyArray_DIMS(xc)[1];
    npy_intp S = 1;
    for (int i = 2; i < %(ndim)d; i++) S *= PyArray_DIMS(xc)[i];
    if (!%(z)s || PyArray_DIMS(%(z)s)[0] != C || !PyArray_IS_C_CONTIGUOUS(%(z)s)) {
        Py_XDECREF(%(z)s);
        %(z)s = (PyArrayObject*)PyArray_EMPTY(1, &C, PyArray_TYPE(xc), 0);
        if (!%(z)s) { Py_DECREF(xc); %(fail)s; }
    }
    double* acc = (double*)calloc(C > 0 ? C : 1, sizeof(double));
    if (!acc) { Py_DECREF(xc); PyErr_NoMemory(); %(fail)s; }
    const dtype_%(x)s* __restrict__ xp = (const dtype_%(x)s*)PyArray_DATA(xc);
    const int nt = aenet_threads();
    #pragma omp parallel for num_threads(nt) if (nt > 1 && N * C * S >= %(min_par)d) schedule(static)
    for (npy_intp c = 0; c < C; c++) {
        for (npy_intp n = 0; n < N; n++) {
            const dtype_%(x)s* p = xp + (n * C + c) * S;
            dtype_%(x)s lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            npy_intp i = 0;
            for (; i + 8 <= S; i += 8)
                for (int j = 0; j < 8; j++) lane[j] += p[i + j];
            double s = 0;
            for (; i < S; i++) s += p[i];
            s += ((double)lane[0] + lane[1]) + ((double)lane[2] + lane[3])
               + ((double)lane[4] + lane[5]) + ((double)lane[6] + lane[7]);
            acc[c] += s;
        }
    }
    dtype_%(z)s* zp = (dtype_%(z)s*)PyArray_DATA(%(z)s);
    for (npy_intp c = 0; c < C; c++) zp[c] = (dtype_%(z)s)acc[c];
    free(acc);
    Py_DECREF(xc);
}
