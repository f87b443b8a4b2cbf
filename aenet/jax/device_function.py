"""Functions whose shared variables stay on the device between calls (:class:`DeviceFunction`)."""
import weakref
from collections import OrderedDict

import aesara
import jax
import jax.numpy as jnp
import numpy as np
from aesara.compile.sharedvalue import SharedVariable
from aesara.graph.basic import clone_replace, graph_inputs
from aesara.link.jax.dispatch import jax_typify

from aenet.jax.mode import JAX_MODE, canonical

# The device copy of each shared variable used by a DeviceFunction: one per
# variable, read and updated by every DeviceFunction, like a GPU shared variable
# in Theano.  The host value is only refreshed by ``sync``.
_device_values = weakref.WeakKeyDictionary()


class DeviceFunction:
    """``aesara.function(inputs, outputs, updates=updates)`` for JAX, with its state on the device.

    aesara's own Function writes every update back through ``TensorType.filter``,
    i.e. into a NumPy array on the host, and hands every shared variable to XLA
    again at the next call: all parameters (and a data set held in a shared
    variable) go to the device and back at every step.  Here the shared
    variables of the graph become inputs, their updates (``updates`` and the
    ``default_update`` of random streams) outputs, of one aesara function
    compiled in :data:`JAX_MODE`.  Their values stay JAX arrays on the device
    between calls, one copy per shared variable for all DeviceFunctions (a
    training step updates the weights a validation function then reads).

    Inputs may be JAX arrays already on the device (no copy) or anything NumPy
    accepts (cast to the input's dtype, like ``allow_input_downcast=True``).
    Outputs are JAX arrays, computed asynchronously: reading one (``float``,
    ``np.asarray``) waits for it.  :meth:`sync` copies the device values back
    into the shared variables (before reading or saving them on the host);
    :meth:`reload` sends values set on the shared variables to the device.
    Random streams continue on the device; their host generators are not
    advanced.
    """

    def __init__(self, inputs, outputs, updates=None, mode=None):
        self.inputs = list(inputs)
        self.single = not isinstance(outputs, (list, tuple))
        self.outputs = [outputs] if self.single else list(outputs)
        updates = OrderedDict(updates or {})
        self.shared = self._shared_variables(self.outputs, updates)
        self.updated = list(updates)
        stand_ins = [var.type() for var in self.shared]
        for var, stand_in in zip(self.shared, stand_ins):
            stand_in.name = var.name
        rebuilt = clone_replace(self.outputs + list(updates.values()), replace=dict(zip(self.shared, stand_ins)))
        self.function = aesara.function(
            stand_ins + self.inputs, rebuilt, mode=mode or JAX_MODE, on_unused_input="ignore"
        )
        self.function.trust_input = True  # values are passed to XLA as they are
        self._dtypes = [canonical(var.type.dtype) for var in self.inputs]
        for var in self.shared:
            if var not in _device_values:
                _device_values[var] = _device_value(var.get_value(borrow=True))

    @staticmethod
    def _shared_variables(outputs, updates):
        """The shared variables the graph reads or updates; adds their default updates to ``updates``."""
        shared, pending = [], outputs + list(updates.keys()) + list(updates.values())
        while pending:
            found = [
                v for v in graph_inputs(pending) if isinstance(v, SharedVariable) and v not in shared
            ]
            shared += found
            pending = []
            for var in found:
                default = getattr(var, "default_update", None)
                if var not in updates and default is not None:
                    updates[var] = default
                    pending.append(default)
        shared += [var for var in updates if var not in shared]
        return shared

    @property
    def values(self):
        """The device values of :attr:`shared`."""
        return [_device_values[var] for var in self.shared]

    def reload(self):
        """Send the shared variables' current host values to the device."""
        for var in self.shared:
            _device_values[var] = _device_value(var.get_value(borrow=True))

    def sync(self):
        """Copy the device values of the updated shared variables into them (tensors only)."""
        for var in self.updated:
            value = _device_values[var]
            if isinstance(value, jax.Array):
                var.set_value(np.asarray(value))

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise TypeError(f"expected {len(self.inputs)} inputs, got {len(args)}")
        args = [
            value if isinstance(value, jax.Array) and value.dtype == dtype else jnp.asarray(value, dtype=dtype)
            for value, dtype in zip(args, self._dtypes)
        ]
        results = self.function(*self.values, *args)
        n = len(self.outputs)
        for var, value in zip(self.updated, results[n:]):
            _device_values[var] = value
        return results[0] if self.single else list(results[:n])


def _device_value(value):
    """A shared variable's value as the JAX graph takes it: an array, or a random key state."""
    if isinstance(value, (np.random.Generator, np.random.RandomState)):
        return jax_typify(value)
    return jnp.asarray(value)
