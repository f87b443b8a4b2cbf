"""Handlers: callables run by :class:`~aenet.nolearn.NeuralNet` during training.

A handler is called as ``handler(net, train_history)`` where ``train_history``
is ``net.train_history_``, a list with one dict per finished epoch.  Pass them
as ``on_epoch_finished``, ``on_batch_finished``, ``on_training_started`` or
``on_training_finished``.  Raising ``StopIteration`` from a handler ends
training cleanly after the current epoch.
"""
import math
import os
import sys
from datetime import datetime

from tabulate import tabulate

from aenet.lasagne.layers import count_params


class ansi:
    CYAN = "\033[36m"
    GREEN = "\033[32m"
    ENDC = "\033[0m"


def _size(shape):
    return "x".join("?" if s is None else str(s) for s in tuple(shape)[1:])


class PrintLayerInfo:
    """Print the parameter count and a table of the layers (on training start)."""

    def __init__(self, file=None):
        self.file = file

    def __call__(self, net, train_history=None):
        if train_history:  # only before the first epoch
            return
        out = self.file or sys.stdout
        n_params = count_params(list(net.layers_.values()), trainable=True)
        print(f"# Neural Network with {n_params} learnable parameters\n", file=out)
        print("## Layer information\n", file=out)
        rows = [
            [str(i), name, _size(layer.output_shape)]
            for i, (name, layer) in enumerate(net.layers_.items())
        ]
        print(tabulate(rows, headers=["#", "name", "size"], colalign=("right", "left", "left")), file=out)
        print(file=out)
        out.flush()


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
    """Save the net's parameters with ``net.save_params_to(path)`` during training.

    ``path`` may hold the fields ``{epoch}`` (zero-padded to 4 digits),
    ``{loss}`` (the validation loss) and ``{timestamp}``.  Saves every
    ``every_n_epochs`` epochs; with ``only_best=True`` only when the
    validation loss is the best so far.
    """

    def __init__(self, path, every_n_epochs=1, only_best=False, verbose=0):
        self.path = path
        self.every_n_epochs = every_n_epochs
        self.only_best = only_best
        self.verbose = verbose

    def __call__(self, net, train_history):
        info = train_history[-1]
        if self.only_best and not info["valid_loss_best"]:
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
        net.save_params_to(path)


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
