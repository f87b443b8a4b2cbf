"""Recurrent layers (Lasagne's ``lasagne.layers.recurrent``).

Each takes a sequence ``(batch, time, features...)`` and returns the hidden
state at every step, ``(batch, time, units...)``, or only the last one with
``only_return_final=True``.  They loop with ``aesara.scan`` (or, with
``unroll_scan=True``, a Python loop for a fixed length).  Shared options:
``mask_input`` (a layer giving a ``(batch, time)`` mask; masked steps keep the
previous state), ``backwards``, ``learn_init``, ``gradient_steps``
(truncated backpropagation), ``grad_clipping`` and ``precompute_input``.
:class:`LSTMLayer`, :class:`GRULayer` and :class:`Gate` live in
:mod:`~aenet.lasagne.layers.recurrent_gates`.
"""
from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.base import nonlinearity_or_identity
from aenet.lasagne.layers.dense import DenseLayer
from aenet.lasagne.layers.helper import get_all_layers, get_all_params, get_output
from aenet.lasagne.layers.input import InputLayer
from aenet.lasagne.layers.recurrent_base import RecurrentBase, clip_gradient
from aenet.lasagne.layers.recurrent_gates import Gate, GRULayer, LSTMLayer

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer"]


def _single_input_layer(network, argument):
    """Raise ValueError unless the sub-network ``network`` starts from exactly one InputLayer."""
    count = sum(isinstance(layer, InputLayer) for layer in get_all_layers(network))
    if count != 1:
        raise ValueError("%s must have exactly one InputLayer, but it has %d" % (argument, count))


def _compatible(shape_a, shape_b):
    """Whether two shapes agree after their first dimension, ``None`` matching anything."""
    return len(shape_a) == len(shape_b) and all(
        a is None or b is None or a == b for a, b in zip(shape_a[1:], shape_b[1:])
    )


