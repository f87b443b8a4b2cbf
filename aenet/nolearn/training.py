"""The epochs of ``NeuralNet.fit``: batches, steps, the history row and the handlers.

:func:`train_loop` runs the epochs of a compiled net.  On the JAX devices
the training and validation sets go to the device once per call and each
batch is taken there by index when the batch iterator's batches are plain
``X[index]`` (:attr:`BatchIterator.batches_by_index`); the host sends the
indices and reads back the loss, the next step already queued unless
``on_batch_finished`` handlers must see each step.
"""
import math
from time import perf_counter

import numpy as np

from aenet.nolearn.inputs import batch_float32


def as_list(handlers):
    if handlers is None:
        return []
    if isinstance(handlers, (list, tuple)):
        return list(handlers)
    return [handlers]


def run_handlers(handlers, net, history):
    """Call each handler; True when one raised StopIteration."""
    try:
        for handler in handlers:
            handler(net, history)
    except StopIteration:
        return True
    return False


def batches(iterator, X, y, data=None):
    """``(n, args, yb)`` for each batch of ``iterator(X, y)``: its size, a step's arguments, its labels.

    The arguments are the batch ``(Xb, yb)`` (float32 ``Xb``), or with
    ``data`` (``X`` and ``y`` on the device) ``(*data, index)``, the batch's
    indices on the device, for functions that take the batch there.
    """
    from aenet import device

    bound = iterator(X, y)
    if data is None:
        for Xb, yb in bound:
            yield len(Xb), (batch_float32(Xb), yb), yb
    else:
        for index in bound.batch_indices():
            yield len(index), (*data, device.put(index.astype(np.int32))), y[index]


_END = object()


def one_ahead(iterable):
    """The items of ``iterable``, each handed out once the next one has been made.

    For steps queued on a device: the host reads one step's outputs while
    the next one runs, instead of the device waiting for the host.
    """
    iterator = iter(iterable)
    previous = next(iterator, _END)
    for item in iterator:
        yield previous
        previous = item
    if previous is not _END:
        yield previous


def _on_device(compiled, iterator, X, y):
    """``(X, y)`` copied to the device if batches can be taken there by index, else None."""
    from aenet import device

    if compiled.on_device and getattr(iterator, "batches_by_index", False):
        return device.put(batch_float32(X)), device.put(y)
    return None


