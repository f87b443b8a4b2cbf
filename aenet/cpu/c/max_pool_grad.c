/* MaxPool2DGrad's C code: each window's output gradient to the inputs equal to its max.
   A template: pool.py substitutes its named fields, and a doubled percent sign stands for one. */
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
