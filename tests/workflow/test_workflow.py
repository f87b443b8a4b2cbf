"""The Snakemake workflow, run as a user runs it: snakemake from the venv in a copy of the project.

Parse-time checks (lint, dry runs, schema errors) run concurrently, each in
its own copy.  One real run of the whole DAG on a small synthetic archive,
1 epoch per model, is shared by the end-to-end tests, which then build the
report from it and ask for the gpu device: a clear failure on a machine
without a usable GPU, the training on one that has it.
"""
import contextlib
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from cifarbench.data import write_cifar10_archive
from cifarbench.experiment import HISTORY_COLUMNS
from cifarbench.report import COLUMNS, summarize
from helpers.project import ROOT, copy_project, job_counts, output, run_snakemake, sha256

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OFFICIAL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def job_threads(text, rule):
    """The threads of each ``rule`` job in a dry run's job list (1 where none is printed)."""
    threads, job = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith(":") and (stripped.startswith("rule ") or stripped.startswith("localrule ")):
            if job is not None:
                threads.append(job)
            job = 1 if stripped.split()[1] == f"{rule}:" else None
        elif job is not None and stripped.startswith("threads:"):
            job = int(stripped.split()[1])
    if job is not None:
        threads.append(job)
    return threads


# -- parse-time checks -------------------------------------------------------------------------