class CustomRecurrentLayer(RecurrentBase):
    """CustomRecurrentLayer(incoming, input_to_hidden, hidden_to_hidden,
    nonlinearity=nonlinearities.rectify, hid_init=init.Constant(0.), backwards=False,
    learn_init=False, gradient_steps=-1, grad_clipping=0, unroll_scan=False,
    precompute_input=True, mask_input=None, only_return_final=False, **kwargs)

    ``h_t = nonlinearity(f_in(x_t) + f_hid(h_{t-1}))`` where ``f_in`` is the
    sub-network ``input_to_hidden`` and ``f_hid`` is ``hidden_to_hidden``, each
    a chain of layers starting from its own InputLayer (dense or convolutional
    connections, for instance).  ``hid_init`` is an initializer, array or shared
    variable of shape ``(1,) + hidden shape`` (the parameter ``hid_init``) or a
    layer giving the initial state per example.  The parameters of both
    sub-networks are this layer's too.

    >>> from aenet.lasagne.layers import InputLayer
    >>> f_in = DenseLayer(InputLayer((None, 4)), 5)
    >>> f_hid = DenseLayer(InputLayer((None, 5)), 5)
    >>> CustomRecurrentLayer((2, 3, 4), f_in, f_hid).output_shape
    (2, 3, 5)
    """

    def __init__(
        self,
        incoming,
        input_to_hidden,
        hidden_to_hidden,
        nonlinearity=nonlinearities.rectify,
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
        _single_input_layer(input_to_hidden, "input_to_hidden")
        _single_input_layer(hidden_to_hidden, "hidden_to_hidden")
        self.input_to_hidden = input_to_hidden
        self.hidden_to_hidden = hidden_to_hidden
        self._check_connections()
        self.nonlinearity = nonlinearity_or_identity(nonlinearity)
        self.hid_init = self.add_initial_state("hid_init", hid_init, hidden_to_hidden.output_shape[1:])

    def _check_connections(self):
        in_shape, hid_shape = self.input_to_hidden.output_shape, self.hidden_to_hidden.output_shape
        batch, steps = self.input_shapes[0][:2]
        if self.precompute_input and None not in (in_shape[0], batch, steps) and in_shape[0] != batch * steps:
            raise ValueError(
                "with precompute_input=True, input_to_hidden.output_shape[0] must be None or batch * time = %d, "
                "got %r" % (batch * steps, in_shape)
            )
        if not self.precompute_input and None not in (in_shape[0], hid_shape[0]) and in_shape[0] != hid_shape[0]:
            raise ValueError(
                "with precompute_input=False, input_to_hidden and hidden_to_hidden must agree on the batch size, "
                "got output shapes %r and %r" % (in_shape, hid_shape)
            )
        if not _compatible(in_shape, hid_shape):
            raise ValueError(
                "input_to_hidden.output_shape %r and hidden_to_hidden.output_shape %r must agree after the "
                "first dimension" % (in_shape, hid_shape)
            )
        hid_in_shape = getattr(self.hidden_to_hidden, "input_shape", hid_shape)
        if not _compatible(in_shape, hid_in_shape):
            raise ValueError(
                "input_to_hidden.output_shape %r must agree with hidden_to_hidden.input_shape %r after the "
                "first dimension" % (in_shape, hid_in_shape)
            )

    def get_params(self, **tags):
        """This layer's own parameters, then those of ``input_to_hidden`` and ``hidden_to_hidden``."""
        own = super().get_params(**tags)
        return own + get_all_params(self.input_to_hidden, **tags) + get_all_params(self.hidden_to_hidden, **tags)

    def get_output_shape_for(self, input_shapes):
        return self.output_shape_from(input_shapes[0], self.hidden_to_hidden.output_shape[1:])

    def _precomputed(self, sequence, **kwargs):
        """``input_to_hidden`` applied to all steps at once, as ``(time, batch, ...)``."""
        steps, batch = sequence.shape[0], sequence.shape[1]
        flat = sequence.reshape((steps * batch,) + tuple(sequence.shape[2:]), ndim=sequence.ndim - 1)
        out = get_output(self.input_to_hidden, flat, **kwargs)
        # static sizes where known: the symbolic ones of a biased output are not
        # plain shape arithmetic, which JAX needs concrete
        known = self.input_to_hidden.output_shape[1:]
        trailing = tuple(out.shape[k + 1] if size is None else size for k, size in enumerate(known))
        return out.reshape((steps, batch) + trailing, ndim=out.ndim + 1)

    def get_output_for(self, inputs, **kwargs):
        sequence = self.time_major(inputs)
        num_batch = sequence.shape[1]
        if self.precompute_input:
            sequence = self._precomputed(sequence, **kwargs)
        non_sequences = get_all_params(self.hidden_to_hidden)
        if not self.precompute_input:
            non_sequences += get_all_params(self.input_to_hidden)

        def step(x_t, hid_previous, *params):
            pre = get_output(self.hidden_to_hidden, hid_previous, **kwargs)
            pre += x_t if self.precompute_input else get_output(self.input_to_hidden, x_t, **kwargs)
            return self.nonlinearity(clip_gradient(pre, self.grad_clipping))

        hid_init = self.initial_value("hid_init", inputs, num_batch)
        mask = self.mask_sequence(inputs, hid_init.ndim)
        (hid,) = self.recur(step, sequence, mask, [hid_init], non_sequences)
        return self.arrange_output(hid)


class RecurrentLayer(CustomRecurrentLayer):
    """RecurrentLayer(incoming, num_units, W_in_to_hid=init.Uniform(), W_hid_to_hid=init.Uniform(),
    b=init.Constant(0.), nonlinearity=nonlinearities.rectify, hid_init=init.Constant(0.),
    backwards=False, learn_init=False, gradient_steps=-1, grad_clipping=0, unroll_scan=False,
    precompute_input=True, mask_input=None, only_return_final=False, **kwargs)

    The plain RNN ``h_t = nonlinearity(x_t W_in_to_hid + h_{t-1} W_hid_to_hid + b)``:
    a :class:`CustomRecurrentLayer` of two :class:`DenseLayer` s named
    ``input_to_hidden`` (holding ``W`` and ``b``) and ``hidden_to_hidden``
    (``W``, no bias), prefixed by this layer's name.  Features past the third
    input dimension are flattened.

    >>> RecurrentLayer((None, 7, 3), num_units=4, only_return_final=True).output_shape
    (None, 4)
    """

    def __init__(
        self,
        incoming,
        num_units,
        W_in_to_hid=init.Uniform(),
        W_hid_to_hid=init.Uniform(),
        b=init.Constant(0.0),
        nonlinearity=nonlinearities.rectify,
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
        input_shape = incoming if isinstance(incoming, tuple) else incoming.output_shape
        prefix = "" if kwargs.get("name") is None else kwargs["name"] + "."
        dense_kwargs = {key: value for key, value in kwargs.items() if key != "name"}
        in_to_hid = DenseLayer(
            InputLayer((None,) + tuple(input_shape[2:])), num_units, W=W_in_to_hid, b=b, nonlinearity=None,
            name=prefix + "input_to_hidden", **dense_kwargs,
        )  # fmt: skip
        hid_to_hid = DenseLayer(
            InputLayer((None, num_units)), num_units, W=W_hid_to_hid, b=None, nonlinearity=None,
            name=prefix + "hidden_to_hidden", **dense_kwargs,
        )  # fmt: skip
        self.W_in_to_hid = in_to_hid.W
        self.W_hid_to_hid = hid_to_hid.W
        self.b = in_to_hid.b
        super().__init__(
            incoming, in_to_hid, hid_to_hid, nonlinearity=nonlinearity, hid_init=hid_init, backwards=backwards,
            learn_init=learn_init, gradient_steps=gradient_steps, grad_clipping=grad_clipping,
            unroll_scan=unroll_scan, precompute_input=precompute_input, mask_input=mask_input,
            only_return_final=only_return_final, **kwargs,
        )  # fmt: skip

