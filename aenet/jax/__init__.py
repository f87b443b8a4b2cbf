"""aesara's JAX backend for aenet's nets: the route to a GPU.

aesara 2.9.4 compiles to a GPU only through JAX (``mode="JAX"``), but ships no
JAX implementation for the convolution, pooling and softmax/cross-entropy Ops
that aenet's training, validation and prediction graphs contain.  Importing
this package registers them through aesara's public extension point,
:func:`aesara.link.jax.dispatch.jax_funcify`:

=================================================  ==========================================
``AbstractConv2d``                                 ``lax.conv_general_dilated``
``AbstractConv2d_gradWeights`` / ``_gradInputs``   transpose of that convolution
``Pool`` (max, sum, average_inc_pad/exc_pad)       ``lax.reduce_window``
``MaxPoolGrad``                                    every position equal to the max gets ``gz``
``AveragePoolGrad``                                transpose of the average/sum pool
``DownsampleFactorMaxGradGrad``                    gather of ``ggx`` at the max positions
``SoftmaxWithBias``                                softmax of ``x + b``
``CrossentropySoftmaxArgmax1HotWithBias``          row-wise NLL, softmax and argmax
``CrossentropySoftmax1HotWithBiasDx``              ``dy * (softmax - one_hot)``
``CrossentropyCategorical1Hot`` / ``...Grad``      ``-log p[y]`` and its gradient
``Argmax``                                         ``jnp.argmax`` over one or more axes
``BinomialRV`` (dropout masks)                     ``jax.random.binomial``
``NesterovStep`` (:mod:`aenet.cpu.momentum`)       the same arithmetic, in the same order
``AbstractConv3d`` and its two gradients           the 3-D ``lax.conv_general_dilated`` and transposes
``Scan`` (:mod:`~aenet.jax.scan_support`)          ``Scan.perform``'s loop, with the gradient's taps
``Subtensor``, ``Split``                           slices whose bounds come from shapes; ``jnp.split``
=================================================  ==========================================

Each one reproduces aesara's C code, including its corner cases: filter
flipping and the ``valid``/``full``/``half``/integer/asymmetric padding of the
convolution, ``ignore_border``, stride and padding of the pooling (padding
never wins a maximum), and ``MaxPoolGrad``'s ties: like the C code, it sends the
gradient to *every* input equal to the window's maximum, where JAX's own
gradient of ``reduce_window`` picks one.

Modules: :mod:`~aenet.jax.mode` (:data:`JAX_MODE`), :mod:`~aenet.jax.shapes`
(shape arithmetic that ``jax.jit`` accepts), :mod:`~aenet.jax.conv`,
:mod:`~aenet.jax.pool`, :mod:`~aenet.jax.nnet` (the dispatches) and
:mod:`~aenet.jax.device_function` (:class:`DeviceFunction`: shared variables
that stay on the device between calls).
"""
import aenet

aenet.require_aesara()

from aenet import compat  # noqa: E402
from aenet.jax import conv, nnet, pool, scan_support, shapes  # noqa: E402,F401  (register the dispatches)
from aenet.jax.device_function import DeviceFunction  # noqa: E402
from aenet.jax.mode import EXCLUDED_REWRITES, JAX_MODE  # noqa: E402
from aenet.jax.pool import pool_output_shape  # noqa: E402
from aenet.jax.shapes import HostShapeOp, StaticSpecifyShape  # noqa: E402

compat.patch_jax_random()

__all__ = [
    "JAX_MODE",
    "EXCLUDED_REWRITES",
    "DeviceFunction",
    "HostShapeOp",
    "StaticSpecifyShape",
    "pool_output_shape",
]
