"""The Nesterov-momentum update of a parameter as one C loop.

Written as expressions (Lasagne's ``apply_nesterov_momentum(sgd(...))``),
the update of a parameter ``p`` with velocity ``v``, gradient ``g``, learning
rate ``lr`` and momentum ``mu`` compiles to three elementwise C modules per
kind of parameter (rank and broadcast pattern): ``lr * g``, the new velocity
and the new parameter.  :class:`NesterovStep` computes both results in one
pass, with the same operations in the same order as aesara's rewritten
expressions::

    step = lr * g
    v' = mu * v - step
    p' = (mu * v' + p) - step

so a net compiles one module per kind of parameter instead of three, and
reads each array once per training step.
"""
import numpy as np
from aesara.graph.basic import Apply
from aesara.link.c.op import COp
from aesara.tensor.basic import as_tensor_variable, cast

__all__ = ["NesterovStep", "nesterov_step"]

DTYPES = ("float32", "float64")


class NesterovStep(COp):
    """``(p, v, g, lr, mu) -> (p', v')``; ``lr`` and ``mu`` are scalars of ``p``'s dtype."""

    __props__ = ()

    def make_node(self, param, velocity, grad, learning_rate, momentum):
        param = as_tensor_variable(param)
        if param.type.dtype not in DTYPES:
            raise TypeError(f"NesterovStep needs a float32/float64 parameter, got {param.type}")
        dtype = param.type.dtype
        velocity, grad = (param.type.filter_variable(as_tensor_variable(x)) for x in (velocity, grad))
        scalars = [cast(as_tensor_variable(x), dtype) for x in (learning_rate, momentum)]
        if any(s.type.ndim != 0 for s in scalars):
            raise TypeError("NesterovStep needs a scalar learning rate and momentum")
        return Apply(self, [param, velocity, grad, *scalars], [param.type(), param.type()])

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[0], shapes[0]]

    def perform(self, node, inputs, outputs):
        p, v, g, lr, mu = inputs
        step = lr * g
        new_v = mu * v - step
        outputs[0][0] = np.asarray(mu * new_v + p - step, dtype=p.dtype)
        outputs[1][0] = np.asarray(new_v, dtype=p.dtype)

    def c_code_cache_version(self):
        return (1,)

    def c_code(self, node, name, inputs, outputs, sub):
        p, v, g, lr, mu = inputs
        new_p, new_v = outputs
        return """
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
        """ % dict(p=p, v=v, g=g, lr=lr, mu=mu, new_p=new_p, new_v=new_v, fail=sub["fail"])


def nesterov_step(param, velocity, grad, learning_rate, momentum):
    """The new parameter and velocity, as two symbolic variables."""
    return NesterovStep()(param, velocity, grad, learning_rate, momentum)
