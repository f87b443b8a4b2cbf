"""Fixtures of the workflow's tests: a small synthetic CIFAR-10 archive, hand-built archives, cached arrays."""
import pytest

from cifarbench.data import read_cifar10, write_cifar10_archive
from cifarbench.preprocess import preprocess, save_arrays
from helpers.archives import BATCH_DIR, BATCH_NAMES, build_batch, write_tar_gz

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
