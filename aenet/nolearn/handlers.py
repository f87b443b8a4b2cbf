"""Handlers: callables run by :class:`~aenet.nolearn.NeuralNet` during training.

A handler is called as ``handler(net, train_history)`` where ``train_history``
is ``net.train_history_``, a list with one dict per finished epoch.  Pass them
as ``on_epoch_finished``, ``on_batch_finished``, ``on_training_started`` or
``on_training_finished``.  Raising ``StopIteration`` from a handler ends
training cleanly after the current epoch.
"""
import csv
import math
import os
import pickle
import sys
from datetime import datetime

import numpy as np
from tabulate import tabulate

from aenet.lasagne.layers import count_params
from aenet.nolearn.util import ansi, get_conv_infos, is_conv2d

__all__ = [
    "EarlyStopping",
    "PrintLayerInfo",
    "PrintLog",
    "RememberBestWeights",
    "RestoreBestWeights",
    "SaveWeights",
    "WeightLog",
]


def _size(shape):
    return "x".join("?" if s is None else str(s) for s in tuple(shape)[1:])


class PrintLayerInfo:
    """Print the parameter count and a table of the layers (on training start).

    With ``net.verbose >= 2`` and a 2-D convolution in the net, the table is
    :func:`~aenet.nolearn.util.get_conv_infos`' (capacity and coverage, with
    a legend of its colours); ``verbose >= 3`` adds filter and field sizes.
    """

    def __init__(self, file=None):
        self.file = file

    def __call__(self, net, train_history=None):
        if train_history:  # only before the first epoch
            return
        out = self.file or sys.stdout
        n_params = count_params(list(net.layers_.values()), trainable=True)
        print(f"# Neural Network with {n_params} learnable parameters\n", file=out)
        print("## Layer information\n", file=out)
        verbose = getattr(net, "verbose", 0)
        if verbose >= 2 and is_conv2d(net.layers_.values()):
            print(get_conv_infos(net, detailed=verbose > 2), file=out)
            print(_CONV_LEGEND, file=out)
        else:
            print(self._plain_table(net), file=out)
        print(file=out)
        out.flush()

    @staticmethod
    def _plain_table(net):
        rows = [[str(i), name, _size(layer.output_shape)] for i, (name, layer) in enumerate(net.layers_.items())]
        return tabulate(rows, headers=["#", "name", "size"], colalign=("right", "left", "left"))


_CONV_LEGEND = f"""
Explanation
    X, Y:    image dimensions
    cap.:    learning capacity (real filter size / receptive field, %)
    cov.:    coverage of the image (receptive field / image size, %)
    {ansi.MAGENTA}magenta{ansi.ENDC}: capacity too low (<1/6)
    {ansi.CYAN}cyan{ansi.ENDC}:    image coverage too high (>100%)
    {ansi.RED}red{ansi.ENDC}:     capacity too low and coverage too high
"""


class PrintLog:
    """Print one table row per epoch: ``epoch | trn loss | val loss | trn/val | valid acc | dur``.

    The header is printed before the first row.  On a terminal the best
    training loss so far is cyan and the best validation loss green.  Extra
    columns appear for the net's ``scores_train``, ``scores_valid`` and
    ``custom_scores``; ``valid acc`` is left out for regression.
    """

    def __init__(self, file=None):
        self.file = file
        self.first_iteration = True

    def __call__(self, net, train_history):
        out = self.file or sys.stdout
        print(self.table(net, train_history, color=out.isatty()), file=out)
        out.flush()

    def table(self, net, train_history, color=False):
        info = train_history[-1]

        columns = [
            ("epoch", str(info["epoch"]), True),
            ("trn loss", f"{info['train_loss']:.5f}", True),
            ("val loss", f"{info['valid_loss']:.5f}", True),
            ("trn/val", f"{_ratio(info['train_loss'], info['valid_loss']):.5f}", True),
        ]
        if not net.regression:
            columns.append(("valid acc", f"{info['valid_accuracy']:.5f}", True))
        for name in _score_names(net):
            columns.append((name, f"{info[name]:.5f}", True))
        columns.append(("dur", f"{info['dur']:.2f}s", False))

        headers, cells, numeric = zip(*columns)
        if color:
            cells = list(cells)
            cells[1] = _paint(cells[1], ansi.CYAN, info["train_loss_best"])
            cells[2] = _paint(cells[2], ansi.GREEN, info["valid_loss_best"])
        align = ["right" if flag else "left" for flag in numeric]
        header, rule, row = tabulate([cells], headers=headers, colalign=align, disable_numparse=True).splitlines()
        if self.first_iteration:
            self.first_iteration = False
            return "\n".join([header, rule, row])
        return row


