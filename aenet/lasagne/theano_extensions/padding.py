"""Constant padding of a tensor's trailing axes (Lasagne's ``theano_extensions.padding``)."""
import aesara.tensor as at

from aenet.lasagne.utils import int_types

__all__ = ["pad", "pad_axis", "pad_widths"]


def pad_widths(width, ndim, batch_ndim):
    """``(before, after)`` for each of the ``ndim - batch_ndim`` padded axes.

    ``width`` is one int for every axis, or one entry per padded axis, each an
    int or a ``(before, after)`` pair.

    >>> pad_widths(2, 4, 2)
    [(2, 2), (2, 2)]
    >>> pad_widths([1, (0, 3)], 3, 1)
    [(1, 1), (0, 3)]
    """
    padded = ndim - batch_ndim
    if isinstance(width, int_types):
        return [(int(width), int(width))] * padded
    widths = list(width)
    if len(widths) != padded:
        raise ValueError("width %r has %d entries for %d padded axes" % (width, len(widths), padded))
    pairs = [(w, w) if isinstance(w, int_types) else tuple(w) for w in widths]
    if any(len(pair) != 2 or min(pair) < 0 for pair in pairs):
        raise ValueError("width %r: each entry must be an int or a (before, after) pair of ints >= 0" % (width,))
    return [(int(before), int(after)) for before, after in pairs]


def pad_axis(x, axis, before, after, val):
    """``x`` with ``before`` and ``after`` entries of ``val`` added along ``axis``.

    Joined blocks rather than ``set_subtensor`` into a filled array: aesara
    2.9.4's FAST_RUN rewrites never finish on the gradient of the latter.
    """

    def block(size):
        return at.alloc(val, *[size if k == axis else x.shape[k] for k in range(x.ndim)])

    parts = ([block(before)] if before else []) + [x] + ([block(after)] if after else [])
    return at.concatenate(parts, axis=axis) if len(parts) > 1 else x


def pad(x, width, val=0, batch_ndim=1):
    """``x`` padded with ``val`` along every axis after the first ``batch_ndim``.

    ``width`` as in :func:`pad_widths`; the result keeps ``x``'s dtype.
    """
    x = at.as_tensor_variable(x)
    val = at.cast(val, x.dtype)
    for k, (before, after) in enumerate(pad_widths(width, x.ndim, batch_ndim)):
        x = pad_axis(x, batch_ndim + k, before, after, val)
    return x
