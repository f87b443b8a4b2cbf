"""Dense-layer products split over OpenMP threads, each calling a one-thread BLAS.

aesara's ``Dot22`` and ``Dot22Scalar`` (``x @ y`` and ``a * (x @ y)``, the
dense layers and their weight gradients) hand each product to a
multi-threaded BLAS, whose spinning threads make a training step wait when
the cores are shared (with other work, or with the OpenMP threads of aenet's
conv and pool Ops).  :class:`ThreadedDot22` splits the rows of the result
into one block per thread (the job's thread count), runs one single-threaded
``gemm`` per block under OpenMP, whose waiting threads sleep, and gives the
same values as the BLAS call (each block is the same dot products).  Its C
code is ``c/threaded_dot.c``.

:func:`local_threaded_dot22` replaces ``Dot22`` and ``Dot22Scalar`` nodes of
float32/float64 matrices after aesara's BLAS rewrites; it is registered in
``aesara.compile.optdb`` with the ``cxx_only`` tag.
"""
import numpy as np
from aesara.compile import optdb
from aesara.graph.basic import Apply
from aesara.graph.rewriting.basic import copy_stack_trace, in2out, node_rewriter
from aesara.tensor import blas
from aesara.tensor.basic import as_tensor_variable
from aesara.tensor.type import TensorType

from aenet.cpu.graph import FLOAT_DTYPES
from aenet.cpu.threaded import BlasThreadedCOp, c_source_version, c_template

__all__ = ["ThreadedDot22", "local_threaded_dot22"]

#: products with fewer multiply-adds than this run on one thread
PARALLEL_MIN_FLOPS = 1 << 20


class ThreadedDot22(BlasThreadedCOp):
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
        if x.type.ndim != 2 or y.type.ndim != 2 or len(dtypes) != 1 or x.type.dtype not in FLOAT_DTYPES:
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

    def c_code_cache_version(self):
        return (2, PARALLEL_MIN_FLOPS, c_source_version("threaded_dot.c")) + self.threads_version()

    def c_code(self, node, name, inputs, outputs, sub):
        x, y = inputs[:2]
        alpha = inputs[2] if len(inputs) == 3 else None
        (z,) = outputs
        dtype = node.inputs[0].type.dtype
        T, gemm = ("float", "sgemm_") if dtype == "float32" else ("double", "dgemm_")
        alpha_value = f"*({T}*)PyArray_DATA({alpha})" if alpha else "1"
        return c_template(
            "threaded_dot.c", x=x, y=y, z=z, T=T, gemm=gemm, alpha_value=alpha_value,
            min_flops=PARALLEL_MIN_FLOPS, fail=sub["fail"],
        )


@node_rewriter([blas.Dot22, blas.Dot22Scalar])
def local_threaded_dot22(fgraph, node):
    """aesara's ``Dot22`` / ``Dot22Scalar`` -> :class:`ThreadedDot22`."""
    if node.inputs[0].type.dtype not in FLOAT_DTYPES:
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
