"""The study's figures: time per epoch against batch size, and learning curves.

:func:`scaling_table` and :func:`scaling_figure` (``results/scaling.csv`` and
``results/scaling.png``) show how the median epoch time of each net grows
with the batch size, one line per device and, on the CPU devices, per thread
count.  :func:`curves_figure` (``results/curves.png``) draws each run's
per-epoch history: training loss, validation loss and validation accuracy.
"""
from pathlib import Path

from cifarbench.report import DEVICE_ORDER, MODEL_ORDER, run_table
from cifarbench.study import CPU_DEVICES, parse_tag

SCALING_COLUMNS = (
    "model", "device", "threads", "learning_rate", "batch_size", "runs",
    "epoch_seconds_mean", "epoch_seconds_std", "epoch_seconds_min", "epoch_seconds_max", "test_accuracy_mean",
)  # fmt: skip
DEVICE_COLORS = {"cpu": "#1f77b4", "jax-cpu": "#2ca02c", "gpu": "#d62728"}


def _agg():
    return {
        "runs": ("seed", "size"), "epoch_seconds_mean": ("epoch_seconds_median", "mean"),
        "epoch_seconds_std": ("epoch_seconds_median", "std"), "epoch_seconds_min": ("epoch_seconds_min", "min"),
        "epoch_seconds_max": ("epoch_seconds_max", "max"), "test_accuracy_mean": ("test_accuracy", "mean"),
    }  # fmt: skip


def scaling_table(metrics):
    """One row per model, device, threads, learning rate and batch size: the runs' mean
    median epoch time (its standard deviation over seeds), fastest and slowest epoch."""
    runs = run_table(metrics)
    keys = ["model", "device", "threads", "learning_rate", "batch_size"]
    table = runs.groupby(keys, dropna=False).agg(**_agg()).reset_index()
    order = {"_m": table["model"].map(lambda m: MODEL_ORDER.index(m) if m in MODEL_ORDER else 9),
             "_d": table["device"].map(lambda d: DEVICE_ORDER.index(d) if d in DEVICE_ORDER else 9)}  # fmt: skip
    table = table.assign(**order).sort_values(["_m", "_d", *keys]).drop(columns=list(order))
    return table[list(SCALING_COLUMNS)].reset_index(drop=True)


def line_label(device, threads, learning_rate, several_rates):
    """A scaling line's legend entry: the device, its threads on the CPU devices, the rate if swept."""
    label = device + (f", {threads:g} threads" if device in CPU_DEVICES else "")
    return label + (f", lr {learning_rate:g}" if several_rates else "")


def scaling_figure(table):
    """One log-log panel per net: median epoch time against batch size, a line per
    device (per thread count on the CPU devices), error bars of one standard
    deviation over seeds where there are repeats."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(5.2 * len(models), 4.4), squeeze=False)
    for ax, model in zip(axes[0], models):
        rows = table[table["model"] == model]
        several_rates = rows["learning_rate"].nunique() > 1
        for (device, threads, rate), line in rows.groupby(["device", "threads", "learning_rate"], sort=False):
            line = line.sort_values("batch_size")
            ax.errorbar(line["batch_size"], line["epoch_seconds_mean"], yerr=line["epoch_seconds_std"].fillna(0),
                        marker="o", capsize=3, color=DEVICE_COLORS.get(device),
                        linestyle="-" if device not in CPU_DEVICES else ["-", "--", ":", "-."][int(threads) % 4],
                        label=line_label(device, threads, rate, several_rates))  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size (log scale)")
        ax.set_ylabel("seconds per epoch, median (log scale)")
        ax.set_title(model.upper())
        ax.legend(fontsize=8)
    fig.suptitle("Time per epoch against batch size (learning rates as configured unless swept)")
    fig.tight_layout()
    return fig


def history_run(path):
    """``(model, device, tag settings)`` from a history file's name, ``{model}_{device}{tag}.csv``."""
    model, device, *rest = Path(path).stem.split("_", 2)
    return model, device, parse_tag("_" + rest[0] if rest else "")


def run_label(device, settings):
    """A learning curve's legend entry: the device, then what the run's tag names."""
    names = {"repeat": "seed #{}", "batch_size": "batch {}", "threads": "{} threads", "learning_rate": "lr {:g}"}
    return ", ".join([device, *(names[key].format(value) for key, value in settings.items())])


CURVES = (("train_loss", "training loss"), ("valid_loss", "validation loss"), ("valid_accuracy", "validation accuracy"))


def curves_figure(history_paths):
    """A row per model: training loss, validation loss and validation accuracy per
    epoch, a line per run (the device's color; repeats and sweeps as separate lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    runs = [(history_run(path), pd.read_csv(path)) for path in history_paths]
    models = [m for m in MODEL_ORDER if any(run[0] == m for run, _ in runs)]
    models += sorted({run[0] for run, _ in runs} - set(models))
    fig, axes = plt.subplots(len(models), 3, figsize=(14, 3.6 * len(models)), squeeze=False)
    for row, model in zip(axes, models):
        for (run_model, device, settings), history in runs:
            if run_model != model:
                continue
            for ax, (column, _) in zip(row, CURVES):
                ax.plot(history["epoch"], history[column], color=DEVICE_COLORS.get(device), alpha=0.8,
                        marker="." if len(history) < 20 else None, label=run_label(device, settings))  # fmt: skip
        for ax, (_, title) in zip(row, CURVES):
            ax.set_title(f"{model.upper()}: {title}")
            ax.set_xlabel("epoch")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
