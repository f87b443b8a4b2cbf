"""The workflow on a live single-node Slurm cluster, through snakemake-executor-plugin-slurm.

``tests/workflow/slurm/cluster.sh`` starts munged, slurmctld and slurmd (installing
Debian's slurm-wlm and munge when missing; it needs root); the executor plugin
is installed from ``requirements-slurm.txt`` into a folder of its own, put on
``PYTHONPATH`` for snakemake and, through sbatch's ``--export=ALL``, for the
jobs.  Three runs, each in its own copy of the project: the workflow (the MLP
on the cpu) under ``--profile workflow/profiles/slurm``; then, concurrently,
the same with ``device=gpu`` (which must fail at configure_device on a machine
without a GPU, after Slurm gave the job the cluster's fake GPU) and the cpu
run locally, whose results the Slurm run must reproduce.  The daemons are
stopped by their PID files however the tests end.

The plugin waits 5 s before each sbatch and checks the jobs 3 s, then 16 s,
39 s... after submitting them, so a stage of jobs costs about 21 s if they
end within 16 s: the first run gets the node's CPUs to itself.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cifarbench.data import write_cifar10_archive
from helpers.project import ROOT, copy_project, output, run_snakemake, sha256

CLUSTER_SCRIPT = Path(__file__).parent / "slurm" / "cluster.sh"
PLUGIN_REQUIREMENTS = ROOT / "requirements-slurm.txt"
SLURM_PROGRAMS = ("slurmctld", "slurmd", "munged", "mungekey", "sbatch", "squeue", "scontrol", "sinfo")
LOCK_FILE = Path("/tmp/aenet-test-slurm-cluster.lock")

# A tiny MLP, 2 epochs; threads=2 so that its training job asks Slurm for 2 CPUs.
CONFIG = ["models=mlp", "threads=2", "mlp={hidden: [8], epochs: 2, mem_mb: 1000, runtime: 10}"]
SLURM_ARGS = ["--profile", "workflow/profiles/slurm", "--slurm-init-seconds-before-status-checks", "3", "--verbose"]
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: .*?/rule_(\w+?)/")


def skip_reason():
    """Why the cluster cannot be started here, or None."""
    if os.geteuid() != 0:
        return "needs root: tests/workflow/slurm/cluster.sh runs munged, slurmctld and slurmd as root"
    if not all(shutil.which(p) for p in SLURM_PROGRAMS) and not shutil.which("apt-get"):
        return "Slurm (slurm-wlm, munge) is not installed and apt-get is not available to install it"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


def slurm_env(cluster, plugin):
    return {**os.environ, "SLURM_CONF": str(cluster / "etc" / "slurm.conf"), "PYTHONPATH": str(plugin)}


def scontrol_job(jobid, env):
    """``scontrol show job`` as a dict of its ``Key=Value`` fields."""
    text = subprocess.run(
        ["scontrol", "show", "job", jobid], env=env, capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return dict(re.findall(r"(\S+?)=(\S*)", text))


def sbatch_calls(text):
    return [line for line in text.splitlines() if "sbatch call: sbatch" in line]


def diagnose(result, cluster):
    """The end of a run's output and of the daemons' logs, for a failure message."""
    parts = [output(result)[-5000:]]
    for log in sorted((cluster / "log").glob("*.log")):
        parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:]))
    for log in sorted(Path(result.workdir, ".snakemake", "slurm_logs").rglob("*.log")):
        parts.append(f"--- {log}\n" + log.read_text(errors="replace")[-2000:])
    return "\n".join(parts)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The pinned executor plugin, installed with the venv's pip into a folder of its own."""
    target = tmp_path_factory.mktemp("slurm-plugin")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
         "--target", str(target), "-r", str(PLUGIN_REQUIREMENTS)],
        check=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def machine_lock():
    """One test cluster per machine: its daemons use Slurm's fixed ports and /etc/slurm/slurm.conf.

    Another test session's cluster is waited for (up to 10 minutes).
    """
    with open(LOCK_FILE, "a") as lock:
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test's Slurm cluster has held {LOCK_FILE} for 10 minutes")
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def cluster(machine_lock, tmp_path_factory):
    """A running single-node cluster (its folder); stopped by PID file at the end, whatever happened."""
    folder = tmp_path_factory.mktemp("slurm-cluster")
    try:
        started = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "start", str(folder)],
            capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if started.returncode != 0:
            pytest.fail(f"cluster.sh start failed:\n{started.stdout}{started.stderr}")
        yield folder
    finally:
        subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(folder)], timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def runs(plugin, cluster, tmp_path_factory):
    """The three runs (slurm_cpu, slurm_gpu, local), concurrently, on one synthetic archive."""
    base = tmp_path_factory.mktemp("slurm-runs")
    archive = write_cifar10_archive(base / "cifar-synthetic.tar.gz", n_per_batch=60, n_test=60)
    data = [f"data_url={archive}", f"data_sha256={sha256(archive)}"]
    env = slurm_env(cluster, plugin)
    plans = {
        "slurm_cpu": ([*SLURM_ARGS, "--config", *data, *CONFIG], env),
        "slurm_gpu": ([*SLURM_ARGS, "--retries", "0", "results/device/gpu.json",
                       "--config", *data, *CONFIG, "device=gpu"], env),
        "local": (["--cores", "2", "--config", *data, *CONFIG], None),
    }  # fmt: skip

    def start(name):
        args, run_env = plans[name]
        return name, run_snakemake(copy_project(base / name), *args, env=run_env)

    results = dict([start("slurm_cpu")])
    with ThreadPoolExecutor(max_workers=2) as pool:
        results.update(pool.map(start, ["slurm_gpu", "local"]))
    results["env"] = env
    results["cluster"] = cluster
    return results


