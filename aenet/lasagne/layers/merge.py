"""Layers that combine several inputs, and the cropping that lines them up."""
import numbers
from functools import reduce

import aesara.tensor as at

from aenet.lasagne.layers.base import MergeLayer
from aenet.lasagne.utils import as_dtype

__all__ = [
    "autocrop",
    "autocrop_array_shapes",
    "ConcatLayer",
    "concat",
    "ElemwiseMergeLayer",
    "ElemwiseSumLayer",
]

CROP_MODES = ("lower", "center", "upper")


def _crop_modes(cropping, ndim):
    """``cropping`` padded with ``None`` to ``ndim`` entries, each checked."""
    modes = list(cropping) + [None] * (ndim - len(cropping))
    for mode in modes:
        if mode is not None and mode not in CROP_MODES:
            raise ValueError("unknown crop mode %r: expected None, 'lower', 'center' or 'upper'" % (mode,))
    return modes


def _check_same_ndim(ndims):
    if len(set(ndims)) > 1:
        raise ValueError("cannot crop inputs of different dimensionalities %r" % (list(ndims),))


def _size(x, axis):
    """The size of ``x`` along ``axis``: an int where its type knows it (so JAX sees constants)."""
    static = x.type.shape[axis]
    return x.shape[axis] if static is None else int(static)


def _declare_cropped_sizes(inputs, input_shapes, cropping):
    """``inputs`` with the sizes their layer's ``input_shapes`` know on the cropped axes made static."""
    if cropping is None or not all(isinstance(shape, tuple) for shape in input_shapes):
        return inputs
    declared = []
    for x, shape in zip(inputs, input_shapes):
        sizes = [n if k < len(cropping) and cropping[k] is not None else None for k, n in enumerate(shape)]
        known = len(shape) == x.ndim and any(n is not None and x.type.shape[k] is None for k, n in enumerate(sizes))
        declared.append(at.specify_shape(x, sizes) if known else x)
    return declared


def autocrop(inputs, cropping):
    """Crop the symbolic ``inputs`` to their smallest size along each cropped axis.

    ``cropping`` has one mode per axis (missing trailing axes are not cropped):
    ``None`` leaves the axis alone, ``'lower'`` keeps its first entries,
    ``'upper'`` its last and ``'center'`` the middle ones (the extra entry of an
    odd difference goes to the end).  ``cropping=None`` returns ``inputs``.
    """
    if cropping is None:
        return inputs
    _check_same_ndim([x.ndim for x in inputs])
    modes = _crop_modes(cropping, inputs[0].ndim)
    indices = [[slice(None)] * x.ndim for x in inputs]
    for axis, mode in enumerate(modes):
        if mode is None:
            continue
        sizes = [_size(x, axis) for x in inputs]
        smallest = min(sizes) if all(isinstance(n, int) for n in sizes) else reduce(at.minimum, sizes)
        for index, size in zip(indices, sizes):
            if mode == "lower":
                index[axis] = slice(None, smallest)
            elif mode == "upper":
                index[axis] = slice(-smallest, None)
            else:
                start = (size - smallest) // 2
                index[axis] = slice(start, start + smallest)
    return [x[tuple(index)] for x, index in zip(inputs, indices)]


def autocrop_array_shapes(input_shapes, cropping):
    """The shapes of inputs of ``input_shapes`` after :func:`autocrop` with ``cropping``.

    >>> autocrop_array_shapes([(1, 2, 3, 4), (5, 4, 4, 2)], [None, 'lower', 'center', 'upper'])
    [(1, 2, 3, 2), (5, 2, 3, 2)]
    """
    if cropping is None:
        return input_shapes
    _check_same_ndim([len(shape) for shape in input_shapes])
    modes = _crop_modes(cropping, len(input_shapes[0]))
    columns = []
    for mode, sizes in zip(modes, zip(*input_shapes)):
        if mode is not None:
            smallest = None if None in sizes else min(sizes)
            sizes = (smallest,) * len(sizes)
        columns.append(sizes)
    return [tuple(shape) for shape in zip(*columns)]


def _first_known(sizes):
    """The first size that is not None, or None."""
    return next((s for s in sizes if s is not None), None)


def _agree(a, b):
    return a is None or b is None or a == b