# name -> snakemake arguments; each runs once, concurrently, in its own copy.
PARSE_RUNS = {
    "lint": ["--lint"],
    "dry_default": ["-n"],
    "dry_cpu_gpu": ["-n", "--config", "device=cpu,gpu"],
    "dry_one_target": ["-n", "results/metrics/cnn_cpu.json"],
    "dry_strings": ["-n", "--config", "models=mlp", "device=cpu, jax-cpu", "mlp={hidden: [100, 100], epochs: 3}"],
    "bad_device": ["-n", "--config", "device=cpu,tpu"],
    "epochs_zero": ["-n", "--config", "mlp={epochs: 0}"],
    "epochs_negative": ["-n", "--config", "cnn={epochs: -1}"],
    "bad_url": ["-n", "--config", "data_url=htp:/x"],
    "bad_model": ["-n", "--config", "models=[mlp, rnn]"],
    "bad_batch_size": ["-n", "--config", "cnn={batch_size: 0}"],
    "bad_learning_rate": ["-n", "--config", "mlp={learning_rate: 0}"],
    "bad_threads": ["-n", "--config", "threads=0"],
    "threads_default": ["-n", "--cores", "3"],
    "threads_null": ["-n", "--cores", "3", "--config", "threads=null"],
    "threads_explicit": ["-n", "--cores", "3", "--config", "threads=2"],
    "threads_over_cores": ["-n", "--cores", "3", "--config", "threads=8"],
    "no_checksum": ["-n", "--config", "data_sha256=null"],
    "wrong_checksum": [
        "--cores", "1", "resources/cifar-10-python.tar.gz",
        "--config", "data_url=cifar.tar.gz", f"data_sha256={OFFICIAL_SHA256}",
    ],
    "conv_too_deep": [
        "-n", "--config",
        "cnn={conv: [{filters: 8, filter_size: 9, pool_size: 4}, {filters: 8, filter_size: 9, pool_size: 2}]}",
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def parse_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("parse")

    def run(name):
        workdir = copy_project(base / name)
        if name == "wrong_checksum":
            write_cifar10_archive(workdir / "cifar.tar.gz", n_per_batch=2, n_test=2)
        result = run_snakemake(workdir, *PARSE_RUNS[name])
        result.workdir = workdir
        return name, result

    # As many at a time as there are cores: each run's timeout then holds on a busy machine.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(run, PARSE_RUNS))


def test_lint_is_clean(parse_runs):
    result = parse_runs["lint"]
    assert result.returncode == 0, output(result)
    assert "Congratulations, your workflow is in a good condition" in output(result)


def test_dry_run_default_config_plans_the_post(parse_runs):
    result = parse_runs["dry_default"]
    assert result.returncode == 0, output(result)
    assert job_counts(result.stdout) == {
        "all": 1, "download_data": 1, "preprocess_data": 1, "configure_device": 1,
        "train_model": 2, "aggregate_results": 1, "plot_curves": 1, "total": 8,
    }  # fmt: skip
    for target in ("results/metrics/mlp_cpu.json", "results/metrics/cnn_cpu.json", "results/device/cpu.json"):
        assert target in result.stdout
    assert job_threads(result.stdout, "train_model") == [1, 1]  # a dry run without --cores has 1 core


@pytest.mark.parametrize(
    "name, threads",
    [("threads_default", 3), ("threads_null", 3), ("threads_explicit", 2), ("threads_over_cores", 3)],
)
def test_training_jobs_take_every_core_unless_threads_is_set(parse_runs, name, threads):
    """threads unset (or null): all of --cores; a number: that many, capped at --cores; other jobs: 1."""
    result = parse_runs[name]
    assert result.returncode == 0, output(result)
    assert job_threads(result.stdout, "train_model") == [threads, threads]
    assert job_threads(result.stdout, "configure_device") == [1]
    assert job_threads(result.stdout, "preprocess_data") == [1]


def test_dry_run_cpu_and_gpu_trains_each_model_on_each(parse_runs):
    result = parse_runs["dry_cpu_gpu"]
    assert result.returncode == 0, output(result)
    counts = job_counts(result.stdout)
    assert counts["configure_device"] == 2 and counts["train_model"] == 4
    for target in ("results/metrics/cnn_gpu.json", "results/device/gpu.json", "gpu=1"):
        assert target in result.stdout


def test_any_target_runs_alone(parse_runs):
    result = parse_runs["dry_one_target"]
    assert result.returncode == 0, output(result)
    assert job_counts(result.stdout) == {
        "download_data": 1, "preprocess_data": 1, "configure_device": 1, "train_model": 1, "total": 4,
    }  # fmt: skip


def test_command_line_strings_get_the_schema_types(parse_runs):
    """Nested --config values arrive as strings; lists may be comma-separated."""
    result = parse_runs["dry_strings"]
    assert result.returncode == 0, output(result)
    counts = job_counts(result.stdout)
    assert counts["train_model"] == 2 and counts["configure_device"] == 2
    assert "results/metrics/mlp_jax-cpu.json" in result.stdout
    assert "cnn_" not in result.stdout


# A cluster executor's snakemake (--jobs, no --cores) as the Slurm profile starts it: cores unset.
CLUSTER_DRY_RUN = """
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(
        resource_settings=ResourceSettings(cores=None, nodes=8),
        config_settings=ConfigSettings(config={config}),
        snakefile=Path("Snakefile"),
        workdir=Path("."),
    )
    try:
        workflow.dag().execute_workflow(executor="dryrun")
    except Exception as error:
        print(str(error).strip().splitlines()[1].strip())
    else:
        print("dry run done")
"""


@pytest.mark.parametrize("config", [{}, {"threads": 4}])
def test_cluster_executor_without_cores_needs_threads(tmp_path, config):
    """No --cores and threads null: the first training job stops naming both settings; threads=4 is taken."""
    workdir = copy_project(tmp_path / "project")
    result = subprocess.run(
        [sys.executable, "-c", CLUSTER_DRY_RUN.format(config=config)],
        cwd=workdir, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, output(result)
    last = result.stdout.strip().splitlines()[-1]
    if config:
        assert last == "dry run done"
        assert job_threads(output(result), "train_model") == [4, 4]
    else:
        assert last == (
            "ValueError: config: threads is null, so each training job takes every core given to "
            "snakemake, but no --cores was given; set --cores N or --config threads=N"
        )


@pytest.mark.parametrize(
    "name, expected",
    [
        ("bad_device", ["instance['device']", "'cpu,tpu' does not match"]),
        ("epochs_zero", ["instance['mlp']['epochs']", "0 is less than or equal to the minimum of 0"]),
        ("epochs_negative", ["instance['cnn']['epochs']", "-1 is less than or equal to the minimum of 0"]),
        ("bad_url", ["instance['data_url']", "'htp:/x' does not match"]),
        ("bad_model", ["instance['models'][1]", "'rnn' is not one of ['mlp', 'cnn']"]),
        ("bad_batch_size", ["instance['cnn']['batch_size']", "minimum of 0"]),
        ("bad_learning_rate", ["instance['mlp']['learning_rate']", "minimum of 0"]),
        ("bad_threads", ["instance['threads']", "0 is less than or equal to the minimum of 0"]),
    ],
)
def test_schema_rejects_bad_config_before_any_job(parse_runs, name, expected):
    result = parse_runs[name]
    text = output(result)
    assert result.returncode != 0, text
    assert "Error validating config file" in text
    for fragment in expected:
        assert fragment in text
    assert "Job stats" not in text and "Building DAG" not in text


@pytest.mark.parametrize(
    "name, expected",
    [
        ("no_checksum", "data_sha256 and data_md5 are both null"),
        ("conv_too_deep", "conv stage 2"),
    ],
)
def test_config_checks_beyond_the_schema_fail_at_parse_time(parse_runs, name, expected):
    result = parse_runs[name]
    assert result.returncode != 0
    assert expected in output(result)
    assert "Job stats" not in output(result)


def test_wrong_checksum_names_both_digests_and_keeps_no_archive(parse_runs, tmp_path):
    result = parse_runs["wrong_checksum"]
    text = output(result)
    assert result.returncode != 0
    actual = sha256(write_cifar10_archive(tmp_path / "same.tar.gz", n_per_batch=2, n_test=2))
    assert "download_data: fetch: checksum mismatch" in text
    assert OFFICIAL_SHA256 in text and actual in text
    resources = result.workdir / "resources"
    assert not resources.exists() or not any(resources.iterdir())


def test_unreachable_download_says_how_to_use_a_local_copy(tmp_path):
    """Without a network the download ends with its cause and the data_url setting to use instead."""
    with socket.socket() as probe:  # a port nothing listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workdir = copy_project(tmp_path / "project")
    url = f"http://127.0.0.1:{port}/cifar-10-python.tar.gz"
    result = run_snakemake(workdir, "--cores", "1", "resources/cifar-10-python.tar.gz",
                       "--config", f"data_url={url}", "download={retries: 0, timeout: 5}")  # fmt: skip
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("download_data: ")]
    assert line.startswith(f"download_data: fetch: {url}: giving up after 1 attempt(s): ")
    assert "refused" in line.lower()
    assert line.endswith(
        "; to use a local copy, set data_url and its checksum, e.g. --config "
        "data_url=/path/to/cifar-10-python.tar.gz data_sha256=<its sha256>"
    )
    assert not (workdir / "resources/cifar-10-python.tar.gz").exists()


@contextlib.contextmanager
def flaky_server(payload, failures, stall=0.0):
    """A local HTTP server of ``payload``: the first ``failures`` requests get 503 after ``stall`` seconds."""
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            requests.append(self.path)
            if len(requests) <= failures:
                time.sleep(stall)
                self.send_error(503, "try again")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cifar-10-python.tar.gz", requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("retries, succeeds", [(2, True), (1, False)])
def test_download_retries_from_the_config_reach_the_download(tmp_path, retries, succeeds):
    """The server fails twice: download.retries=2 gets the archive on the third try, retries=1 gives up."""
    workdir = copy_project(tmp_path / "project")
    archive = write_cifar10_archive(tmp_path / "served.tar.gz", n_per_batch=2, n_test=2)
    target = "resources/cifar-10-python.tar.gz"
    with flaky_server(archive.read_bytes(), failures=2) as (url, requests):
        result = run_snakemake(workdir, "--cores", "1", target, "--config", f"data_url={url}",
                           f"data_sha256={sha256(archive)}", f"download={{retries: {retries}, timeout: 10}}")  # fmt: skip
    assert len(requests) == min(3, retries + 1)
    log = (workdir / "logs/download/cifar-10-python.log").read_text()
    assert f"attempt 1 of {retries + 1} failed (HTTP 503" in log
    if succeeds:
        assert result.returncode == 0, output(result)[-3000:]
        assert (workdir / target).read_bytes() == archive.read_bytes()
    else:
        assert result.returncode != 0
        assert f"giving up after {retries + 1} attempt(s): HTTP 503" in result.stderr
        assert not (workdir / target).exists()


def test_download_timeout_from_the_config_reaches_the_download(tmp_path):
    """A server that answers after 3 s: download.timeout=1 times out on each of the 2 attempts."""
    workdir = copy_project(tmp_path / "project")
    archive = write_cifar10_archive(tmp_path / "served.tar.gz", n_per_batch=2, n_test=2)
    with flaky_server(archive.read_bytes(), failures=2, stall=3.0) as (url, requests):
        result = run_snakemake(workdir, "--cores", "1", "resources/cifar-10-python.tar.gz", "--config",
                           f"data_url={url}", f"data_sha256={sha256(archive)}", "download={retries: 1, timeout: 1}")  # fmt: skip
    assert result.returncode != 0
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("download_data: ")]
    assert "giving up after 2 attempt(s)" in line and "timed out" in line, line


def test_data_md5_from_the_config_is_checked(tmp_path):
    """data_md5 alone (data_sha256 null) decides: a wrong one keeps nothing, the right one the archive."""
    workdir = copy_project(tmp_path / "project")
    archive = write_cifar10_archive(workdir / "local.tar.gz", n_per_batch=2, n_test=2)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    target = "resources/cifar-10-python.tar.gz"
    config = ["--config", f"data_url={archive.name}", "data_sha256=null"]
    wrong = run_snakemake(workdir, "--cores", "1", target, *config, f"data_md5={'f' * 32}")
    assert wrong.returncode != 0
    assert f"md5 expected {'f' * 32}, got {md5}" in wrong.stderr
    assert not (workdir / target).exists()
    right = run_snakemake(workdir, "--cores", "1", target, *config, f"data_md5={md5}")
    assert right.returncode == 0, output(right)[-3000:]
    assert (workdir / target).read_bytes() == archive.read_bytes()


GOOD_URLS = [
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "http://127.0.0.1:8000/c.tar.gz",
    "http://[::1]:8000/c.tar.gz", "file:///data/c.tar.gz", "file://localhost/data/c.tar.gz",
    "/data/c.tar.gz", "./c.tar.gz", "../c.tar.gz", "c.tar.gz", "data/my copy.tar.gz",
]  # fmt: skip
BAD_URLS = ["htp:/x", "http:/x", "ftp://host/c.tar.gz", "", "https://", "file:/x", "file://host/x", "s3://b/c"]


@pytest.mark.parametrize("url", GOOD_URLS + BAD_URLS)
def test_data_url_pattern(url):
    import jsonschema
    import yaml

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    assert jsonschema.Draft202012Validator(schema).is_valid({"data_url": url}) == (url in GOOD_URLS)


# -- one real run ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    """The whole DAG on a synthetic archive (5 x 60 training, 100 test images), 1 epoch each."""
    workdir = copy_project(tmp_path_factory.mktemp("e2e") / "project")
    archive = write_cifar10_archive(workdir / "data" / "cifar-synthetic.tar.gz", n_per_batch=60, n_test=100)
    config = [
        "--config", f"data_url={archive.relative_to(workdir)}", f"data_sha256={sha256(archive)}",
        "mlp={epochs: 1}", "cnn={epochs: 1}",
    ]  # fmt: skip
    result = run_snakemake(workdir, "--cores", "2", *config)
    assert result.returncode == 0, output(result)[-6000:]
    return {"dir": workdir, "config": config, "result": result}


def test_run_writes_every_output(e2e):
    d = e2e["dir"]
    expected = [
        "resources/cifar-10-python.tar.gz",
        "results/arrays/X_train.npy", "results/arrays/y_train.npy",
        "results/arrays/X_test.npy", "results/arrays/y_test.npy",
        "results/device/cpu.json",
        "results/summary.csv", "results/summary.png", "results/summary.html", "results/curves.png",
        "logs/download/cifar-10-python.log", "logs/preprocess/arrays.log", "logs/device/cpu.log",
        "logs/aggregate/summary.log", "logs/aggregate/curves.log",
        "benchmarks/download/cifar-10-python.tsv", "benchmarks/preprocess/arrays.tsv",
        "benchmarks/device/cpu.tsv",
    ]  # fmt: skip
    for model in ("mlp", "cnn"):
        expected += [
            f"results/models/{model}_cpu.npz", f"results/history/{model}_cpu.csv",
            f"results/metrics/{model}_cpu.json", f"logs/train/{model}_cpu.log",
            f"benchmarks/train/{model}_cpu.tsv",
        ]  # fmt: skip
    missing = [path for path in expected if not (d / path).is_file()]
    assert not missing
    for table in (d / "benchmarks").rglob("*.tsv"):  # Snakemake's benchmark: a header, one row of numbers
        header, row = table.read_text().splitlines()
        assert header.split("\t")[:2] == ["s", "h:m:s"] and float(row.split("\t")[0]) >= 0, table
    assert not list(d.rglob(".*.tmp-*")), "temporary files left behind"


def test_summary_has_a_row_per_model_with_the_post_beside_it(e2e):
    summary = pd.read_csv(e2e["dir"] / "results/summary.csv")
    assert list(summary.columns) == list(COLUMNS)
    assert list(zip(summary["model"], summary["device"])) == [("mlp", "cpu"), ("cnn", "cpu")]
    assert (summary["epochs"] == 1).all()
    assert summary["speedup_vs_cpu"].tolist() == [1.0, 1.0]
    assert summary["post_test_accuracy"].tolist() == [0.41, 0.61]
    assert summary["post_epoch_seconds"].tolist() == [1.3, 177.0]
    assert summary["test_accuracy"].between(0, 1).all()
    assert (summary["epoch_seconds_median"] > 0).all()
    assert (summary["threads"] == 2).all()  # threads unset: the job's snakemake.threads, all of --cores 2


def test_summary_plot_is_a_png(e2e):
    data = (e2e["dir"] / "results/summary.png").read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_metrics_and_history_per_model(e2e):
    d = e2e["dir"]
    for model in ("mlp", "cnn"):
        metrics = json.loads((d / f"results/metrics/{model}_cpu.json").read_text())
        for key in (
            "test_accuracy", "valid_accuracy", "epoch_seconds_median", "epoch_seconds_min",
            "epoch_seconds_max", "train_seconds", "compile_seconds", "epochs", "device",
            "used_device", "threads", "versions",
        ):  # fmt: skip
            assert key in metrics, key
        assert 0 <= metrics["test_accuracy"] <= 1 and 0 <= metrics["valid_accuracy"] <= 1
        assert metrics["device"] == "cpu" and metrics["used_device"].startswith("cpu")
        assert metrics["epochs"] == 1 and metrics["threads"] == 2
        assert metrics["n_train"] == 300 and metrics["n_test"] == 100
        assert metrics["versions"]["aesara"] == "2.9.4"
        history = pd.read_csv(d / f"results/history/{model}_cpu.csv")
        assert list(history.columns) == list(HISTORY_COLUMNS)
        assert history["epoch"].tolist() == [1]
        assert np.isfinite(history.to_numpy(dtype=float)).all()


def test_threads_from_the_config_reach_the_training_job(e2e, tmp_path):
    """threads=1 (not all of --cores 2): the job gets 1 thread, sets it, and records it."""
    d = tmp_path / "project"
    shutil.copytree(e2e["dir"], d, symlinks=True)
    result = run_snakemake(d, "--cores", "2", "results/metrics/mlp_cpu.json", "--forcerun", "train_model",
                       *e2e["config"], "threads=1")  # fmt: skip
    assert result.returncode == 0, output(result)[-3000:]
    assert job_threads(output(result), "train_model") == [1]
    metrics = json.loads((d / "results/metrics/mlp_cpu.json").read_text())
    assert metrics["threads"] == 1 and metrics["epochs"] == 1


def test_train_log_holds_the_epoch_table(e2e):
    log = (e2e["dir"] / "logs/train/cnn_cpu.log").read_text()
    assert "learnable parameters" in log
    assert "valid acc" in log and "dur" in log


def test_device_file_describes_settings_hardware_and_exp_check(e2e):
    info = json.loads((e2e["dir"] / "results/device/cpu.json").read_text())
    assert info["device"] == "cpu"
    assert info["aesara"]["floatX"] == "float32"
    assert {"mode", "linker", "blas__ldflags", "compiledir"} <= set(info["aesara"])
    assert info["hardware"]["cpu_model"] and info["hardware"]["logical_cpus"] >= 1
    check = info["exp_check"]
    assert check["vector_length"] == 230_400 and check["iterations"] == 1000
    assert check["computed_on"].startswith("cpu")


def test_report_bundles_the_results(e2e):
    result = run_snakemake(e2e["dir"], "--report", "report.html", *e2e["config"])
    assert result.returncode == 0, output(result)[-4000:]
    html = (e2e["dir"] / "report.html").read_text(errors="replace")
    assert len(html) > 50_000
    for name in ("summary.csv", "summary.png", "summary.html", "curves.png"):
        assert name in html


def test_gpu_without_a_gpu_fails_at_configure(no_gpu, e2e):
    d = e2e["dir"]
    result = run_snakemake(d, "--cores", "2", *e2e["config"], "device=gpu")
    text = output(result)
    assert result.returncode != 0
    assert "configure_device" in text and "device 'gpu'" in text
    assert "jax[cuda12]" in text or "jax[cuda13]" in text or "NVIDIA driver" in text
    assert "device 'gpu'" in (d / "logs/device/gpu.log").read_text()
    assert not list((d / "results/metrics").glob("*_gpu.json"))
    assert not (d / "results/device/gpu.json").exists()
    assert not list((d / "logs/train").glob("*_gpu.log")), "a gpu training job started"


def test_gpu_trains_each_model_on_the_gpu(gpu, e2e):
    """With a usable GPU: both models on it, from the same arrays (the summary of the cpu run is left alone)."""
    d = e2e["dir"]
    targets = ["results/metrics/mlp_gpu.json", "results/metrics/cnn_gpu.json"]
    result = run_snakemake(d, "--cores", "2", *targets, *e2e["config"], "device=gpu")
    assert result.returncode == 0, output(result)[-6000:]
    info = json.loads((d / "results/device/gpu.json").read_text())
    assert info["device"] == "gpu" and info["used_device"] == gpu
    assert info["exp_check"]["computed_on"] == gpu and info["exp_check"]["dtype"] == "float32"
    assert info["aesara"]["mode"] == "JAX" and info["hardware"]["gpus"]
    assert info["cuda_plugin"]["cuda"] in (12, 13)
    metrics = [json.loads((d / target).read_text()) for target in targets]
    for model, m in zip(("mlp", "cnn"), metrics):
        assert (m["model"], m["device"], m["epochs"], m["threads"]) == (model, "gpu", 1, 2)
        assert m["used_device"] == gpu and not m["used_device"].startswith("cpu")
        assert 0 <= m["test_accuracy"] <= 1 and m["epoch_seconds_median"] > 0
    cpu = [json.loads((d / f"results/metrics/{model}_cpu.json").read_text()) for model in ("mlp", "cnn")]
    summary = summarize(cpu + metrics)
    rows = [("mlp", "cpu"), ("mlp", "gpu"), ("cnn", "cpu"), ("cnn", "gpu")]
    assert list(zip(summary["model"], summary["device"])) == rows
    assert (summary["speedup_vs_cpu"] > 0).all()
