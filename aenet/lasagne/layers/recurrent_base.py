"""What every recurrent layer shares: extra inputs, initial states, the loop and its output.

The recurrent layers are :class:`MergeLayer` s whose first input is the
sequence ``(batch, time, features...)``; a mask ``(batch, time)`` and initial
states given as layers are further inputs, found again through the
``*_incoming_index`` attributes (-1 when absent), as in Lasagne.
"""
import aesara
import aesara.tensor as at
import numpy as np

from aenet.lasagne.layers.base import Layer, MergeLayer
from aenet.lasagne.utils import unroll_scan

__all__ = []


def clip_gradient(x, bound):
    """``x`` whose gradient is clipped to ``[-bound, bound]`` (``bound`` 0 or False: unchanged)."""
    if not bound:
        return x
    bound = np.asarray(bound, dtype=x.dtype)
    return aesara.gradient.grad_clip(x, -bound, bound)


class RecurrentBase(MergeLayer):
    """The options and the loop shared by :class:`CustomRecurrentLayer`,
    :class:`LSTMLayer` and :class:`GRULayer` (not exported).

    ``initial_states`` is a list of ``(name, spec)`` pairs, such as
    ``[("hid_init", init.Constant(0.))]``: a spec that is a layer becomes an
    input of this layer, any other spec is created later by
    :meth:`add_initial_state`.
    """

    def __init__(
        self,
        incoming,
        initial_states,
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
        incomings = [incoming]
        self.mask_incoming_index = self._append(incomings, mask_input)
        for name, spec in initial_states:
            index = self._append(incomings, spec if isinstance(spec, Layer) else None)
            setattr(self, "%s_incoming_index" % name, index)
        super().__init__(incomings, **kwargs)
        self.learn_init = learn_init
        self.backwards = backwards
        self.gradient_steps = gradient_steps
        self.grad_clipping = grad_clipping
        self.unroll_scan = unroll_scan
        self.precompute_input = precompute_input
        self.only_return_final = only_return_final
        self._check_unrolling()

    @staticmethod
    def _append(incomings, layer):
        """Append ``layer`` (if not None) to ``incomings``; its index there, or -1."""
        if layer is None:
            return -1
        incomings.append(layer)
        return len(incomings) - 1

    def _check_unrolling(self):
        if self.unroll_scan and self.gradient_steps != -1:
            raise ValueError("gradient_steps must be -1 when unroll_scan is True, got %r" % (self.gradient_steps,))
        if self.unroll_scan and self.input_shapes[0][1] is None:
            raise ValueError(
                "unroll_scan=True needs a fixed sequence length, but the input shape is %r" % (self.input_shapes[0],)
            )

    def add_initial_state(self, name, spec, shape):
        """The initial state ``name``: ``spec`` itself if it is a layer, else a
        parameter of ``(1,) + shape`` tagged ``trainable=learn_init``, not regularizable."""
        if isinstance(spec, Layer):
            return spec
        return self.add_param(spec, (1,) + tuple(shape), name=name, trainable=self.learn_init, regularizable=False)

    def initial_value(self, name, inputs, num_batch):
        """The symbolic initial state ``name`` for a batch: the matching input,
        or the parameter repeated ``num_batch`` times along its first axis."""
        index = getattr(self, "%s_incoming_index" % name)
        if index > 0:
            return inputs[index]
        param = getattr(self, name)
        ones = at.ones((num_batch, 1), dtype=param.dtype)
        return at.tensordot(ones, param, axes=[[1], [0]])

    def output_shape_from(self, input_shape, state_shape):
        """``(batch, time) + state_shape``, or ``(batch,) + state_shape`` with ``only_return_final``."""
        if self.only_return_final:
            return (input_shape[0],) + tuple(state_shape)
        return (input_shape[0], input_shape[1]) + tuple(state_shape)

    def time_major(self, inputs):
        """The sequence (the first input) as ``(time, batch, ...)``."""
        sequence = inputs[0]
        return sequence.dimshuffle(1, 0, *range(2, sequence.ndim))

    def mask_sequence(self, inputs, state_ndim):
        """The mask as ``(time, batch, 1, ...)``, broadcasting over states of ``state_ndim`` dims; None without one."""
        if self.mask_incoming_index < 0:
            return None
        return inputs[self.mask_incoming_index].dimshuffle(1, 0, *("x",) * (state_ndim - 1))

    def recur(self, step, sequence, mask, initial, non_sequences):
        """Run ``step(x_t, *states, *non_sequences) -> states`` over ``sequence``.

        Masked steps (mask 0) keep the previous states.  Returns one
        ``(time, batch, ...)`` expression per state, in processing order.
        """
        sequences = [sequence]
        if mask is not None:
            sequences.append(mask)
            step = _masked(step, len(initial))
        if self.unroll_scan:
            return unroll_scan(
                step, sequences, initial, non_sequences, self.input_shapes[0][1], go_backwards=self.backwards
            )
        if self.backwards:
            # what go_backwards does, with a constant slice (its computed bounds are not static for JAX)
            sequences = [seq[::-1] for seq in sequences]
        outputs, _ = aesara.scan(
            step,
            sequences=sequences,
            outputs_info=list(initial),
            non_sequences=non_sequences,
            truncate_gradient=self.gradient_steps,
            strict=True,
        )
        return outputs if isinstance(outputs, list) else [outputs]

    def arrange_output(self, states):
        """Batch-major, in time order (undoing ``backwards``), or only the last step's state."""
        if self.only_return_final:
            return states[-1]
        states = states.dimshuffle(1, 0, *range(2, states.ndim))
        return states[:, ::-1] if self.backwards else states


def _masked(step, num_states):
    """``step`` taking a mask slice after the input, keeping the previous states where it is 0."""

    def masked_step(x_t, mask_t, *rest):
        previous = rest[:num_states]
        new = step(x_t, *rest)
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        return [at.switch(mask_t, n, p) for n, p in zip(new, previous)]

    return masked_step
