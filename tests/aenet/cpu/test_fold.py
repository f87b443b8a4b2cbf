"""aenet.cpu.fold: small constant expressions are folded in Python, ahead of aesara's C folding."""
import numpy as np

import aenet  # noqa: F401  (configures aesara, registers the rewrites)
import aesara
import aesara.tensor as at
from aesara.compile import optdb
from aesara.graph.basic import Apply, Constant
from aesara.compile.function.types import Supervisor
from aesara.graph.fg import FunctionGraph
from aesara.graph.rewriting.utils import rewrite_graph
from aesara.link.c.op import COp
from aesara.tensor.rewriting.basic import topo_constant_folding

from aenet.cpu.fold import topo_fold_small_constants


class PlusOne(COp):
    """x + 1 in Python and x + 2 in C: the folded value tells which one ran."""

    __props__ = ()

    def make_node(self, x):
        x = at.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = np.asarray(inputs[0] + 1, dtype=node.outputs[0].dtype)

    def c_code(self, node, name, inputs, outputs, sub):
        (x,), (z,), fail = inputs, outputs, sub["fail"]
        return f"""
        Py_XDECREF({z});
        {z} = (PyArrayObject*)PyArray_NewCopy({x}, NPY_ANYORDER);
        if (!{z}) {fail};
        {{
            dtype_{z}* data = (dtype_{z}*)PyArray_DATA({z});
            for (npy_intp i = 0; i < PyArray_SIZE({z}); ++i) data[i] += 2;
        }}
        """

    def c_code_cache_version(self):
        return (2,)


def folded(graph):
    """``graph`` after aesara's FAST_RUN rewrites."""
    fgraph = FunctionGraph(outputs=[graph], clone=True)
    fgraph.attach_feature(Supervisor([]))
    (out,) = rewrite_graph(fgraph, include=("fast_run",)).outputs
    return out


def test_small_constants_are_folded_in_python():
    out = folded(PlusOne()(at.constant(np.arange(4, dtype="int64"))))
    assert isinstance(out, Constant)
    np.testing.assert_array_equal(out.data, [1, 2, 3, 4])


def test_large_constants_are_left_to_aesara():
    out = folded(PlusOne()(at.constant(np.arange(100, dtype="int64"))))
    assert isinstance(out, Constant)
    np.testing.assert_array_equal(out.data, np.arange(100) + 2)  # aesara's fold ran the C code


def test_shape_arithmetic_folds_to_the_numpy_value():
    a, b = at.constant(np.int64(30)), at.constant(np.int64(7))
    expr = at.switch(at.lt(a, b), a * 2, at.maximum((a - 2) // b + 1, 0))
    out = folded(expr)
    assert isinstance(out, Constant)
    assert out.data == max((30 - 2) // 7 + 1, 0)


def test_ours_runs_before_aesaras_folding_in_every_group():
    for group in ("canonicalize", "uncanonicalize", "stabilize", "specialize"):
        rewriter = optdb[group].query("+fast_run")
        names = [r.name for r in rewriter.final_rewriters]
        assert names.index(topo_fold_small_constants.name) < names.index(topo_constant_folding.name), group


def test_compiled_function_is_unchanged():
    x = at.vector("x")
    shift = at.switch(at.lt(at.constant(3), at.constant(5)), 2.0, -1.0)
    f = aesara.function([x], x * shift + PlusOne()(at.constant(np.float32(1.5))))
    np.testing.assert_allclose(f(np.ones(3, "float32")), [4.5, 4.5, 4.5])
