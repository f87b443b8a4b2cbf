"""Small helpers shared by the layers, initializers and updates (Lasagne's ``lasagne.utils``)."""
import inspect
import numbers

import aesara
import aesara.tensor as at
import numpy as np
from aesara.compile.sharedvalue import SharedVariable
from aesara.graph.basic import Variable

__all__ = [
    "floatX",
    "shared_empty",
    "as_theano_expression",
    "collect_shared_vars",
    "one_hot",
    "unique",
    "as_tuple",
    "as_list",
    "as_dtype",
    "int_types",
    "inspect_kwargs",
    "compute_norms",
    "create_param",
    "unroll_scan",
]

int_types = (numbers.Integral, np.integer)


def floatX(arr):
    """``arr`` as a numpy array of aesara's ``floatX`` dtype (returned as is if it already is one)."""
    return np.asarray(arr, dtype=aesara.config.floatX)


def shared_empty(dim=2, dtype=None):
    """A shared variable of ``dim`` length-1 axes holding a zero, of ``dtype`` (default floatX)."""
    return aesara.shared(np.zeros((1,) * dim, dtype=dtype or aesara.config.floatX))


def as_theano_expression(input):
    """A symbolic variable as is, anything else (number, array) as a constant.

    Raises TypeError for what cannot become a constant, such as a dict.
    """
    if isinstance(input, Variable):
        return input
    try:
        return at.constant(input)
    except Exception as error:
        raise TypeError("cannot turn %r (a %s) into a constant: %s" % (input, type(input).__name__, error))


def collect_shared_vars(expressions):
    """The shared variables an expression (or list of them) depends on, without repeats.

    They come in depth-first, left-to-right order: ``(x + y) + z`` and
    ``x + (y + z)`` both give ``[x, y, z]``.  A shared variable in the list
    counts as depending on itself.
    """
    if isinstance(expressions, Variable):
        expressions = [expressions]
    found, seen = [], set()
    stack = list(reversed(list(expressions)))
    while stack:
        var = stack.pop()
        if var in seen:
            continue
        seen.add(var)
        if isinstance(var, SharedVariable):
            found.append(var)
        elif var.owner is not None:
            stack.extend(reversed(var.owner.inputs))
    return found


def one_hot(x, m=None):
    """Rows of the ``m``-column identity (floatX) picked by the integers in ``x``.

    ``m`` defaults to ``max(x) + 1``.
    """
    if m is None:
        m = at.cast(at.max(x) + 1, "int32")
    return at.eye(m)[at.cast(x, "int32")]


def unique(items):
    """``items`` without repeats, first occurrence kept, order preserved."""
    return list(dict.fromkeys(items))


def as_tuple(x, n, t=None):
    """``x`` as an ``n``-tuple: an iterable is checked for length, a scalar repeated.

    >>> as_tuple(3, 2)
    (3, 3)

    With ``t`` every element must be an instance of ``t`` (``int`` accepts numpy
    integers too, and converts them).
    """
    try:
        values = tuple(x)
    except TypeError:
        values = (x,) * n
    if t is not None:
        check = int_types if t is int else t
        if not all(isinstance(v, check) for v in values):
            raise TypeError("expected a single %s or an iterable of them, got %r" % (t.__name__, x))
        values = tuple(t(v) for v in values)
    if len(values) != n:
        raise ValueError("expected a single value or an iterable of length %d, got %r" % (n, x))
    return values


