"""aenet.compile.memory: glibc keeps freed blocks in the heap, so repeated steps do not page-fault."""
import json
import os
import platform
import subprocess
import sys

import pytest

import aenet.lasagne  # noqa: F401  (aenet's set-up applies the setting)
from aenet.compile import memory

CHILD = """
import json, resource
import numpy as np
import aenet.lasagne  # aenet's set-up, as in a training program
from aenet.compile import memory

def step():  # the allocation pattern of a CNN training step: several 1-7 MiB arrays, freed out of order
    arrays = [np.ones(n, dtype=np.float32) for n in (1843200, 460800, 800000, 1843200, 200000, 1843200)]
    del arrays[1], arrays[2]
    return arrays, [np.ones(n, dtype=np.float32) for n in (1843200, 295000)]

step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"faults_per_call": (after - before) / 20, "applied": memory.applied()}))
"""


def run_child(flag):
    """Page faults per step in a fresh process.  numpy's transparent huge pages are off
    there: whether the kernel has huge pages to give depends on the machine's load, and
    with them the fault count did too."""
    env = {**os.environ, "AENET_KEEP_FREED_MEMORY": flag, "NUMPY_MADVISE_HUGEPAGE": "0"}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


@glibc
def test_applied_by_the_set_up():
    assert memory.applied() == {
        "mmap_threshold": memory.MMAP_THRESHOLD,
        "trim_threshold": memory.TRIM_THRESHOLD,
        "ok": True,
    }


@glibc
def test_no_page_faults_per_call_and_opt_out():
    on = run_child("1")
    off = run_child("0")
    assert on["applied"]["ok"] and off["applied"] == {}
    # without the setting glibc returns the freed blocks to the kernel and faults them in
    # again: 3,802 pages of 4 KiB a step on a 2-core Xeon, whatever its load
    assert off["faults_per_call"] > 2000
    assert on["faults_per_call"] < 10
