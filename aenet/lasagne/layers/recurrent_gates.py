"""Gated recurrent layers: :class:`LSTMLayer`, :class:`GRULayer` and their :class:`Gate` s.

Exported through :mod:`aenet.lasagne.layers.recurrent`.  Input features past
the third dimension are flattened.  Each gate's input and hidden weights are
concatenated into one matrix so a step costs one product per source.
"""
import aesara.tensor as at
import numpy as np

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import nonlinearity_or_identity
from aenet.lasagne.layers.recurrent_base import RecurrentBase, clip_gradient

__all__ = ["Gate", "LSTMLayer", "GRULayer"]


class Gate:
    """Gate(W_in=init.Normal(0.1), W_hid=init.Normal(0.1), W_cell=init.Normal(0.1),
    b=init.Constant(0.), nonlinearity=nonlinearities.sigmoid)

    The initializers and nonlinearity of one gate of an :class:`LSTMLayer` or
    :class:`GRULayer`: ``nonlinearity(x W_in + h W_hid [+ c * W_cell] + b)``.
    ``W_cell=None`` leaves out the cell (peephole) weights: the attribute is
    then absent.  ``nonlinearity=None`` means the identity.

    >>> Gate(W_cell=None, nonlinearity=None).nonlinearity(3)
    3
    """

    def __init__(
        self,
        W_in=init.Normal(0.1),
        W_hid=init.Normal(0.1),
        W_cell=init.Normal(0.1),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.sigmoid,
    ):
        self.W_in = W_in
        self.W_hid = W_hid
        if W_cell is not None:
            self.W_cell = W_cell
        self.b = b
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)


class _GatedBase(RecurrentBase):
    """Parameters per gate and the flattened, time-major input of the gated layers."""

    def _num_inputs(self):
        features = self.input_shapes[0][2:]
        if None in features:
            raise ValueError("the feature dimensions of the input must be known, got input shape %r"
                             % (self.input_shapes[0],))
        return int(np.prod(features))

    def _add_gate(self, gate, gate_name):
        """Create ``W_in_to_<gate>``, ``W_hid_to_<gate>`` and ``b_<gate>``; return them and the nonlinearity."""
        num_inputs, units = self._num_inputs(), self.num_units
        return (
            self.add_param(gate.W_in, (num_inputs, units), name="W_in_to_%s" % gate_name),
            self.add_param(gate.W_hid, (units, units), name="W_hid_to_%s" % gate_name),
            self.add_param(gate.b, (units,), name="b_%s" % gate_name, regularizable=False),
            gate.nonlinearity,
        )

    def _stacked(self, gate_names):
        """The input weights, hidden weights and biases of ``gate_names``, each concatenated along units."""
        return tuple(
            at.concatenate([getattr(self, pattern % name) for name in gate_names], axis=axis)
            for pattern, axis in (("W_in_to_%s", 1), ("W_hid_to_%s", 1), ("b_%s", 0))
        )

    def _slice(self, x, k):
        """The ``k``-th block of ``num_units`` columns of ``x``."""
        return x[:, k * self.num_units : (k + 1) * self.num_units]

    def _sequence(self, inputs):
        sequence = inputs[0]
        if sequence.ndim > 3:
            sequence = sequence.flatten(3)
        return sequence.dimshuffle(1, 0, 2)

    def get_output_shape_for(self, input_shapes):
        return self.output_shape_from(input_shapes[0], (self.num_units,))


