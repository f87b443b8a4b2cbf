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
    run_table,
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


def run(model, device, median, accuracy, seed=42, batch_size=128, threads=2):
    """Metrics of one run of a study: ``metrics`` with its seed and hyperparameters."""
    m = metrics(model, device, median, accuracy)
    m.update(seed=seed, threads=threads, hyperparameters={"batch_size": batch_size, "learning_rate": 0.01})
    return m


def test_repeats_give_means_and_standard_deviations():
    runs = [run("mlp", "cpu", 1.0, 0.40, seed=42), run("mlp", "cpu", 2.0, 0.42, seed=43),
            run("mlp", "cpu", 3.0, 0.47, seed=44), run("mlp", "gpu", 0.5, 0.41, seed=42),
            run("mlp", "gpu", 0.5, 0.41, seed=43), run("mlp", "gpu", 0.5, 0.41, seed=44)]  # fmt: skip
    table = summarize(runs)
    assert list(table.columns[:4]) == ["model", "device", "epochs", "repeats"]
    assert table["repeats"].tolist() == [3, 3]
    cpu, gpu = table.iloc[0], table.iloc[1]
    assert cpu["epoch_seconds_median"] == pytest.approx(2.0) and cpu["epoch_seconds_std"] == pytest.approx(1.0)
    # accuracies 0.40, 0.42, 0.47: mean 0.43, sample variance (0.03^2 + 0.01^2 + 0.04^2) / 2 = 0.0013
    assert cpu["test_accuracy"] == pytest.approx(0.43) and cpu["test_accuracy_std"] == pytest.approx(0.0013**0.5)
    assert cpu["epoch_seconds_min"] == pytest.approx(0.9) and cpu["epoch_seconds_max"] == pytest.approx(4.5)
    assert gpu["epoch_seconds_std"] == 0 and gpu["speedup_vs_cpu"] == pytest.approx(4.0)


def test_a_sweep_gives_a_row_per_setting_and_matches_the_cpu_row_with_most_threads():
    runs = [run("cnn", "cpu", 8.0, 0.5, batch_size=128, threads=1), run("cnn", "cpu", 5.0, 0.5, batch_size=128),
            run("cnn", "cpu", 20.0, 0.5, batch_size=512, threads=1), run("cnn", "cpu", 12.0, 0.5, batch_size=512),
            run("cnn", "gpu", 1.0, 0.5, batch_size=128), run("cnn", "gpu", 0.5, 0.5, batch_size=512)]  # fmt: skip
    table = summarize(runs)
    assert list(table.columns[:4]) == ["model", "device", "batch_size", "threads"]
    assert "repeats" not in table.columns
    assert list(zip(table["device"], table["batch_size"], table["threads"])) == [
        ("cpu", 128, 1), ("cpu", 128, 2), ("cpu", 512, 1), ("cpu", 512, 2), ("gpu", 128, 2), ("gpu", 512, 2),
    ]  # fmt: skip
    assert table["speedup_vs_cpu"].tolist() == pytest.approx([5 / 8, 1.0, 12 / 20, 1.0, 5.0, 24.0])


def test_the_same_run_twice_is_refused():
    with pytest.raises(ValueError, match="same settings and seed 43"):
        summarize([run("mlp", "cpu", 1.0, 0.4, seed=43), run("mlp", "cpu", 1.1, 0.4, seed=43)])


def test_the_plot_draws_the_spread_and_every_seed():
    runs = [run("mlp", "cpu", 1.0, 0.40, seed=42), run("mlp", "cpu", 3.0, 0.46, seed=43)]
    fig = summary_figure(summarize(runs), run_table(runs))
    ax_time, ax_acc = fig.axes
    dots = [line for line in ax_acc.lines if line.get_marker() == "o"]
    assert len(dots) == 1 and sorted(dots[0].get_ydata()) == [0.40, 0.46]
    (time_dots,) = [line for line in ax_time.lines if line.get_marker() == "o"]
    assert sorted(time_dots.get_ydata()) == [1.0, 3.0]
    # the error bar spans mean -/+ one standard deviation: 0.43 -/+ 0.0424
    segments = [seg for coll in ax_acc.collections for seg in getattr(coll, "get_segments", lambda: [])()]
    spans = [(round(s[0][1], 4), round(s[1][1], 4)) for s in segments if len(s) == 2 and s[0][0] == s[1][0]]
    assert (round(0.43 - 0.0424264, 4), round(0.43 + 0.0424264, 4)) in spans
    plt.close(fig)