@pytest.fixture(scope="module")
def slurm_cpu(runs):
    result = runs["slurm_cpu"]
    assert result.returncode == 0, diagnose(result, runs["cluster"])
    return result


def submitted_jobs(result):
    """``[(slurm jobid, rule)]`` from the run's "has been submitted" lines."""
    return SUBMITTED.findall(output(result))


def test_jobs_ran_as_slurm_jobs(runs, slurm_cpu):
    jobs = submitted_jobs(slurm_cpu)
    rules = sorted(rule for _, rule in jobs)
    assert rules == ["configure_device", "preprocess_data", "train_model"], output(slurm_cpu)[-3000:]
    text = output(slurm_cpu)
    for local_rule in ("download_data", "aggregate_results"):
        assert f"localrule {local_rule}:" in text
    threads = {"configure_device": "1", "preprocess_data": "1", "train_model": "2"}
    for jobid, rule in jobs:
        info = scontrol_job(jobid, runs["env"])
        assert info["JobState"] == "COMPLETED", info
        assert info["Partition"] == "debug" and info["WorkDir"] == str(slurm_cpu.workdir)
        assert info["Comment"].startswith(f"rule_{rule}")
        assert info["NumCPUs"] == threads[rule], (rule, info["NumCPUs"])
        assert "TresPerJob" not in info or "gpu" not in info["TresPerJob"]
    (train,) = [scontrol_job(jobid, runs["env"]) for jobid, rule in jobs if rule == "train_model"]
    assert train["Comment"].rstrip("_") == "rule_train_model_wildcards_mlp_cpu"  # the run tag is empty
    assert train["MinMemoryNode"] == "1000M" and train["TimeLimit"] == "00:10:00"


def test_cpu_jobs_ask_for_threads_and_no_gpu(slurm_cpu):
    calls = sbatch_calls(output(slurm_cpu))
    assert len(calls) == 3
    for call in calls:
        assert "--gpus" not in call and "--gres" not in call
    (train,) = [call for call in calls if "--comment rule_train_model" in call]
    assert "--cpus-per-task=2" in train and "--mem 1000" in train and "-t 10" in train


def test_slurm_results_equal_the_local_run(runs, slurm_cpu):
    local = runs["local"]
    assert local.returncode == 0, output(local)[-4000:]
    a, b = Path(slurm_cpu.workdir), Path(local.workdir)
    for model in ("mlp",):
        ma = json.loads((a / f"results/metrics/{model}_cpu.json").read_text())
        mb = json.loads((b / f"results/metrics/{model}_cpu.json").read_text())
        for key in ("test_accuracy", "valid_accuracy", "valid_loss", "train_loss", "epochs", "n_parameters",
                    "threads", "seed", "hyperparameters", "used_device"):  # fmt: skip
            assert ma[key] == mb[key], (model, key, ma[key], mb[key])
        ha = pd.read_csv(a / f"results/history/{model}_cpu.csv").drop(columns="seconds")
        hb = pd.read_csv(b / f"results/history/{model}_cpu.csv").drop(columns="seconds")
        pd.testing.assert_frame_equal(ha, hb)
        with np.load(a / f"results/models/{model}_cpu.npz") as pa, np.load(b / f"results/models/{model}_cpu.npz") as pb:
            assert sorted(pa.files) == sorted(pb.files)
            for key in pa.files:
                np.testing.assert_allclose(pa[key], pb[key], rtol=1e-6, atol=1e-7)
    deterministic = ["model", "device", "epochs", "test_accuracy", "valid_accuracy", "post_test_accuracy", "threads"]
    sa = pd.read_csv(a / "results/summary.csv")[deterministic]
    sb = pd.read_csv(b / "results/summary.csv")[deterministic]
    pd.testing.assert_frame_equal(sa, sb)
    assert list((a / "results/checkpoints").iterdir()) == []  # the job removed its checkpoint


def test_gpu_job_gets_a_gpu_from_slurm_and_fails_at_configure(no_gpu, runs):
    result = runs["slurm_gpu"]
    text = output(result)
    assert result.returncode != 0, text[-3000:]
    jobs = submitted_jobs(result)
    assert [rule for _, rule in jobs] == ["configure_device"], text[-3000:]
    (call,) = sbatch_calls(text)
    assert "--comment rule_configure_device_wildcards_gpu" in call
    assert "--gpus=1" in call and "--cpus-per-task=1" in call
    info = scontrol_job(jobs[0][0], runs["env"])
    assert info["TresPerJob"] == "gres:gpu:1"
    assert info["JobState"] == "FAILED" and info["NodeList"] == "localhost"
    workdir = Path(result.workdir)
    assert "device 'gpu'" in (workdir / "logs/device/gpu.log").read_text()
    assert not (workdir / "results/device/gpu.json").exists()