class LSTMLayer(_GatedBase):
    """LSTMLayer(incoming, num_units, ingate=Gate(), forgetgate=Gate(),
    cell=Gate(W_cell=None, nonlinearity=nonlinearities.tanh), outgate=Gate(),
    nonlinearity=nonlinearities.tanh, cell_init=init.Constant(0.), hid_init=init.Constant(0.),
    backwards=False, learn_init=False, peepholes=True, gradient_steps=-1, grad_clipping=0,
    unroll_scan=False, precompute_input=True, mask_input=None, only_return_final=False, **kwargs)

    Long short-term memory with a forget gate and, with ``peepholes``, the
    diagonal cell weights ``W_cell_to_{ingate,forgetgate,outgate}`` of shape
    ``(num_units,)``::

        i = s_i(x W_in_to_ingate + h W_hid_to_ingate + c_prev * W_cell_to_ingate + b_ingate)
        f = s_f(... forgetgate, also peeking at c_prev)
        c = f * c_prev + i * s_c(x W_in_to_cell + h W_hid_to_cell + b_cell)
        o = s_o(... outgate, peeking at the new c)
        h = o * nonlinearity(c)

    ``cell_init`` and ``hid_init`` are parameters of shape ``(1, num_units)``
    (trainable with ``learn_init``) or layers giving ``(batch, num_units)``.

    >>> LSTMLayer((2, 5, 3), num_units=4).output_shape
    (2, 5, 4)
    """

    def __init__(
        self,
        incoming,
        num_units,
        ingate=Gate(),
        forgetgate=Gate(),
        cell=Gate(W_cell=None, nonlinearity=nonlinearities.tanh),
        outgate=Gate(),
        nonlinearity=nonlinearities.tanh,
        cell_init=init.Constant(0.0),
        hid_init=init.Constant(0.0),
        backwards=False,
        learn_init=False,
        peepholes=True,
        gradient_steps=-1,
        grad_clipping=0,
        unroll_scan=False,
        precompute_input=True,
        mask_input=None,
        only_return_final=False,
        **kwargs,
    ):
        super().__init__(
            incoming, [("hid_init", hid_init), ("cell_init", cell_init)], backwards=backwards,
            learn_init=learn_init, gradient_steps=gradient_steps, grad_clipping=grad_clipping,
            unroll_scan=unroll_scan, precompute_input=precompute_input, mask_input=mask_input,
            only_return_final=only_return_final, **kwargs,
        )  # fmt: skip
        self.num_units = num_units
        self.peepholes = peepholes
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)
        for gate, name in ((ingate, "ingate"), (forgetgate, "forgetgate"), (cell, "cell"), (outgate, "outgate")):
            W_in, W_hid, b, gate_nonlinearity = self._add_gate(gate, name)
            setattr(self, "W_in_to_%s" % name, W_in)
            setattr(self, "W_hid_to_%s" % name, W_hid)
            setattr(self, "b_%s" % name, b)
            setattr(self, "nonlinearity_%s" % name, gate_nonlinearity)
        if peepholes:
            for gate, name in ((ingate, "ingate"), (forgetgate, "forgetgate"), (outgate, "outgate")):
                setattr(self, "W_cell_to_%s" % name, self._add_peephole(gate, name))
        self.cell_init = self.add_initial_state("cell_init", cell_init, (num_units,))
        self.hid_init = self.add_initial_state("hid_init", hid_init, (num_units,))

    def _add_peephole(self, gate, name):
        if not hasattr(gate, "W_cell"):
            raise ValueError("peepholes=True needs W_cell in the %s Gate, got W_cell=None" % name)
        return self.add_param(gate.W_cell, (self.num_units,), name="W_cell_to_%s" % name)

    def _peephole_weights(self):
        if not self.peepholes:
            return []
        return [self.W_cell_to_ingate, self.W_cell_to_forgetgate, self.W_cell_to_outgate]

    def _step(self, x_t, cell_previous, hid_previous, W_hid, *weights):
        """One LSTM step; ``weights`` are the peepholes (if any), then ``W_in, b`` unless precomputed."""
        peep = weights[:3] if self.peepholes else ()
        if not self.precompute_input:
            W_in, b = weights[len(peep) :]
            x_t = at.dot(x_t, W_in) + b
        gates = clip_gradient(x_t + at.dot(hid_previous, W_hid), self.grad_clipping)
        ingate, forgetgate, cell_input, outgate = (self._slice(gates, k) for k in range(4))
        if peep:
            ingate += cell_previous * peep[0]
            forgetgate += cell_previous * peep[1]
        cell = (
            self.nonlinearity_forgetgate(forgetgate) * cell_previous
            + self.nonlinearity_ingate(ingate) * self.nonlinearity_cell(cell_input)
        )
        if peep:
            outgate += cell * peep[2]
        return [cell, self.nonlinearity_outgate(outgate) * self.nonlinearity(cell)]

    def get_output_for(self, inputs, **kwargs):
        sequence = self._sequence(inputs)
        num_batch = sequence.shape[1]
        W_in, W_hid, b = self._stacked(["ingate", "forgetgate", "cell", "outgate"])
        if self.precompute_input:
            sequence = at.dot(sequence, W_in) + b
        non_sequences = [W_hid] + self._peephole_weights()
        if not self.precompute_input:
            non_sequences += [W_in, b]
        initial = [self.initial_value(name, inputs, num_batch) for name in ("cell_init", "hid_init")]
        mask = self.mask_sequence(inputs, 2)
        _, hid = self.recur(self._step, sequence, mask, initial, non_sequences)
        return self.arrange_output(hid)


