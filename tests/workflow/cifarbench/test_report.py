"""cifarbench.report: summary table and plot from metrics, with the post's figures."""
import json
import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from cifarbench.report import (
    COLUMNS,
    load_metrics,
    plot_summary,
    post_reference,
    summarize,
    summary_figure,
    write_summary,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# matplotlib 3.9's mathtext still calls pyparsing's pre-3.0 names.
pytestmark = pytest.mark.filterwarnings("ignore::pyparsing.PyparsingDeprecationWarning")


def metrics(model, device, median, accuracy=0.4, epochs=2):
    return {
        "model": model, "device": device, "epochs": epochs,
        "epoch_seconds_median": median, "epoch_seconds_min": median * 0.9, "epoch_seconds_max": median * 1.5,
        "train_seconds": median * epochs, "compile_seconds": 3.0, "test_accuracy": accuracy,
        "valid_accuracy": accuracy + 0.01, "used_device": f"{device}: test", "threads": 2,
    }  # fmt: skip


def test_rows_ordered_with_speedup_and_post_figures():
    table = summarize([
        metrics("cnn", "gpu", 2.0, 0.6), metrics("mlp", "gpu", 0.5), metrics("cnn", "cpu", 100.0, 0.62),
        metrics("mlp", "cpu", 1.0), metrics("mlp", "jax-cpu", 2.0),
    ])  # fmt: skip
    assert list(table.columns) == list(COLUMNS)
    assert list(zip(table["model"], table["device"])) == [
        ("mlp", "cpu"), ("mlp", "jax-cpu"), ("mlp", "gpu"), ("cnn", "cpu"), ("cnn", "gpu"),
    ]  # fmt: skip
    assert table["speedup_vs_cpu"].tolist() == [1.0, 0.5, 2.0, 1.0, 50.0]
    assert table["post_epoch_seconds"].tolist() == [1.3, 1.3, 0.5, 177.0, 12.8]
    assert table["post_test_accuracy"].tolist() == [0.41, 0.41, 0.41, 0.61, 0.61]
    assert table["post_epochs"].tolist() == [50, 50, 50, 5, 5]
    assert table["post_speedup_vs_cpu"].tolist() == [1.0, 1.0, 2.6, 1.0, 13.83]


def test_speedup_is_empty_without_a_cpu_row(tmp_path):
    table = summarize([metrics("mlp", "gpu", 0.5), metrics("cnn", "cpu", 10.0)])
    row = table.set_index("model").loc["mlp"]
    assert math.isnan(row["speedup_vs_cpu"])
    write_summary(table, tmp_path / "summary.csv")
    lines = (tmp_path / "summary.csv").read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS)
    mlp = dict(zip(COLUMNS, lines[1].split(",")))
    assert mlp["model"] == "mlp" and mlp["speedup_vs_cpu"] == ""
    again = pd.read_csv(tmp_path / "summary.csv")
    assert again["test_accuracy"].tolist() == table["test_accuracy"].tolist()


def test_post_reference_for_unknown_hardware_is_empty():
    assert post_reference("mlp", "tpu")["post_epoch_seconds"] is None
    assert post_reference("cnn", "gpu") == {
        "post_epochs": 5, "post_epoch_seconds": 12.8, "post_test_accuracy": 0.61, "post_speedup_vs_cpu": 13.83,
    }  # fmt: skip


def test_summarize_reads_metrics_files(tmp_path):
    paths = []
    for model in ("mlp", "cnn"):
        path = tmp_path / f"{model}_cpu.json"
        path.write_text(json.dumps(metrics(model, "cpu", 1.0)))
        paths.append(str(path))
    assert summarize(paths)["model"].tolist() == ["mlp", "cnn"]


def test_bad_metrics_are_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"model": "mlp"}))
    with pytest.raises(ValueError, match="x.json: not a metrics file"):
        load_metrics([path])
    with pytest.raises(ValueError, match="two metrics for model 'mlp' on device 'cpu'"):
        summarize([metrics("mlp", "cpu", 1.0), metrics("mlp", "cpu", 2.0)])


def test_plot_is_a_png(tmp_path):
    table = summarize([metrics("mlp", "cpu", 0.2), metrics("cnn", "cpu", 50.0), metrics("cnn", "gpu", 3.0)])
    out = plot_summary(table, tmp_path / "summary.png")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    assert not list(tmp_path.glob(".*"))


def test_plot_shows_each_rows_time_and_accuracy_beside_the_posts():
    table = summarize([
        metrics("mlp", "cpu", 0.2, 0.4), metrics("cnn", "cpu", 50.0, 0.55), metrics("cnn", "gpu", 3.0, 0.6),
    ])  # fmt: skip
    fig = summary_figure(table)
    ax_time, ax_acc = fig.axes
    assert (ax_time.get_title(), ax_time.get_yscale()) == ("Epoch time", "log")
    assert ax_time.get_ylabel() == "seconds per epoch (log scale)"
    assert (ax_acc.get_title(), ax_acc.get_ylabel(), ax_acc.get_ylim()) == ("Test accuracy", "test accuracy", (0, 1))
    for ax in (ax_time, ax_acc):
        assert [t.get_text() for t in ax.get_xticklabels()] == ["mlp\ncpu", "cnn\ncpu", "cnn\ngpu"]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["this run", "post (2015)"]
    heights = lambda bars: [round(patch.get_height(), 6) for patch in bars]  # noqa: E731
    ours, post = ax_time.containers
    assert heights(ours) == [0.2, 50.0, 3.0] and heights(post) == [1.3, 177.0, 12.8]
    ours, post = ax_acc.containers
    assert heights(ours) == [0.4, 0.55, 0.6] and heights(post) == [0.41, 0.61, 0.61]
    notes = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"0.2", "50", "3", "1.3", "177", "12.8", "40%", "55%", "60%", "41%", "61%", "chance"} <= notes
    plt.close(fig)


def test_plot_with_one_row_and_missing_post_figure(tmp_path):
    table = summarize([metrics("mlp", "gpu", 0.01)])
    table.loc[0, "post_epoch_seconds"] = float("nan")
    assert plot_summary(table, tmp_path / "one.png").read_bytes().startswith(PNG_MAGIC)
