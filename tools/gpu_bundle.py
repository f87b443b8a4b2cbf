"""Download the wheels an offline GPU host lacks: ``python tools/gpu_bundle.py PYVER DEST HOST_LOCK``.

The roots are the dependencies of aenet (pyproject.toml) and of the
workflow's cifarbench (workflow/pyproject.toml), both built as wheels by
tools/gpu-bundle.sh; each wheel's ``Requires-Dist`` (markers evaluated for Linux
x86_64 CPython PYVER) adds more, down to the packages HOST_LOCK says the host
has.  Versions come from requirements.lock; a dependency in neither
requirements.lock nor HOST_LOCK is an error.
Wheels come from ``pip download --no-deps`` for PYVER; a package published
only as source (connection_pool) is built here and must be pure Python.
"""
import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
except ImportError:  # pip always carries a copy
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")


def read_pins(path):
    """``{canonical name: "Name==version"}`` of a requirements file's ``==`` lines."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = str(req)
    return pins


def marker_env(pyver):
    return {
        "python_version": pyver, "python_full_version": f"{pyver}.0", "implementation_name": "cpython",
        "platform_python_implementation": "CPython", "os_name": "posix", "sys_platform": "linux",
        "platform_system": "Linux", "platform_machine": "x86_64", "platform_release": "",
        "platform_version": "", "implementation_version": f"{pyver}.0", "extra": "",
    }  # fmt: skip


def wheel_requires(wheel, env):
    """Canonical names of a wheel's unconditional dependencies on the target."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        headers = HeaderParser().parsestr(zf.read(meta).decode())
    reqs = [Requirement(r) for r in headers.get_all("Requires-Dist") or []]
    return {canonicalize_name(r.name) for r in reqs if r.marker is None or r.marker.evaluate(env)}


def wheel_name(path):
    return canonicalize_name(path.name.split("-", 1)[0])


def download(pins, pyver, dest):
    """Wheels for the target; a release with only a source archive is built into a wheel
    here, which must then be pure Python (tagged ``-none-any``)."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "download", "--quiet", "--no-deps", "--prefer-binary", "--python-version", pyver,
                    *platforms, "-d", str(dest), *pins], check=True)
    for sdist in [*Path(dest).glob("*.tar.gz"), *Path(dest).glob("*.zip")]:
        subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "-w", str(dest), str(sdist)], check=True)
        sdist.unlink()
    for wheel in Path(dest).glob("*.whl"):
        tags = wheel.name[:-4].split("-")[-3:]
        if tags[1:] != ["none", "any"] and not any(p in tags[2] for p in PLATFORMS):
            sys.exit(f"gpu-bundle: {wheel.name} is not for Linux x86_64 Python {pyver}")


def main(pyver, dest, host_lock):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requires_python = project["project"].get("requires-python", "")
    if not SpecifierSet(requires_python).contains(f"{pyver}.0"):
        sys.exit(f"gpu-bundle: pyproject.toml's requires-python {requires_python!r} excludes Python {pyver}")
    pins = read_pins(ROOT / "requirements.lock")
    host = set(read_pins(host_lock))
    workflow = tomllib.loads((ROOT / "workflow" / "pyproject.toml").read_text())
    roots = project["project"]["dependencies"] + workflow["project"]["dependencies"]
    ours = {canonicalize_name(p["project"]["name"]) for p in (project, workflow)}  # built by gpu-bundle.sh
    wanted = {canonicalize_name(Requirement(r).name) for r in roots} - host - ours
    env, done, needed_by = marker_env(pyver), set(), {}
    while wanted:
        missing = sorted(n for n in wanted if n not in pins)
        if missing:
            name = missing[0]
            sys.exit(f"gpu-bundle: {name} (needed by {needed_by.get(name, 'pyproject.toml')}) is in neither "
                     f"requirements.lock nor {host_lock}")
        download([pins[n] for n in sorted(wanted)], pyver, dest)
        done |= wanted
        wanted = set()
        for wheel in Path(dest).glob("*.whl"):
            for dep in wheel_requires(wheel, env) - host - done:
                needed_by.setdefault(dep, wheel_name(wheel))
                wanted.add(dep)
    names = {wheel_name(w) for w in Path(dest).glob("*.whl")}
    if names != done:
        sys.exit(f"gpu-bundle: downloaded wheels {sorted(names ^ done)} do not match the pins asked for")
    print("\n".join(pins[n] for n in sorted(done)))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[0])
    main(*sys.argv[1:])
