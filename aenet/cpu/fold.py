"""Fold small constant expressions in Python instead of compiling C for them.

aesara folds a node whose inputs are all constants by running the Op's C code,
and compiling that code costs a second for each distinct Op and type.  A
training graph needs a dozen such folds (shape arithmetic of the pooling and
convolution gradients, scalar constants broadcast and cast) that each run
once.  This rewrite, registered in the same rewrite groups as aesara's
``topo_constant_folding`` and run just before it, evaluates the small ones with the Op's
Python implementation (the one aesara's DebugMode checks the C code against).
Large constants and Ops without a Python implementation are left to aesara.
"""
import numpy as np
from aesara.graph.basic import Constant
from aesara.compile import optdb
from aesara.graph.rewriting.basic import in2out, node_rewriter
from aesara.graph.utils import MethodNotDefined
from aesara.tensor.type import DenseTensorType, TensorType

# Inputs of at most this many elements each are folded in Python.
MAX_ELEMENTS = 64


def _small(constant):
    return np.size(constant.data) <= MAX_ELEMENTS


@node_rewriter(None)
def fold_small_constants(fgraph, node):
    """Replace a node of small constant inputs by its value, computed in Python."""
    if not all(isinstance(i, Constant) and _small(i) for i in node.inputs):
        return None
    if not node.op.do_constant_folding(fgraph, node):
        return None
    storage = {v: [v.data] for v in node.inputs} | {v: [None] for v in node.outputs}
    computed = {v: [True] for v in node.inputs} | {v: [False] for v in node.outputs}
    try:
        thunk = node.op.make_thunk(node, storage, computed, no_recycling=[], impl="py")
    except (NotImplementedError, MethodNotDefined):
        return None
    thunk()
    return [_constant(out, storage[out][0]) for out in node.outputs]


def _constant(output, value):
    if isinstance(output.type, DenseTensorType):
        return TensorType(output.type.dtype, shape=np.shape(value)).make_constant(value)
    return output.type.make_constant(value)


topo_fold_small_constants = in2out(fold_small_constants, ignore_newtrees=True, name="aenet_fold_small_constants")
THEIRS = "topo_constant_folding"
TAGS = ("fast_run", "fast_compile")


def register_ahead(group):
    """Add ours to ``group``'s final rewriters, in front of aesara's folding."""
    group.register(topo_fold_small_constants.name, topo_fold_small_constants, *TAGS, "aenet_fold",
                   final_rewriter=True)
    # A query lists final rewriters in the order they joined a tag: tagging
    # aesara's anew puts it behind ours.
    group.remove_tags(THEIRS, *TAGS)
    group.add_tags(THEIRS, *TAGS)


for _group in ("canonicalize", "uncanonicalize", "stabilize", "specialize"):
    register_ahead(optdb[_group])
