"""Helpers of tools/gpu-check.sh and tools/gpu-rehearsal.sh (numpy and pillow only, no aenet).

    python tools/gpu_check.py host HOST_REQUIREMENTS   the host has each package (versions printed)
    python tools/gpu_check.py versions                 python, packages, CUDA as seen here
    python tools/gpu_check.py verify OUTDIR DEVICE     OUTDIR holds a complete check of DEVICE
    python tools/gpu_check.py sample DST TRAIN TEST    a tiny JPEG tarball, TRAIN and TEST images per class
"""
import csv
import importlib
import importlib.metadata as metadata
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1] / "workflow"))  # cifarbench, where not installed
from cifarbench.data import LABEL_NAMES as CLASSES  # noqa: E402  (numpy only, no aenet)

# What aenet.device.used_device() starts with on each device (the hardware that computed)
# and what it holds (the backend; on gpu also the CUDA plugin: "(aesara JAX backend, jax-cuda13-plugin 0.11.2)").
USED_DEVICE = {"cpu": ("cpu: ", "(aesara C backend)"), "jax-cpu": ("cpu: ", "(aesara JAX backend)"),
               "gpu": (("gpu: ", "cuda: "), "(aesara JAX backend, ")}


class CheckError(Exception):
    """One line saying what is missing or wrong."""


def read_requirements(path):
    """``[(name, version or None)]`` of ``name`` / ``name==version`` lines."""
    found = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)\s*(?:==\s*(\S+))?", line)
            if not match:
                raise CheckError(f"{path}: cannot read the line {line!r} (expected name or name==version)")
            found.append(match.groups())
    return found


def _modules_of():
    """``{distribution name (lower case): [top-level modules]}`` of everything installed."""
    modules = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            modules.setdefault(dist.lower().replace("_", "-"), []).append(module)
    return modules


def check_host(requirements):
    """Each package of ``requirements`` installed and importable: yields ``name version`` lines."""
    modules = _modules_of()
    for name, wanted in read_requirements(requirements):
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise CheckError(f"the host lacks {name} ({requirements} lists {name}"
                             f"{'==' + wanted if wanted else ''}); install it there") from None
        for module in modules.get(name.lower().replace("_", "-"), []):
            if module.isidentifier() and not module.startswith("_"):
                try:
                    importlib.import_module(module)
                except Exception as error:
                    raise CheckError(f"{name} {version} is installed but `import {module}` fails: "
                                     f"{type(error).__name__}: {' '.join(str(error).split())[:300]}") from None
        note = f"  (the bundle was made for {wanted})" if wanted and wanted != version else ""
        yield f"{name} {version}{note}"


def versions():
    """Lines of ``name version`` for the interpreter, the numeric stack and the GPU."""
    lines = [f"python {sys.version.split()[0]} ({sys.executable})"]
    names = ["numpy", "scipy", "jax", "jaxlib", "torch", "aesara", "snakemake", "aenet", "scipy-openblas32"]
    names += sorted(d.metadata["Name"] for d in metadata.distributions()
                    if re.match(r"jax[-_]cuda", d.metadata["Name"] or ""))
    for name in names:
        try:
            lines.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} not installed")
    try:
        import torch

        cuda = torch.cuda.is_available()
        gpu = f", {torch.cuda.get_device_name(0)}" if cuda else ""
        lines.append(f"torch CUDA build {torch.version.cuda}, cuda available: {cuda}{gpu}")
    except ImportError:
        pass
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi"], capture_output=True, text=True, timeout=60)
        lines += ["", "$ nvidia-smi", (smi.stdout + smi.stderr).rstrip()]
    else:
        lines.append("nvidia-smi: not found")
    return lines


def check_used_device(where, device, used):
    start, backend = USED_DEVICE[device]
    if not (isinstance(used, str) and used.startswith(start) and backend in used):
        raise CheckError(f"{where}: used_device {used!r} is not {device}")


def verify(outdir, device):
    """OUTDIR has the summary rows, device and metrics files of cpu and ``device``, and the bench table."""
    out, devices = Path(outdir), ("cpu", device)
    for name in ("summary.csv", "summary.png", "bench.md", "versions.txt"):
        if not (out / name).is_file():
            raise CheckError(f"{out}: no {name}")
    for dev in devices:
        path = out / "device" / f"{dev}.json"
        if not path.is_file():
            raise CheckError(f"{out}: no device/{dev}.json")
        check_used_device(path, dev, json.loads(path.read_text()).get("used_device"))
    with open(out / "summary.csv", newline="") as f:
        rows = {(r["model"], r["device"]) for r in csv.DictReader(f)}
    models = sorted({model for model, _ in rows})
    for model in models:
        for dev in devices:
            if (model, dev) not in rows:
                raise CheckError(f"{out}/summary.csv: no row for {model} on {dev}")
            path = out / "metrics" / f"{model}_{dev}.json"
            if not path.is_file():
                raise CheckError(f"{out}: no metrics/{model}_{dev}.json")
            check_used_device(path, dev, json.loads(path.read_text()).get("used_device"))
    bench = (out / "bench.md").read_text().splitlines()
    if not any(re.match(r"\| (mlp|cnn) \|", line) for line in bench):
        raise CheckError(f"{out}/bench.md: no table rows")
    used = [line[len("- aenet on "):] for line in bench if line.startswith("- aenet on ")]
    check_used_device(f"{out}/bench.md", device, used[0] if used else None)
    return models


def write_jpeg_tarball(path, images, quality=95):
    """A .tar.gz of ``images``, ``[(member name, uint8 (32, 32, 3) array)]``, as JPEG files."""
    from PIL import Image

    with tarfile.open(path, "w:gz") as tar:
        for name, pixels in images:
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
            info = tarfile.TarInfo(name)
            info.size = buffer.tell()
            tar.addfile(info, io.BytesIO(buffer.getvalue()))
    return Path(path)


def sample_images(n_train, n_test, seed=0):
    """Learnable stand-ins in the JPEG tarball's layout: a colour and stripes per class, plus noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = np.arange(32)[:, None, None]
    images = []
    for split, n in (("train", n_train), ("test", n_test)):
        for label, name in enumerate(CLASSES):
            colour = np.array([25 * label, 250 - 25 * label, 120])
            for i in range(n):
                pixels = colour + 60 * np.sin(rows * (label + 1) / 5) + rng.normal(0, 20, (32, 32, 3))
                images.append((f"{split}/{name}/{i:04d}.jpg", np.clip(pixels, 0, 255).astype(np.uint8)))
    return images


def main(argv):
    commands = {"host": 1, "versions": 0, "verify": 2, "sample": 3}
    if not argv or commands.get(argv[0]) != len(argv) - 1:
        sys.exit(__doc__)
    command, args = argv[0], argv[1:]
    try:
        if command == "host":
            for line in check_host(*args):
                print(line, flush=True)
        elif command == "versions":
            print("\n".join(versions()))
        elif command == "verify":
            models = verify(*args)
            print(f"{args[0]}: {', '.join(models)} on cpu and {args[1]}, device and metrics files, bench table")
        else:
            write_jpeg_tarball(args[0], sample_images(int(args[1]), int(args[2])))
    except CheckError as error:
        sys.exit(f"gpu-check: {error}")


if __name__ == "__main__":
    main(sys.argv[1:])
