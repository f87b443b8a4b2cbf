"""``Scan`` on JAX, gradients included, for the recurrent layers.

aesara's own JAX ``Scan`` leaves out the multi-tap outputs that the gradient
of a scan uses (mit-mot), the shortened buffers of its memory-saving rewrite
and a length known only from the input shape.  This dispatch follows the
Python ``Scan.perform`` instead:

* the number of steps must be concrete while JAX traces (it is, when it comes
  from a shape: see :mod:`aenet.jax.shapes`);
* a recurrent output returns the last ``len(buffer)`` values of its history
  (initial taps, then one value per step), zero-padded when the buffer is
  longer, as the Python loop leaves its circular buffers;
* a mit-mot buffer is read and written in place at ``step + tap``;
* the inner graph gets the JAX mode's rewrites, so its shapes are static too.

It also lets ``Subtensor`` slice with bounds computed from shapes (the
scan's outer graph does), which aesara rejects before tracing; a bound that
is not concrete at trace time still fails, in JAX.
"""
import operator

import jax
import jax.numpy as jnp
import numpy as np
from aesara.compile import optdb
from aesara.compile.function.types import Supervisor
from aesara.graph.basic import Constant
from aesara.graph.features import ReplaceValidate
from aesara.graph.fg import FunctionGraph
from aesara.graph.rewriting.basic import GraphRewriter
from aesara.link.jax.dispatch import jax_funcify
from aesara.raise_op import CheckAndRaise
from aesara.scalar.basic import ScalarOp
from aesara.scan.op import Scan
from aesara.tensor.basic import Split
from aesara.tensor.elemwise import Elemwise
from aesara.tensor.subtensor import Subtensor, indices_from_subtensor

from aenet.jax import shapes

__all__ = []


def _concrete_int(value, what):
    try:
        return operator.index(np.asarray(value).item())
    except (jax.errors.ConcretizationTypeError, TypeError):
        raise NotImplementedError(f"JAX needs the {what} of a scan when the function is compiled") from None


def _static_bound(value):
    """A slice bound as a Python int where it is concrete, else unchanged."""
    if value is None or isinstance(value, jax.core.Tracer):
        return value
    return operator.index(np.asarray(value).item())


@jax_funcify.register(Subtensor)
def jax_funcify_Subtensor(op, node, **kwargs):
    idx_list = op.idx_list
    for idx in indices_from_subtensor(node.inputs[1:], idx_list):
        if not isinstance(idx, slice) and getattr(idx, "dtype", None) == "bool":
            raise NotImplementedError("JAX cannot index with a boolean mask")

    def subtensor(x, *values):
        indices = tuple(
            slice(_static_bound(i.start), _static_bound(i.stop), _static_bound(i.step)) if isinstance(i, slice) else i
            for i in indices_from_subtensor(values, idx_list)
        )
        return x[indices[0] if len(indices) == 1 else indices]

    return subtensor


def _inner_function(op, **kwargs):
    """The inner graph, rewritten as the JAX mode rewrites an outer graph, as a JAX function."""
    from aenet.jax.mode import JAX_MODE

    fgraph = FunctionGraph(op.inner_inputs, op.inner_outputs, clone=True)
    fgraph.attach_feature(Supervisor(fgraph.inputs))  # no rewrite may overwrite the step's inputs
    JAX_MODE.optimizer.rewrite(fgraph)
    return jax_funcify(fgraph, **kwargs)


def _split(values, sizes):
    """``values`` cut into consecutive groups of ``sizes``."""
    groups, start = [], 0
    for size in sizes:
        groups.append(list(values[start : start + size]))
        start += size
    return groups


def _last(history, length):
    """The last ``length`` entries of ``history``, zero-padded at the end if it is shorter."""
    if history.shape[0] >= length:
        return history[history.shape[0] - length :]
    padding = jnp.zeros((length - history.shape[0],) + history.shape[1:], history.dtype)
    return jnp.concatenate([history, padding])


@jax_funcify.register(Scan)
def jax_funcify_Scan(op, node=None, **kwargs):
    info = op.info
    if info.as_while:
        raise NotImplementedError("scan with an until condition has no JAX implementation in aenet")
    inner = _inner_function(op, **kwargs)
    mit_mot_in, mit_mot_out = info.mit_mot_in_slices, info.mit_mot_out_slices
    recurrent_taps = list(info.mit_sot_in_slices) + list(info.sit_sot_in_slices)
    n_rec, n_shared, n_nit = len(recurrent_taps), info.n_shared_outs, info.n_nit_sot

    def scan(n_steps, *outer):
        n_steps = _concrete_int(n_steps, "number of steps")
        seqs, mit_mots, recs, shared, nit_sizes, non_seqs = _split(
            outer, [info.n_seqs, info.n_mit_mot, n_rec, n_shared, n_nit, info.n_non_seqs]
        )
        nit_sizes = [_concrete_int(size, "output length") for size in nit_sizes]
        windows = [buffer[: -min(taps)] for buffer, taps in zip(recs, recurrent_taps)]
        mot_starts = [-min(taps) for taps in mit_mot_in]

        def body(carry, xs):
            mot_buffers, windows, shared_values = carry
            i, seq_values = xs
            args = list(seq_values)
            for buffer, taps, start in zip(mot_buffers, mit_mot_in, mot_starts):
                args += [buffer[(i + start + t) % buffer.shape[0]] for t in taps]
            for window, taps in zip(windows, recurrent_taps):
                args += [window[window.shape[0] + t] for t in taps]
            outs = list(inner(*args, *shared_values, *non_seqs))
            mot_outs, rec_outs, nit_outs, shared_outs = _split(
                outs, [info.n_mit_mot_outs, n_rec, n_nit, n_shared]
            )
            new_buffers, k = [], 0
            for buffer, taps, start in zip(mot_buffers, mit_mot_out, mot_starts):
                for t in taps:
                    buffer = buffer.at[(i + start + t) % buffer.shape[0]].set(mot_outs[k])
                    k += 1
                new_buffers.append(buffer)
            new_windows = [jnp.concatenate([w[1:], v[None]]) for w, v in zip(windows, rec_outs)]
            return (new_buffers, new_windows, shared_outs), (rec_outs, nit_outs)

        xs = (jnp.arange(n_steps), [seq[:n_steps] for seq in seqs])
        (mot_final, _, shared_final), (rec_steps, nit_steps) = jax.lax.scan(
            body, (list(mit_mots), windows, list(shared)), xs, length=n_steps
        )
        rec_results = [
            _last(jnp.concatenate([w, steps]), buffer.shape[0]) for w, steps, buffer in zip(windows, rec_steps, recs)
        ]
        nit_results = [_last(steps, size) for steps, size in zip(nit_steps, nit_sizes)]
        results = list(mot_final) + rec_results + nit_results + list(shared_final)
        return results[0] if len(results) == 1 else tuple(results)

    return scan



