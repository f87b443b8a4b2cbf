"""``results/summary.html``: the summary as a readable table, with what was run.

Snakemake's report offers a CSV file only for download; this page shows the
same table, the configuration of the run (models, epochs, repeats, sweep),
and, for each device, the hardware and package versions its
``results/device/{device}.json`` recorded.
"""
import html
import json

import yaml

# The configuration keys that say what was trained (the data's location aside).
RUN_KEYS = ("device", "models", "seed", "repeats", "sweep", "threads", "mlp", "cnn")
HARDWARE_KEYS = ("used_device", "cpu_model", "physical_cores", "usable_cpus", "memory_mb", "nvidia_driver")


def device_rows(device_files):
    """A dict per device file: the device, what computed it, its hardware and its versions."""
    rows = []
    for path in device_files:
        with open(path) as f:
            info = json.load(f)
        hardware = info.get("hardware") or {}
        row = {"device": info.get("device"), "used_device": info.get("used_device")}
        row.update({key: hardware.get(key) for key in HARDWARE_KEYS[1:]})
        row["gpus"] = ", ".join(gpu.get("name", "?") for gpu in hardware.get("gpus") or []) or None
        row["versions"] = ", ".join(f"{name} {version}" for name, version in (info.get("versions") or {}).items())
        rows.append(row)
    return rows


def summary_html(table, config, device_files):
    """The page's HTML: the summary ``table`` (a DataFrame), ``config`` and the devices."""
    import pandas as pd

    run = {key: config[key] for key in RUN_KEYS if key in config}
    devices = pd.DataFrame(device_rows(device_files))
    parts = [
        "<h2>Summary</h2>",
        table.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0),
        "<h2>What was run</h2>",
        f"<pre>{html.escape(yaml.safe_dump(run, sort_keys=False))}</pre>",
        "<h2>Devices: hardware and versions</h2>",
        devices.to_html(index=False, na_rep="", border=0) if len(devices) else "<p>no device files</p>",
    ]
    style = "<style>table{border-collapse:collapse;font:13px sans-serif}td,th{padding:2px 8px;" \
            "border-bottom:1px solid #ddd;text-align:right}</style>"  # fmt: skip
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">{style}</head><body>\n' + "\n".join(parts) + \
        "\n</body></html>\n"  # fmt: skip


def write_summary_html(table, config, device_files, path):
    """Write :func:`summary_html` to ``path``, atomically."""
    from aenet.atomic import write_text_atomic

    return write_text_atomic(path, summary_html(table, config, device_files))
