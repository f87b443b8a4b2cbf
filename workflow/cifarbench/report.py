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


# What one run's metrics give the summary, the settings a study varies, and what tells runs apart.
RUN_COLUMNS = tuple(c for c in COLUMNS if not c.startswith("post_") and c != "speedup_vs_cpu")
SWEPT = ("batch_size", "threads", "learning_rate")
RUN_KEYS = ("model", "device", *SWEPT)
# How the runs of one row combine: column -> (metric, aggregation).
AGGREGATES = {
    "epochs": ("epochs", "max"), "repeats": ("seed", "size"),
    "epoch_seconds_median": ("epoch_seconds_median", "mean"), "epoch_seconds_std": ("epoch_seconds_median", "std"),
    "epoch_seconds_min": ("epoch_seconds_min", "min"), "epoch_seconds_max": ("epoch_seconds_max", "max"),
    "train_seconds": ("train_seconds", "mean"), "compile_seconds": ("compile_seconds", "mean"),
    "test_accuracy": ("test_accuracy", "mean"), "test_accuracy_std": ("test_accuracy", "std"),
    "valid_accuracy": ("valid_accuracy", "mean"), "used_device": ("used_device", "first"),
    "threads": ("threads", "first"),
}  # fmt: skip


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


def run_table(metrics):
    """One row per training run: the metrics' :data:`COLUMNS` (the post's aside), the
    seed, and the settings a study varies (:data:`SWEPT`) from its hyperparameters."""
    import pandas as pd

    metrics = list(metrics)
    if any(isinstance(m, (str, Path)) for m in metrics):
        metrics = load_metrics(metrics)
    rows = []
    for m in metrics:
        row = {key: m.get(key) for key in RUN_COLUMNS}
        hyperparameters = m.get("hyperparameters") or {}
        row.update(seed=m.get("seed"), batch_size=hyperparameters.get("batch_size"),
                   learning_rate=hyperparameters.get("learning_rate"))  # fmt: skip
        rows.append(row)
    runs = pd.DataFrame(rows, columns=[*RUN_COLUMNS, "seed", "batch_size", "learning_rate"])
    twice = runs.duplicated([*RUN_KEYS, "seed"])
    if twice.any():
        first = runs[twice].iloc[0]
        raise ValueError(f"two metrics for model {first['model']!r} on device {first['device']!r} "
                         f"with the same settings and seed {first['seed']}")  # fmt: skip
    return runs


def swept_settings(runs):
    """The settings of :data:`SWEPT` that take several values for one model on one device."""
    counts = runs.groupby(["model", "device"])[list(SWEPT)].nunique(dropna=False)
    return [key for key in SWEPT if len(counts) and counts[key].max() > 1]


def summarize(metrics):
    """A pandas DataFrame with :data:`COLUMNS`, one row per model, device and swept setting.

    ``metrics`` are dicts (as :func:`cifarbench.experiment.run_experiment` makes
    them) or paths of metrics JSON files.  Runs of the same model, device and
    settings with other seeds are repeats: their row holds the mean of each
    figure (the fastest and slowest epoch over all of them), and columns
    ``repeats``, ``test_accuracy_std`` and ``epoch_seconds_std`` (standard
    deviation of the runs' median epoch times) appear.  Settings swept for a
    model on a device (batch size, threads, learning rate) get a column after
    ``device``.  ``speedup_vs_cpu`` is the ``cpu`` row's median epoch time over
    this row's, for the same model and swept batch size and learning rate (the
    ``cpu`` row with the most threads); empty (NaN) without one.  Two runs
    with the same settings and seed raise ``ValueError``.
    """
    runs = run_table(metrics)
    swept = swept_settings(runs)
    keys = ["model", "device", *swept]
    grouped = runs.groupby(keys, sort=False, dropna=False)
    table = grouped.agg(**{column: how for column, how in AGGREGATES.items() if column not in keys}).reset_index()
    table["speedup_vs_cpu"] = _speedup(table, swept)
    post = [post_reference(model, device) for model, device in zip(table["model"], table["device"])]
    for key in ("post_epochs", "post_epoch_seconds", "post_test_accuracy", "post_speedup_vs_cpu"):
        table[key] = [row[key] for row in post]
    table = table.assign(
        _m=_order(table["model"], MODEL_ORDER), _d=_order(table["device"], DEVICE_ORDER)
    ).sort_values(["_m", "model", "_d", "device", *swept]).drop(columns=["_m", "_d"])
    return table[summary_columns(swept, table["repeats"].max() > 1)].reset_index(drop=True)


