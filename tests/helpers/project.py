"""The repository as tests use it: its root, a copy of the workflow, and one way to run snakemake."""
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow")
RUN_SECONDS = 420  # per snakemake run: a small workflow takes under a minute even on a busy machine


def copy_project(dest):
    """The workflow's files (not results, logs or .snakemake) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, dest / name)
    return dest


def run_snakemake(workdir, *args, env=None, prefix=(), seconds=RUN_SECONDS):
    """The venv's snakemake in ``workdir`` under timeout(1); the CompletedProcess (text), with ``.workdir``.

    timeout(1) sends TERM, on which snakemake stops (and cancels its cluster
    jobs), then KILL 20 s later.  ``prefix`` is a command that runs the rest.
    """
    result = subprocess.run(
        [*prefix, "timeout", "-k", "20", str(seconds), str(SNAKEMAKE), *map(str, args)],
        cwd=workdir, env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=seconds + 60,
    )  # fmt: skip
    result.workdir = Path(workdir)
    return result


def output(result):
    """Everything a finished process printed."""
    return result.stdout + result.stderr


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def job_counts(text):
    """``{rule: count}`` from the "Job stats" table of a dry run."""
    counts, in_table = {}, False
    for line in text.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table and len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
        elif in_table and counts and not line.strip():
            break
    return counts
