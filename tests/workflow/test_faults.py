"""Faults and bad input: each fails with one clear line, loses nothing and leaves nothing half-written.

Through the workflow (snakemake from the venv in copies of the project, the
runs of each group concurrently):

* bad archives: every batch problem fails preprocess_data with one line naming
  the member, and no array is written; an archive whose checksum does not
  match never reaches the reader;
* bad configuration values fail before any job runs (no folder is created);
* a nan or infinite loss stops training at that epoch, without a metrics file;
* a full disk (a tiny tmpfs) or a read-only results folder fails the training
  job with one line and leaves no partial file, and the run resumes from the
  last checkpoint once the folder is writable;
* kill -9 of the whole run during training, then ``snakemake --unlock`` and a
  rerun: training resumes from the last finished epoch and ends with the
  parameters and history of an uninterrupted run;
* a second snakemake on a busy project is refused by Snakemake's lock and the
  first run's results are complete.

Without a workflow: ENOSPC injected into aenet's atomic writers, checkpoints
and resuming in ``cifarbench.experiment``, and ``NeuralNet.get/set_update_state``.
"""
import builtins
import errno
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aenet.atomic
from aenet import device as devices
from aenet.atomic import save_npy_atomic, write_json_atomic, write_text_atomic
from cifarbench.data import write_cifar10_archive
from cifarbench.experiment import (
    PAUSE_SETTING,
    Checkpointer,
    remove_checkpoint,
    run_experiment,
    save_checkpoint,
    stop_on_nonfinite_loss,
    write_outputs,
)
from helpers.archives import BATCH_DIR, BATCH_NAMES, build_batch, write_tar_gz
from helpers.project import RUN_SECONDS, SNAKEMAKE, copy_project, output, run_snakemake, sha256

pytestmark = pytest.mark.usefixtures("back_to_cpu")

TRAIN_TARGET = "results/metrics/mlp_cpu.json"
MLP_OUTPUTS = ("results/models/mlp_cpu.npz", "results/history/mlp_cpu.csv", TRAIN_TARGET)
CHECKPOINT = "results/checkpoints/mlp_cpu.npz"
TRAIN_LOG = "logs/train/mlp_cpu.log"
# Long enough (20 epochs of 1600 images) for a kill between two epochs, short enough to be quick.
RESUME_CONFIG = ["models=mlp", "mlp={hidden: [32], epochs: 20, shuffle: true}"]
RESUME_EPOCHS = 20
KILL_AFTER = 3  # the kill scenario's job is held, then killed, after this epoch


def start_snakemake(workdir, *args, pause_after=None):
    """snakemake in the background, in a session of its own (so its jobs can be signalled with it).

    ``pause_after=N`` holds its training job once epoch N's checkpoint is
    written (cifarbench.experiment's test hook): ``proc.paused`` then exists, and
    creating ``proc.release`` lets training go on.
    """
    workdir = Path(workdir)
    env = dict(os.environ)
    if pause_after is not None:
        hold = workdir / "hold"
        hold.mkdir()
        env[PAUSE_SETTING] = f"{pause_after}:{hold}"
    log = open(workdir / "snakemake.out", "w")
    proc = subprocess.Popen(
        [str(SNAKEMAKE), *map(str, args)], cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, env=env,
    )  # fmt: skip
    proc.log = log
    proc.paused, proc.release = workdir / "hold" / "paused", workdir / "hold" / "release"
    return proc


def signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def wait_for(condition, proc, what, seconds=RUN_SECONDS):
    """Poll ``condition()`` every 10 ms until true; fail if ``proc`` ends first or time runs out."""
    deadline = time.monotonic() + seconds
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended (code {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {seconds} s")
        time.sleep(0.01)


def lines_starting(text, prefix):
    return [line for line in text.splitlines() if line.startswith(prefix)]


def temp_files(folder):
    """aenet.atomic's temporary files anywhere under ``folder``."""
    return sorted(str(p) for p in Path(folder).rglob(".*.tmp-*"))


def read_checkpoint_history(path):
    with np.load(path, allow_pickle=False) as data:
        return json.loads(data["history"].tobytes().decode())


def history_frame(workdir, device="cpu"):
    return pd.read_csv(Path(workdir) / f"results/history/mlp_{device}.csv").drop(columns="seconds")


# -- bad archives ------------------------------------------------------------------------------


class _RunsCode:
    """Unpickled by plain pickle, this would create the file ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _batches(n=4, **overrides):
    batches = {short: build_batch(n, seed) for seed, short in enumerate(BATCH_NAMES)}
    batches.update(overrides)
    return [(BATCH_DIR, None)] + [(f"{BATCH_DIR}/{short}", batches[short]) for short in BATCH_NAMES]


def _without(key, batch):
    return {k: v for k, v in batch.items() if k != key}


def build_bad_archive(name, path, marker):
    """Write the archive of case ``name`` to ``path``; return ``(path, sha256 the workflow is given)``."""
    if name == "truncated":
        good = write_cifar10_archive(path.with_name("good.tar.gz"), n_per_batch=20, n_test=20)
        data = good.read_bytes()
        path.write_bytes(data[: len(data) * 6 // 10])
    elif name == "parent_path":
        write_tar_gz(path, _batches() + [("../x", b"outside the target")])
    elif name == "missing_key":
        write_tar_gz(path, _batches(data_batch_2=_without(b"labels", build_batch(4, 1))))
    elif name == "wrong_dtype":
        batch = build_batch(4, 2)
        write_tar_gz(path, _batches(data_batch_3={**batch, b"data": batch[b"data"].astype(np.float32)}))
    elif name == "wrong_shape":
        batch = build_batch(4, 5)
        write_tar_gz(path, _batches(test_batch={**batch, b"data": batch[b"data"][:, :1024].copy()}))
    elif name == "label_outside":
        batch = build_batch(4, 3)
        write_tar_gz(path, _batches(data_batch_4={**batch, b"labels": [1, 10, 2, 3]}))
    elif name == "wrong_checksum":
        # A pickle that plain pickle would run code for: it must never be opened.
        write_tar_gz(path, _batches(data_batch_1={b"data": _RunsCode(marker), b"labels": [0]}))
        return path, WRONG_SHA256
    return path, sha256(path)


WRONG_SHA256 = "0123456789abcdef" * 4

# case -> the one preprocess_data line expected (a regex), or None for a download failure.
ARCHIVE_CASES = {
    "truncated": r"cifar-10-python\.tar\.gz: truncated or corrupt archive \(EOFError: ",
    "parent_path": r"cifar-10-python\.tar\.gz: unsafe member path '\.\./x' \(absolute or with '\.\.'\)$",
    "missing_key": r"cifar-10-batches-py/data_batch_2: missing key 'labels' \(keys: ",
    "wrong_dtype": r"cifar-10-batches-py/data_batch_3: data has dtype float32, expected uint8$",
    "wrong_shape": r"cifar-10-batches-py/test_batch: data has shape \(4, 1024\), expected \(n, 3072\)",
    "label_outside": r"cifar-10-batches-py/data_batch_4: label 10 at index 1 is outside 0\.\.9",
    "wrong_checksum": None,
}


@pytest.fixture(scope="module")
def archive_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("archives")

    def run(name):
        workdir = copy_project(base / name)
        marker = base / f"{name}.ran-code"
        archive, digest = build_bad_archive(name, workdir / "archive.tar.gz", marker)
        result = run_snakemake(
            workdir, "--cores", "1", "results/arrays/X_train.npy",
            "--config", f"data_url={archive.name}", f"data_sha256={digest}",
        )  # fmt: skip
        result.marker = marker
        return name, result

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, ARCHIVE_CASES))


@pytest.mark.parametrize("case", [c for c, expected in ARCHIVE_CASES.items() if expected])
def test_bad_archive_fails_preprocess_with_one_line_and_writes_no_array(archive_runs, case):
    result = archive_runs[case]
    text = output(result)
    assert result.returncode != 0, text[-3000:]
    (line,) = lines_starting(result.stderr, "preprocess_data: ")
    assert re.search(ARCHIVE_CASES[case], line), line
    arrays = result.workdir / "results" / "arrays"
    assert not arrays.exists() or not any(arrays.iterdir()), list(arrays.iterdir())
    assert (result.workdir / "resources/cifar-10-python.tar.gz").is_file()  # it passed its checksum
    assert not result.marker.exists()


def test_archive_with_a_wrong_checksum_never_reaches_the_reader(archive_runs):
    result = archive_runs["wrong_checksum"]
    text = output(result)
    assert result.returncode != 0
    (line,) = lines_starting(result.stderr, "download_data: ")
    assert "checksum mismatch" in line and WRONG_SHA256 in line
    assert not re.search(r"^(local)?rule preprocess_data:", text, re.MULTILINE)  # never started
    assert not (result.workdir / "logs/preprocess").exists()
    resources = result.workdir / "resources"
    assert not resources.exists() or not any(resources.iterdir())
    assert not result.marker.exists()


# -- bad configuration (beyond tests/workflow/test_workflow.py's dry runs) ---------------------------------

CONFIG_CASES = {
    "device=tpu": "instance['device']",
    "cnn={learning_rate: -0.5}": "instance['cnn']['learning_rate']",
    "mlp={epochs: 1.5}": "instance['mlp']['epochs']",
}


@pytest.fixture(scope="module")
def config_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("configs")

    def run(index_value):
        index, value = index_value
        return value, run_snakemake(copy_project(base / f"case{index}"), "--cores", "1", "--config", value)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(run, enumerate(CONFIG_CASES)))


@pytest.mark.parametrize("value", CONFIG_CASES)
def test_bad_config_value_fails_before_any_job_naming_the_key(config_runs, value):
    result = config_runs[value]
    text = output(result)
    assert result.returncode != 0
    assert "Error validating config file" in text and CONFIG_CASES[value] in text, text[-2000:]
    assert "Building DAG" not in text
    for folder in ("resources", "results", "logs", "benchmarks"):
        assert not (result.workdir / folder).exists(), folder


# -- training faults through the workflow -----------------------------------------------------------


@cache
def mount_skip_reason():
    """Why a tmpfs cannot be mounted in a private mount namespace here, or None."""
    if not shutil.which("unshare"):
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs -o size=4k aenet-probe /mnt"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a private mount namespace (needs CAP_SYS_ADMIN): {probe.stderr.strip()}"
    return None


# Mount a tmpfs with options $1 on $2, run the rest, list $2 into $3.  The mount lives in
# the namespace of this shell only and disappears with it.
_ON_TMPFS = (
    'mount -t tmpfs -o "$1" aenet-test "$2" || exit 97; '
    'd=$2; l=$3; shift 3; "$@"; rc=$?; ls -A "$d" > "$l"; exit $rc'
)


def snakemake_on_tmpfs(workdir, folder, options, *args):
    """snakemake with ``folder`` (relative to ``workdir``) on a tmpfs mounted with ``options``.

    The result's ``listing`` is what the tmpfs held when snakemake ended.
    """
    (Path(workdir) / folder).mkdir(parents=True, exist_ok=True)
    listing = Path(workdir).with_name(Path(workdir).name + ".listing")
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", _ON_TMPFS, "sh", options, folder, str(listing)]
    result = run_snakemake(workdir, *args, prefix=prefix)
    assert result.returncode != 97, result.stderr
    result.listing = listing.read_text().split() if listing.exists() else None
    return result


def nan_scenario(project, data):
    return {"run": run_snakemake(project, "--cores", "2", TRAIN_TARGET, "--config", *data,
                             "models=mlp", "mlp={hidden: [8], epochs: 3, learning_rate: 1000000.0}")}  # fmt: skip


def full_disk_scenario(project, data):
    """results/models on a 64 kB tmpfs: the MLP's parameters (1024 x 32 floats) do not fit; then a rerun."""
    args = ["--cores", "2", TRAIN_TARGET, "--config", *data, *RESUME_CONFIG]
    failed = snakemake_on_tmpfs(project, "results/models", "size=64k", *args)
    after_failure = {
        "outputs": [path for path in MLP_OUTPUTS if (project / path).exists()],
        "temp_files": temp_files(project / "results"),
        "checkpoint_history": read_checkpoint_history(project / CHECKPOINT),
    }
    return {"run": failed, "after_failure": after_failure, "rerun": run_snakemake(project, *args)}


def chmod_read_only_scenario(project, data):
    """The read-only cases without root, the folders made read-only with chmod: first the
    checkpoint folder (training stops at the first checkpoint), then the metrics folder
    (snakemake, not being root, lets the job start; it trains, then cannot write)."""
    args = ["--cores", "2", TRAIN_TARGET, "--config", *data, *RESUME_CONFIG]
    found = {}
    for name, folder in (("checkpoints", "results/checkpoints"), ("outputs", "results/metrics")):
        path = project / folder
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o555)
        try:
            found[name] = run_snakemake(project, *args)
        finally:
            if path.exists():  # snakemake may remove a folder it left empty
                path.chmod(0o755)
        found[name].listing = sorted(p.name for p in path.iterdir()) if path.exists() else []
    found["checkpoint_history"] = read_checkpoint_history(project / CHECKPOINT)
    return found


def read_only_scenario(project, data):
    """A read-only output folder (snakemake's concern), then a read-only checkpoint folder (the job's)."""
    args = ["--cores", "2", TRAIN_TARGET, "--config", *data, *RESUME_CONFIG]
    outputs = snakemake_on_tmpfs(project, "results/metrics", "ro,size=64k", *args)
    train_log_after_outputs = (project / TRAIN_LOG).exists()
    checkpoints = snakemake_on_tmpfs(project, "results/checkpoints", "ro,size=64k", *args)
    return {"outputs": outputs, "train_log_after_outputs": train_log_after_outputs, "checkpoints": checkpoints}


def lock_scenario(project, data):
    """The reference run A, held after its first epoch (so it holds the lock), and a second run B meanwhile."""
    args = ["--cores", "2", TRAIN_TARGET, "--config", *data, *RESUME_CONFIG]
    first = start_snakemake(project, *args, pause_after=1)
    try:
        wait_for(first.paused.exists, first, "the job held after epoch 1")
        second = run_snakemake(project, *args)
        first_was_running = first.poll() is None
        first.release.touch()
        first.wait(timeout=RUN_SECONDS)
    finally:
        first.release.touch()
        if first.poll() is None:
            signal_group(first, signal.SIGKILL)
            first.wait()
        first.log.close()
    return {"first": first, "second": second, "first_was_running": first_was_running}


def kill_scenario(project, data, device="cpu"):
    """kill -9 of snakemake and its job, held after epoch KILL_AFTER's checkpoint; unlock; rerun."""
    mlp = f"mlp_{device}"
    target, config = f"results/metrics/{mlp}.json", [*data, *RESUME_CONFIG, f"device={device}"]
    args = ["--cores", "2", target, "--config", *config]
    run = start_snakemake(project, *args, pause_after=KILL_AFTER)
    try:
        wait_for(run.paused.exists, run, f"the job held after epoch {KILL_AFTER}")
        signal_group(run, signal.SIGKILL)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            signal_group(run, signal.SIGKILL)
            run.wait()
        run.log.close()
    time.sleep(0.5)  # nothing of the killed run may write anything any more
    outputs = (f"results/models/{mlp}.npz", f"results/history/{mlp}.csv", target)
    after_kill = {
        "outputs": [path for path in outputs if (project / path).exists()],
        "temp_files": temp_files(project / "results"),
        "checkpoint_history": read_checkpoint_history(project / f"results/checkpoints/{mlp}.npz"),
    }
    unlock = run_snakemake(project, "--unlock", "--config", *config)
    return {"after_kill": after_kill, "unlock": unlock, "rerun": run_snakemake(project, *args)}


SCENARIOS = {
    "nan": nan_scenario,
    "full_disk": full_disk_scenario,
    "read_only": read_only_scenario,
    "lock": lock_scenario,
    "kill": kill_scenario,
    "kill_jax": functools.partial(kill_scenario, device="jax-cpu"),
    "read_only_chmod": chmod_read_only_scenario,
}
MOUNTING = {"full_disk", "read_only"}


@pytest.fixture(scope="module")
def training_faults(tmp_path_factory):
    """Every scenario in its own copy of one prepared project (arrays and device info done).

    A scenario that raised is stored as its exception, raised by its tests.
    """
    base = tmp_path_factory.mktemp("training")
    prepared = copy_project(base / "prepared")
    archive = write_cifar10_archive(base / "cifar-synthetic.tar.gz", n_per_batch=400, n_test=100)
    data = [f"data_url={archive}", f"data_sha256={sha256(archive)}"]
    result = run_snakemake(prepared, "--cores", "2", "results/arrays/X_train.npy", "results/device/cpu.json",
                       "--config", *data)  # fmt: skip
    assert result.returncode == 0, output(result)[-4000:]

    def run(name):
        if name in MOUNTING and mount_skip_reason() or name == "read_only_chmod" and os.geteuid() == 0:
            return name, None
        project = base / name
        shutil.copytree(prepared, project, symlinks=True)
        try:
            return name, {"dir": project, **SCENARIOS[name](project, data)}
        except Exception as error:  # noqa: BLE001  (reported by the scenario's tests)
            return name, error

    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        return dict(pool.map(run, SCENARIOS))


def scenario(training_faults, name):
    found = training_faults[name]
    if found is None:
        pytest.skip(mount_skip_reason())
    if isinstance(found, Exception):
        raise found
    return found


def assert_no_training_outputs(workdir):
    present = [path for path in MLP_OUTPUTS if (Path(workdir) / path).exists()]
    assert not present, present
    assert not temp_files(Path(workdir) / "results")


def test_nan_loss_stops_training_at_that_epoch_without_metrics(training_faults):
    run = scenario(training_faults, "nan")["run"]
    assert run.returncode != 0
    (line,) = lines_starting(run.stderr, "train_model: ")
    assert re.fullmatch(
        r"train_model: (training|validation) loss is (nan|inf|-inf) at epoch [123]\b.*; try a lower learning rate.*",
        line,
    ), line
    assert line in (run.workdir / TRAIN_LOG).read_text()
    assert_no_training_outputs(run.workdir)


def test_full_disk_fails_with_one_line_leaves_no_partial_file_and_loses_no_epoch(training_faults):
    found = scenario(training_faults, "full_disk")
    run, rerun = found["run"], found["rerun"]
    assert run.returncode != 0
    (line,) = lines_starting(run.stderr, "train_model: ")
    assert "No space left on device" in line, line
    assert run.listing == [], run.listing  # not even a temporary file on the full disk
    after_failure = found["after_failure"]
    assert after_failure["outputs"] == [] and after_failure["temp_files"] == []
    # Every epoch is in the checkpoint: with room again, the rerun only writes the outputs.
    assert len(after_failure["checkpoint_history"]) == RESUME_EPOCHS
    assert rerun.returncode == 0, output(rerun)[-3000:]
    metrics = json.loads((rerun.workdir / TRAIN_TARGET).read_text())
    assert metrics["resumed_from_epoch"] == RESUME_EPOCHS and metrics["epochs"] == RESUME_EPOCHS
    assert len(history_frame(rerun.workdir)) == RESUME_EPOCHS
    assert not (rerun.workdir / CHECKPOINT).exists() and not temp_files(rerun.workdir / "results")


def test_read_only_output_folder_stops_snakemake_before_the_job(training_faults):
    found = scenario(training_faults, "read_only")
    run = found["outputs"]
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last == "OSError: [Errno 30] Read-only file system: 'results/metrics/mlp_cpu.json'", last
    assert not found["train_log_after_outputs"]  # no training was started, none was lost
    assert run.listing == []


def chmod_scenario(training_faults):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the tmpfs variant above runs instead")
    return scenario(training_faults, "read_only_chmod")


@pytest.mark.parametrize(
    "variant, error", [("tmpfs", r"\[Errno 30\] Read-only file system"), ("chmod", r"\[Errno 13\] Permission denied")]
)
def test_read_only_checkpoint_folder_fails_training_with_one_line(training_faults, variant, error):
    found = scenario(training_faults, "read_only") if variant == "tmpfs" else chmod_scenario(training_faults)
    run = found["checkpoints"]
    assert run.returncode != 0
    (line,) = lines_starting(run.stderr, "train_model: ")
    assert re.fullmatch(rf"train_model: {error}: '.*results/checkpoints/\.mlp_cpu\.npz\.tmp-.*'", line), line
    assert run.listing == []
    assert_no_training_outputs(run.workdir)


def test_read_only_output_folder_by_permissions_fails_with_one_line_and_keeps_the_checkpoint(training_faults):
    found = chmod_scenario(training_faults)
    run = found["outputs"]
    assert run.returncode != 0
    (line,) = lines_starting(run.stderr, "train_model: ")
    assert re.fullmatch(r"train_model: \[Errno 13\] Permission denied: '.*results/metrics/\.mlp_cpu\.json\.tmp-.*'",
                        line), line  # fmt: skip
    assert run.listing == []
    assert_no_training_outputs(run.workdir)
    assert len(found["checkpoint_history"]) == RESUME_EPOCHS  # a rerun, with room, only writes the outputs


def test_second_snakemake_is_refused_by_the_lock_and_the_first_completes(training_faults):
    found = scenario(training_faults, "lock")
    first, second = found["first"], found["second"]
    assert found["first_was_running"]
    assert second.returncode != 0
    assert "Directory cannot be locked" in output(second), output(second)[-2000:]
    assert first.returncode == 0, (found["dir"] / "snakemake.out").read_text()[-3000:]
    workdir = found["dir"]
    metrics = json.loads((workdir / TRAIN_TARGET).read_text())
    assert metrics["epochs"] == RESUME_EPOCHS and metrics["resumed_from_epoch"] == 0
    assert len(history_frame(workdir)) == RESUME_EPOCHS
    with np.load(workdir / "results/models/mlp_cpu.npz") as params:
        assert sorted(params.files) == ["param/hidden:0", "param/hidden:1", "param/output:0", "param/output:1"]
    assert not any((workdir / "results/checkpoints").iterdir()) and not temp_files(workdir / "results")


# The resumed run against the lock scenario's uninterrupted cpu run: losses and weights to
# rtol, accuracies to within acc_tol (JAX computes in another order than the C backend).
@pytest.mark.parametrize(
    "name, device, rtol, acc_tol", [("kill", "cpu", 1e-5, 0.0), ("kill_jax", "jax-cpu", 1e-4, 0.01)]
)
def test_kill_9_then_rerun_resumes_and_matches_an_uninterrupted_run(training_faults, name, device, rtol, acc_tol):
    found = scenario(training_faults, name)
    after_kill, rerun, mlp = found["after_kill"], found["rerun"], f"mlp_{device}"
    assert after_kill["outputs"] == [] and after_kill["temp_files"] == []
    done = len(after_kill["checkpoint_history"])
    assert done == KILL_AFTER  # killed while held after that epoch's checkpoint
    assert found["unlock"].returncode == 0, output(found["unlock"])[-2000:]
    assert rerun.returncode == 0, output(rerun)[-3000:]
    workdir = found["dir"]
    log = (workdir / f"logs/train/{mlp}.log").read_text()
    assert f"after epoch {done} of {RESUME_EPOCHS}" in log
    metrics = json.loads((workdir / f"results/metrics/{mlp}.json").read_text())
    assert metrics["resumed_from_epoch"] == done and metrics["epochs"] == RESUME_EPOCHS
    assert metrics["device"] == device
    assert not any((workdir / "results/checkpoints").iterdir()) and not temp_files(workdir / "results")

    reference = scenario(training_faults, "lock")["dir"]  # the uninterrupted run, same settings
    ours, theirs = history_frame(workdir, device), history_frame(reference)
    accuracy = "valid_accuracy"
    pd.testing.assert_frame_equal(ours.drop(columns=accuracy), theirs.drop(columns=accuracy), rtol=rtol)
    np.testing.assert_allclose(ours[accuracy], theirs[accuracy], rtol=rtol, atol=acc_tol)
    with np.load(workdir / f"results/models/{mlp}.npz") as ours, np.load(reference / MLP_OUTPUTS[0]) as ref:
        assert sorted(ours.files) == sorted(ref.files)
        for key in ref.files:
            np.testing.assert_allclose(ours[key], ref[key], rtol=rtol, atol=10 * rtol, err_msg=key)
    reference_metrics = json.loads((reference / TRAIN_TARGET).read_text())
    assert metrics["test_accuracy"] == pytest.approx(reference_metrics["test_accuracy"], abs=acc_tol)


# -- ENOSPC injected into aenet's writers -------------------------------------------------------------


class FullDisk:
    """A file that takes ``room`` more bytes, then fails like a full disk."""

    def __init__(self, file, room):
        self._file, self.room = file, room

    def write(self, data):
        size = memoryview(data).nbytes if not isinstance(data, str) else len(data.encode())
        if size > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= size
        return self._file.write(data)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._file.close()


@pytest.fixture
def disk_room(monkeypatch):
    """``disk_room(n)``: from now on each file aenet.atomic opens takes n bytes, then ENOSPC."""

    def limit(room):
        def full_open(path, mode="r", **kwargs):
            return FullDisk(builtins.open(path, mode, **kwargs), room)

        monkeypatch.setattr(aenet.atomic, "open", full_open, raising=False)

    return limit


WRITERS = {
    "npy": lambda path: save_npy_atomic(path, np.arange(10_000, dtype=np.float32)),
    "json": lambda path: write_json_atomic(path, {"values": list(range(5_000))}),
    "text": lambda path: write_text_atomic(path, "x" * 20_000),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_enospc_leaves_the_old_file_and_no_temporary_one(tmp_path, disk_room, writer):
    path = tmp_path / f"out.{writer}"
    path.write_bytes(b"the previous, complete version")
    disk_room(1000)
    with pytest.raises(OSError) as raised:
        WRITERS[writer](path)
    assert raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == b"the previous, complete version"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


MLP = {"hidden": [16], "epochs": 4, "shuffle": True}


@pytest.fixture(scope="module")
def uninterrupted(arrays_dir):
    devices.configure("cpu")
    return run_experiment(arrays_dir, "mlp", "cpu", MLP, seed=7, verbose=0)


# numpy's savez leaves its ZipFile to the garbage collector when a write fails.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_enospc_in_write_outputs_leaves_no_partial_file(uninterrupted, tmp_path, disk_room):
    paths = {name: tmp_path / name for name in ("params.npz", "history.csv", "metrics.json")}
    disk_room(50_000)  # the parameters (about 66 kB) do not fit
    with pytest.raises(OSError, match="No space left on device"):
        write_outputs(uninterrupted, **{k.split(".")[0]: v for k, v in paths.items()})
    assert list(tmp_path.iterdir()) == []


class _Interrupt(Exception):
    pass


def run_until(arrays_dir, checkpoint, epochs, monkeypatch):
    """run_experiment with a checkpoint, interrupted (like a kill) right after epoch ``epochs``'s checkpoint."""
    real = Checkpointer.__call__

    def save_then_maybe_stop(self, net, history):
        real(self, net, history)
        if len(history) == epochs:
            raise _Interrupt

    with monkeypatch.context() as patch:
        patch.setattr(Checkpointer, "__call__", save_then_maybe_stop)
        with pytest.raises(_Interrupt):
            run_experiment(arrays_dir, "mlp", "cpu", MLP, seed=7, verbose=0, checkpoint=checkpoint)


@pytest.fixture(scope="module")
def after_two_epochs(arrays_dir, tmp_path_factory):
    """The checkpoint a run (MLP, seed 7) left when it was stopped right after epoch 2."""
    path = tmp_path_factory.mktemp("checkpoint") / "mlp.npz"
    with pytest.MonkeyPatch.context() as patch:
        run_until(arrays_dir, path, 2, patch)
    return path


@pytest.fixture
def checkpoint(after_two_epochs, tmp_path):
    """A copy of :func:`after_two_epochs` in a folder of its own."""
    path = tmp_path / "checkpoints" / "mlp.npz"
    path.parent.mkdir()
    return Path(shutil.copy(after_two_epochs, path))


def assert_same_training(result, reference):
    assert len(result.history) == len(reference.history)
    for ours, ref in zip(result.history, reference.history):
        for key in ("epoch", "train_loss", "valid_loss", "valid_accuracy"):
            assert ours[key] == pytest.approx(ref[key], rel=1e-5), (ours["epoch"], key)
    ref_params = reference.net.get_all_params_values()
    for name, values in result.net.get_all_params_values().items():
        for ours, ref in zip(values, ref_params[name]):
            np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6, err_msg=name)


def test_resume_from_a_checkpoint_matches_the_uninterrupted_run(arrays_dir, uninterrupted, checkpoint):
    assert len(read_checkpoint_history(checkpoint)) == 2
    resumed = run_experiment(arrays_dir, "mlp", "cpu", MLP, seed=7, verbose=0, checkpoint=checkpoint)
    assert resumed.metrics["resumed_from_epoch"] == 2
    assert_same_training(resumed, uninterrupted)
    assert resumed.metrics["test_accuracy"] == uninterrupted.metrics["test_accuracy"]
    remove_checkpoint(checkpoint)
    assert list(checkpoint.parent.iterdir()) == []


def test_resume_needs_the_velocities(arrays_dir, uninterrupted, checkpoint, capsys):
    """Zeroed velocities change the end result; a checkpoint without them is not resumed."""
    with np.load(checkpoint) as data:
        arrays = {key: data[key] for key in data.files}
    velocities = [key for key in arrays if key.startswith("update/")]
    assert len(velocities) == 4 and all(np.abs(arrays[key]).max() > 0 for key in velocities)

    np.savez(checkpoint, **{**arrays, **{key: np.zeros_like(arrays[key]) for key in velocities}})
    zeroed = run_experiment(arrays_dir, "mlp", "cpu", MLP, seed=7, verbose=0, checkpoint=checkpoint)
    assert zeroed.metrics["resumed_from_epoch"] == 2
    ours, ref = (r.net.get_all_params_values()["output"][0] for r in (zeroed, uninterrupted))
    assert not np.allclose(ours, ref, rtol=1e-5, atol=1e-6)

    np.savez(checkpoint, **{key: value for key, value in arrays.items() if key not in velocities})
    fresh = run_experiment(arrays_dir, "mlp", "cpu", MLP, seed=7, verbose=0, checkpoint=checkpoint)
    assert fresh.metrics["resumed_from_epoch"] == 0
    assert "does not fit this net; training from epoch 1" in capsys.readouterr().out
    assert_same_training(fresh, uninterrupted)


def test_checkpoint_of_other_settings_or_data_is_not_resumed(arrays_dir, checkpoint, capsys):
    other = run_experiment(arrays_dir, "mlp", "cpu", {**MLP, "learning_rate": 0.02}, seed=7, verbose=0,
                           checkpoint=checkpoint)  # fmt: skip
    assert other.metrics["resumed_from_epoch"] == 0
    assert "is from other settings or data; training from epoch 1" in capsys.readouterr().out


def test_unreadable_checkpoint_starts_over(arrays_dir, tmp_path, capsys):
    checkpoint = tmp_path / "mlp.npz"
    checkpoint.write_bytes(b"not a zip file")
    (tmp_path / ".mlp.npz.tmp-123-abcdef").write_bytes(b"left by a killed writer")
    result = run_experiment(arrays_dir, "mlp", "cpu", {**MLP, "epochs": 1}, seed=7, verbose=0, checkpoint=checkpoint)
    assert result.metrics["resumed_from_epoch"] == 0
    assert "is unreadable" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.npz"]  # the new checkpoint only


def test_enospc_while_checkpointing_keeps_the_previous_checkpoint(arrays_dir, checkpoint, disk_room):
    before = checkpoint.read_bytes()
    disk_room(10_000)  # the checkpoint of epoch 3 does not fit
    with pytest.raises(OSError, match="No space left on device"):
        run_experiment(arrays_dir, "mlp", "cpu", MLP, seed=7, verbose=0, checkpoint=checkpoint)
    assert checkpoint.read_bytes() == before
    assert [p.name for p in checkpoint.parent.iterdir()] == ["mlp.npz"]


def test_nonfinite_validation_loss_names_the_epoch():
    history = [
        {"epoch": 1, "train_loss": 2.0, "valid_loss": 1.9},
        {"epoch": 2, "train_loss": 3.0, "valid_loss": float("inf")},
    ]
    stop_on_nonfinite_loss(None, history[:1])
    with pytest.raises(FloatingPointError, match=r"^validation loss is inf at epoch 2; try a lower learning rate"):
        stop_on_nonfinite_loss(None, history)


def test_nan_loss_keeps_the_checkpoint_of_the_last_finite_epoch(arrays_dir, tmp_path, monkeypatch):
    """The weights turn to nan after epoch 2's checkpoint: epoch 3 stops training, the checkpoint keeps epoch 2."""
    checkpoint, real = tmp_path / "mlp.npz", Checkpointer.__call__

    def save_then_poison(self, net, history):
        real(self, net, history)
        if len(history) == 2:
            weights = net.get_all_params()[0]
            weights.set_value(np.full_like(weights.get_value(), np.nan))

    monkeypatch.setattr(Checkpointer, "__call__", save_then_poison)
    with pytest.raises(FloatingPointError, match=r"^training loss is nan at epoch 3\b"):
        run_experiment(arrays_dir, "mlp", "cpu", MLP, seed=7, verbose=0, checkpoint=checkpoint)
    history = read_checkpoint_history(checkpoint)
    assert [row["epoch"] for row in history] == [1, 2]
    assert all(np.isfinite([row["train_loss"], row["valid_loss"]]).all() for row in history)
    with np.load(checkpoint) as saved:
        params = [saved[key] for key in saved.files if key.startswith("param/")]
    assert params and all(np.isfinite(value).all() for value in params)


# -- NeuralNet.get_update_state / set_update_state ---------------------------------------------------


def test_update_state_round_trip_and_checks(uninterrupted):
    net = uninterrupted.net
    state = net.get_update_state()
    params = net.get_all_params(trainable=True)
    assert [v.shape for v in state] == [p.get_value().shape for p in params]  # one velocity per parameter
    assert all(v.dtype == np.float32 for v in state) and any(np.abs(v).max() > 0 for v in state)
    net.set_update_state([np.zeros_like(v) for v in state])
    assert all(not v.any() for v in net.get_update_state())
    net.set_update_state(state)
    for ours, saved in zip(net.get_update_state(), state):
        np.testing.assert_array_equal(ours, saved)
    with pytest.raises(ValueError, match=r"has 4 state variables, got 3 values"):
        net.set_update_state(state[:3])
    with pytest.raises(ValueError, match=r"update state variable 0 has shape \(1024, 16\), the value has \(3,\)"):
        net.set_update_state([np.zeros(3)] + state[1:])


def test_save_checkpoint_is_atomic_and_complete(uninterrupted, tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", uninterrupted.net, "f" * 64)
    with np.load(path, allow_pickle=False) as data:
        assert str(data["fingerprint"]) == "f" * 64
        assert {"param/hidden:0", "param/output:1", "update/0", "update/3", "rng/keys", "history"} <= set(data.files)
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]
