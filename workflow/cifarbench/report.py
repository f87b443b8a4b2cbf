"""The workflow's aggregate stage: every metrics file in one table and one figure.

:func:`summarize` turns the ``results/metrics/{model}_{device}.json`` files
into a table with one row per model and device, the speed-up over the CPU and
the post's reference figures beside ours; :func:`write_summary` writes it as
CSV and :func:`plot_summary` draws epoch times (log scale) and test accuracy,
ours beside the post's.
"""
import io
import json
import math
from pathlib import Path

MODEL_ORDER = ("mlp", "cnn")
DEVICE_ORDER = ("cpu", "jax-cpu", "gpu")

# "Faster deep learning with GPUs and Theano" (2015): seconds per epoch on the
# CPU and on the GPU, epochs trained, and test accuracy, for each net.
POST = {
    "mlp": {"epochs": 50, "test_accuracy": 0.41, "epoch_seconds": {"cpu": 1.3, "gpu": 0.5}},
    "cnn": {"epochs": 5, "test_accuracy": 0.61, "epoch_seconds": {"cpu": 177.0, "gpu": 12.8}},
}
# Which of the post's two machines a device compares with.
HARDWARE = {"cpu": "cpu", "jax-cpu": "cpu", "gpu": "gpu"}

COLUMNS = (
    "model", "device", "epochs",
    "epoch_seconds_median", "epoch_seconds_min", "epoch_seconds_max",
    "train_seconds", "compile_seconds", "test_accuracy", "valid_accuracy", "speedup_vs_cpu",
    "post_epochs", "post_epoch_seconds", "post_test_accuracy", "post_speedup_vs_cpu",
    "used_device", "threads",
)  # fmt: skip


def post_reference(model, device):
    """The post's figures for ``model`` on the hardware ``device`` stands for (None if unknown)."""
    post = POST.get(model)
    hardware = HARDWARE.get(device)
    if post is None or hardware is None:
        return {"post_epochs": None, "post_epoch_seconds": None, "post_test_accuracy": None,
                "post_speedup_vs_cpu": None}  # fmt: skip
    seconds = post["epoch_seconds"][hardware]
    return {
        "post_epochs": post["epochs"],
        "post_epoch_seconds": seconds,
        "post_test_accuracy": post["test_accuracy"],
        "post_speedup_vs_cpu": round(post["epoch_seconds"]["cpu"] / seconds, 2),
    }


def load_metrics(paths):
    """The metrics dicts in ``paths`` (JSON files); a file without model/device raises ValueError."""
    metrics = []
    for path in paths:
        with open(path) as f:
            m = json.load(f)
        missing = [key for key in ("model", "device", "epoch_seconds_median", "test_accuracy") if key not in m]
        if missing:
            raise ValueError(f"{path}: not a metrics file (missing {', '.join(missing)})")
        metrics.append(m)
    return metrics


def _order(values, preferred):
    return [preferred.index(v) if v in preferred else len(preferred) for v in values]


def summarize(metrics):
    """A pandas DataFrame with :data:`COLUMNS`, one row per model and device.

    ``metrics`` are dicts (as :func:`cifarbench.experiment.run_experiment` makes
    them) or paths of metrics JSON files.  ``speedup_vs_cpu`` is the ``cpu``
    row's median epoch time over this row's, for the same model; it is empty
    (NaN) when there is no ``cpu`` row.  Two rows for one model and device
    raise ``ValueError``.
    """
    import pandas as pd

    metrics = list(metrics)
    if any(isinstance(m, (str, Path)) for m in metrics):
        metrics = load_metrics(metrics)
    rows = []
    for m in metrics:
        row = {key: m.get(key) for key in COLUMNS if not key.startswith("post_") and key != "speedup_vs_cpu"}
        row.update(post_reference(m["model"], m["device"]))
        rows.append(row)
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "speedup_vs_cpu"])
    duplicated = table.duplicated(["model", "device"])
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise ValueError(f"two metrics for model {first['model']!r} on device {first['device']!r}")
    cpu = table[table["device"] == "cpu"].set_index("model")["epoch_seconds_median"]
    speedup = table["model"].map(cpu) / table["epoch_seconds_median"]
    table.insert(COLUMNS.index("speedup_vs_cpu"), "speedup_vs_cpu", speedup.astype(float))
    table = table.assign(
        _m=_order(table["model"], MODEL_ORDER), _d=_order(table["device"], DEVICE_ORDER)
    ).sort_values(["_m", "model", "_d", "device"]).drop(columns=["_m", "_d"])
    return table.reset_index(drop=True)