def _paint(cell, code, best):
    return f"{code}{cell}{ansi.ENDC}" if best else cell


def _ratio(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return float("nan")


def _score_names(net):
    names = [name for name, _ in (net.scores_train or [])]
    names += [name for name, _ in (net.scores_valid or [])]
    names += [name for name, _ in (net.custom_scores or [])]
    return names


class SaveWeights:
    """Save the net during training: its parameters (``net.save_params_to``), or with ``pickle=True`` the net.

    ``SaveWeights(path, every_n_epochs=1, only_best=False, pickle=False, verbose=0)``

    ``path`` may hold the fields ``{epoch}`` (zero-padded to 4 digits),
    ``{loss}`` (the validation loss) and ``{timestamp}``.  Saves every
    ``every_n_epochs`` epochs; with ``only_best=True`` only when the
    validation loss of the last epoch is the lowest of the history (ties
    count as best; a nan loss never is).  A pickled net is written with
    the highest pickle protocol; load it with ``pickle.load``.
    """

    def __init__(self, path, every_n_epochs=1, only_best=False, pickle=False, verbose=0):
        self.path = path
        self.every_n_epochs = every_n_epochs
        self.only_best = only_best
        self.pickle = pickle
        self.verbose = verbose

    def __call__(self, net, train_history):
        info = train_history[-1]
        if self.only_best and not _lowest_so_far(train_history, "valid_loss"):
            return
        if info["epoch"] % self.every_n_epochs:
            return
        path = os.fspath(self.path).format(
            epoch=f"{info['epoch']:04d}",
            loss=info["valid_loss"],
            timestamp=datetime.now().strftime("%Y-%m-%d-%H-%M-%S"),
        )
        if self.verbose:
            print(f"Writing {path}", flush=True)
        if self.pickle:
            with open(path, "wb") as file:
                pickle.dump(net, file, -1)
        else:
            net.save_params_to(path)


def _lowest_so_far(train_history, key):
    """Whether the last row's ``key`` is the lowest (or tied lowest) of the history; False if nan."""
    current = train_history[-1][key]
    if math.isnan(current):
        return False
    return all(not row[key] < current for row in train_history)


class EarlyStopping:
    """Stop training when the validation loss has not improved for ``patience`` epochs.

    The parameters of the best epoch are restored before stopping (and when
    training ends while an earlier epoch was better, if ``restore_best``).
    """

    def __init__(self, patience=10, restore_best=True, verbose=0):
        self.patience = patience
        self.restore_best = restore_best
        self.verbose = verbose
        self.best_loss = math.inf
        self.best_epoch = None
        self.best_params = None

    def __call__(self, net, train_history):
        info = train_history[-1]
        loss = info["valid_loss"]
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_epoch = info["epoch"]
            self.best_params = net.get_all_params_values()
        elif self.best_epoch is not None and info["epoch"] - self.best_epoch >= self.patience:
            if self.verbose:
                print(
                    f"Early stopping: best validation loss {self.best_loss:.5f} "
                    f"at epoch {self.best_epoch}",
                    flush=True,
                )
            if self.restore_best:
                net.load_params_from(self.best_params)
            raise StopIteration()


class RememberBestWeights:
    """Keep a copy of the parameters of the best epoch so far (as ``best_weights``).

    The best epoch has the lowest ``loss`` history entry (default
    ``"valid_loss"``) or, when ``score`` names an entry, the highest score.
    ``best_weights_loss`` is that loss (the negated score) and
    ``best_weights_epoch`` its epoch.  Restore them with
    :class:`RestoreBestWeights`, e.g. as an ``on_training_finished`` handler.
    """

    def __init__(self, loss="valid_loss", score=None, verbose=1):
        self.loss = loss
        self.score = score
        self.verbose = verbose
        self.best_weights = None
        self.best_weights_loss = sys.maxsize
        self.best_weights_epoch = None

    def __call__(self, net, train_history):
        info = train_history[-1]
        current = -info[self.score] if self.score is not None else info[self.loss]
        if current < self.best_weights_loss:
            self.best_weights = net.get_all_params_values()
            self.best_weights_loss = current
            self.best_weights_epoch = info["epoch"]

    def restore(self, net, train_history=None):
        """Load the remembered parameters into ``net`` (a handler, e.g. for ``on_training_finished``)."""
        RestoreBestWeights(remember=self)(net, train_history)


class RestoreBestWeights:
    """Load the parameters a :class:`RememberBestWeights` kept into the net.

    ``remember`` defaults to the one :class:`RememberBestWeights` among the
    net's ``on_epoch_finished`` handlers.
    """

    def __init__(self, remember=None):
        self.remember = remember

    def __call__(self, net, train_history):
        if self.remember is None:
            found = [h for h in _as_list(net.on_epoch_finished) if isinstance(h, RememberBestWeights)]
            if len(found) != 1:
                raise ValueError(f"RestoreBestWeights needs one RememberBestWeights in on_epoch_finished, found {len(found)}")
            self.remember = found[0]
        remember = self.remember
        net.load_params_from(remember.best_weights)
        if remember.verbose:
            value = remember.best_weights_loss * (-1 if remember.score else 1)
            print(f"Loaded best weights from epoch {remember.best_weights_epoch} "
                  f"where {remember.score or remember.loss} was {value}", flush=True)


def _as_list(handlers):
    if handlers is None:
        return []
    return list(handlers) if isinstance(handlers, (list, tuple)) else [handlers]


class WeightLog:
    """Record statistics of the weights after each call (use as ``on_batch_finished``).

    Each call appends to ``history`` a dict with, for parameter ``i`` of
    layer ``name``, ``"{name}_{i} wdiff"`` (mean absolute change since the
    previous call, 0 at the first), ``"{name}_{i} wabsmean"`` and
    ``"{name}_{i} wmean"``.  With ``save_to`` (a path) the rows are also
    written as CSV, ``write_every`` rows at a time.
    """

    def __init__(self, save_to=None, write_every=8):
        self.save_to = save_to
        self.write_every = write_every
        self.last_weights = None
        self.history = []
        self._dictwriter = None
        self._save_to_file = None

    def __call__(self, net, train_history):
        weights = net.get_all_params_values()
        previous = self.last_weights if self.last_weights is not None else weights
        entry = {}
        for name, values in weights.items():
            for i, (old, new) in enumerate(zip(previous[name], values)):
                entry[f"{name}_{i} wdiff"] = float(np.abs(old - new).mean())
                entry[f"{name}_{i} wabsmean"] = float(np.abs(new).mean())
                entry[f"{name}_{i} wmean"] = float(new.mean())
        if self.save_to:
            self._open_writer(list(entry), new_file=self.last_weights is None)
        self.history.append(entry)
        self.last_weights = weights
        if self.save_to and len(self.history) % self.write_every == 0:
            self._dictwriter.writerows(self.history[-self.write_every:])
            self._save_to_file.flush()

    def _open_writer(self, fieldnames, new_file):
        if self._dictwriter is not None:
            return
        self._save_to_file = open(self.save_to, "w" if new_file else "a", newline="")
        self._dictwriter = csv.DictWriter(self._save_to_file, fieldnames)
        if new_file:
            self._dictwriter.writeheader()

    def __getstate__(self):
        state = dict(self.__dict__)
        state.update(_save_to_file=None, _dictwriter=None)
        return state
