"""Train one of the post's nets on one device and measure it: the workflow's train stage.

:func:`run_experiment` configures the device, memory-maps the cached arrays,
builds the net (:mod:`cifarbench.models`), compiles it, trains it with nolearn's
per-epoch timing, and scores it on the test images.  :func:`write_outputs`
writes the three results, each atomically: the parameters (``.npz`` by layer
name), the history (CSV, one row per epoch) and the metrics (JSON, last, so a
metrics file means the other two are complete).

With a ``checkpoint`` path, :func:`run_experiment` saves the training state
after every finished epoch (:func:`save_checkpoint`: parameters, the update
rule's velocities, the history so far and the batch order's random state) and
a later run with the same settings and data resumes from it, ending with the
same parameters and history as a run that was never interrupted.
:func:`remove_checkpoint` deletes it once the outputs are written.  A loss
that becomes nan or infinite stops training with :class:`FloatingPointError`
naming the epoch.

For tests of interrupted runs, ``AENET_PAUSE_AFTER_EPOCH="N:FOLDER"`` in the
environment holds training once epoch N's checkpoint is written: the job
writes ``FOLDER/paused`` and waits until ``FOLDER/release`` exists.
"""
import csv
import hashlib
import io
import json
import math
import os
import statistics
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np

HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_accuracy", "seconds")
CHECKPOINT_FORMAT = 1  # bumped when the layout of checkpoint files changes
LOSS_NAMES = {"train_loss": "training loss", "valid_loss": "validation loss"}


@dataclass
class Result:
    """A trained net with its per-epoch history rows and its metrics dict."""

    net: object
    history: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


def history_rows(train_history):
    """nolearn's ``train_history_`` as rows of :data:`HISTORY_COLUMNS` (``seconds`` = ``dur``)."""
    return [
        {
            "epoch": int(row["epoch"]),
            "train_loss": float(row["train_loss"]),
            "valid_loss": float(row["valid_loss"]),
            "valid_accuracy": float(row["valid_accuracy"]),
            "seconds": float(row["dur"]),
        }
        for row in train_history
    ]


def epoch_stats(seconds):
    """Median, min and max of the epoch durations (None for no epochs)."""
    if not seconds:
        return {"epoch_seconds_median": None, "epoch_seconds_min": None, "epoch_seconds_max": None}
    return {
        "epoch_seconds_median": statistics.median(seconds),
        "epoch_seconds_min": min(seconds),
        "epoch_seconds_max": max(seconds),
    }


# -- checkpoints --------------------------------------------------------------------------------


