"""The workflow's conda environments pin the same versions as the project's numpy 1 lock.

Conda's pip section cannot install aesara without its ``numpy<2`` requirement,
so the environments use the numpy 1 stack (``requirements-numpy1.lock``).
"""
import re

import pytest
import tomllib
import yaml

from helpers.project import ROOT

ENVS = ROOT / "workflow" / "envs"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(\[[A-Za-z0-9_,-]+\])?==([^\s;#]+)$")


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(name="requirements-numpy1.lock"):
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = PIN.match(line)
            assert match, f"{name}: not a pin: {line!r}"
            pins[canonical(match.group(1))] = match.group(3)
    return pins


def pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for group in project["optional-dependencies"].values():
        specs += group
    pins = {}
    for spec in specs:
        match = PIN.match(spec.strip())
        if match:
            pins[canonical(match.group(1))] = match.group(3)
    return pins, specs


def env(name):
    return yaml.safe_load((ENVS / f"{name}.yaml").read_text())


def pip_section(environment):
    for dep in environment["dependencies"]:
        if isinstance(dep, dict):
            return dep["pip"]
    raise AssertionError("no pip section")


@pytest.mark.parametrize("name", ["cpu", "gpu"])
def test_env_pins_equal_the_pip_pins(name):
    lock, (project, _) = lock_pins(), pyproject_pins()
    pinned = 0
    for line in pip_section(env(name)):
        if line.startswith("-e ") or line.startswith("-"):
            continue
        match = PIN.match(line)
        assert match, f"{name}.yaml: {line!r} is not pinned with =="
        package, version = canonical(match.group(1)), match.group(3)
        expected = lock.get(package) or project.get(package)
        assert expected is not None, f"{name}.yaml pins {package}, which the project does not pin"
        assert version == expected, f"{name}.yaml: {package}=={version}, the project pins {expected}"
        if package in lock and package in project:
            assert lock[package] == project[package]
        pinned += 1
    assert pinned >= 8


@pytest.mark.parametrize("name", ["cpu", "gpu"])
def test_env_pins_python_and_the_workflow_packages(name):
    environment = env(name)
    conda = [dep for dep in environment["dependencies"] if isinstance(dep, str)]
    assert "python=3.11" in conda
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+=[0-9][^=\s]*", dep) for dep in conda), conda
    packages = {canonical(PIN.match(line).group(1)) for line in pip_section(environment) if PIN.match(line)}
    assert {"aesara", "numpy", "scipy", "scipy-openblas32", "snakemake", "pandas", "matplotlib"} <= packages
    assert "-e ../.." in pip_section(environment), "the env must install aenet itself"
    assert (ENVS / "../..").resolve() == ROOT


def test_gpu_env_adds_jax_cuda12_within_the_cuda12_extra():
    from packaging.requirements import Requirement

    assert "jax[cuda12]==0.7.1" in pip_section(env("gpu"))
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (cuda12,) = [Requirement(spec) for spec in extras["cuda12"]]
    assert cuda12.name == "jax" and cuda12.extras == {"cuda12"}
    assert "0.7.1" in cuda12.specifier and lock_pins()["jax"] == "0.7.1"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-numpy1.lock"])
def test_extras_admit_each_locks_jax(lock):
    from packaging.requirements import Requirement

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    jax = lock_pins(lock)["jax"]
    assert jax in Requirement(extras["jax"][0]).specifier
    assert jax in Requirement(extras["cuda12"][0]).specifier
    assert lock_pins(lock)["setuptools"], "aesara imports setuptools at run time"


def test_every_rule_names_an_env():
    rules = (ROOT / "workflow" / "rules").glob("*.smk")
    for path in rules:
        text = path.read_text()
        n_rules = len(re.findall(r"^rule \w+:", text, re.M))
        assert text.count("    conda:\n") == n_rules, path.name
        assert "    run:" not in text, f"{path.name}: use script:, run: ignores conda:"
