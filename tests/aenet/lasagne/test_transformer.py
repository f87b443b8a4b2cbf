"""aenet.lasagne.layers.transformer: affine and thin-plate-spline spatial transformers, against numpy."""
import aenet.lasagne  # noqa: F401  (configures aesara before it is imported)

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.gradient import verify_grad
from scipy.interpolate import RBFInterpolator

from aenet.lasagne.layers import InputLayer, TPSTransformerLayer, TransformerLayer, get_output

RNG = np.random.RandomState(4)
IDENTITY = np.array([1, 0, 0, 0, 1, 0], np.float32)


def transform(layer, image, params):
    """The layer's output for a numpy image batch and localization output."""
    return layer.get_output_for([at.constant(image), at.constant(params)]).eval()


def sample_reference(image, x_s, y_s, border_mode):
    """Bilinear sample of a (rows, cols) image at one normalized point, pixel by pixel."""
    rows, cols = image.shape
    x, y = (x_s + 1) / 2 * (cols - 1), (y_s + 1) / 2 * (rows - 1)
    x0, y0 = int(np.floor(x)), int(np.floor(y))

    def pixel(r, c):
        if border_mode == "nearest":
            r, c = min(max(r, 0), rows - 1), min(max(c, 0), cols - 1)
        elif border_mode == "wrap":
            r, c = r % rows, c % cols
        else:  # mirror: reflect about the first and last pixel
            r, c = (abs(r) % (2 * rows - 2), abs(c) % (2 * cols - 2))
            r, c = min(r, 2 * rows - 2 - r), min(c, 2 * cols - 2 - c)
        return image[r, c]

    fx, fy = x - x0, y - y0
    return ((1 - fx) * (1 - fy) * pixel(y0, x0) + (1 - fx) * fy * pixel(y0 + 1, x0)
            + fx * (1 - fy) * pixel(y0, x0 + 1) + fx * fy * pixel(y0 + 1, x0 + 1))


def affine_reference(image, theta, border_mode):
    """TransformerLayer's output for one (channels, rows, cols) image, point by point."""
    channels, rows, cols = image.shape
    out = np.zeros_like(image)
    for i, y_t in enumerate(np.linspace(-1, 1, rows)):
        for j, x_t in enumerate(np.linspace(-1, 1, cols)):
            x_s, y_s = theta.reshape(2, 3) @ [x_t, y_t, 1]
            for c in range(channels):
                out[c, i, j] = sample_reference(image[c], x_s, y_s, border_mode)
    return out


def coordinate_image(rows, cols):
    """A (1, 2, rows, cols) image whose channels hold each pixel's normalized x and y.

    Bilinear interpolation of these ramps is exact, so a transformer's output
    on it is the map from output pixels to (clipped) source points.
    """
    x_t, y_t = np.meshgrid(np.linspace(-1, 1, cols), np.linspace(-1, 1, rows))
    return np.stack([x_t, y_t])[None].astype(np.float32)


# -- shapes and errors ----------------------------------------------------------------------


