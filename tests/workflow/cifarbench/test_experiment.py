"""cifarbench.experiment (train stage) and cifarbench.devinfo (configure stage) on small synthetic data."""
import csv
import json
import math

import numpy as np
import pytest

from aenet import device as devices
from aenet.nolearn.params_io import read_params
from cifarbench.devinfo import _memory_mb, _physical_cores, describe, versions
from cifarbench.experiment import (
    HISTORY_COLUMNS,
    Result,
    epoch_stats,
    history_csv,
    history_rows,
    load_checkpoint,
    read_checkpoint,
    run_experiment,
    save_checkpoint,
    write_outputs,
)

METRIC_KEYS = {
    "model", "device", "used_device", "epochs", "test_accuracy", "valid_accuracy",
    "epoch_seconds_median", "epoch_seconds_min", "epoch_seconds_max", "train_seconds",
    "compile_seconds", "threads", "versions", "hyperparameters", "n_train", "n_test", "seed",
}  # fmt: skip


pytestmark = pytest.mark.usefixtures("back_to_cpu")


@pytest.fixture(scope="module")
def mlp_run(arrays_dir):
    devices.configure("cpu")
    return run_experiment(arrays_dir, "mlp", "cpu", {"epochs": 3, "hidden": [32]}, seed=1, threads=2, verbose=0)


def test_mlp_run_has_history_and_metrics(mlp_run):
    assert [row["epoch"] for row in mlp_run.history] == [1, 2, 3]
    assert all(set(row) == set(HISTORY_COLUMNS) for row in mlp_run.history)
    m = mlp_run.metrics
    assert METRIC_KEYS <= set(m)
    assert (m["model"], m["device"], m["epochs"], m["threads"], m["seed"]) == ("mlp", "cpu", 3, 2, 1)
    assert m["used_device"] == devices.used_device() and m["used_device"].startswith("cpu")
    assert 0 <= m["test_accuracy"] <= 1 and m["valid_accuracy"] == mlp_run.history[-1]["valid_accuracy"]
    seconds = [row["seconds"] for row in mlp_run.history]
    assert m["epoch_seconds_min"] == min(seconds) <= m["epoch_seconds_median"] <= max(seconds)
    assert m["train_seconds"] >= sum(seconds) and m["compile_seconds"] > 0
    assert (m["n_train"], m["n_test"]) == (300, 60)
    assert m["hyperparameters"]["hidden"] == [32] and m["hyperparameters"]["learning_rate"] == 0.01
    assert m["versions"]["aesara"] == "2.9.4"
    # A net that learns the synthetic classes beats chance on the test images.
    assert m["test_accuracy"] > 0.2


def test_same_seed_same_run(arrays_dir, mlp_run):
    again = run_experiment(arrays_dir, "mlp", "cpu", {"epochs": 3, "hidden": [32]}, seed=1, verbose=0)
    assert [r["train_loss"] for r in again.history] == [r["train_loss"] for r in mlp_run.history]
    assert again.metrics["test_accuracy"] == mlp_run.metrics["test_accuracy"]
    ours, theirs = again.net.get_all_params_values(), mlp_run.net.get_all_params_values()
    assert all(np.array_equal(a, b) for name in ours for a, b in zip(ours[name], theirs[name]))


def test_another_seed_gives_other_weights(arrays_dir, mlp_run):
    other = run_experiment(arrays_dir, "mlp", "cpu", {"epochs": 3, "hidden": [32]}, seed=2, verbose=0)
    ours, theirs = other.net.get_all_params_values(), mlp_run.net.get_all_params_values()
    assert not np.allclose(ours["hidden"][0], theirs["hidden"][0])
    assert [r["train_loss"] for r in other.history] != [r["train_loss"] for r in mlp_run.history]


