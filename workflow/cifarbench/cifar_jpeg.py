"""CIFAR-10 from JPEG files: a tarball of ``train/<class>/NAME.jpg`` and ``test/<class>/NAME.jpg``
into an archive in the official "python version" layout.

``python -m cifarbench.cifar_jpeg SRC DST`` converts them (all 50,000 + 10,000
images of the full set); ``python -m cifarbench.cifar_jpeg --layout SRC`` prints ``python``
or ``jpeg``, the layout of a CIFAR-10 archive.  The training images become
``data_batch_1..5`` (equal parts, 10,000 each for the full set) and the test
images ``test_batch``, each split shuffled with a fixed seed after sorting by
class and name, so the output depends only on the images and their names
(:func:`cifarbench.data.write_archive` keeps it byte-identical).  Every image must
be 32x32; a bad member raises :class:`cifarbench.data.DataError` naming it.
Needs Pillow, imported only here.
"""
import argparse
import io
import sys
import tarfile
import zlib
from pathlib import Path

import numpy as np

from cifarbench.data import CIFAR10_DIR, LABEL_NAMES, DataError, write_archive

SPLITS = ("train", "test")
SHUFFLE_SEED = {"train": 0, "test": 1}
N_TRAIN_BATCHES = 5


def _members(path):
    """``(member, path parts, bytes)`` of the tarball ``path`` in stream order, the bytes of files
    two folders down (else None); DataError for a bad file."""
    if not Path(path).is_file():
        raise DataError(f"{path}: no such file")
    try:
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                parts = [p for p in member.name.split("/") if p not in ("", ".")]
                image = member.isfile() and len(parts) == 3
                yield member, parts, tar.extractfile(member).read() if image else None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(f"{path}: not a readable tar archive ({type(error).__name__}: {error})") from None


def archive_layout(path):
    """``"python"`` (``cifar-10-batches-py/``) or ``"jpeg"`` (``train/<class>/*.jpg``), from the
    first members; :class:`DataError` for anything else."""
    for _, parts, blob in _members(path):
        if parts[:1] == [CIFAR10_DIR]:
            return "python"
        if blob is not None and parts[0] in SPLITS:
            return "jpeg"
    raise DataError(f"{path}: neither the CIFAR-10 python archive ({CIFAR10_DIR}/) nor a JPEG "
                    "tarball (train/<class>/*.jpg, test/<class>/*.jpg)")


def _decode(where, blob):
    from PIL import Image

    try:
        with Image.open(io.BytesIO(blob)) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as error:  # Pillow raises many kinds for a damaged file
        raise DataError(f"{where}: not a readable image ({type(error).__name__}: {error})") from None
    if pixels.shape != (32, 32, 3):
        raise DataError(f"{where}: {pixels.shape[1]}x{pixels.shape[0]} pixels, expected 32x32")
    return pixels.transpose(2, 0, 1).reshape(-1)  # CHW, row-major


def read_jpeg_tarball(src):
    """``{split: (data uint8 (n, 3072), labels [int], names [bytes])}``, each split shuffled.

    Members outside ``train/<class>/`` and ``test/<class>/`` (a README) are skipped.
    """
    found = {split: [] for split in SPLITS}
    for member, parts, blob in _members(src):
        if blob is None or parts[0] not in SPLITS:
            continue
        where = f"{src}: {member.name}"
        if parts[1] not in LABEL_NAMES:
            raise DataError(f"{where}: unknown class {parts[1]!r}, expected one of {', '.join(LABEL_NAMES)}")
        pixels = _decode(where, blob)
        found[parts[0]].append((LABEL_NAMES.index(parts[1]), "/".join(parts), pixels))
    splits = {}
    for split, images in found.items():
        if not images:
            raise DataError(f"{src}: no {split}/<class>/ images")
        images.sort(key=lambda image: image[:2])
        order = np.random.default_rng(SHUFFLE_SEED[split]).permutation(len(images))
        splits[split] = (
            np.stack([images[i][2] for i in order]),
            [images[i][0] for i in order],
            [images[i][1].encode() for i in order],
        )
    return splits


def _batch(label, data, labels, names):
    return {b"batch_label": label.encode(), b"labels": labels, b"data": data, b"filenames": names}


def convert(src, dst):
    """Write the official-layout archive of the JPEG tarball ``src`` to ``dst`` (atomically);
    return ``(training images, test images)``."""
    splits = read_jpeg_tarball(src)
    data, labels, names = splits["train"]
    if len(labels) < N_TRAIN_BATCHES:
        raise DataError(f"{src}: {len(labels)} training images, at least {N_TRAIN_BATCHES} needed")
    parts = np.array_split(np.arange(len(labels)), N_TRAIN_BATCHES)
    train = [
        _batch(f"training batch {k} of {N_TRAIN_BATCHES}", data[p[0] : p[-1] + 1],
               labels[p[0] : p[-1] + 1], names[p[0] : p[-1] + 1])
        for k, p in enumerate(parts, 1)
    ]  # fmt: skip
    test = _batch("testing batch 1 of 1", *splits["test"])
    write_archive(dst, train, test, cases_per_batch=len(parts[0]))
    return len(labels), len(splits["test"][1])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cifarbench.cifar_jpeg", description=__doc__.split("\n\n")[0])
    parser.add_argument("--layout", action="store_true", help="print the layout of SRC (python or jpeg) and stop")
    parser.add_argument("src", metavar="SRC")
    parser.add_argument("dst", metavar="DST", nargs="?")
    args = parser.parse_args(argv)
    if not args.layout and args.dst is None:
        parser.error("DST is required to convert")
    try:
        if args.layout:
            print(archive_layout(args.src))
        else:
            n_train, n_test = convert(args.src, args.dst)
            print(f"{args.dst}: {n_train} training and {n_test} test images from {args.src}")
    except (DataError, OSError) as error:
        sys.exit(f"{parser.prog}: {error}")


if __name__ == "__main__":
    main()
