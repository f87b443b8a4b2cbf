"""The parameters of a ``NeuralNet``: listing, values, files, and the update rule's state.

:class:`NetParams` is a mixin of :class:`~aenet.nolearn.NeuralNet`; it uses
the net's ``layers_``, its compiled functions (``_compiled``) and the copy of
the state they keep on a device (``_device``).
"""
import os
from collections import OrderedDict

import numpy as np

from aenet.nolearn.params_io import check_shapes, checked_layer_params, read_params, write_params

__all__ = ["NetParams"]


class NetParams:
    """The parameter methods of ``NeuralNet`` (nolearn's names and a few of aenet's)."""

    def _ensure_layers(self):
        if getattr(self, "layers_", None) is None:
            self.initialize_layers()

    def get_all_layers(self):
        self._ensure_layers()
        return list(self.layers_.values())

    def get_all_params(self, **tags):
        """The parameters of all layers (each once), filtered by tags like ``trainable=True``."""
        params = []
        for layer in self.get_all_layers():
            for param in layer.get_params(**tags):
                if not any(param is p for p in params):
                    params.append(param)
        return params

    def get_all_params_values(self):
        """``{layer name: [parameter values]}`` in layer order."""
        self._ensure_layers()
        self._device.pull()
        return OrderedDict(
            (name, [p.get_value() for p in layer.get_params()]) for name, layer in self.layers_.items()
        )

    def save_params_to(self, path):
        """Write the parameter values by layer name to ``path`` (:mod:`~aenet.nolearn.params_io`).

        The file is written atomically and no ``.npz`` suffix is added.
        """
        return write_params(path, self.get_all_params_values())

    def load_params_from(self, source):
        """Set parameters from a file of :meth:`save_params_to`, a net, or a ``{name: values}`` dict.

        Layers are matched by name; layers missing on either side are left
        alone.  Every shape is checked before anything is set, and a mismatch
        raises ``ValueError`` naming the layer and both shapes.
        """
        self._ensure_layers()
        self._device.pull()  # the layers left alone keep their trained values
        if isinstance(source, (str, os.PathLike)):
            source, _ = read_params(source)
        elif hasattr(source, "get_all_params_values"):  # another net
            source = source.get_all_params_values()
        matched = [(name, self._checked_layer_params(name, values), values)
                   for name, values in source.items() if name in self.layers_]  # fmt: skip
        if source and not matched:
            raise ValueError(
                f"no layer of the source ({list(source.keys())}) is in this net ({list(self.layers_.keys())})"
            )
        for name, params, values in matched:
            for param, value in zip(params, values):
                param.set_value(np.asarray(value, dtype=param.dtype))
            if self.verbose:
                shapes = ", ".join("x".join(map(str, np.shape(v))) for v in values)
                print(f"Loaded parameters to layer {name!r} (shapes {shapes}).", flush=True)
        self._device.push()

    def _checked_layer_params(self, name, values):
        """The parameters of layer ``name``, once ``values`` are checked to fit them."""
        return checked_layer_params(name, self.layers_[name].get_params(), values)

    def get_update_state(self):
        """The values of the update rule's state variables, as a list of arrays (copies).

        These are the shared variables the update rule created besides the
        parameters (nesterov momentum's velocities, adam's moments and step
        count), in the order it created them.  Together with the parameters,
        ``train_history_`` and the training batch iterator's random state, they
        are what continuing a training run exactly needs.  Compiles the net
        first if needed; right after compiling they hold the rule's initial
        values (zero velocities).
        """
        self.initialize()
        self._device.pull()
        return [var.get_value() for var in self._compiled.update_state]

    def set_update_state(self, values):
        """Set the update rule's state variables from :meth:`get_update_state`'s list.

        The number of arrays and every shape are checked before anything is
        set; a mismatch raises ``ValueError`` naming the variable and both
        shapes.  Values are cast to each variable's dtype.
        """
        self.initialize()
        values = list(values)
        variables = self._compiled.update_state
        if len(values) != len(variables):
            raise ValueError(
                f"the update rule has {len(variables)} state variables, got {len(values)} values"
            )
        check_shapes(variables, values, lambda var, ours, theirs: (
            f"update state variable {var} has shape {ours}, the value has {theirs}"
        ))
        self._device.pull()  # the parameters stay as trained
        for var, value in zip(variables, values):
            var.set_value(np.asarray(value, dtype=var.dtype))
        self._device.push()