def test_write_outputs(mlp_run, tmp_path):
    paths = write_outputs(
        mlp_run, params=tmp_path / "p.npz", history=tmp_path / "h.csv", metrics=tmp_path / "m.json"
    )
    assert all(p.is_file() for p in paths)
    with np.load(tmp_path / "p.npz") as params:
        assert params["param/hidden:0"].shape == (1024, 32) and params["param/output:1"].shape == (10,)
    with open(tmp_path / "h.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and list(rows[0]) == list(HISTORY_COLUMNS)
    assert json.loads((tmp_path / "m.json").read_text())["epochs"] == 3
    assert not list(tmp_path.glob(".*"))


def test_checkpoint_is_a_parameter_file_with_the_training_state(mlp_run, tmp_path):
    net = mlp_run.net
    path = save_checkpoint(tmp_path / "c.npz", net, "f" * 64)
    params, extras = read_params(path)  # the reader of every parameter file
    assert list(params) == ["hidden", "output"] and params["hidden"][0].shape == (1024, 32)
    assert {"fingerprint", "history", "update/0", "update/3", "rng/keys"} <= set(extras)
    checkpoint = read_checkpoint(path)
    assert checkpoint.fingerprint == "f" * 64
    assert [row["epoch"] for row in checkpoint.history] == [1, 2, 3]
    assert [v.shape for v in checkpoint.updates] == [(1024, 32), (32,), (32, 10), (10,)]
    np.testing.assert_array_equal(checkpoint.params["output"][1], net.layers_["output"].b.get_value())
    assert checkpoint.random[0] == "MT19937" and len(checkpoint.random[1]) == 624


def test_checkpoint_written_with_unprefixed_parameter_keys_is_resumed(mlp_run, tmp_path):
    """A checkpoint whose parameters are stored as ``<layer>:<i>`` reads like one with ``param/``."""
    path = save_checkpoint(tmp_path / "c.npz", mlp_run.net, "f" * 64)
    with np.load(path) as data:
        arrays = {key.removeprefix("param/"): data[key] for key in data.files}
    np.savez(path, **arrays)
    assert read_checkpoint(path).params.keys() == {"hidden", "output"}
    assert load_checkpoint(path, mlp_run.net, "f" * 64) == 3


def test_unreadable_checkpoint_names_the_file(tmp_path, capsys):
    path = tmp_path / "c.npz"
    np.savez(path, history=np.zeros(1))
    assert load_checkpoint(path, None, "f" * 64) == 0
    assert f"checkpoint {path} is unreadable" in capsys.readouterr().out


def test_cnn_learns_the_synthetic_classes(arrays_dir, capsys):
    """A small CNN, 8 epochs of 15 batches: its loss falls and it classifies the test images."""
    conv = [{"filters": 4, "filter_size": 3, "pool_size": 2}, {"filters": 8, "filter_size": 2, "pool_size": 2}]
    config = {"epochs": 8, "conv": conv, "hidden": [16], "learning_rate": 0.01, "batch_size": 16}
    result = run_experiment(arrays_dir, "cnn", "cpu", config, seed=42, verbose=1)
    losses = [row["train_loss"] for row in result.history]
    assert result.metrics["epochs"] == 8 and len(losses) == 8
    assert losses[-1] < losses[0] / 10, losses
    assert result.metrics["test_accuracy"] >= 0.9  # chance is 0.1
    out = capsys.readouterr().out
    assert "learnable parameters" in out and "valid acc" in out  # nolearn's table, for the log


def test_metrics_json_has_no_nan(tmp_path):
    class Net:
        def save_params_to(self, path):
            path.write_bytes(b"")

    result = Result(net=Net(), history=[], metrics={"valid_accuracy": math.nan, "x": [math.inf]})
    write_outputs(result, tmp_path / "p", tmp_path / "h.csv", tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"valid_accuracy": None, "x": [None]}
    assert (tmp_path / "h.csv").read_text() == ",".join(HISTORY_COLUMNS) + "\n"


def test_history_rows_and_epoch_stats():
    history = [
        {"epoch": 1, "train_loss": 2.0, "valid_loss": 1.9, "valid_accuracy": 0.2, "dur": 3.0, "train_loss_best": True},
        {"epoch": 2, "train_loss": 1.5, "valid_loss": 1.6, "valid_accuracy": 0.3, "dur": 1.0},
    ]  # fmt: skip
    rows = history_rows(history)
    assert rows[0] == {"epoch": 1, "train_loss": 2.0, "valid_loss": 1.9, "valid_accuracy": 0.2, "seconds": 3.0}
    assert epoch_stats([3.0, 1.0, 2.0]) == {
        "epoch_seconds_median": 2.0, "epoch_seconds_min": 1.0, "epoch_seconds_max": 3.0,
    }  # fmt: skip
    assert epoch_stats([])["epoch_seconds_median"] is None
    assert history_csv(rows).splitlines()[2] == "2,1.5,1.6,0.3,1.0"


def test_unknown_model_fails_before_any_work(arrays_dir):
    with pytest.raises(ValueError, match="unknown model 'rnn'"):
        run_experiment(arrays_dir, "rnn", "cpu")


def test_missing_arrays_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="X_train.npy"):
        run_experiment(tmp_path, "mlp", "cpu", {"epochs": 1}, verbose=0)


# -- cifarbench.devinfo ----------------------------------------------------------------------------


def test_describe_cpu():
    info = describe("cpu")
    assert info["device"] == "cpu" and info["used_device"].startswith("cpu")
    assert info["aesara"]["floatX"] == "float32" and info["aesara"]["mode"] == "FAST_RUN"
    assert "-lscipy_openblas" in info["aesara"]["blas__ldflags"]
    assert info["aesara"]["compiledir"]
    hw = info["hardware"]
    assert hw["cpu_model"] and hw["logical_cpus"] >= 1 and hw["gpus"] == []
    check = info["exp_check"]
    assert (check["vector_length"], check["iterations"], check["dtype"]) == (230_400, 1000, "float32")
    assert check["seconds"] > 0 and check["computed_on"] == info["used_device"]
    assert info["versions"]["numpy"] == np.__version__ and info["versions"]["aesara"] == "2.9.4"
    json.dumps(info)  # JSON-able as it is


def test_describe_gpu_without_gpu_raises_device_error(no_gpu):
    with pytest.raises(devices.DeviceError, match="device 'gpu'"):
        describe("gpu")
    assert devices.current() == "cpu"


def test_describe_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        describe("tpu")


def test_proc_parsers():
    cpuinfo = "processor: 0\nphysical id: 0\ncore id: 0\n\nprocessor: 1\nphysical id: 0\ncore id: 0\n\n" \
              "processor: 2\nphysical id: 0\ncore id: 1\n"  # fmt: skip
    assert _physical_cores(cpuinfo) == 2
    assert _physical_cores("processor: 0\n") is None
    assert _memory_mb("MemTotal:       24684544 kB\nMemFree: 1 kB\n") == 24106
    assert versions()["python"].startswith("3.11")
