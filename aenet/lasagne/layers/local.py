"""Locally connected layers (Lasagne's ``lasagne.layers.local``)."""
import aesara.tensor as at

from aenet.lasagne import init, nonlinearities
from aenet.lasagne.layers.conv import Conv2DLayer
from aenet.lasagne.utils import as_tuple

__all__ = ["LocallyConnected2DLayer"]


class LocallyConnected2DLayer(Conv2DLayer):
    """LocallyConnected2DLayer(incoming, num_filters, filter_size, stride=(1, 1),
    pad='same', untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
    nonlinearity=nonlinearities.rectify, flip_filters=True, channelwise=False,
    **kwargs)

    A 2-D convolution whose filters are not shared: every output position has
    its own.  ``W`` has shape ``(num_filters, channels, filter rows, filter
    cols, rows, cols)``; with ``channelwise=True`` output channel ``c`` only
    sees input channel ``c`` (``num_filters`` must equal the channels) and
    ``W`` has shape ``(num_filters, filter rows, filter cols, rows, cols)``.
    As in Lasagne, only ``pad='same'`` (odd filters) and ``stride=1`` are
    supported, and every input axis but the batch must be known.

    >>> LocallyConnected2DLayer((None, 3, 6, 5), num_filters=2, filter_size=3).W.get_value().shape
    (2, 3, 3, 3, 6, 5)
    """

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad="same", untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.0), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, channelwise=False, **kwargs):
        if as_tuple(stride, 2) != (1, 1):
            raise NotImplementedError("LocallyConnected2DLayer requires stride=1 / (1, 1), got stride=%r" % (stride,))
        if not (isinstance(pad, str) and pad == "same"):
            raise NotImplementedError("LocallyConnected2DLayer requires pad='same', got pad=%r" % (pad,))
        self.channelwise = channelwise
        super().__init__(incoming, num_filters, filter_size, stride=stride, pad=pad, untie_biases=untie_biases,
                         W=W, b=b, nonlinearity=nonlinearity, flip_filters=flip_filters, **kwargs)

    def get_W_shape(self):
        """One filter per output position: the filter shape followed by the output's rows and cols."""
        if None in self.input_shape[1:]:
            raise ValueError(
                "A LocallyConnected2DLayer requires a fixed input shape (except for the batch size), "
                "got input_shape=%r" % (self.input_shape,)
            )
        channels = self.input_shape[1]
        positions = tuple(self.get_output_shape_for(self.input_shape)[2:])
        if not self.channelwise:
            return (self.num_filters, channels) + self.filter_size + positions
        if self.num_filters != channels:
            raise ValueError(
                "num_filters and the number of input channels should match when channelwise=True, "
                "got num_filters=%r and %r input channels" % (self.num_filters, channels)
            )
        return (self.num_filters,) + self.filter_size + positions

    def convolve(self, input, **kwargs):
        """Sum over filter taps of the zero-padded input, shifted, times that tap's per-position weights."""
        input = at.as_tensor_variable(input)
        rows, cols = self.input_shape[2:]
        half = tuple(size // 2 for size in self.filter_size)
        padded_shape = (input.shape[0], input.shape[1], rows + 2 * half[0], cols + 2 * half[1])
        padded = at.set_subtensor(
            at.zeros(padded_shape, dtype=input.dtype)[:, :, half[0]:half[0] + rows, half[1]:half[1] + cols], input
        )
        total = None
        for i in range(self.filter_size[0]):
            for j in range(self.filter_size[1]):
                term = self._tap(padded[:, :, i:i + rows, j:j + cols], i, j)
                total = term if total is None else total + term
        return total

    def _tap(self, window, i, j):
        """The contribution of filter tap ``(i, j)``: ``window`` is the input it meets at each position."""
        if self.flip_filters:
            i, j = self.filter_size[0] - 1 - i, self.filter_size[1] - 1 - j
        if self.channelwise:
            return window * self.W[:, i, j].dimshuffle("x", 0, 1, 2)
        weights = self.W[:, :, i, j].dimshuffle("x", 0, 1, 2, 3)
        return (window.dimshuffle(0, "x", 1, 2, 3) * weights).sum(axis=2)