@pytest.mark.parametrize("cls, units", [(TransformerLayer, 6), (TPSTransformerLayer, 32)])
def test_output_shape_uses_python_floor_division(cls, units):
    layer = cls((None, 3, 28, 28), (None, units), downsample_factor=(0.7, 2.3))
    assert layer.output_shape == (None, 3, 28 // 0.7, 28 // 2.3) == (None, 3, 40, 12)
    assert cls((None, 3, None, 28), (None, units), downsample_factor=2).output_shape == (None, 3, None, 14)


@pytest.mark.parametrize("cls, units", [(TransformerLayer, 6), (TPSTransformerLayer, 32)])
def test_symbolic_output_size_matches_the_static_one(cls, units):
    x = RNG.random_sample((2, 3, 28, 28)).astype(np.float32)
    l_in = InputLayer((None, 3, None, None))
    l_loc = InputLayer((None, units))
    layer = cls(l_in, l_loc, downsample_factor=(0.7, 2.3))
    params = np.tile(IDENTITY, (2, 1)) if units == 6 else np.zeros((2, units), np.float32)
    out = aesara.function([l_in.input_var, l_loc.input_var], get_output(layer))(x, params)
    assert out.shape == (2, 3, 40, 12)


def test_transformer_errors():
    with pytest.raises(ValueError, match=r"output shape \(batch_size, 6\)"):
        TransformerLayer((None, 3, 28, 28), (None, 5))
    with pytest.raises(ValueError, match="must be 4-D"):
        TransformerLayer((3, 28, 28), (None, 6))
    with pytest.raises(ValueError, match=r"2 \* control_points"):
        TPSTransformerLayer((None, 3, 28, 28), (None, 16), control_points=16)
    with pytest.raises(ValueError, match="perfect square"):
        TPSTransformerLayer((None, 3, 28, 28), (None, 10), control_points=5)
    with pytest.raises(ValueError, match="precompute_grid=True needs"):
        TPSTransformerLayer((None, 3, None, 28), (None, 32), precompute_grid=True)
    layer = TransformerLayer((1, 1, 4, 4), (1, 6), border_mode="reflect")
    with pytest.raises(ValueError, match="border_mode must be one of"):
        layer.get_output_for([at.tensor4(), at.matrix()])


def test_precompute_grid_auto_follows_known_sizes():
    assert TPSTransformerLayer((None, 1, 8, 8), (None, 32)).precompute_grid is True
    assert TPSTransformerLayer((None, 1, 8, None), (None, 32)).precompute_grid is False
    assert TPSTransformerLayer((None, 1, 8, 8), (None, 32), precompute_grid=False).precompute_grid is False
    assert TPSTransformerLayer((None, 1, 8, 8), (None, 32)).params == {}


# -- affine values --------------------------------------------------------------------------


def test_identity_returns_the_input():
    image = RNG.standard_normal((3, 2, 7, 9)).astype(np.float32)
    layer = TransformerLayer((3, 2, 7, 9), (3, 6))
    np.testing.assert_allclose(transform(layer, image, np.tile(IDENTITY, (3, 1))), image, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("border_mode, source_col", [
    ("nearest", lambda j, cols: min(j + 2, cols - 1)),
    ("wrap", lambda j, cols: (j + 2) % cols),
    ("mirror", lambda j, cols: j + 2 if j + 2 < cols else 2 * (cols - 1) - (j + 2)),
])
def test_shift_by_whole_pixels(border_mode, source_col):
    rows, cols = 5, 8
    image = RNG.standard_normal((1, 1, rows, cols)).astype(np.float32)
    theta = IDENTITY.copy()
    theta[2] = 2 * 2 / (cols - 1)  # two pixels to the right
    layer = TransformerLayer((1, 1, rows, cols), (1, 6), border_mode=border_mode)
    expected = image[..., [source_col(j, cols) for j in range(cols)]]
    np.testing.assert_allclose(transform(layer, image, theta[None]), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("border_mode", ["nearest", "mirror", "wrap"])
def test_random_affine_map_matches_pointwise_bilinear_sampling(border_mode):
    image = RNG.standard_normal((2, 2, 6, 7)).astype(np.float32)
    thetas = (np.tile(IDENTITY, (2, 1)) + 0.6 * RNG.standard_normal((2, 6))).astype(np.float32)
    layer = TransformerLayer((2, 2, 6, 7), (2, 6), border_mode=border_mode)
    out = transform(layer, image, thetas)
    for n in range(2):
        np.testing.assert_allclose(out[n], affine_reference(image[n], thetas[n], border_mode), rtol=1e-4, atol=1e-4)


def test_downsampled_identity_is_separable_linear_interpolation():
    image = RNG.standard_normal((1, 1, 9, 12)).astype(np.float32)
    layer = TransformerLayer((1, 1, 9, 12), (1, 6), downsample_factor=(2, 1.5))
    out = transform(layer, image, IDENTITY[None])
    rows, cols = np.linspace(0, 8, 4), np.linspace(0, 11, 8)
    by_rows = np.array([np.interp(rows, np.arange(9), image[0, 0, :, j]) for j in range(12)]).T
    expected = np.array([np.interp(cols, np.arange(12), row) for row in by_rows])
    assert out.shape == (1, 1, 4, 8)
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-5, atol=1e-5)


def test_affine_gradients():
    theta = (IDENTITY + 0.3 * RNG.standard_normal(6))[None].astype(np.float64)
    image = RNG.standard_normal((1, 2, 5, 6))
    layer = TransformerLayer((1, 2, 5, 6), (1, 6))
    verify_grad(lambda x, t: layer.get_output_for([x, t]) ** 2, [image, theta], rng=RNG, abs_tol=1e-3, rel_tol=1e-3)


# -- thin-plate spline values ---------------------------------------------------------------


def test_tps_zero_offsets_are_the_identity():
    image = RNG.standard_normal((2, 3, 10, 12)).astype(np.float32)
    layer = TPSTransformerLayer((2, 3, 10, 12), (2, 32))
    np.testing.assert_allclose(transform(layer, image, np.zeros((2, 32), np.float32)), image, atol=1e-4)


@pytest.mark.parametrize("precompute_grid", [True, False])
def test_tps_with_affine_offsets_equals_the_affine_transformer(precompute_grid):
    matrix = np.array([[0.9, 0.2, 0.1], [-0.15, 1.1, -0.05]])
    side = np.linspace(-1, 1, 3)
    source = np.stack([np.tile(side, 3), np.repeat(side, 3)])  # 9 control points, row by row
    destination = matrix @ np.vstack([source, np.ones(9)])
    offsets = (destination - source).reshape(1, 18).astype(np.float32)
    image = RNG.standard_normal((1, 2, 8, 9)).astype(np.float32)
    tps = TPSTransformerLayer((1, 2, 8, 9), (1, 18), control_points=9, precompute_grid=precompute_grid)
    affine = TransformerLayer((1, 2, 8, 9), (1, 6))
    expected = transform(affine, image, matrix.reshape(1, 6).astype(np.float32))
    np.testing.assert_allclose(transform(tps, image, offsets), expected, atol=2e-4)


@pytest.mark.parametrize("precompute_grid", [True, False])
def test_tps_maps_output_pixels_like_scipy_thin_plate_spline(precompute_grid):
    rows, cols, points = 11, 13, 16
    side = np.linspace(-1, 1, 4)
    source = np.stack([np.tile(side, 4), np.repeat(side, 4)])
    offsets = 0.15 * RNG.standard_normal((2, points))
    spline = RBFInterpolator(source.T, (source + offsets).T, kernel="thin_plate_spline", degree=1)
    grid = coordinate_image(rows, cols)[0].reshape(2, -1)
    expected = spline(grid.T).T.reshape(2, rows, cols)
    layer = TPSTransformerLayer((1, 2, rows, cols), (1, 2 * points), precompute_grid=precompute_grid)
    out = transform(layer, coordinate_image(rows, cols), offsets.reshape(1, -1).astype(np.float32))[0]
    inside = (np.abs(expected) <= 1).all(axis=0)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(out[:, inside], expected[:, inside], atol=1e-4)
    np.testing.assert_allclose(out, np.clip(expected, -1, 1), atol=1e-4)  # 'nearest' clips outside points


def test_tps_precomputed_and_symbolic_grids_agree():
    image = RNG.standard_normal((2, 2, 9, 8)).astype(np.float32)
    offsets = (0.2 * RNG.standard_normal((2, 50))).astype(np.float32)
    kwargs = dict(control_points=25, downsample_factor=(1.5, 0.8), border_mode="mirror")
    precomputed = transform(TPSTransformerLayer((2, 2, 9, 8), (2, 50), **kwargs), image, offsets)
    symbolic = transform(TPSTransformerLayer((2, 2, None, None), (2, 50), **kwargs), image, offsets)
    assert precomputed.shape == (2, 2, 6, 9)  # 9 // 1.5, 8 // 0.8
    np.testing.assert_allclose(symbolic, precomputed, atol=1e-4)


def test_tps_gradients():
    offsets = 0.1 * RNG.standard_normal((1, 8))
    image = RNG.standard_normal((1, 1, 5, 6))
    layer = TPSTransformerLayer((1, 1, 5, 6), (1, 8), control_points=4)
    verify_grad(lambda x, d: layer.get_output_for([x, d]) ** 2, [image, offsets], rng=RNG, abs_tol=1e-3,
                rel_tol=1e-3)
