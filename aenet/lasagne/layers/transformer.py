"""Spatial transformers: resample an image on a grid moved by an affine map or a thin-plate spline.

Coordinates are normalized: ``-1`` is the first row or column of the input,
``+1`` the last.  Each output pixel ``(x_t, y_t)`` on a regular grid over
``[-1, 1]`` is mapped to a source point ``(x_s, y_s)``, where the input is
read by bilinear interpolation.  Source points outside the image read the
border pixels (``'nearest'``), the image reflected about its border
(``'mirror'``) or the image repeated (``'wrap'``).
"""
import numbers

import aesara
import aesara.tensor as at
import numpy as np

from aenet.lasagne.layers.base import MergeLayer
from aenet.lasagne.utils import as_dtype, as_tuple

__all__ = ["TransformerLayer", "TPSTransformerLayer"]

BORDER_MODES = ("nearest", "mirror", "wrap")


# -- shapes -----------------------------------------------------------------------


def downsampled_length(length, factor):
    """``length // factor`` with Python's floor division (float factors included); None stays None."""
    return None if length is None else int(length // factor)


def symbolic_downsampled_length(length, factor):
    """:func:`downsampled_length` of a symbolic int64 ``length``, exact for float factors too.

    ``length - length % factor`` is an exact multiple of ``factor`` (``%``
    is C's ``fmod``), so rounding its quotient gives Python's result.
    """
    if isinstance(factor, numbers.Integral):
        return length // int(factor)
    length = at.cast(length, "float64")
    factor = at.constant(np.float64(factor))
    return at.cast(at.floor((length - length % factor) / factor + 0.5), "int64")


def check_transformer_inputs(input_shape, loc_shape, loc_units, what):
    """ValueError unless the input is 4-D and the localization output is ``(batch, loc_units)``."""
    if len(loc_shape) != 2 or loc_shape[-1] != loc_units:
        raise ValueError(
            "the localization network must have output shape (batch_size, %s), got %r" % (what, loc_shape)
        )
    if len(input_shape) != 4:
        raise ValueError(
            "the input must be 4-D (batch_size, num_input_channels, input_rows, input_columns), got %r"
            % (input_shape,)
        )


class _SpatialTransformer(MergeLayer):
    """Shared parts of the transformer layers: the output shape and the border mode."""

    def __init__(self, incoming, localization_network, downsample_factor, border_mode, **kwargs):
        super().__init__([incoming, localization_network], **kwargs)
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.border_mode = border_mode

    def get_output_shape_for(self, input_shapes):
        shape = input_shapes[0]
        return tuple(shape[:2]) + tuple(
            downsampled_length(length, factor) for length, factor in zip(shape[2:], self.downsample_factor)
        )

    def output_size(self, input):
        """The ``(rows, columns)`` of the output: ints where the input's are known, else symbolic."""
        known = self.get_output_shape_for(self.input_shapes)[2:]
        return tuple(
            size if size is not None else symbolic_downsampled_length(input.shape[axis], factor)
            for size, axis, factor in zip(known, (2, 3), self.downsample_factor)
        )


# -- the grid and the sampler -----------------------------------------------------


def counting_up(count, dtype):
    """``0, 1, ..., count - 1``: a constant for an int ``count``, else a cumulative sum.

    (aesara's JAX backend compiles ``arange`` only for constant bounds; the
    length of a cumulative sum of ones may come from the input's shape.)
    """
    if isinstance(count, numbers.Integral):
        return at.constant(np.arange(count, dtype=dtype))
    return at.cumsum(at.ones((count,), dtype=dtype)) - at.ones((), dtype=dtype)


def _linspace(count, dtype):
    """``count`` evenly spaced values from -1 to 1 (``[-1]`` for one value), as numpy's linspace."""
    step = as_dtype(2.0, dtype) / as_dtype(at.maximum(count - 1, 1), dtype)
    return counting_up(count, dtype) * step - as_dtype(1.0, dtype)


def target_grid(rows, cols, dtype):
    """The ``(2, rows * cols)`` matrix of output coordinates ``(x_t, y_t)``, row by row."""
    if isinstance(rows, numbers.Integral) and isinstance(cols, numbers.Integral):
        return at.constant(numpy_target_grid(rows, cols, dtype))
    x_t = at.alloc(_linspace(cols, dtype), rows, cols)
    y_t = at.alloc(_linspace(rows, dtype).dimshuffle(0, "x"), rows, cols)
    return at.stack([x_t.flatten(), y_t.flatten()])


def numpy_target_grid(rows, cols, dtype):
    """:func:`target_grid` for known sizes, as a numpy array."""
    x_t, y_t = np.meshgrid(np.linspace(-1, 1, cols), np.linspace(-1, 1, rows))
    return np.stack([x_t.ravel(), y_t.ravel()]).astype(dtype)


def _border_indices(index, length, border_mode):
    """Integer pixel indices for float ``index`` values, which may lie outside ``[0, length)``."""
    if border_mode == "nearest":
        index = at.clip(index, 0, length - 1)
    elif border_mode == "mirror":
        period = 2 * (length - 1)
        index = at.minimum(index % period, -index % period)
    elif border_mode == "wrap":
        index = index % length
    else:
        raise ValueError("border_mode must be one of %s, got %r" % (", ".join(map(repr, BORDER_MODES)), border_mode))
    return at.cast(index, "int64")


def bilinear_sample(input, x_s, y_s, border_mode):
    """Bilinear samples of ``input`` (batch, channels, rows, cols) at normalized points.

    ``x_s`` and ``y_s`` are ``(batch, points)``; returns ``(batch, points, channels)``.
    """
    batch, channels, rows, cols = input.shape
    dtype = input.dtype
    x = (x_s + 1) / 2 * as_dtype(cols - 1, dtype)
    y = (y_s + 1) / 2 * as_dtype(rows - 1, dtype)
    x0, y0 = at.floor(x), at.floor(y)
    x1, y1 = x0 + 1, y0 + 1
    pixels = input.dimshuffle(0, 2, 3, 1).reshape((-1, channels))
    first_pixel = (counting_up(batch, "int64") * rows * cols).dimshuffle(0, "x")

    def index(x_corner, y_corner):
        col = _border_indices(x_corner, as_dtype(cols, dtype), border_mode)
        row = _border_indices(y_corner, as_dtype(rows, dtype), border_mode)
        return (first_pixel + row * cols + col).flatten()

    # One gather of the four neighbours (a single increment in the gradient).
    corners = [(x0, y0), (x0, y1), (x1, y0), (x1, y1)]
    neighbours = pixels[at.concatenate([index(*corner) for corner in corners])].reshape((4, batch, -1, channels))
    weights = at.stack([(x1 - x) * (y1 - y), (x1 - x) * (y - y0), (x - x0) * (y1 - y), (x - x0) * (y - y0)])
    return (weights.dimshuffle(0, 1, 2, "x") * neighbours).sum(axis=0)


def pointwise_dot(points, matrix, batch):
    """``(batch, 2, k)`` ``points`` times a ``(k, m)`` ``matrix``, as one 2-D product, shaped ``(batch, 2, m)``.

    (Unlike ``at.dot`` of a 3-D tensor, the reshapes have shapes aesara's JAX backend can compile.)
    """
    k, m = matrix.shape
    return at.dot(points.reshape((2 * batch, k)), matrix).reshape((batch, 2, m))


def resample(input, source_points, rows, cols, border_mode):
    """``input`` read at ``source_points`` (batch, 2, rows * cols), as a (batch, channels, rows, cols) image."""
    samples = bilinear_sample(input, source_points[:, 0], source_points[:, 1], border_mode)
    return samples.reshape((input.shape[0], rows, cols, input.shape[1])).dimshuffle(0, 3, 1, 2)


# -- affine -----------------------------------------------------------------------


class TransformerLayer(_SpatialTransformer):
    """TransformerLayer(incoming, localization_network, downsample_factor=1, border_mode='nearest', **kwargs)

    Spatial transformer (Jaderberg et al., 2015) with an affine map: the
    ``localization_network`` outputs ``(batch, 6)`` values ``theta``, read as
    the 2x3 matrix mapping ``(x_t, y_t, 1)`` to the source point ``(x_s, y_s)``
    (``theta = [1, 0, 0, 0, 1, 0]`` is the identity).  ``incoming`` is a
    ``(batch, channels, rows, cols)`` image; the output has
    ``rows // downsample_factor`` rows and likewise columns (a float or a
    pair; below 1 upsamples).  ``border_mode`` is ``'nearest'``, ``'mirror'``
    or ``'wrap'`` (see the module); another value fails in ``get_output``.

    >>> TransformerLayer((None, 3, 28, 28), (None, 6), downsample_factor=2).output_shape
    (None, 3, 14, 14)
    """

    def __init__(self, incoming, localization_network, downsample_factor=1, border_mode="nearest", **kwargs):
        super().__init__(incoming, localization_network, downsample_factor, border_mode, **kwargs)
        check_transformer_inputs(*self.input_shapes, loc_units=6, what="6")

    def get_output_for(self, inputs, **kwargs):
        input, theta = inputs
        rows, cols = self.output_size(input)
        grid = target_grid(rows, cols, input.dtype)
        homogeneous = at.concatenate([grid, at.ones_like(grid[:1])])
        source_points = pointwise_dot(theta.reshape((input.shape[0], 2, 3)), homogeneous, input.shape[0])
        return resample(input, source_points, rows, cols, self.border_mode)


# -- thin-plate spline ------------------------------------------------------------


def radial_basis(squared_distance):
    """Bookstein's ``U = r^2 log(r^2)``, 0 at ``r = 0``, of numpy squared distances."""
    safe = np.where(squared_distance > 0, squared_distance, 1.0)
    return squared_distance * np.log(safe)


def symbolic_radial_basis(squared_distance):
    """:func:`radial_basis` of a symbolic tensor."""
    safe = at.switch(at.gt(squared_distance, 0), squared_distance, at.ones_like(squared_distance))
    return squared_distance * at.log(safe)


def control_grid(num_points):
    """The ``(2, num_points)`` control points: a square grid over ``[-1, 1]^2``, row by row."""
    side = int(round(np.sqrt(num_points)))
    return numpy_target_grid(side, side, "float64")


def spline_system_inverse(source):
    """Inverse of Bookstein's ``[[0, P.T], [P, K]]`` for control points ``source`` (2, n).

    ``P`` has rows ``(1, x_i, y_i)`` and ``K[i, j] = U(|p_i - p_j|)``; the
    spline's coefficients ``(a_1, a_x, a_y, w_1, ..., w_n)`` for destination
    points ``d`` are ``inverse[:, 3:] @ d``.
    """
    n = source.shape[1]
    affine = np.vstack([np.ones(n), source]).T
    squared = ((source[:, :, None] - source[:, None, :]) ** 2).sum(axis=0)
    system = np.zeros((n + 3, n + 3))
    system[:3, 3:] = affine.T
    system[3:, :3] = affine
    system[3:, 3:] = radial_basis(squared)
    return np.linalg.inv(system)


def spline_features(points, source):
    """``(n + 3, points)`` numpy features ``(1, x, y, U(|p - s_1|), ..., U(|p - s_n|))`` of ``points`` (2, m)."""
    squared = ((points[:, None, :] - source[:, :, None]) ** 2).sum(axis=0)
    return np.vstack([np.ones((1, points.shape[1])), points, radial_basis(squared)])


def symbolic_spline_features(points, source):
    """:func:`spline_features` of symbolic ``points`` (2, m) and constant ``source`` (2, n)."""
    squared = at.square(points.dimshuffle(0, "x", 1) - source[:, :, None]).sum(axis=0)
    return at.concatenate([at.ones_like(points[:1]), points, symbolic_radial_basis(squared)])


class TPSTransformerLayer(_SpatialTransformer):
    """TPSTransformerLayer(incoming, localization_network, downsample_factor=1,
    control_points=16, precompute_grid='auto', border_mode='nearest', **kwargs)

    Spatial transformer with a thin-plate spline (Bookstein, 1989):
    ``control_points`` (a perfect square) points sit on a regular grid over the
    image; the ``localization_network`` outputs ``(batch, 2 * control_points)``
    offsets, all x offsets then all y offsets, that move them, and the spline
    through the moved points maps each output pixel to its source point (all
    offsets zero is the identity).  ``precompute_grid`` evaluates the spline's
    basis on the output grid once, in numpy (``'auto'``: when rows and columns
    are known); otherwise the graph computes it.  ``downsample_factor`` and
    ``border_mode`` are as for :class:`TransformerLayer`.

    >>> TPSTransformerLayer((None, 3, 28, 28), (None, 32)).output_shape
    (None, 3, 28, 28)
    """

    def __init__(
        self,
        incoming,
        localization_network,
        downsample_factor=1,
        control_points=16,
        precompute_grid="auto",
        border_mode="nearest",
        **kwargs,
    ):
        super().__init__(incoming, localization_network, downsample_factor, border_mode, **kwargs)
        self.control_points = control_points
        check_transformer_inputs(*self.input_shapes, loc_units=2 * control_points, what="2 * control_points")
        if not isinstance(control_points, numbers.Integral) or round(np.sqrt(control_points)) ** 2 != control_points:
            raise ValueError("control_points must be a perfect square, got %r" % (control_points,))
        self.precompute_grid = self._precompute(precompute_grid)
        floatx = aesara.config.floatX
        self.source_points = control_grid(control_points)
        self.coefficient_map = spline_system_inverse(self.source_points)[:, 3:].astype(floatx)
        self.grid_features = None
        if self.precompute_grid:
            rows, cols = self.output_shape[2:]
            self.grid_features = spline_features(numpy_target_grid(rows, cols, "float64"), self.source_points)
            self.grid_features = self.grid_features.astype(floatx)

    def _precompute(self, precompute_grid):
        known = None not in self.input_shapes[0][2:]
        if isinstance(precompute_grid, str) and precompute_grid == "auto":
            return known
        if precompute_grid and not known:
            raise ValueError(
                "precompute_grid=True needs the input rows and columns, got input shape %r" % (self.input_shapes[0],)
            )
        return bool(precompute_grid)

    def get_output_for(self, inputs, **kwargs):
        input, offsets = inputs
        dtype = input.dtype
        source = at.constant(self.source_points.astype(dtype))
        batch = input.shape[0]
        destinations = source + offsets.reshape((batch, 2, self.control_points))
        coefficients = pointwise_dot(destinations, at.constant(self.coefficient_map.T.astype(dtype)), batch)
        if self.precompute_grid:
            rows, cols = self.output_shape[2:]
            features = at.constant(self.grid_features.astype(dtype))
        else:
            rows, cols = self.output_size(input)
            features = symbolic_spline_features(target_grid(rows, cols, dtype), source)
        return resample(input, pointwise_dot(coefficients, features, batch), rows, cols, self.border_mode)
