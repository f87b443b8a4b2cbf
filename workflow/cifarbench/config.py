"""The workflow's configuration: defaults and rules from its schema, plus the checks it cannot express.

``workflow/schemas/config.schema.yaml`` is the one source of every default
and every range; :func:`validated` fills a config in from it and checks it,
for the workflow and for :mod:`cifarbench.models` and :mod:`cifarbench.bench`
alike.  :func:`check_config` adds the checks across keys (a checksum is
given; the conv stages leave pixels), and :func:`coerce_cli_strings` gives
``--config`` strings the types the schema expects.
"""
import copy
import functools
from pathlib import Path

# workflow/schemas/ in a checkout; the wheel carries a copy inside the package.
_HERE = Path(__file__).resolve().parent
SCHEMA = next((p for p in (_HERE.parent / "schemas" / "config.schema.yaml", _HERE / "config.schema.yaml")
               if p.exists()), _HERE.parent / "schemas" / "config.schema.yaml")
IMAGE_SIDE = 32  # CIFAR-10 images are 32x32
RESOURCE_KEYS = ("mem_mb", "runtime")  # keys of the model sections that size the job, not the net


def _one_line_error(error):
    """``key.sub: message`` of a jsonschema error (the first line of its message)."""
    path = ".".join(str(part) for part in error.absolute_path) or "config"
    return f"{path}: {str(error.message).splitlines()[0]}"


def validated(config):
    """A copy of ``config`` with the schema's defaults filled in, checked against the schema.

    A value the schema rejects raises ``ValueError`` with one line naming the
    key and the value, e.g. ``mlp.epochs: 0 is less than or equal to the
    minimum of 0``.
    """
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = copy.deepcopy(config)
    try:
        validate(config, str(SCHEMA), set_default=True)
    except WorkflowError as error:
        cause = error.__context__  # snakemake raises it while handling jsonschema's error
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        raise ValueError(_one_line_error(cause)) from None
    return config


@functools.cache
def _defaults():
    return validated({})


def defaults():
    """Every default of the schema, as a config dict (a fresh copy)."""
    return copy.deepcopy(_defaults())


def conv_sides(stages, side=IMAGE_SIDE):
    """The image side after each conv + max-pool stage of ``stages`` (cnn ``conv`` entries).

    Convolutions have 'valid' borders and pooling drops a partial border, as
    in the post.  A stage that leaves no pixels raises ``ValueError`` naming it.
    """
    sides = []
    for i, stage in enumerate(stages, 1):
        size, pool = stage["filter_size"], stage["pool_size"]
        side = (side - size + 1) // pool
        if side < 1:
            raise ValueError(
                f"cnn: conv stage {i} ({size}x{size} filters, {pool}x{pool} pool) leaves no pixels "
                f"of the {IMAGE_SIDE}x{IMAGE_SIDE} input"
            )
        sides.append(side)
    return sides


def check_config(config):
    """The checks across keys that the schema cannot express; ``ValueError`` in one line."""
    if not config["data_sha256"] and not config["data_md5"]:
        raise ValueError(
            "config: data_sha256 and data_md5 are both null; set one of them "
            "(the download is kept only when its checksum matches)"
        )
    try:
        conv_sides(config["cnn"]["conv"])
    except ValueError as error:
        raise ValueError(f"config: {error}") from None


def _resolved(schema, defs):
    """The schema at a node with its local ``$ref`` merged in, and its allowed types."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        base, _ = _resolved(defs[ref.rsplit("/", 1)[1]], defs)
        schema = {**base, **{k: v for k, v in schema.items() if k != "$ref"}}
    types = schema.get("type", [])
    return schema, [types] if isinstance(types, str) else types


def _scalar(text, types):
    """One command-line string as the first schema type it parses as (else the string)."""
    for kind in types:
        if kind == "null" and text in ("null", "None", "~"):
            return None
        if kind == "boolean" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        for name, parse in (("integer", int), ("number", float)):
            if kind == name:
                try:
                    return parse(text)
                except ValueError:
                    pass
    return text


# By hand: snakemake leaves nested --config values as strings, and jsonschema does not convert types.
def coerce_cli_strings(value, schema, defs=None):
    """Give strings from ``--config`` the types the schema expects; return ``value``.

    Snakemake parses nested ``--config`` values (``mlp={epochs: 5}``) with
    YAML's base loader, so every leaf arrives as a string, and jsonschema
    checks types without converting them; a comma-separated string stands
    for a list (``models=mlp,cnn``).  Values that do not parse stay strings,
    for the schema to reject with its own message.
    """
    defs = schema.get("$defs", {}) if defs is None else defs
    schema, types = _resolved(schema, defs)
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
