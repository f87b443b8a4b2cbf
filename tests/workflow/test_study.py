"""Studies through snakemake: the job count of a dry run, the confirmation a large
study needs, and a small study run for real on a synthetic archive (repeats and
a batch-size sweep of the MLP, 2 epochs each)."""
import json

import pandas as pd
import pytest

from cifarbench.data import write_cifar10_archive
from helpers.project import copy_project, job_counts, output, run_snakemake, sha256

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STUDY = ["models=mlp", "repeats=2", "sweep={batch_size: [16, 32]}"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("study") / "project")
    archive = write_cifar10_archive(workdir / "data" / "cifar-synthetic.tar.gz", n_per_batch=40, n_test=60)
    data = [f"data_url={archive.relative_to(workdir)}", f"data_sha256={sha256(archive)}"]
    return workdir, data


def test_a_dry_run_says_how_many_training_jobs_and_plans_them(project):
    workdir, data = project
    result = run_snakemake(workdir, "-n", "--config", *data, *STUDY, "device=cpu,gpu")
    assert result.returncode == 0, output(result)
    assert "config: 8 training jobs (mlp on cpu: 4, mlp on gpu: 4)" in result.stderr
    counts = job_counts(result.stdout)
    assert counts["train_model"] == 8 and counts["plot_scaling"] == 1 and counts["configure_device"] == 2
    for name in ("mlp_cpu_r1_b16", "mlp_cpu_r2_b32", "mlp_gpu_r2_b16"):
        assert f"results/metrics/{name}.json" in result.stdout


def test_a_large_study_stops_until_confirmed(project):
    workdir, data = project
    large = ["repeats=9", "sweep={batch_size: [16, 32, 64]}"]
    refused = run_snakemake(workdir, "-n", "--config", *data, *large)
    assert refused.returncode != 0
    assert "54 training jobs (over 50)" in output(refused) and "confirm_large=true" in output(refused)
    confirmed = run_snakemake(workdir, "-n", "--config", *data, *large, "confirm_large=true")
    assert confirmed.returncode == 0, output(confirmed)
    assert job_counts(confirmed.stdout)["train_model"] == 54


@pytest.fixture(scope="module")
def study(project):
    workdir, data = project
    config = ["--config", *data, *STUDY, "mlp={epochs: 2}"]
    result = run_snakemake(workdir, "--cores", "2", *config)
    assert result.returncode == 0, output(result)[-6000:]
    return workdir


def metrics(workdir, name):
    return json.loads((workdir / "results" / "metrics" / f"{name}.json").read_text())


def test_the_summary_has_a_row_per_batch_size_over_both_repeats(study):
    summary = pd.read_csv(study / "results" / "summary.csv")
    assert summary[["model", "device", "batch_size", "repeats"]].values.tolist() == [
        ["mlp", "cpu", 16, 2], ["mlp", "cpu", 32, 2],
    ]  # fmt: skip
    for _, row in summary.iterrows():
        accuracies = [metrics(study, f"mlp_cpu_r{i}_b{row['batch_size']}")["test_accuracy"] for i in (1, 2)]
        assert row["test_accuracy"] == pytest.approx(sum(accuracies) / 2, abs=1e-6)
        assert row["test_accuracy_std"] == pytest.approx(abs(accuracies[0] - accuracies[1]) / 2**0.5, abs=1e-6)
    scaling = pd.read_csv(study / "results" / "scaling.csv")
    assert scaling[["batch_size", "runs"]].values.tolist() == [[16, 2], [32, 2]]
    for name in ("summary.png", "scaling.png", "curves.png"):
        assert (study / "results" / name).read_bytes().startswith(PNG_MAGIC)


def test_each_run_has_its_seed_and_batch_size(study):
    for repeat in (1, 2):
        for batch in (16, 32):
            m = metrics(study, f"mlp_cpu_r{repeat}_b{batch}")
            assert (m["seed"], m["hyperparameters"]["batch_size"], m["epochs"]) == (41 + repeat, batch, 2)
    assert metrics(study, "mlp_cpu_r1_b16")["valid_loss"] != metrics(study, "mlp_cpu_r2_b16")["valid_loss"]


def test_a_repeat_reproduces_the_plain_run_with_its_seed(study, project):
    _, data = project
    plain = ["--config", *data, "models=mlp", "mlp={epochs: 2, batch_size: 16}"]
    result = run_snakemake(study, "--cores", "2", "results/history/mlp_cpu.csv", *plain)
    assert result.returncode == 0, output(result)[-4000:]
    first = pd.read_csv(study / "results" / "history" / "mlp_cpu_r1_b16.csv")
    again = pd.read_csv(study / "results" / "history" / "mlp_cpu.csv")
    columns = ["epoch", "train_loss", "valid_loss", "valid_accuracy"]
    pd.testing.assert_frame_equal(first[columns], again[columns])
    assert metrics(study, "mlp_cpu")["test_accuracy"] == metrics(study, "mlp_cpu_r1_b16")["test_accuracy"]
