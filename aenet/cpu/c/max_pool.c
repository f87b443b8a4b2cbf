/* MaxPool2D's C code: the max over each window of the last two axes, planes over OpenMP threads.
   A template: pool.py substitutes its named fields, and a doubled percent sign stands for one. */
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