@jax_funcify.register(Split)
def jax_funcify_Split(op, node=None, **kwargs):
    """The gradient of a concatenation: pieces of sizes known when JAX traces."""

    def split(x, axis, sizes):
        axis = _concrete_int(axis, "split axis")
        sizes = [_concrete_int(size, "split sizes") for size in np.asarray(sizes).ravel()]
        return tuple(jnp.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis))

    return split


# -- the shape arithmetic of scan's outer graph ----------------------------------
#
# Scan's outer graph computes its slice bounds with bare scalar Ops and
# assertions on shapes, which :class:`aenet.jax.shapes.HostShapes` leaves to
# JAX (traced, so ``reshape`` and slicing reject them).  This pass, run after
# it, evaluates those on the host too, and the shape arithmetic depending on them.


class HostValueOp(shapes.HostShapeOp):
    """:class:`~aenet.jax.shapes.HostShapeOp` that can also evaluate bare scalar Ops and fused Elemwise."""

    def perform(self, node, inputs, output_storage):
        for storage, value in zip(output_storage, _host_values(self.op, node.inputs, inputs)):
            storage[0] = value

    def __str__(self):
        return f"HostValue{{{self.op}}}"


def _host_values(op, input_vars, values):
    """``op`` evaluated on concrete ``values`` with NumPy."""
    node = op.make_node(*input_vars)
    if isinstance(op, ScalarOp):
        result = op.impl(*[np.asarray(v).item() for v in values])
        return [np.asarray(result, dtype=node.outputs[0].type.dtype)]
    if isinstance(op, Elemwise) and op.scalar_op.nout == 1:
        # Element by element: a ufunc (Elemwise.perform, np.vectorize) takes at most 32
        # operands on numpy 1, and a fused Elemwise may have more.
        dtype = node.outputs[0].type.dtype
        shape = np.broadcast_shapes(*[np.shape(v) for v in values])
        arrays = [np.broadcast_to(np.asarray(v), shape) for v in values]
        result = np.empty(shape, dtype=dtype)
        for index in np.ndindex(*shape):
            result[index] = op.scalar_op.impl(*[a[index] for a in arrays])
        return [result]
    op.prepare_node(node, None, None, "py")
    storage = {var: [np.array(value, dtype=var.type.dtype)] for var, value in zip(node.inputs, values)}
    storage.update({var: [None] for var in node.outputs})
    computed = {var: [var not in node.outputs] for var in storage}
    op.make_py_thunk(node, storage, computed, [])()
    return [storage[var][0] for var in node.outputs]


@jax_funcify.register(HostValueOp)
def jax_funcify_HostValueOp(op, node=None, **kwargs):
    traced = jax_funcify(op.op, node=op.op.make_node(*node.inputs), **kwargs)

    def host_value(*values):
        if any(isinstance(v, jax.core.Tracer) for v in values):
            return traced(*values)
        outputs = _host_values(op.op, node.inputs, values)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return host_value


class HostScalarShapes(GraphRewriter):
    """Wrap scalar Ops, assertions and the shape Ops after them that only see static values."""

    def add_requirements(self, fgraph):
        fgraph.attach_feature(ReplaceValidate())

    def apply(self, fgraph):
        static = set()
        for node in fgraph.toposort():
            if type(node.op) is shapes.HostShapeOp:  # its evaluation lacks an Elemwise's prepare_node
                wrapped = HostValueOp(node.op.op).make_node(*node.inputs).outputs
                fgraph.replace_all_validate(list(zip(node.outputs, wrapped)), reason="aenet_host_scalar_shapes")
                static.update(wrapped)
                continue
            if isinstance(node.op, (shapes.Shape, shapes.Shape_i, shapes.HostShapeOp)):
                static.update(node.outputs)
                continue
            if not (
                isinstance(node.op, shapes._HOST_OPS + (ScalarOp, CheckAndRaise))
                and all(isinstance(v, Constant) or v in static for v in node.inputs)
                and all(shapes._is_shape_value(v) for v in node.outputs)
            ):
                continue
            wrapped = HostValueOp(node.op).make_node(*node.inputs).outputs
            fgraph.replace_all_validate(list(zip(node.outputs, wrapped)), reason="aenet_host_scalar_shapes")
            static.update(wrapped)


optdb.register("aenet_jax_host_scalar_shapes", HostScalarShapes(), "jax", position=100.6)
