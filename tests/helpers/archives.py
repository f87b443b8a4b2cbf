"""Hand-built CIFAR-10 archives for tests, written with ``tarfile`` and ``pickle``.

The workflow's reader (:mod:`cifarbench.data`) is checked against this
independent writer.
"""
import gzip
import io
import pickle
import tarfile

import numpy as np

BATCH_DIR = "cifar-10-batches-py"
TRAIN_NAMES = tuple(f"data_batch_{k}" for k in range(1, 6))
BATCH_NAMES = (*TRAIN_NAMES, "test_batch")


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
