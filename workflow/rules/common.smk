# Configuration checks and the helper functions every rule uses.
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA = "../schemas/config.schema.yaml"


def _schema_types(schema, defs):
    """The schema at a node with its local $ref resolved, and its allowed types."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        base, _ = _schema_types(defs[ref.rsplit("/", 1)[1]], defs)
        schema = {**base, **{k: v for k, v in schema.items() if k != "$ref"}}
    types = schema.get("type", [])
    return schema, [types] if isinstance(types, str) else types


def _scalar(text, types):
    """Turn one command-line string into the first schema type it parses as."""
    for kind in types:
        if kind == "null" and text in ("null", "None", "~"):
            return None
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "integer":
            try:
                return int(text)
            except ValueError:
                pass
        if kind == "number":
            try:
                return float(text)
            except ValueError:
                pass
    return text


def coerce_cli_strings(value, schema, defs):
    """Give strings from ``--config`` the types the schema expects.

    Snakemake parses nested ``--config`` values (``mlp={epochs: 5}``) with
    YAML's base loader, so every leaf arrives as a string; a comma-separated
    string stands for a list (``models=mlp,cnn``).  Values that do not parse
    stay strings, for the schema to reject with its own message.
    """
    schema, types = _schema_types(schema, defs)
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key in value:
                value[key] = coerce_cli_strings(value[key], sub, defs)
        return value
    if "array" in types and isinstance(value, str):
        value = [item.strip() for item in value.split(",")]
    if isinstance(value, list) and "items" in schema:
        return [coerce_cli_strings(item, schema["items"], defs) for item in value]
    if isinstance(value, str) and "string" not in types:
        return _scalar(value, types)
    if isinstance(value, str) and "null" in types and value == "null":
        return None
    return value


def check_config(config):
    """Checks the schema cannot express, failing at parse time like it."""
    if not config["data_sha256"] and not config["data_md5"]:
        raise ValueError(
            "config: data_sha256 and data_md5 are both null; set one of them "
            "(the download is kept only when its checksum matches)"
        )
    side = 32  # conv stages without padding, then max-pooling without the border
    for i, stage in enumerate(config["cnn"]["conv"], 1):
        side = (side - stage["filter_size"] + 1) // stage["pool_size"]
        if side < 1:
            raise ValueError(
                f"config: cnn conv stage {i} ({stage['filter_size']}x{stage['filter_size']} "
                f"filters, {stage['pool_size']}x{stage['pool_size']} pool) leaves no pixels "
                "of the 32x32 input"
            )


with open(workflow.current_basedir.join(SCHEMA).get_path_or_uri(secret_free=True)) as f:
    _schema = yaml.safe_load(f)
coerce_cli_strings(config, _schema, _schema.get("$defs", {}))
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
    return {k: v for k, v in config[wildcards.model].items() if k not in ("mem_mb", "runtime")}


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
