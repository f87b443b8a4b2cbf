"""cifarbench.figures and cifarbench.summary_page: the study's tables and figures, read back."""
import json

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from cifarbench.figures import curves_figure, history_run, scaling_figure, scaling_table
from cifarbench.summary_page import summary_html

pytestmark = pytest.mark.filterwarnings("ignore::pyparsing.PyparsingDeprecationWarning")


def run(model, device, median, batch_size, threads=2, seed=42, accuracy=0.5):
    return {
        "model": model, "device": device, "epochs": 2, "epoch_seconds_median": median,
        "epoch_seconds_min": median * 0.9, "epoch_seconds_max": median * 1.2, "train_seconds": 2 * median,
        "compile_seconds": 1.0, "test_accuracy": accuracy, "valid_accuracy": accuracy, "used_device": device,
        "threads": threads, "seed": seed, "hyperparameters": {"batch_size": batch_size, "learning_rate": 0.01},
    }  # fmt: skip


SWEEP = [
    run("mlp", "cpu", 4.0, 128, threads=1), run("mlp", "cpu", 2.0, 512, threads=1),
    run("mlp", "cpu", 3.0, 128), run("mlp", "cpu", 1.0, 512), run("mlp", "cpu", 1.4, 512, seed=43),
    run("mlp", "gpu", 0.8, 128), run("mlp", "gpu", 0.2, 512),
    run("cnn", "cpu", 30.0, 128), run("cnn", "cpu", 25.0, 512),
]  # fmt: skip


def test_scaling_table_has_a_row_per_combination_with_the_repeats_averaged():
    table = scaling_table(SWEEP)
    keys = list(zip(table["model"], table["device"], table["threads"], table["batch_size"]))
    assert keys == [
        ("mlp", "cpu", 1, 128), ("mlp", "cpu", 1, 512), ("mlp", "cpu", 2, 128), ("mlp", "cpu", 2, 512),
        ("mlp", "gpu", 2, 128), ("mlp", "gpu", 2, 512), ("cnn", "cpu", 2, 128), ("cnn", "cpu", 2, 512),
    ]  # fmt: skip
    two_seeds = table.iloc[3]
    assert two_seeds["runs"] == 2 and two_seeds["epoch_seconds_mean"] == pytest.approx(1.2)
    assert two_seeds["epoch_seconds_std"] == pytest.approx(0.4 / 2**0.5)
    assert two_seeds["epoch_seconds_min"] == pytest.approx(0.9) and two_seeds["epoch_seconds_max"] == pytest.approx(1.68)


def test_scaling_figure_has_a_panel_per_net_and_a_line_per_device_and_thread_count():
    fig = scaling_figure(scaling_table(SWEEP))
    mlp, cnn = fig.axes
    assert (mlp.get_title(), cnn.get_title()) == ("MLP", "CNN")
    assert mlp.get_xscale() == "log" and mlp.get_yscale() == "log"
    handles, labels = mlp.get_legend_handles_labels()
    assert sorted(labels) == ["cpu, 1 threads", "cpu, 2 threads", "gpu"]
    data = {label: (list(h.lines[0].get_xdata()), list(h.lines[0].get_ydata())) for h, label in zip(handles, labels)}
    assert data["cpu, 1 threads"] == ([128, 512], [4.0, 2.0])
    assert data["gpu"] == ([128, 512], [0.8, 0.2])
    assert data["cpu, 2 threads"][1] == pytest.approx([3.0, 1.2])
    plt.close(fig)


def test_history_file_names_give_the_run():
    assert history_run("results/history/mlp_jax-cpu_r2_b512.csv") == ("mlp", "jax-cpu", {"repeat": 2, "batch_size": 512})
    assert history_run("results/history/cnn_gpu.csv") == ("cnn", "gpu", {})


def test_curves_plot_each_runs_history(tmp_path):
    paths = []
    for name, losses in (("mlp_cpu_r1", [2.0, 1.5, 1.2]), ("mlp_cpu_r2", [2.1, 1.4, 1.1]), ("cnn_gpu_r1", [2.3, 2.0, 1.9])):
        path = tmp_path / f"{name}.csv"
        pd.DataFrame({"epoch": [1, 2, 3], "train_loss": losses, "valid_loss": [x + 0.1 for x in losses],
                      "valid_accuracy": [0.2, 0.3, 0.35], "seconds": [1, 1, 1]}).to_csv(path, index=False)  # fmt: skip
        paths.append(path)
    fig = curves_figure(paths)
    assert [ax.get_title() for ax in fig.axes] == [
        "MLP: training loss", "MLP: validation loss", "MLP: validation accuracy",
        "CNN: training loss", "CNN: validation loss", "CNN: validation accuracy",
    ]  # fmt: skip
    mlp_train, cnn_valid = fig.axes[0], fig.axes[4]
    assert [list(line.get_ydata()) for line in mlp_train.lines] == [[2.0, 1.5, 1.2], [2.1, 1.4, 1.1]]
    assert [t.get_text() for t in mlp_train.get_legend().get_texts()] == ["cpu, seed #1", "cpu, seed #2"]
    assert list(cnn_valid.lines[0].get_ydata()) == pytest.approx([2.4, 2.1, 2.0])
    plt.close(fig)


def test_summary_page_shows_the_table_the_config_and_each_device(tmp_path):
    device = tmp_path / "cpu.json"
    device.write_text(json.dumps({
        "device": "cpu", "used_device": "cpu: C code", "versions": {"aesara": "2.9.4", "numpy": "2.4.6"},
        "hardware": {"cpu_model": "Example CPU 9000", "physical_cores": 2, "memory_mb": 24000, "gpus": []},
    }))  # fmt: skip
    table = pd.DataFrame({"model": ["mlp"], "device": ["cpu"], "test_accuracy": [0.41234]})
    page = summary_html(table, {"device": "cpu", "repeats": 3, "sweep": {"batch_size": [128, 512]},
                                "data_url": "secret/path"}, [device])  # fmt: skip
    assert "<td>mlp</td>\n      <td>cpu</td>\n      <td>0.4123</td>" in page
    assert "Example CPU 9000" in page and "aesara 2.9.4, numpy 2.4.6" in page
    assert "repeats: 3" in page and "batch_size:" in page and "secret/path" not in page