def write_summary(table, path):
    """Write the summary as CSV (empty cells for missing values), atomically."""
    from aenet.atomic import write_text_atomic

    return write_text_atomic(path, table.to_csv(index=False, float_format="%.6g"))


def _label(row):
    return f"{row['model']}\n{row['device']}"


def _annotate_bars(ax, xs, values, fmt, tops=None, color="black"):
    """Write each finite value above its bar (at ``tops`` if given, else at the value)."""
    for xi, value, top in zip(xs, values, values if tops is None else tops):
        if math.isfinite(value):
            ax.annotate(fmt.format(value), (xi, top), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points", color=color)  # fmt: skip


def plot_summary(table, path):
    """Write :func:`summary_figure` of ``table`` to ``path`` as a PNG, atomically."""
    import matplotlib.pyplot as plt

    from aenet.atomic import write_bytes_atomic

    fig = summary_figure(table)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return write_bytes_atomic(path, buffer.getvalue())


def summary_figure(table):
    """Epoch time per model and device (log scale) and test accuracy, with the post's figures.

    Bars show ours; hatched bars the post's figure for the same model and
    kind of hardware; whiskers our fastest and slowest epoch.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [_label(row) for _, row in table.iterrows()]
    x = np.arange(len(table))
    width = 0.38
    ours_color, post_color = "#1f77b4", "#bbbbbb"

    fig, (ax_time, ax_acc) = plt.subplots(1, 2, figsize=(max(8.0, 2.2 * len(table) + 4), 4.6))

    median = table["epoch_seconds_median"].astype(float).to_numpy()
    fastest = table["epoch_seconds_min"].astype(float).to_numpy()
    slowest = table["epoch_seconds_max"].astype(float).to_numpy()
    post_seconds = table["post_epoch_seconds"].astype(float).to_numpy()
    ax_time.bar(x - width / 2, median, width, color=ours_color, label="this run")
    centers = x - width / 2
    ax_time.vlines(centers, fastest, slowest, color="black", linewidth=1)
    for ends in (fastest, slowest):
        ax_time.hlines(ends, centers - 0.06, centers + 0.06, color="black", linewidth=1)
    ax_time.bar(x + width / 2, post_seconds, width, color=post_color, hatch="//", edgecolor="#666666",
                label="post (2015)")  # fmt: skip
    _annotate_bars(ax_time, centers, median, "{:.3g}", tops=np.fmax(median, slowest))
    _annotate_bars(ax_time, x + width / 2, post_seconds, "{:.3g}", color="#444444")
    ax_time.set_yscale("log")
    ax_time.set_ylabel("seconds per epoch (log scale)")
    ax_time.set_title("Epoch time")
    ax_time.set_xticks(x, labels)
    ax_time.legend(loc="upper left", fontsize=8)

    accuracy = table["test_accuracy"].astype(float).to_numpy()
    post_accuracy = table["post_test_accuracy"].astype(float).to_numpy()
    ax_acc.bar(x - width / 2, accuracy, width, color=ours_color, label="this run")
    ax_acc.bar(x + width / 2, post_accuracy, width, color=post_color, hatch="//", edgecolor="#666666",
               label="post (2015)")  # fmt: skip
    _annotate_bars(ax_acc, x - width / 2, accuracy, "{:.0%}")
    _annotate_bars(ax_acc, x + width / 2, post_accuracy, "{:.0%}", color="#444444")
    ax_acc.axhline(0.1, color="#999999", linestyle=":", linewidth=1)
    ax_acc.annotate("chance", (x[-1] + 0.5 if len(x) else 0.5, 0.1), fontsize=7, color="#777777",
                    ha="right", va="bottom")  # fmt: skip
    ax_acc.set_ylim(0, 1)
    ax_acc.set_ylabel("test accuracy")
    ax_acc.set_title("Test accuracy")
    ax_acc.set_xticks(x, labels)
    ax_acc.legend(loc="upper left", fontsize=8)

    fig.suptitle("CIFAR-10 (grayscale): MLP and CNN per device, with the post's figures")
    fig.tight_layout()
    return fig
