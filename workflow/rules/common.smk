# Configuration checks and the functions every rule uses.
import sys
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA = "../schemas/config.schema.yaml"
_here = Path(workflow.current_basedir.get_path_or_uri(secret_free=True))
sys.path.append(str(_here.parent))  # cifarbench beside the rules, where it is not installed
from cifarbench.config import RESOURCE_KEYS, check_config, coerce_cli_strings
from cifarbench import study

coerce_cli_strings(config, yaml.safe_load((_here / SCHEMA).read_text()))
validate(config, schema=SCHEMA)
check_config(config)

DEVICES = list(dict.fromkeys(d.strip() for d in config["device"].split(",")))
MODELS = list(config["models"])
RUNS = study.plan(config, MODELS, DEVICES)
print(f"config: {study.describe(RUNS)}", file=sys.stderr)


def given_cores():
    """--cores, or None where snakemake was given none (a cluster executor, --report)."""
    try:
        return workflow.cores
    except WorkflowError:
        return None


study.check_size(RUNS, config, given_cores())


wildcard_constraints:
    model="mlp|cnn",
    device="cpu|gpu|jax-cpu",
    run=study.TAG_PATTERN,


def conda_env(wildcards):
    """The pinned environment of a job: the CUDA one for gpu jobs."""
    device = getattr(wildcards, "device", "cpu")
    return "../envs/gpu.yaml" if device == "gpu" else "../envs/cpu.yaml"


def gpu_count(wildcards):
    """GPUs a job holds: one for jobs on the gpu device."""
    return 1 if wildcards.device == "gpu" else 0


def model_config(wildcards):
    """The hyperparameters of the run being trained, swept values in (not its job
    resources, so changing those does not retrain it)."""
    hyperparameters, _, _ = study.settings(config, wildcards.model, wildcards.run)
    return {k: v for k, v in hyperparameters.items() if k not in RESOURCE_KEYS}


def run_seed(wildcards):
    """The seed of the run: the config's, plus i - 1 for repeat i."""
    return study.settings(config, wildcards.model, wildcards.run)[1]


def run_threads(wildcards):
    """Threads of a training job: those its sweep names, else :func:`train_threads`."""
    swept = study.settings(config, wildcards.model, wildcards.run)[2]
    return train_threads() if swept is None else swept


def train_threads():
    """Threads of a training job: config threads, or every core given to snakemake (--cores).

    A cluster executor started without --cores has no core count: that run
    must set threads.  Commands that run no job (--report) get 1.
    """
    if config["threads"] is not None:
        return config["threads"]
    cores = given_cores()
    if cores is not None:
        return cores
    if workflow.executor_plugin is None:
        return 1
    raise ValueError(
            "config: threads is null, so each training job takes every core given to "
            "snakemake, but no --cores was given; set --cores N or --config threads=N"
        )


def train_mem_mb(wildcards):
    return config[wildcards.model]["mem_mb"]


def train_runtime(wildcards):
    return config[wildcards.model]["runtime"]


def run_files(pattern):
    """``pattern`` (with {name}: model, device and tag) for every training run of the config."""
    return [pattern.format(name=f"{run.model}_{run.device}{study.tag(run)}") for run in RUNS]


def all_metrics():
    return run_files("results/metrics/{name}.json")


def all_histories():
    return run_files("results/history/{name}.csv")


def scaling_outputs():
    """results/scaling.png and .csv where the config sweeps batch sizes or threads."""
    swept = any(run.batch_size is not None or run.threads is not None for run in RUNS)
    return ["results/scaling.png", "results/scaling.csv"] if swept else []
