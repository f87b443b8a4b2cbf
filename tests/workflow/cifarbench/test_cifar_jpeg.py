"""cifarbench.cifar_jpeg: a JPEG tarball made here (solid colours, so JPEG noise stays small)
converts into an archive that cifarbench.data.read_cifar10 reads back image for image."""
import importlib.util
import io
import tarfile

import numpy as np
import pytest
from cifarbench import cifar_jpeg
from cifarbench.data import LABEL_NAMES, DataError, read_cifar10, write_cifar10_archive

from helpers.project import ROOT

_spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "tools" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)

N_TRAIN, N_TEST = 3, 1  # images per class
JPEG_TOLERANCE = 3


def colour(label, index):
    """The solid colour of image ``index`` of class ``label``: both can be read back from it."""
    return np.array([20 * label + 10, 40 * index + 20, 200], dtype=np.uint8)


def images(n_train=N_TRAIN, n_test=N_TEST):
    return [
        (f"{split}/{name}/{i:04d}.jpg", np.broadcast_to(colour(label, i), (32, 32, 3)).copy())
        for split, n in (("train", n_train), ("test", n_test))
        for label, name in enumerate(LABEL_NAMES)
        for i in range(n)
    ]


@pytest.fixture
def jpeg_tarball(tmp_path):
    return gpu_check.write_jpeg_tarball(tmp_path / "jpeg.tar.gz", images())


def test_converts_every_image_with_its_label(jpeg_tarball, tmp_path):
    assert cifar_jpeg.convert(jpeg_tarball, tmp_path / "out.tar.gz") == (10 * N_TRAIN, 10 * N_TEST)
    data = read_cifar10(tmp_path / "out.tar.gz")
    for X, y, n in ((data.X_train, data.y_train, N_TRAIN), (data.X_test, data.y_test, N_TEST)):
        assert X.shape == (10 * n, 3072) and np.bincount(y, minlength=10).tolist() == [n] * 10
        chw = X.reshape(-1, 3, 32, 32).astype(int)
        assert np.ptp(chw, axis=(2, 3)).max() <= JPEG_TOLERANCE  # solid colours stay solid
        rgb = chw[:, :, 0, 0]
        labels, indices = np.rint((rgb[:, 0] - 10) / 20), np.rint((rgb[:, 1] - 20) / 40)
        np.testing.assert_array_equal(labels, y)  # each image kept its own class
        expected = np.array([colour(int(l), int(i)) for l, i in zip(labels, indices)], dtype=int)
        assert np.abs(rgb - expected).max() <= JPEG_TOLERANCE
        assert sorted(zip(labels, indices)) == [(l, i) for l in range(10) for i in range(n)]
    assert len(set(data.y_train[:10].tolist())) > 1  # shuffled, not sorted by class


def test_batch_split_and_metadata(jpeg_tarball, tmp_path):
    import pickle

    cifar_jpeg.convert(jpeg_tarball, tmp_path / "out.tar.gz")
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        load = lambda name: pickle.loads(tar.extractfile(f"cifar-10-batches-py/{name}").read(), encoding="bytes")
        sizes = [len(load(f"data_batch_{k}")[b"labels"]) for k in range(1, 6)]
        test, meta = load("test_batch"), load("batches.meta")
    assert sizes == [6, 6, 6, 6, 6]
    assert test[b"batch_label"] == b"testing batch 1 of 1" and len(test[b"filenames"]) == 10
    assert sorted(test[b"filenames"]) == sorted(f"test/{n}/0000.jpg".encode() for n in LABEL_NAMES)
    assert meta[b"num_cases_per_batch"] == 6 and meta[b"label_names"][9] == b"truck"


def test_output_depends_only_on_the_images(tmp_path):
    forward = gpu_check.write_jpeg_tarball(tmp_path / "a.tar.gz", images())
    backward = gpu_check.write_jpeg_tarball(tmp_path / "b.tar.gz", images()[::-1])
    cifar_jpeg.convert(forward, tmp_path / "a.out")
    cifar_jpeg.convert(backward, tmp_path / "b.out")
    cifar_jpeg.convert(forward, tmp_path / "a2.out")
    assert (tmp_path / "a.out").read_bytes() == (tmp_path / "b.out").read_bytes() == (tmp_path / "a2.out").read_bytes()


def test_layouts(jpeg_tarball, tmp_path):
    assert cifar_jpeg.archive_layout(jpeg_tarball) == "jpeg"
    assert cifar_jpeg.archive_layout(write_cifar10_archive(tmp_path / "py.tar.gz", 2, 2)) == "python"
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("README.md"), io.BytesIO())
    with pytest.raises(DataError, match="neither"):
        cifar_jpeg.archive_layout(other)
    (tmp_path / "plain.txt").write_text("not a tarball")
    with pytest.raises(DataError, match="plain.txt: not a readable tar archive"):
        cifar_jpeg.archive_layout(tmp_path / "plain.txt")


def _tarball_with(tmp_path, name, payload):
    path = gpu_check.write_jpeg_tarball(tmp_path / "bad.tar.gz", images())
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(path, "w:gz") as tar:
        for member, blob in members[:7]:
            tar.addfile(member, io.BytesIO(blob))
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
        for member, blob in members[7:]:
            tar.addfile(member, io.BytesIO(blob))
    return path


def _png(width, height):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("name, payload, message", [
    ("train/cat/0099.jpg", b"\xff\xd8 not really a jpeg", r"bad.tar.gz: train/cat/0099.jpg: not a readable image"),
    ("train/unicorn/0000.jpg", _png(32, 32), r"train/unicorn/0000.jpg: unknown class 'unicorn'"),
    ("test/dog/0100.png", _png(64, 48), r"test/dog/0100.png: 64x48 pixels, expected 32x32"),
])  # fmt: skip
def test_bad_member_is_named(tmp_path, name, payload, message):
    with pytest.raises(DataError, match=message):
        cifar_jpeg.convert(_tarball_with(tmp_path, name, payload), tmp_path / "out.tar.gz")
    assert not (tmp_path / "out.tar.gz").exists()


def test_a_missing_split_or_too_few_images(tmp_path):
    only_train = gpu_check.write_jpeg_tarball(tmp_path / "t.tar.gz", images(n_test=0))
    with pytest.raises(DataError, match=r"t.tar.gz: no test/<class>/ images"):
        cifar_jpeg.convert(only_train, tmp_path / "out.tar.gz")
    few = gpu_check.write_jpeg_tarball(tmp_path / "f.tar.gz", images()[: 4] + images()[-1:])
    with pytest.raises(DataError, match=r"4 training images, at least 5 needed"):
        cifar_jpeg.convert(few, tmp_path / "out.tar.gz")


def test_truncated_tarball(jpeg_tarball, tmp_path):
    blob = jpeg_tarball.read_bytes()
    jpeg_tarball.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"jpeg.tar.gz: not a readable tar archive"):
        cifar_jpeg.convert(jpeg_tarball, tmp_path / "out.tar.gz")


def test_command_line(jpeg_tarball, tmp_path, capsys):
    cifar_jpeg.main(["--layout", str(jpeg_tarball)])
    assert capsys.readouterr().out == "jpeg\n"
    cifar_jpeg.main([str(jpeg_tarball), str(tmp_path / "out.tar.gz")])
    assert "30 training and 10 test images" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"python -m cifarbench.cifar_jpeg: .*nowhere.tar.gz: no such file"):
        cifar_jpeg.main([str(tmp_path / "nowhere.tar.gz"), str(tmp_path / "x")])
    with pytest.raises(SystemExit):
        cifar_jpeg.main([str(jpeg_tarball)])  # DST missing
