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

from aenet.cpu.graph import FLOAT_DTYPES
from aenet.cpu.threaded import c_source_version, c_template

__all__ = ["NesterovStep", "nesterov_step"]

#: the dtypes :class:`NesterovStep` takes
DTYPES = FLOAT_DTYPES

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
        return (2, c_source_version("nesterov_step.c"))

    def c_code(self, node, name, inputs, outputs, sub):
        p, v, g, lr, mu = inputs
        new_p, new_v = outputs
        return c_template(
            "nesterov_step.c", p=p, v=v, g=g, lr=lr, mu=mu, new_p=new_p, new_v=new_v, fail=sub["fail"]
        )


def nesterov_step(param, velocity, grad, learning_rate, momentum):
    """The new parameter and velocity, as two symbolic variables."""
    return NesterovStep()(param, velocity, grad, learning_rate, momentum)
