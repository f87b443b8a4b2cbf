"""The :class:`Layer` contract every layer follows."""
from collections import OrderedDict

from aesara.graph.basic import Variable

from aenet.lasagne import nonlinearities
from aenet.lasagne.utils import collect_shared_vars, create_param

__all__ = ["Layer", "MergeLayer"]


def check_shape(shape, name):
    """Raise ValueError unless every known dimension of a shape tuple is positive."""
    if isinstance(shape, (tuple, list)) and any(d is not None and d <= 0 for d in shape):
        raise ValueError("cannot create layer %r for a non-positive input shape %r" % (name, shape))


def concrete_shape(shape, layer):
    """``shape`` unless it is symbolic (an expression, or holding one): then ValueError."""
    if isinstance(shape, Variable) or (isinstance(shape, (tuple, list)) and any(isinstance(d, Variable) for d in shape)):
        raise ValueError(
            "%s %r: get_output_shape_for returned a symbolic output shape %r; output shapes hold "
            "ints and None" % (type(layer).__name__, layer.name, shape)
        )
    return shape


def nonlinearity_or_identity(nonlinearity):
    """``None`` means the identity, as in Lasagne."""
    return nonlinearities.identity if nonlinearity is None else nonlinearity


def add_bias(activation, b):
    """``activation + b`` with ``b`` laid along axis 1 on (``None`` adds nothing).

    A ``(units,)`` bias suits dense and tied-bias conv outputs, a
    ``(filters, rows, cols)`` bias untied conv outputs.
    """
    if b is None:
        return activation
    pattern = ("x",) + tuple(range(b.ndim)) + ("x",) * (activation.ndim - 1 - b.ndim)
    return activation + b.dimshuffle(pattern)


class Layer:
    """Layer(incoming, name=None): base class of all layers but :class:`InputLayer`.

    ``incoming`` is the layer feeding this one, or the shape tuple of its input
    (``None`` for a dimension unknown until run time).  Subclasses register
    parameters with :meth:`add_param` and implement :meth:`get_output_shape_for`
    and :meth:`get_output_for`.

    >>> Layer((None, 3, 5)).output_shape
    (None, 3, 5)
    """

    def __init__(self, incoming, name=None):
        if isinstance(incoming, tuple):
            self.input_shape = incoming
            self.input_layer = None
        else:
            self.input_shape = incoming.output_shape
            self.input_layer = incoming
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []
        check_shape(self.input_shape, name)

    @property
    def output_shape(self):
        """The output shape for this layer's ``input_shape``."""
        return concrete_shape(self.get_output_shape_for(self.input_shape), self)

    def get_params(self, unwrap_shared=True, **tags):
        """This layer's parameters, in creation order, filtered by tags.

        ``trainable=True`` keeps only parameters tagged trainable,
        ``regularizable=False`` drops those tagged regularizable, and so on.
        A parameter given as an expression is replaced by the shared variables
        it depends on unless ``unwrap_shared`` is False.
        """
        wanted = {tag for tag, value in tags.items() if value}
        unwanted = {tag for tag, value in tags.items() if not value}
        params = [
            param
            for param, param_tags in self.params.items()
            if wanted <= param_tags and not unwanted & param_tags
        ]
        return collect_shared_vars(params) if unwrap_shared else params

    def add_param(self, spec, shape, name=None, **tags):
        """Create a parameter from ``spec`` (see :func:`aenet.lasagne.utils.create_param`).

        ``spec`` may also be a symbolic expression, kept as the parameter.

        It is named ``name``, prefixed by ``"<layer name>."`` if the layer is
        named, and tagged ``trainable`` and ``regularizable`` unless a keyword
        sets either to False; other keywords add tags of their own.
        """
        if name is not None and self.name is not None:
            name = "%s.%s" % (self.name, name)
        param = create_param(spec, shape, name)
        tags = {"trainable": True, "regularizable": True, **tags}
        self.params[param] = {tag for tag, value in tags.items() if value}
        return param

    def get_output_shape_for(self, input_shape):
        """The output shape for an input of ``input_shape``; unchanged by default."""
        return input_shape

    def get_output_for(self, input, **kwargs):
        """The symbolic output for the symbolic ``input``.

        Keyword arguments given to :func:`aenet.lasagne.layers.get_output`
        (such as ``deterministic``) arrive here; layers ignore those they do
        not use.
        """
        raise NotImplementedError()


class MergeLayer(Layer):
    """MergeLayer(incomings, name=None): base class of layers with several inputs.

    ``incomings`` lists the layers (or shape tuples) feeding this one, in order;
    ``input_layers`` holds them (``None`` for a shape) and ``input_shapes``
    their output shapes.  :meth:`get_output_shape_for` receives the list of
    input shapes and :meth:`get_output_for` the list of input expressions, in
    the same order.

    >>> MergeLayer([(None, 3), (None, 4)]).input_shapes
    [(None, 3), (None, 4)]
    """

    def __init__(self, incomings, name=None):
        self.input_shapes = [
            incoming if isinstance(incoming, tuple) else incoming.output_shape for incoming in incomings
        ]
        self.input_layers = [None if isinstance(incoming, tuple) else incoming for incoming in incomings]
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []
        for shape in self.input_shapes:
            check_shape(shape, name)

    @property
    def output_shape(self):
        """The output shape for this layer's ``input_shapes``."""
        return concrete_shape(self.get_output_shape_for(self.input_shapes), self)

    def get_output_shape_for(self, input_shapes):
        """The output shape for inputs of ``input_shapes`` (a list); subclasses define it."""
        raise NotImplementedError()

    def get_output_for(self, inputs, **kwargs):
        """The symbolic output for the list of symbolic ``inputs``; subclasses define it."""
        raise NotImplementedError()
