"""The training jobs a configuration asks for: repeats over seeds and sweeps.

One training job trains one model on one device with one combination of
settings.  Its outputs are named ``{model}_{device}{tag}``: the tag is empty
for the configured settings, so the default run keeps its paths, and
otherwise lists what differs, in this order:

=========  ==================================================  ==============
part       what                                                example
=========  ==================================================  ==============
``_r<i>``  repeat *i* of ``repeats`` (1-based), seed + i - 1   ``_r2``
``_b<n>``  batch size from ``sweep`` (``batch_size``)          ``_b512``
``_t<n>``  threads from ``sweep`` (cpu and jax-cpu only)       ``_t1``
``_lr<x>`` learning rate from ``sweep`` (``learning_rate``)    ``_lr0.05``
=========  ==================================================  ==============

>>> tag(Run("mlp", "cpu", repeat=2, batch_size=512))
'_r2_b512'
>>> parse_tag("_r2_b512")
{'repeat': 2, 'batch_size': 512}
"""
import re
from dataclasses import dataclass

CPU_DEVICES = ("cpu", "jax-cpu")  # devices whose thread count a sweep may vary
SWEPT = ("batch_size", "threads", "learning_rate")
LARGE_STUDY = 50  # training jobs above which confirm_large must be set
TAG_PATTERN = r"(_(r|b|t|lr)[0-9][0-9.e+-]*)*"  # the snakemake wildcard constraint of a tag
_PARTS = (("repeat", "r", int), ("batch_size", "b", int), ("threads", "t", int), ("learning_rate", "lr", float))


@dataclass(frozen=True)
class Run:
    """One training job: a model on a device, and the settings that differ from the config's."""

    model: str
    device: str
    repeat: int = None
    batch_size: int = None
    threads: int = None
    learning_rate: float = None


def _number(value):
    """``value`` as a tag writes it: 512, 0.05, 1e-05."""
    return str(value) if isinstance(value, int) else format(value, "g")


def tag(run):
    """The file-name suffix of ``run`` ('' for the configured settings)."""
    return "".join(f"_{short}{_number(getattr(run, name))}" for name, short, _ in _PARTS
                   if getattr(run, name) is not None)  # fmt: skip


def parse_tag(text):
    """The settings a tag names, as a dict (empty for ''); ``ValueError`` for a malformed tag."""
    settings = {}
    for part in filter(None, text.split("_")):
        match = re.fullmatch(r"(lr|r|b|t)([0-9][0-9.e+-]*)", part)
        if not match:
            raise ValueError(f"run tag {text!r}: cannot read {part!r}")
        name, _, kind = next(p for p in _PARTS if p[1] == match.group(1))
        settings[name] = kind(match.group(2))
    return settings


def sweep_values(config, model, key):
    """The values ``sweep`` lists for ``key`` and ``model`` (the model's own list first), or None."""
    sweep = config.get("sweep") or {}
    per_model = (sweep.get(model) or {}).get(key)
    return per_model if per_model is not None else sweep.get(key)


def _axis(values, applies=True):
    """The values one setting takes: the config's own (None) unless swept."""
    return list(dict.fromkeys(values)) if values and applies else [None]


def plan(config, models, devices):
    """Every :class:`Run` the config asks for, model by model, device by device."""
    repeats = config.get("repeats", 1)
    runs = []
    for model in models:
        for device in devices:
            axes = (
                _axis(range(1, repeats + 1), repeats > 1),
                _axis(sweep_values(config, model, "batch_size")),
                _axis(sweep_values(config, model, "threads"), device in CPU_DEVICES),
                _axis(sweep_values(config, model, "learning_rate")),
            )
            runs += [Run(model, device, *combo) for combo in _product(axes)]
    return runs


def _product(axes):
    combos = [()]
    for values in axes:
        combos = [combo + (value,) for combo in combos for value in values]
    return combos


def settings(config, model, run_tag):
    """``(hyperparameters, seed, threads)`` of the job ``run_tag`` names.

    Hyperparameters are the model's config section with the swept values put
    in; ``threads`` is None where the tag names none (the job takes the
    configured threads).  Repeat *i* takes seed ``seed + i - 1``.
    """
    chosen = parse_tag(run_tag)
    hyperparameters = dict(config[model])
    for key in ("batch_size", "learning_rate"):
        if key in chosen:
            hyperparameters[key] = chosen[key]
    seed = config["seed"] + chosen.get("repeat", 1) - 1
    return hyperparameters, seed, chosen.get("threads")


def check_size(runs, config, cores=None):
    """Refuse a study over :data:`LARGE_STUDY` jobs without ``confirm_large``, and
    swept thread counts above ``cores``; ``ValueError`` in one line."""
    threads = sorted({run.threads for run in runs if run.threads is not None})
    if cores is not None and threads and threads[-1] > cores:
        raise ValueError(
            f"config: sweep threads {threads[-1]} is more than the {cores} cores given "
            f"(--cores); snakemake would run it on {cores}"
        )
    if len(runs) > LARGE_STUDY and not config.get("confirm_large"):
        raise ValueError(
            f"config: {len(runs)} training jobs (over {LARGE_STUDY}); estimate their time first "
            "(train one with repeats: 1 and no sweep, see benchmarks/train/*.tsv, and multiply), "
            "then run with --config confirm_large=true"
        )


def describe(runs):
    """One line: how many training jobs, and how many of them train each model on each device."""
    per_pair = {}
    for run in runs:
        per_pair[(run.model, run.device)] = per_pair.get((run.model, run.device), 0) + 1
    parts = ", ".join(f"{model} on {device}: {count}" for (model, device), count in per_pair.items())
    return f"{len(runs)} training jobs ({parts})"
