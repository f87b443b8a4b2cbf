"""The repository's shape: aenet is a library that knows nothing of the workflow, and no file is huge."""
import subprocess
import sys

import pytest

from helpers.project import ROOT

MAX_LINES = 500
WORKFLOW_ONLY = ("cifarbench", "pandas", "matplotlib", "snakemake")


def product_sources():
    return sorted([*ROOT.glob("aenet/**/*.py"), *ROOT.glob("aenet/**/*.c"), *ROOT.glob("workflow/**/*.py"),
                   *ROOT.glob("tools/*.py"), ROOT / "aenet_import_hook.py"])


@pytest.mark.parametrize("path", product_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_product_file_is_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_aenet_imports_nothing_of_the_workflow():
    code = ("import sys, aenet, aenet.lasagne, aenet.nolearn, aenet.jax, aenet.device\n"
            f"print([m for m in {WORKFLOW_ONLY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_aenet_source_holds_no_cifar_code():
    hits = [str(p.relative_to(ROOT)) for p in ROOT.glob("aenet/**/*.py") if "cifar" in p.read_text().lower()]
    assert hits == []


def test_the_workflow_stages_that_need_no_training_import_no_aesara():
    code = ("import sys, cifarbench.data, cifarbench.report\n"
            "print([m for m in ('aesara', 'aenet') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
