/* NesterovStep's C code: the new parameter and velocity in one loop.
   A template: momentum.py substitutes its named fields, and a doubled percent sign stands for one. */
{
    PyArrayObject* pc = PyArray_GETCONTIGUOUS(%(p)s);
    PyArrayObject* vc = PyArray_GETCONTIGUOUS(%(v)s);
    PyArrayObject* gc = PyArray_GETCONTIGUOUS(%(g)s);
    const npy_intp n = PyArray_SIZE(%(p)s);
    int ok = pc && vc && gc;
    if (ok && (PyArray_SIZE(%(v)s) != n || PyArray_SIZE(%(g)s) != n)) {
        PyErr_SetString(PyExc_ValueError, "NesterovStep: parameter, velocity and gradient differ in size");
        ok = 0;
    }
    if (ok) {
        Py_XDECREF(%(new_p)s);
        Py_XDECREF(%(new_v)s);
        %(new_p)s = (PyArrayObject*)PyArray_EMPTY(PyArray_NDIM(%(p)s), PyArray_DIMS(%(p)s), PyArray_TYPE(%(p)s), 0);
        %(new_v)s = (PyArrayObject*)PyArray_EMPTY(PyArray_NDIM(%(p)s), PyArray_DIMS(%(p)s), PyArray_TYPE(%(p)s), 0);
        ok = %(new_p)s && %(new_v)s;
    }
    if (ok) {
        typedef dtype_%(p)s T;
        const T lr = ((T*)PyArray_DATA(%(lr)s))[0], mu = ((T*)PyArray_DATA(%(mu)s))[0];
        const T* __restrict__ pp = (const T*)PyArray_DATA(pc);
        const T* __restrict__ vp = (const T*)PyArray_DATA(vc);
        const T* __restrict__ gp = (const T*)PyArray_DATA(gc);
        T* __restrict__ np_ = (T*)PyArray_DATA(%(new_p)s);
        T* __restrict__ nv = (T*)PyArray_DATA(%(new_v)s);
        for (npy_intp i = 0; i < n; i++) {
            const T step = lr * gp[i];
            const T velocity = mu * vp[i] - step;
            nv[i] = velocity;
            np_[i] = (mu * velocity + pp[i]) - step;
        }
    }
    Py_XDECREF(pc);
    Py_XDECREF(vc);
    Py_XDECREF(gc);
    if (!ok) { %(fail)s; }
}
