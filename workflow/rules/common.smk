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

coerce_cli_strings(config, yaml.safe_load((_here / SCHEMA).read_text()))
validate(config, schema=SCHEMA)
check_config(config)

DEVICES = list(dict.fromkeys(d.strip() for d in config["device"].split(",")))
MODELS = list(config["models"])


wildcard_constraints:
    model="mlp|cnn",
    device="cpu|gpu|jax-cpu",


def conda_env(wildcards):
    """The pinned environment of a job: the CUDA one for gpu jobs."""
    device = getattr(wildcards, "device", "cpu")
    return "../envs/gpu.yaml" if device == "gpu" else "../envs/cpu.yaml"


def gpu_count(wildcards):
    """GPUs a job holds: one for jobs on the gpu device."""
    return 1 if wildcards.device == "gpu" else 0


def model_config(wildcards):
    """The hyperparameters of the model being trained (not its job resources, so
    changing those does not retrain it)."""
    return {k: v for k, v in config[wildcards.model].items() if k not in RESOURCE_KEYS}


def train_threads():
    """Threads of a training job: config threads, or every core given to snakemake (--cores).

    A cluster executor started without --cores has no core count: that run
    must set threads.  Commands that run no job (--report) get 1.
    """
    if config["threads"] is not None:
        return config["threads"]
    try:
        return workflow.cores
    except WorkflowError:
        if workflow.executor_plugin is None:
            return 1
        raise ValueError(
            "config: threads is null, so each training job takes every core given to "
            "snakemake, but no --cores was given; set --cores N or --config threads=N"
        ) from None


def train_mem_mb(wildcards):
    return config[wildcards.model]["mem_mb"]


def train_runtime(wildcards):
    return config[wildcards.model]["runtime"]


def all_metrics():
    return expand("results/metrics/{model}_{device}.json", model=MODELS, device=DEVICES)


def all_histories():
    return expand("results/history/{model}_{device}.csv", model=MODELS, device=DEVICES)