def summary_columns(swept, repeated):
    """:data:`COLUMNS`, with the swept settings after ``device`` and the spread when repeated."""
    columns = [c for c in COLUMNS if c not in swept]
    columns[2:2] = swept
    if repeated:
        for after, spread in (("epochs", "repeats"), ("epoch_seconds_median", "epoch_seconds_std"),
                              ("test_accuracy", "test_accuracy_std")):  # fmt: skip
            columns.insert(columns.index(after) + 1, spread)
    return columns


def _speedup(table, swept):
    """``speedup_vs_cpu`` of every row (see :func:`summarize`)."""
    import pandas as pd

    match = ["model", *[key for key in swept if key != "threads"]]
    cpu = table[table["device"] == "cpu"].sort_values("threads", ascending=False).drop_duplicates(match)
    reference = cpu[match + ["epoch_seconds_median"]].rename(columns={"epoch_seconds_median": "_cpu"})
    merged = table[match].merge(reference, on=match, how="left")
    return pd.Series(merged["_cpu"].to_numpy(float) / table["epoch_seconds_median"].to_numpy(float))


def write_summary(table, path):
    """Write the summary as CSV (empty cells for missing values), atomically."""
    from aenet.atomic import write_text_atomic

    return write_text_atomic(path, table.to_csv(index=False, float_format="%.6g"))


SETTING_LABELS = {"batch_size": "batch {:g}", "threads": "{:g} threads", "learning_rate": "lr {:g}"}


def _label(row):
    """``model``, ``device`` and the swept settings of a summary row, one per line."""
    settings = [SETTING_LABELS[key].format(row[key]) for key in SWEPT if key in row.index and key in SETTING_LABELS
                and row.index.get_loc(key) < row.index.get_loc("epochs")]  # fmt: skip
    return "\n".join([row["model"], row["device"], *settings])


def _annotate_bars(ax, xs, values, fmt, tops=None, color="black"):
    """Write each finite value above its bar (at ``tops`` if given, else at the value)."""
    for xi, value, top in zip(xs, values, values if tops is None else tops):
        if math.isfinite(value):
            ax.annotate(fmt.format(value), (xi, top), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points", color=color)  # fmt: skip


def save_png(fig, path):
    """Write ``fig`` to ``path`` as a PNG, atomically, and close it."""
    import matplotlib.pyplot as plt

    from aenet.atomic import write_bytes_atomic

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return write_bytes_atomic(path, buffer.getvalue())


def plot_summary(table, path, runs=None):
    """Write :func:`summary_figure` of ``table`` (and ``runs``) to ``path`` as a PNG, atomically."""
    return save_png(summary_figure(table, runs), path)


def _run_values(table, runs, column):
    """``(x, value)`` of each run in ``runs`` under its summary row's bar."""
    keys = [key for key in ("model", "device", *SWEPT) if key in table.columns[: table.columns.get_loc("epochs")]]
    position = {tuple(row): i for i, row in enumerate(table[keys].itertuples(index=False))}
    points = [(position[tuple(row[keys])], row[column]) for _, row in runs.iterrows() if tuple(row[keys]) in position]
    return tuple(zip(*points)) if points else ((), ())


def _draw_spread(ax, table, runs, centers, column, spread):
    """Error bars of one standard deviation, and a dot per run, when there are repeats."""
    import numpy as np

    if spread not in table.columns:
        return
    ax.errorbar(centers, table[column].astype(float), yerr=table[spread].astype(float).fillna(0),
                fmt="none", ecolor="#d62728", elinewidth=1.5, capsize=4, label="± 1 s.d. over seeds")  # fmt: skip
    if runs is not None:
        xs, values = _run_values(table, runs, {"epoch_seconds_std": "epoch_seconds_median"}.get(spread, column))
        ax.plot(np.asarray(xs, float) + centers[0], values, "o", ms=3, color="black", alpha=0.6, label="each seed")


def summary_figure(table, runs=None):
    """Epoch time per model and device (log scale) and test accuracy, with the post's figures.

    Bars show ours (the mean over repeats); hatched bars the post's figure
    for the same model and kind of hardware; black whiskers our fastest and
    slowest epoch.  With repeats, red bars span one standard deviation and
    dots show each seed's run (``runs``, from :func:`run_table`).
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
    _draw_spread(ax_time, table, runs, centers, "epoch_seconds_median", "epoch_seconds_std")
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
    _draw_spread(ax_acc, table, runs, x - width / 2, "test_accuracy", "test_accuracy_std")
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