def checkpoint_fingerprint(arrays_dir, model, device, config, seed):
    """A digest of everything a training run depends on: settings, seed and training data.

    A checkpoint is resumed only when its fingerprint equals the current one,
    so changed hyperparameters (``config`` as :func:`cifarbench.models.model_config`
    returns it), another seed or device, or new training arrays start over.
    """
    digest = hashlib.sha256()
    settings = {"format": CHECKPOINT_FORMAT, "model": model, "device": device, "config": config, "seed": seed}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for name in ("X_train.npy", "y_train.npy"):
        with open(Path(arrays_dir) / name, "rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def _temp_siblings(path):
    """Temporary files :mod:`aenet.atomic` leaves next to ``path`` when its writer is killed."""
    path = Path(path)
    return sorted(path.parent.glob(f".{path.name}.tmp-*")) if path.parent.is_dir() else []


def discard_temp_files(*paths):
    """Remove the temporary files a killed writer left next to each of ``paths``; return them.

    Only the job that writes a file writes its temporary siblings, so at the
    start of that job any of them is a leftover.
    """
    removed = []
    for path in paths:
        for tmp in _temp_siblings(path):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def save_checkpoint(path, net, fingerprint):
    """Write ``net``'s training state to ``path`` (``.npz``, no pickles), atomically.

    A parameter file of :mod:`aenet.nolearn.params_io` whose extra arrays
    hold the update rule's state (``update/<i>``,
    :meth:`~aenet.nolearn.NeuralNet.get_update_state`), ``history``
    (``train_history_`` as JSON bytes), the random state of the training batch
    iterator (``rng/...``, the batch order of the next epochs when
    shuffling) and ``fingerprint`` (:func:`checkpoint_fingerprint`).
    """
    from aenet.nolearn.params_io import write_params

    extras = {"fingerprint": np.array(fingerprint)}
    extras.update({f"update/{i}": value for i, value in enumerate(net.get_update_state())})
    random = getattr(net.batch_iterator_train, "random", None)
    if random is not None:
        _, keys, pos, has_gauss, cached_gaussian = random.get_state(legacy=True)
        extras["rng/keys"] = keys
        extras["rng/state"] = np.array([pos, has_gauss], dtype=np.int64)
        extras["rng/gaussian"] = np.array(cached_gaussian, dtype=np.float64)
    extras["history"] = np.frombuffer(json.dumps(net.train_history_).encode(), dtype=np.uint8)
    return write_params(path, net.get_all_params_values(), extras)


@dataclass
class Checkpoint:
    """The training state :func:`save_checkpoint` wrote."""

    fingerprint: str
    params: dict
    updates: list
    history: list
    random: tuple = None


def read_checkpoint(path):
    """The :class:`Checkpoint` in ``path``; OSError, ValueError or KeyError when it cannot be read."""
    from aenet.nolearn.params_io import read_params

    try:
        params, extras = read_params(path)
        updates = {int(key[len("update/"):]): value for key, value in extras.items() if key.startswith("update/")}
        random = None
        if "rng/keys" in extras:
            pos, has_gauss = (int(v) for v in extras["rng/state"])
            random = ("MT19937", extras["rng/keys"], pos, has_gauss, float(extras["rng/gaussian"]))
        history = json.loads(extras["history"].tobytes().decode())
    except zipfile.BadZipFile as exc:
        raise ValueError(str(exc)) from exc
    return Checkpoint(str(extras["fingerprint"]), params, [updates[i] for i in sorted(updates)], history, random)


def _fits(checkpoint, net):
    """Whether the checkpoint's arrays have the layers and shapes of ``net``'s."""
    ours = {name: values for name, values in net.get_all_params_values().items() if values}
    fits = list(checkpoint.params) == list(ours) and all(
        [np.shape(v) for v in checkpoint.params[name]] == [np.shape(v) for v in values] for name, values in ours.items()
    )
    fits = fits and [np.shape(v) for v in checkpoint.updates] == [np.shape(v) for v in net.get_update_state()]
    return fits and (checkpoint.random is None) == (getattr(net.batch_iterator_train, "random", None) is None)


def load_checkpoint(path, net, fingerprint):
    """Restore ``net``'s training state from ``path``; the number of epochs it held.

    ``net`` must be built (and is compiled here).  Returns 0, leaving ``net``
    as it is, when there is no checkpoint, when it was written for other
    settings or data (another ``fingerprint``), when it cannot be read, or
    when its arrays do not fit the net (other layers or shapes); all but the
    first print one line saying so.
    """
    path = Path(path)
    if not path.is_file():
        return 0
    try:
        checkpoint = read_checkpoint(path)
    except (OSError, ValueError, KeyError) as exc:
        print(f"checkpoint {path} is unreadable ({' '.join(str(exc).split())}); training from epoch 1", flush=True)
        return 0
    if checkpoint.fingerprint != fingerprint:
        print(f"checkpoint {path} is from other settings or data; training from epoch 1", flush=True)
        return 0
    net.initialize()
    # Everything is checked before anything is set: a net is restored whole or not at all.
    if not _fits(checkpoint, net):
        print(f"checkpoint {path} does not fit this net; training from epoch 1", flush=True)
        return 0
    net.load_params_from(checkpoint.params)
    net.set_update_state(checkpoint.updates)
    if checkpoint.random is not None:
        net.batch_iterator_train.random.set_state(checkpoint.random)
    net.train_history_ = checkpoint.history
    return len(checkpoint.history)


def remove_checkpoint(path):
    """Delete the checkpoint at ``path`` and its leftovers.

    The folder stays: another job may be about to write its own checkpoint there.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    discard_temp_files(path)


def stop_on_nonfinite_loss(net, history):
    """Epoch handler: raise ``FloatingPointError`` naming the epoch when a loss is nan or infinite.

    nolearn's loop checks the training loss of every batch; this catches the
    validation loss too (the last update of an epoch can overflow the weights).
    """
    row = history[-1]
    for key in LOSS_NAMES:
        if not math.isfinite(row[key]):
            raise FloatingPointError(
                f"{LOSS_NAMES[key]} is {row[key]} at epoch {row['epoch']}; "
                "try a lower learning rate, or check X for nan/inf"
            )


class Checkpointer:
    """Epoch handler: :func:`save_checkpoint` after every finished epoch."""

    def __init__(self, path, fingerprint):
        self.path, self.fingerprint = Path(path), fingerprint

    def __call__(self, net, history):
        save_checkpoint(self.path, net, self.fingerprint)
        pause_after_epoch(history[-1]["epoch"])


PAUSE_SETTING = "AENET_PAUSE_AFTER_EPOCH"


def pause_after_epoch(epoch):
    """The test hook of the module docstring: hold after epoch N until released."""
    setting = os.environ.get(PAUSE_SETTING)
    if not setting:
        return
    after, folder = setting.split(":", 1)
    if epoch != int(after):
        return
    folder = Path(folder)
    (folder / "paused").write_text(f"{os.getpid()}\n")
    while not (folder / "release").exists():
        time.sleep(0.01)


# -- training -------------------------------------------------------------------------------------


def run_experiment(
    arrays_dir, model, device, model_config=None, seed=42, threads=None, verbose=1, checkpoint=None
):
    """Train ``model`` ("mlp" or "cnn") on ``device`` from the arrays in ``arrays_dir``.

    ``arrays_dir`` holds what :func:`cifarbench.preprocess.save_arrays` wrote;
    ``model_config`` overrides the post's hyperparameters
    (:func:`cifarbench.models.model_config`); ``seed`` fixes the initial weights
    and the batch order.  ``threads`` is only recorded: set the BLAS threads
    with :func:`aenet.compile.settings.set_num_threads`.  ``verbose=1`` prints nolearn's
    layer table and one row per epoch to stdout.

    The device is configured first, so a device that cannot be used raises
    :class:`aenet.device.DeviceError` before any work.  ``compile_seconds``
    is the time to build and compile the training, validation and prediction
    functions; ``train_seconds`` the wall-clock time of ``fit``; each epoch's
    ``seconds`` (nolearn's ``dur``) covers its training and validation passes.
    On the JAX devices the first epoch also includes XLA's compilation, hence
    the median as the headline figure.

    ``checkpoint`` (a path) saves the training state after every epoch and
    resumes from a checkpoint written with the same settings, seed, device
    and training data (:func:`load_checkpoint`); ``resumed_from_epoch`` in the
    metrics says how many epochs came from it, and ``train_seconds`` covers
    only this run's epochs.  A nan or infinite training or validation loss
    raises ``FloatingPointError`` naming the epoch (the checkpoint keeps the
    last finite epoch).
    """
    from aenet import device as devices
    from cifarbench.devinfo import versions
    from cifarbench.models import build_net, count_params, model_config as checked_config
    from cifarbench.preprocess import load_arrays

    config = checked_config(model, model_config)
    devices.configure(device)
    data = load_arrays(arrays_dir, model)
    handlers = [stop_on_nonfinite_loss]
    if checkpoint is not None:
        fingerprint = checkpoint_fingerprint(arrays_dir, model, device, config, seed)
        discard_temp_files(checkpoint)
        handlers.append(Checkpointer(checkpoint, fingerprint))
    net = build_net(model, config, seed=seed, verbose=verbose, on_epoch_finished=handlers)

    start = perf_counter()
    net.initialize()
    compile_seconds = perf_counter() - start

    resumed = 0 if checkpoint is None else load_checkpoint(checkpoint, net, fingerprint)
    if resumed:
        print(f"resuming from checkpoint {checkpoint} after epoch {resumed} of {config['epochs']}", flush=True)

    start = perf_counter()
    net.fit(data.X_train, data.y_train, epochs=config["epochs"] - resumed)
    train_seconds = perf_counter() - start

    start = perf_counter()
    test_accuracy = net.score(data.X_test, data.y_test)
    test_seconds = perf_counter() - start

    history = history_rows(net.train_history_)
    last = history[-1] if history else {}
    metrics = {
        "model": model,
        "device": device,
        "used_device": devices.used_device(),
        "epochs": len(history),
        "test_accuracy": float(test_accuracy),
        "valid_accuracy": last.get("valid_accuracy"),
        "valid_loss": last.get("valid_loss"),
        "train_loss": last.get("train_loss"),
        **epoch_stats([row["seconds"] for row in history]),
        "train_seconds": train_seconds,
        "resumed_from_epoch": resumed,
        "compile_seconds": compile_seconds,
        "test_seconds": test_seconds,
        "n_train": int(len(data.y_train)),
        "n_test": int(len(data.y_test)),
        "n_parameters": count_params(net),
        "threads": threads,
        "seed": seed,
        "hyperparameters": config,
        "versions": versions(),
    }
    return Result(net=net, history=history, metrics=metrics)


def _json_safe(value):
    """NaN and infinities become None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def history_csv(rows):
    """The history rows as CSV text with a header of :data:`HISTORY_COLUMNS`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row[key] for key in HISTORY_COLUMNS})
    return out.getvalue()


def write_outputs(result, params, history, metrics):
    """Write ``result``'s parameters (.npz), history (.csv) and metrics (.json), in that order.

    Each file appears complete or not at all; the metrics go last.
    """
    from aenet.atomic import write_json_atomic, write_text_atomic

    result.net.save_params_to(params)
    write_text_atomic(history, history_csv(result.history))
    write_json_atomic(metrics, _json_safe(result.metrics))
    return [Path(params), Path(history), Path(metrics)]
