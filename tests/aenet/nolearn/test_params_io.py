"""aenet.nolearn.params_io: the one .npz format of parameter files and checkpoints."""
import numpy as np
import pytest

from aenet.nolearn.params_io import read_params, write_params

PARAMS = {"hidden": [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)], "output": [np.zeros(2)]}


def test_round_trip_keeps_layer_order_and_extras(tmp_path):
    path = write_params(tmp_path / "p.weights", PARAMS, {"update/0": np.full(3, 2.0), "history": np.arange(4)})
    assert path == tmp_path / "p.weights" and sorted(p.name for p in tmp_path.iterdir()) == ["p.weights"]
    with np.load(path) as data:
        assert set(data.files) == {"param/hidden:0", "param/hidden:1", "param/output:0", "update/0", "history"}
    params, extras = read_params(path)
    assert list(params) == ["hidden", "output"]
    np.testing.assert_array_equal(params["hidden"][0], [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(params["output"][0], [0, 0])
    assert sorted(extras) == ["history", "update/0"]
    np.testing.assert_array_equal(extras["update/0"], [2, 2, 2])


def test_files_with_unprefixed_parameter_keys_are_read_alike(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, **{"hidden:1": np.ones(3), "hidden:0": np.zeros((2, 3)), "output:0": np.zeros(2)})
    params, extras = read_params(path)
    assert list(params) == ["hidden", "output"] and extras == {}
    assert [v.shape for v in params["hidden"]] == [(2, 3), (3,)]


def test_layer_names_may_hold_colons_and_slashes(tmp_path):
    path = write_params(tmp_path / "p.npz", {"block/conv:a": [np.zeros(1)]})
    assert list(read_params(path)[0]) == ["block/conv:a"]


@pytest.mark.parametrize("key", ["param/x", "hidden:0"])
def test_an_extra_that_reads_as_a_parameter_is_refused(tmp_path, key):
    with pytest.raises(ValueError, match=rf"extra array '{key}' for .*p.npz would be read as a parameter"):
        write_params(tmp_path / "p.npz", PARAMS, {key: np.zeros(1)})
    assert list(tmp_path.iterdir()) == []


def test_a_missing_parameter_index_names_file_and_layer(tmp_path):
    path = tmp_path / "gap.npz"
    np.savez(path, **{"param/hidden:0": np.zeros(1), "param/hidden:2": np.zeros(1)})
    with pytest.raises(ValueError, match=r"gap.npz: layer 'hidden' has parameters \[0, 2\], expected 0..1"):
        read_params(path)