def as_list(x):
    """A list or tuple as a list, anything else as a one-element list."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


def as_dtype(value, dtype):
    """A number, array or symbolic scalar as a symbolic value of ``dtype``.

    Used to keep python floats (float64 to aesara) from upcasting float32
    graphs.  A number becomes a constant of ``dtype`` directly, so a float64
    graph keeps all its digits.
    """
    if not isinstance(value, Variable):
        return at.constant(np.asarray(value, dtype=dtype))
    return at.cast(value, dtype)


def inspect_kwargs(func):
    """Names of ``func``'s arguments that have a default value, in order.

    >>> inspect_kwargs(lambda a, b=1, *args, c=2, **kwargs: 0)
    ['b', 'c']
    """
    return [
        name
        for name, parameter in inspect.signature(func).parameters.items()
        if parameter.default is not inspect.Parameter.empty
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]


def norm_axes_for(ndim, norm_axes=None):
    """The axes to sum over for the norms of a tensor of ``ndim`` axes.

    Given ``norm_axes`` win; otherwise none for a vector (element magnitudes),
    axis 0 for a dense ``(inputs, units)`` matrix and all axes but the first
    for a 3-5 dimensional conv weight ``(filters, channels, ...)``.
    """
    if norm_axes is not None:
        return tuple(norm_axes)
    if ndim == 1:
        return ()
    if ndim == 2:
        return (0,)
    if ndim in (3, 4, 5):
        return tuple(range(1, ndim))
    raise ValueError("Unsupported tensor dimensionality %d: give norm_axes for it" % ndim)


def compute_norms(array, norm_axes=None):
    """The L2 norms of the incoming weight vectors of a numpy array or symbolic tensor.

    The axes summed over are chosen by :func:`norm_axes_for`.

    >>> compute_norms(np.ones((4, 3))).tolist()
    [2.0, 2.0, 2.0]
    """
    if isinstance(array, Variable):
        module = at
    elif isinstance(array, np.ndarray):
        module = np
    else:
        raise RuntimeError("Unsupported type %s: compute_norms takes numpy arrays and symbolic tensors" % type(array))
    axes = norm_axes_for(array.ndim, norm_axes)
    if not axes:
        return abs(array)
    return module.sqrt(module.sum(array**2, axis=axes))


def _check_param_shape(shape, name):
    shape = tuple(shape)
    if not all(isinstance(s, int_types) and s > 0 for s in shape):
        raise ValueError(
            "cannot create parameter %r with shape %r: every dimension must be a positive integer" % (name, shape)
        )
    return shape


def _as_array(spec):
    """Numbers as 0-d arrays (python floats as floatX), arrays as they are, anything else unchanged."""
    if isinstance(spec, float) and not isinstance(spec, np.generic):  # np.float64 is a float too
        return floatX(spec)
    if isinstance(spec, (numbers.Number, np.generic)) and np.asarray(spec).dtype.kind in "biufc":
        return np.asarray(spec)
    return spec


def create_param(spec, shape, name=None):
    """A parameter of ``shape`` made from ``spec``.

    ``spec`` may be

    * a number or numpy array: wrapped in a shared variable (its dtype kept,
      a python float made floatX, length-1 axes broadcastable as in Lasagne);
    * a shared variable: returned as is after a shape check, so layers can
      share weights;
    * any other symbolic expression: returned as is after a check of its
      number of dimensions (the parameter is then computed, e.g. tied weights);
    * a callable such as an :class:`aenet.lasagne.init.Initializer`: called
      with ``shape``; its result is treated as above.

    An unnamed result is given ``name``.
    """
    shape = _check_param_shape(shape, name)
    from_callable = callable(spec) and not isinstance(spec, Variable)
    if from_callable:
        spec = spec(shape)
    spec = _as_array(spec)
    if isinstance(spec, np.ndarray):
        if spec.shape != shape:
            raise ValueError("parameter %r has shape %r, expected %r" % (name, spec.shape, shape))
        spec = aesara.shared(spec, shape=tuple(1 if s == 1 else None for s in spec.shape))
    if not isinstance(spec, Variable):
        what = "the callable returned" if from_callable else "expected a number, numpy array, expression or callable, got"
        raise TypeError("cannot create parameter %r: %s %r" % (name, what, spec))
    if spec.ndim != len(shape):
        raise ValueError("parameter %r has %d dimensions, expected %d (shape %r)" % (name, spec.ndim, len(shape), shape))
    if isinstance(spec, SharedVariable):
        actual = spec.get_value(borrow=True).shape
        if actual != shape:
            raise ValueError("parameter %r has shape %r, expected %r" % (name, actual, shape))
    if not spec.name:
        spec.name = name
    return spec


def unroll_scan(fn, sequences, outputs_info, non_sequences, n_steps, go_backwards=False):
    """``aesara.scan`` written out as ``n_steps`` copies of ``fn`` (no truncated gradients).

    Returns one tensor per output of ``fn``, stacking its value at each step.
    """
    sequences = as_list(sequences)
    steps = range(n_steps - 1, -1, -1) if go_backwards else range(n_steps)
    previous, history = list(outputs_info), []
    for i in steps:
        outputs = fn(*([seq[i] for seq in sequences] + previous + list(non_sequences)))
        previous = as_list(outputs)
        history.append(previous)
    return [at.stack([step[k] for step in history]) for k in range(len(history[0]))]
