"""Shared fixtures: a small synthetic CIFAR-10 archive, hand-built archives for error tests,
and ``gpu`` / ``no_gpu`` for tests that need a working GPU or its absence.

The hand-built archives are written here with ``tarfile`` and ``pickle``
directly, not with :mod:`aenet.data`, so the reader is checked against an
independent writer.
"""
import functools
import gzip
import io
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from aenet.data import read_cifar10, write_cifar10_archive
from aenet.preprocess import preprocess, save_arrays

BATCH_DIR = "cifar-10-batches-py"
TRAIN_NAMES = tuple(f"data_batch_{k}" for k in range(1, 6))
BATCH_NAMES = (*TRAIN_NAMES, "test_batch")

# The session archive: 5 training batches of 60 images and a test batch of 60.
SYNTHETIC_PER_BATCH = 60
SYNTHETIC_TEST = 60


@pytest.fixture(scope="session")
def synthetic_archive(tmp_path_factory):
    """Path of a small synthetic archive (5 x 60 train, 60 test images, seed 0)."""
    path = tmp_path_factory.mktemp("cifar") / "cifar-10-synthetic.tar.gz"
    return write_cifar10_archive(
        path, n_per_batch=SYNTHETIC_PER_BATCH, n_test=SYNTHETIC_TEST, seed=0
    )


def build_batch(n, seed, str_keys=False):
    """A valid batch dict of ``n`` random images and labels, as the official pickles hold."""
    rng = np.random.default_rng(seed)
    batch = {
        b"batch_label": f"batch {seed}".encode(),
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [f"img_{seed}_{i}.png".encode() for i in range(n)],
    }
    if str_keys:
        batch = {key.decode(): value for key, value in batch.items()}
    return batch


def write_tar_gz(path, members):
    """Write ``members``, a list of ``(name, payload)``, as a .tar.gz at ``path``.

    A ``bytes`` payload is stored as is, ``None`` makes a directory, a
    ``("symlink", target)`` tuple a symbolic link, anything else is pickled
    (protocol 2).  Names are stored verbatim, however unsafe.
    """
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=1) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for name, payload in members:
                info = tarfile.TarInfo(name)
                if payload is None:
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                    continue
                if isinstance(payload, tuple) and payload[0] == "symlink":
                    info.type, info.linkname = tarfile.SYMTYPE, payload[1]
                    tar.addfile(info)
                    continue
                blob = payload if isinstance(payload, bytes) else pickle.dumps(payload, protocol=2)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    return path


@pytest.fixture
def make_batch():
    """``make_batch(n, seed, str_keys=False)``: a valid batch dict (bytes keys by default)."""
    return build_batch


@pytest.fixture
def make_archive(tmp_path):
    """Build an archive in the official layout with some parts replaced; returns a function.

    ``make_archive(n=4, overrides={}, drop=(), extra=(), order=None, str_keys=False,
    name="archive.tar.gz")`` -> ``(path, batches)``.  ``batches`` maps each of
    the six batch names (``data_batch_1`` .. ``test_batch``) to the dict
    written; ``overrides`` replaces some of them (by that short name) with any
    payload :func:`write_tar_gz` accepts; ``drop`` leaves some out; ``extra``
    is a list of further ``(full name, payload)`` members; ``order`` lists the
    short names in archive order.
    """

    def build(n=4, overrides=None, drop=(), extra=(), order=None, str_keys=False, name="archive.tar.gz"):
        batches = {
            short: build_batch(n, seed, str_keys=str_keys) for seed, short in enumerate(BATCH_NAMES)
        }
        batches.update(overrides or {})
        members = [(BATCH_DIR, None)]
        members += [
            (f"{BATCH_DIR}/{short}", batches[short]) for short in (order or BATCH_NAMES) if short not in drop
        ]
        members += list(extra)
        return write_tar_gz(tmp_path / name, members), batches

    return build


@pytest.fixture(scope="session")
def arrays_dir(synthetic_archive, tmp_path_factory):
    """The synthetic archive preprocessed into cached arrays, as the workflow's preprocess stage writes them."""
    outdir = tmp_path_factory.mktemp("arrays")
    save_arrays(preprocess(read_cifar10(synthetic_archive)), outdir)
    return outdir


@pytest.fixture
def back_to_cpu():
    """Leave aenet on the cpu device after a test that configures another."""
    yield
    from aenet import device

    device.configure("cpu")


@pytest.fixture(scope="module")
def jax_cpu():
    """aenet on JAX's CPU backend for a whole test module; the previous device afterwards."""
    from aenet import device

    previous = device.current()
    device.configure("jax-cpu")
    yield
    device.configure(previous)


@functools.lru_cache(maxsize=None)
def gpu_status():
    """``(True, used device)`` where ``aenet.device.configure("gpu")`` works here, else ``(False, why not)``.

    Without an NVIDIA driver or a JAX CUDA plugin the answer is known at once;
    otherwise a fresh interpreter configures the device (JAX starts one
    platform per process, so this one's is left alone).  Asked once per session.
    """
    from aenet import device

    if not Path("/proc/driver/nvidia/version").exists() and shutil.which("nvidia-smi") is None:
        return False, "no NVIDIA driver (no /proc/driver/nvidia/version, no nvidia-smi)"
    if not device.installed_cuda_plugins():
        return False, "no JAX CUDA plugin installed (jax[cuda13] or jax[cuda12])"
    script = "from aenet import device; device.configure('gpu'); print(device.used_device())"
    env = {key: value for key, value in os.environ.items() if key != "JAX_PLATFORMS"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    lines = (result.stdout if result.returncode == 0 else result.stderr).strip().splitlines()
    if result.returncode == 0:
        return True, lines[-1]
    return False, lines[-1] if lines else f"configure('gpu') exited with status {result.returncode}"


@pytest.fixture(scope="session")
def gpu():
    """``device.used_device()`` on the gpu device; the test is skipped, with the reason, where it cannot run."""
    works, detail = gpu_status()
    if not works:
        pytest.skip(f"needs a usable GPU: {detail}")
    return detail


@pytest.fixture(scope="session")
def no_gpu():
    """For tests of the failure without a GPU: skipped where ``device=gpu`` works."""
    works, detail = gpu_status()
    if works:
        pytest.skip(f"device=gpu works here ({detail})")
    return detail
