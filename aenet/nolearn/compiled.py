"""A net's compiled functions, and the copy of its state they keep on a JAX device.

:class:`CompiledNet` compiles the training, validation and prediction steps
for the configured device (:func:`aenet.device.function`).  On the JAX
devices the parameters and the update rule's state stay on the device
between steps; :meth:`CompiledNet.pull` brings the shared variables (the
host copies) up to date, :meth:`CompiledNet.push` sends values set on the
host (``set_value``, loaded parameters) to the device before its next use.
"""
import aesara
import aesara.tensor as at


class CompiledNet:
    """The functions of one net: ``train(X, y)``, ``evaluate(X, y)``, ``predict(X)``.

    ``train`` returns ``train_outputs`` and applies ``updates``; ``evaluate``
    returns ``eval_outputs``; ``predict`` returns the list ``probas`` (one
    output per output layer).  On a device, ``train_at`` and ``evaluate_at``
    take ``(X_all, y_all, index)``, the data set on the device and a batch's
    indices, and ``evaluate_at`` returns the ``probas`` after the ``eval_outputs``.  ``update_state`` lists the shared variables of
    ``updates`` that are not in ``params`` (velocities, moments...).
    """

    def __init__(self, X, y, train_outputs, eval_outputs, probas, updates, params):
        from aenet import device  # compiles for the configured device

        self.update_state = [var for var in updates if not any(var is p for p in params)]
        self.train = device.function([X, y], train_outputs, updates=updates)
        self.evaluate = device.function([X, y], eval_outputs)
        self.predict = device.function([X], list(probas))
        self.on_device = device.current() != "cpu"
        self.train_at = self.evaluate_at = None
        if self.on_device:
            self._compile_by_index(X, y, train_outputs, eval_outputs, probas, updates)
        self._device_ahead = False
        self._host_values = self._current_host_values()

    def _compile_by_index(self, X, y, train_outputs, eval_outputs, probas, updates):
        """The same steps on batches taken by index from the data set on the device."""
        from aenet import device

        X_all, y_all, index = X.type("X_all"), y.type("y_all"), at.ivector("index")
        batch = {X: X_all[index], y: y_all[index]}
        n = len(train_outputs)
        cloned = aesara.clone_replace(list(train_outputs) + list(updates.values()), replace=batch)
        self.train_at = device.function([X_all, y_all, index], cloned[:n], updates=dict(zip(updates, cloned[n:])))
        # The output too, for custom_scores (it stays on the device unless read).
        self.evaluate_at = device.function(
            [X_all, y_all, index], aesara.clone_replace(list(eval_outputs) + list(probas), replace=batch)
        )

    def _functions(self):
        return [f for f in (self.train, self.evaluate, self.predict, self.train_at, self.evaluate_at) if f]

    def _current_host_values(self):
        if not self.on_device:
            return []
        return [(var, var.get_value(borrow=True)) for var in self.train.updated]

    def stepped(self):
        """Note that a training step ran: on a device, the host copies are now behind."""
        self._device_ahead = self.on_device

    def pull(self):
        """Copy the values the training steps left on the device into the shared variables."""
        if self._device_ahead:
            self.train.sync()
            self._host_values = self._current_host_values()
            self._device_ahead = False

    def push(self):
        """Send shared variables set on the host since the last sync to the device."""
        if any(var.get_value(borrow=True) is not value for var, value in self._host_values):
            for function in self._functions():
                function.reload()
            self._host_values = self._current_host_values()
