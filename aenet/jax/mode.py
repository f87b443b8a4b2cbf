"""The JAX compile mode for aenet's nets, and helpers shared by the JAX dispatches.

:data:`JAX_MODE` is aesara's JAX mode without the rewrites that only its C
backend can use (``conv_opts`` and ``AbstractConvCheck``): in JAX mode the
abstract convolution Ops stay in the graph for :mod:`aenet.jax.conv`.

The deprecated aesara modules whose Ops the dispatches implement are
imported here, once, without their warnings.
"""
import warnings

import jax
import numpy as np
from aesara.compile.mode import get_mode
from aesara.graph.basic import Constant

with warnings.catch_warnings():  # aesara.tensor.nnet and .signal are deprecated but still shipped
    warnings.simplefilter("ignore", DeprecationWarning)
    from aesara.tensor.nnet import abstract_conv as nnet_conv  # noqa: F401  (for the dispatches)
    from aesara.tensor.nnet import basic as nnet_basic  # noqa: F401
    from aesara.tensor.signal import pool as signal_pool  # noqa: F401

# fast_run rewrites for aesara's C backend only, which JAX mode must skip.
EXCLUDED_REWRITES = ("conv_opts", "AbstractConvCheck")

JAX_MODE = get_mode("JAX").excluding(*EXCLUDED_REWRITES)


# -- helpers ----------------------------------------------------------------------


def static_ints(value, what):
    """``value`` (a constant, or a concrete array while tracing) as a tuple of ints."""
    try:
        return tuple(int(v) for v in np.asarray(value).ravel())
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError, TypeError):
        raise NotImplementedError(
            f"JAX needs {what} known when the function is compiled; it is computed "
            "from the data here. Pass it as a constant."
        ) from None


def constant_ints(var):
    """The value of a constant graph input as a tuple of ints, or None if it is not constant."""
    if isinstance(var, Constant):
        return tuple(int(v) for v in np.asarray(var.data).ravel())
    return None


def as_dtype(x, dtype):
    """``x`` in ``dtype`` (no copy when it already is)."""
    return x if x.dtype == dtype else x.astype(dtype)


def canonical(dtype):
    """``dtype`` as JAX stores it (int64 is int32 while 64-bit types are disabled)."""
    return jax.dtypes.canonicalize_dtype(dtype)


def lowest(dtype):
    """The value that never wins a maximum: -inf, or the smallest integer."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    return np.iinfo(dtype).min

