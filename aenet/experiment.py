"""Train one of the post's nets on one device and measure it: the workflow's train stage.

:func:`run_experiment` configures the device, memory-maps the cached arrays,
builds the net (:mod:`aenet.models`), compiles it, trains it with nolearn's
per-epoch timing, and scores it on the test images.  :func:`write_outputs`
writes the three results, each atomically: the parameters (``.npz`` by layer
name), the history (CSV, one row per epoch) and the metrics (JSON, last, so a
metrics file means the other two are complete).
"""
import csv
import io
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

HISTORY_COLUMNS = ("epoch", "train_loss", "valid_loss", "valid_accuracy", "seconds")


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


def run_experiment(arrays_dir, model, device, model_config=None, seed=42, threads=None, verbose=1):
    """Train ``model`` ("mlp" or "cnn") on ``device`` from the arrays in ``arrays_dir``.

    ``arrays_dir`` holds what :func:`aenet.preprocess.save_arrays` wrote;
    ``model_config`` overrides the post's hyperparameters
    (:func:`aenet.models.model_config`); ``seed`` fixes the initial weights
    and the batch order.  ``threads`` is only recorded: set the BLAS threads
    with :func:`aenet.backend.set_num_threads`.  ``verbose=1`` prints nolearn's
    layer table and one row per epoch to stdout.

    The device is configured first, so a device that cannot be used raises
    :class:`aenet.device.DeviceError` before any work.  ``compile_seconds``
    is the time to build and compile the training, validation and prediction
    functions; ``train_seconds`` the wall-clock time of ``fit``; each epoch's
    ``seconds`` (nolearn's ``dur``) covers its training and validation passes.
    On the JAX devices the first epoch also includes XLA's compilation, hence
    the median as the headline figure.
    """
    from aenet import device as devices
    from aenet.devinfo import versions
    from aenet.models import build_net, count_params, model_config as checked_config
    from aenet.preprocess import load_arrays

    config = checked_config(model, model_config)
    devices.configure(device)
    data = load_arrays(arrays_dir, model)
    net = build_net(model, config, seed=seed, verbose=verbose)

    start = perf_counter()
    net.initialize()
    compile_seconds = perf_counter() - start

    start = perf_counter()
    net.fit(data.X_train, data.y_train)
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