class ConcatLayer(MergeLayer):
    """ConcatLayer(incomings, axis=1, cropping=None, **kwargs)

    Joins the inputs along ``axis``; their other axes must match, after
    :func:`autocrop` with ``cropping`` (which never crops ``axis``).

    >>> ConcatLayer([(None, 3, 5), (None, 4, 5)]).output_shape
    (None, 7, 5)
    """

    def __init__(self, incomings, axis=1, cropping=None, **kwargs):
        super().__init__(incomings, **kwargs)
        self.axis = axis
        if cropping is not None:
            cropping = list(cropping)
            if 0 <= axis < len(cropping):
                cropping[axis] = None
        self.cropping = cropping

    def _cropping_for(self, ndim):
        """``cropping`` for ``ndim``-d inputs, with the concatenation axis never cropped."""
        if self.cropping is None:
            return None
        modes = list(self.cropping) + [None] * (ndim - len(self.cropping))
        modes[self.axis % ndim] = None
        return modes

    def get_output_shape_for(self, input_shapes):
        ndim = len(input_shapes[0])
        input_shapes = autocrop_array_shapes(input_shapes, self._cropping_for(ndim))
        axis = self.axis % ndim
        if any(len(shape) != ndim for shape in input_shapes):
            raise ValueError("cannot concatenate inputs of different dimensionalities: %r" % (input_shapes,))
        output = [_first_known(sizes) for sizes in zip(*input_shapes)]
        for shape in input_shapes:
            if not all(k == axis or _agree(s, o) for k, (s, o) in enumerate(zip(shape, output))):
                raise ValueError(
                    "input shapes %r must match except in the concatenation axis %d" % (input_shapes, self.axis)
                )
        sizes = [shape[axis] for shape in input_shapes]
        output[axis] = None if None in sizes else sum(sizes)
        return tuple(output)

    def get_output_for(self, inputs, **kwargs):
        ndim = inputs[0].ndim
        cropping = self._cropping_for(ndim)
        inputs = _declare_cropped_sizes(inputs, self.input_shapes, cropping)
        return at.concatenate(autocrop(inputs, cropping), axis=self.axis % ndim)


concat = ConcatLayer


def _broadcast_size(sizes):
    """The size an axis of ``sizes`` broadcasts to, or None if it does not broadcast.

    An axis broadcasts when every size is known, some are 1 and the others are
    all the same size above 1.
    """
    if None in sizes:
        return None
    larger = set(sizes) - {1}
    if len(larger) == 1 and 1 in sizes:
        return larger.pop()
    return None


class ElemwiseMergeLayer(MergeLayer):
    """ElemwiseMergeLayer(incomings, merge_function, cropping=None, **kwargs)

    Folds the inputs with ``merge_function`` (a binary function such as
    ``aesara.tensor.mul`` or ``maximum``), first to last.  After
    :func:`autocrop` with ``cropping``, the input shapes must agree, except
    for unknown sizes and for axes of size 1 broadcast against one other size.

    >>> ElemwiseMergeLayer([(None, 1, 5), (None, 3, 5)], at.mul).output_shape
    (None, 3, 5)
    """

    def __init__(self, incomings, merge_function, cropping=None, **kwargs):
        super().__init__(incomings, **kwargs)
        self.merge_function = merge_function
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes):
        input_shapes = autocrop_array_shapes(input_shapes, self.cropping)
        if len({len(shape) for shape in input_shapes}) > 1:
            raise ValueError("cannot merge inputs of different dimensionalities: %r" % (input_shapes,))
        output = []
        for sizes in zip(*input_shapes):
            broadcast = _broadcast_size(sizes)
            output.append(_first_known(sizes) if broadcast is None else broadcast)
            if broadcast is None and not all(_agree(s, output[-1]) for s in sizes):
                raise ValueError("input shapes %r do not match" % (input_shapes,))
        return tuple(output)

    def _broadcast_axes(self, index):
        """Axes along which input ``index`` is broadcast against the others (known from the input shapes)."""
        if not all(isinstance(shape, tuple) for shape in self.input_shapes):
            return []
        shapes = autocrop_array_shapes(self.input_shapes, self.cropping)
        return [
            axis for axis, sizes in enumerate(zip(*shapes))
            if sizes[index] == 1 and _broadcast_size(sizes) is not None
        ]

    def get_output_for(self, inputs, **kwargs):
        from aesara.tensor.basic import specify_broadcastable

        inputs = autocrop(_declare_cropped_sizes(inputs, self.input_shapes, self.cropping), self.cropping)
        inputs = [specify_broadcastable(x, *self._broadcast_axes(k)) for k, x in enumerate(inputs)]
        return reduce(self.merge_function, inputs)


def _is_one(coeff):
    return isinstance(coeff, numbers.Number) and coeff == 1


class ElemwiseSumLayer(ElemwiseMergeLayer):
    """ElemwiseSumLayer(incomings, coeffs=1, cropping=None, **kwargs)

    ``sum(c * x for c, x in zip(coeffs, inputs))``, where ``coeffs`` is one
    coefficient per input or one for all (not learned).  Shapes follow
    :class:`ElemwiseMergeLayer`.

    >>> ElemwiseSumLayer([(None, 4), (None, 4)], coeffs=[1, -1]).output_shape
    (None, 4)
    """

    def __init__(self, incomings, coeffs=1, cropping=None, **kwargs):
        super().__init__(incomings, at.add, cropping=cropping, **kwargs)
        if isinstance(coeffs, (list, tuple)):
            if len(coeffs) != len(incomings):
                raise ValueError("got %d coeffs for %d incomings: %r" % (len(coeffs), len(incomings), coeffs))
            coeffs = list(coeffs)
        else:
            coeffs = [coeffs] * len(incomings)
        self.coeffs = coeffs

    def get_output_for(self, inputs, **kwargs):
        scaled = [x if _is_one(c) else x * self._coeff_for(c, x) for c, x in zip(self.coeffs, inputs)]
        return super().get_output_for(scaled, **kwargs)

    @staticmethod
    def _coeff_for(coeff, x):
        """A number coefficient in the dtype of a float input (so float32 stays float32)."""
        if isinstance(coeff, numbers.Number) and x.dtype.startswith("float"):
            return as_dtype(coeff, x.dtype)
        return coeff