class _Epochs:
    """The state of one ``train_loop`` call: data, steps and handlers."""

    def __init__(self, net, X, y):
        self.net, self.compiled = net, net._device  # nothing compiled when no epoch is to run
        self.X_train, self.X_valid, self.y_train, self.y_valid = net.train_split(X, y, net)
        self.train_data = _on_device(self.compiled, net.batch_iterator_train, self.X_train, self.y_train)
        self.valid_data = _on_device(self.compiled, net.batch_iterator_test, self.X_valid, self.y_valid)
        self.on_batch_finished = as_list(net.on_batch_finished)
        self.on_epoch_finished = as_list(net.on_epoch_finished)
        self.on_training_started = as_list(net.on_training_started)
        self.on_training_finished = as_list(net.on_training_finished)
        if net.verbose and getattr(net, "_initialized", False):
            # The log row is printed before other handlers may stop training.
            self.on_epoch_finished.insert(0, net._print_log)
            self.on_training_started.insert(0, net._print_layer_info)
        # On a device, a step's outputs are read once the next step is queued.
        self.ahead = one_ahead if self.compiled.on_device and not self.on_batch_finished else iter

    def train_step(self, *args):
        return (self.compiled.train if self.train_data is None else self.compiled.train_at)(*args)

    def valid_step(self, *args):
        """``(outputs, probas)``; probas (a list, one per output layer) only when custom scores need them."""
        if self.valid_data is None:
            Xb, yb = args
            probas = self.compiled.predict(Xb) if self.net.custom_scores else None
            return self.compiled.evaluate(Xb, yb), probas
        results = self.compiled.evaluate_at(*args)
        n_outputs = 1 + (not self.net.regression) + len(self.net.scores_valid or [])
        return results[:n_outputs], results[n_outputs:]

    def train(self, epoch, history):
        """Mean training outputs of one pass, and whether a batch handler stopped training."""
        net = self.net
        sums, n_seen = np.zeros(1 + len(net.scores_train or [])), 0
        steps = ((n, self.train_step(*args)) for n, args, _ in batches(
            net.batch_iterator_train, self.X_train, self.y_train, self.train_data))
        for i, (n, outputs) in enumerate(self.ahead(steps)):
            self.compiled.stepped()
            outputs = np.asarray(outputs, dtype=np.float64)  # the host's only read of a step
            if not math.isfinite(outputs[0]):
                raise FloatingPointError(
                    f"training loss is {outputs[0]} at epoch {epoch} (batch {i + 1}); "
                    "try a lower learning rate, or check X for nan/inf"
                )
            sums += n * outputs
            n_seen += n
            if self.on_batch_finished:
                self.compiled.pull()
                if run_handlers(self.on_batch_finished, net, history):
                    return _mean(sums, n_seen), True
                self.compiled.push()
        return _mean(sums, n_seen), False

    def validate(self):
        """Mean validation outputs and mean custom scores of one pass."""
        net = self.net
        sums = np.zeros(1 + (not net.regression) + len(net.scores_valid or []))
        custom_sums = np.zeros(len(net.custom_scores or []))
        n_seen = 0
        steps = ((n, yb, self.valid_step(*args)) for n, args, yb in batches(
            net.batch_iterator_test, self.X_valid, self.y_valid, self.valid_data))
        for n, yb, (outputs, proba) in self.ahead(steps):
            sums += n * np.asarray(outputs, dtype=np.float64)
            if net.custom_scores:
                proba = np.asarray(proba[0]) if len(proba) == 1 else tuple(np.asarray(p) for p in proba)
                custom_sums += n * np.array([f(yb, proba) for _, f in net.custom_scores])
            n_seen += n
        return _mean(sums, n_seen), _mean(custom_sums, n_seen)


def _mean(sums, n):
    if not n:
        return np.full_like(sums, np.nan)
    return sums / n


def epoch_info(net, epoch, history, train_means, valid_means, custom_means):
    """The history row of an epoch (without ``dur``)."""
    train_loss, valid_loss = float(train_means[0]), float(valid_means[0])
    previous_train = [row["train_loss"] for row in history]
    previous_valid = [row["valid_loss"] for row in history if not math.isnan(row["valid_loss"])]
    info = {
        "epoch": epoch,
        "train_loss": train_loss,
        "train_loss_best": train_loss <= min(previous_train, default=math.inf),
        "valid_loss": valid_loss,
        "valid_loss_best": valid_loss <= min(previous_valid, default=math.inf),
        "valid_accuracy": float("nan") if net.regression else float(valid_means[1]),
    }
    first_score = 1 if net.regression else 2
    for k, (name, _) in enumerate(net.scores_train or []):
        info[name] = float(train_means[1 + k])
    for k, (name, _) in enumerate(net.scores_valid or []):
        info[name] = float(valid_means[first_score + k])
    for k, (name, _) in enumerate(net.custom_scores or []):
        info[name] = float(custom_means[k])
    return info


def train_loop(net, X, y, epochs):
    """Run ``epochs`` epochs of the compiled ``net`` on prepared ``X`` and ``y``, with its handlers.

    The data are split first; with ``epochs=0`` the net need not be compiled,
    and only the training-started and -finished handlers run.
    """
    run = _Epochs(net, X, y)
    history = net.__dict__.setdefault("train_history_", [])
    run.compiled.push()
    stop = run_handlers(run.on_training_started, net, history)
    epochs_done = 0
    while not stop and epochs_done < epochs:
        epochs_done += 1
        epoch = len(history) + 1
        t0 = perf_counter()
        run.compiled.push()  # what handlers set on the host
        train_means, stop = run.train(epoch, history)
        valid_means, custom_means = run.validate()
        run.compiled.pull()
        info = epoch_info(net, epoch, history, train_means, valid_means, custom_means)
        info["dur"] = perf_counter() - t0
        history.append(info)
        stop = run_handlers(run.on_epoch_finished, net, history) or stop
    run_handlers(run.on_training_finished, net, history)