class GRULayer(_GatedBase):
    """GRULayer(incoming, num_units, resetgate=Gate(W_cell=None), updategate=Gate(W_cell=None),
    hidden_update=Gate(W_cell=None, nonlinearity=nonlinearities.tanh), hid_init=init.Constant(0.),
    backwards=False, learn_init=False, gradient_steps=-1, grad_clipping=0, unroll_scan=False,
    precompute_input=True, mask_input=None, only_return_final=False, **kwargs)

    Gated recurrent unit::

        r = s_r(x W_in_to_resetgate + h_prev W_hid_to_resetgate + b_resetgate)
        u = s_u(... updategate)
        c = s_c(x W_in_to_hidden_update + b_hidden_update + r * (h_prev W_hid_to_hidden_update))
        h = (1 - u) * h_prev + u * c

    ``hid_init`` is a parameter of shape ``(1, num_units)`` (trainable with
    ``learn_init``) or a layer giving ``(batch, num_units)``.

    >>> GRULayer((2, 5, 3), num_units=4, only_return_final=True).output_shape
    (2, 4)
    """

    def __init__(
        self,
        incoming,
        num_units,
        resetgate=Gate(W_cell=None),
        updategate=Gate(W_cell=None),
        hidden_update=Gate(W_cell=None, nonlinearity=nonlinearities.tanh),
        hid_init=init.Constant(0.0),
        backwards=False,
        learn_init=False,
        gradient_steps=-1,
        grad_clipping=0,
        unroll_scan=False,
        precompute_input=True,
        mask_input=None,
        only_return_final=False,
        **kwargs,
    ):
        super().__init__(
            incoming, [("hid_init", hid_init)], backwards=backwards, learn_init=learn_init,
            gradient_steps=gradient_steps, grad_clipping=grad_clipping, unroll_scan=unroll_scan,
            precompute_input=precompute_input, mask_input=mask_input, only_return_final=only_return_final, **kwargs,
        )  # fmt: skip
        self.num_units = num_units
        gates = ((updategate, "updategate"), (resetgate, "resetgate"), (hidden_update, "hidden_update"))
        for gate, name in gates:
            W_in, W_hid, b, gate_nonlinearity = self._add_gate(gate, name)
            setattr(self, "W_in_to_%s" % name, W_in)
            setattr(self, "W_hid_to_%s" % name, W_hid)
            setattr(self, "b_%s" % name, b)
        self.nonlinearity_updategate = updategate.nonlinearity
        self.nonlinearity_resetgate = resetgate.nonlinearity
        self.nonlinearity_hid = hidden_update.nonlinearity
        self.hid_init = self.add_initial_state("hid_init", hid_init, (num_units,))

    def _step(self, x_t, hid_previous, W_hid, *weights):
        """One GRU step; ``weights`` are ``W_in, b`` unless the input was precomputed."""
        hid_input = clip_gradient(at.dot(hid_previous, W_hid), self.grad_clipping)
        x_t = clip_gradient(x_t, self.grad_clipping)
        if not self.precompute_input:
            W_in, b = weights
            x_t = at.dot(x_t, W_in) + b
        resetgate = self.nonlinearity_resetgate(self._slice(x_t, 0) + self._slice(hid_input, 0))
        updategate = self.nonlinearity_updategate(self._slice(x_t, 1) + self._slice(hid_input, 1))
        candidate = self._slice(x_t, 2) + resetgate * self._slice(hid_input, 2)
        candidate = self.nonlinearity_hid(clip_gradient(candidate, self.grad_clipping))
        return (1 - updategate) * hid_previous + updategate * candidate

    def get_output_for(self, inputs, **kwargs):
        sequence = self._sequence(inputs)
        num_batch = sequence.shape[1]
        W_in, W_hid, b = self._stacked(["resetgate", "updategate", "hidden_update"])
        if self.precompute_input:
            sequence = at.dot(sequence, W_in) + b
        non_sequences = [W_hid] if self.precompute_input else [W_hid, W_in, b]
        hid_init = self.initial_value("hid_init", inputs, num_batch)
        mask = self.mask_sequence(inputs, 2)
        (hid,) = self.recur(self._step, sequence, mask, [hid_init], non_sequences)
        return self.arrange_output(hid)
