"""``NeuralNet``: nolearn 0.6's scikit-learn-style estimator on :mod:`aenet.lasagne`.

A net is declared as a list of layers plus ``<layer>_<arg>=`` keywords, and
trained with ``fit(X, y)``::

    net = NeuralNet(
        layers=[("input", InputLayer), ("hidden", DenseLayer), ("output", DenseLayer)],
        input_shape=(None, 1024), hidden_num_units=100,
        output_num_units=10, output_nonlinearity=softmax,
        update_learning_rate=0.01, update_momentum=0.9, max_epochs=50)
    net.fit(X, y)           # X float32 (n, 1024), y int32 labels 0..9
    net.predict(X_test)

The estimator stores its arguments; building the layers
(:mod:`~aenet.nolearn.routing`), compiling (:mod:`~aenet.nolearn.graph`),
the epochs (:mod:`~aenet.nolearn.training`), the parameter methods
(:mod:`~aenet.nolearn.net_params`) and parameter files
(:mod:`~aenet.nolearn.params_io`) live in modules of their own.
"""
import copy
import warnings

import numpy as np

import aesara.tensor as at
from aenet.lasagne.layers import InputLayer, Layer, get_output
from aenet.lasagne.objectives import aggregate
from aenet.lasagne.updates import nesterov_momentum
from aenet.nolearn import inputs, routing
from aenet.nolearn.batches import BatchIterator, LegacyTrainTestSplit, TrainSplit
from aenet.nolearn.graph import compile_net, grad_scale, output_function  # noqa: F401  (nolearn's names)
from aenet.nolearn.handlers import PrintLayerInfo, PrintLog
from aenet.nolearn.net_params import NetParams
from aenet.nolearn.routing import Layers  # noqa: F401  (nolearn.lasagne.base.Layers)
from aenet.nolearn.training import train_loop

# The arguments of NeuralNet.__init__ other than **kwargs, for get_params().
_INIT_PARAMS = (
    "layers", "update", "loss", "objective", "objective_loss_function",
    "batch_iterator_train", "batch_iterator_test", "regression", "max_epochs",
    "train_split", "custom_scores", "scores_train", "scores_valid",
    "X_tensor_type", "y_tensor_type", "use_label_encoder", "on_batch_finished",
    "on_epoch_finished", "on_training_started", "on_training_finished",
    "more_params", "check_input", "verbose",
)  # fmt: skip


# The arguments that change the compiled functions.
_GRAPH_PARAMS = {
    "layers", "update", "objective", "objective_loss_function", "regression",
    "scores_train", "scores_valid", "X_tensor_type", "y_tensor_type", "more_params",
}  # fmt: skip

# What is compiled or derived from the compiled functions: rebuilt, never pickled.
_COMPILED = ("train_iter_", "eval_iter_", "predict_iter_", "_compiled", "_initialized", "_get_output_fn_cache")


def objective(
    layers,
    loss_function,
    target,
    aggregate=aggregate,
    deterministic=False,
    l1=0,
    l2=0,
    get_output_kw=None,
):
    """nolearn's default objective: the scalar loss of the last of ``layers`` against ``target``.

    ``aggregate(loss_function(output, target))`` plus ``l1`` times the sum of
    absolute values and ``l2`` times the sum of squares of the parameters
    tagged ``regularizable`` (weights, not biases) of all ``layers``, each
    parameter once.  ``deterministic=True`` turns off dropout and other noise
    (used for validation); ``get_output_kw`` goes to ``get_output``.
    """
    output = get_output(layers[-1], deterministic=deterministic, **(get_output_kw or {}))
    loss = aggregate(loss_function(output, target))
    if l1 or l2:
        params = _regularizable(layers.values() if hasattr(layers, "values") else layers)
        if l1:
            loss = loss + np.float32(l1) * sum(at.sum(abs(p)) for p in params)
        if l2:
            loss = loss + np.float32(l2) * sum(at.sum(p**2) for p in params)
    return loss


def _regularizable(layers):
    params = []
    for layer in layers:
        params += [p for p in layer.get_params(regularizable=True) if not any(p is q for q in params)]
    return params


class _HostOnly:
    """The device state of a net that is not compiled: nothing to sync."""

    on_device = False

    def pull(self):
        pass

    def push(self):
        pass


class NeuralNet(NetParams):
    """A scikit-learn-style estimator around an :mod:`aenet.lasagne` network.

    ``layers`` is one of

    * ``[("name", LayerClass), ...]``,
    * ``[(LayerClass, {"num_units": 10, ...}), ...]`` (an unnamed layer is
      called like nolearn does: class name without "Layer", lowercased, plus
      its index, e.g. ``"dense1"``),
    * a list of layer instances, or the output layer instance itself (the
      layers they depend on are adopted; listed layers that feed no other
      are the outputs: with several, :meth:`predict_proba` returns a tuple,
      the objective sees all layers and accuracy is the first output's).

    A layer's ``incoming`` is the previous layer unless ``<name>_incoming``
    (or ``<name>_incomings``) names another one; ``<name>_W="other"`` shares
    the weights of layer ``"other"``.  Keywords are routed by prefix:
    ``<layer name>_`` to that layer, ``update_`` to the update rule,
    ``objective_`` to the objective; one that nothing takes raises
    ``ValueError("Unused kwarg: ...")`` in :meth:`initialize`.

    The training loss is ``objective(layers_, loss_function, y)`` on the
    noisy (``deterministic=False``) output, averaged over each batch
    (cross-entropy, or squared error with ``regression=True``); the
    validation loss and accuracy use the deterministic output.  Each epoch
    appends a dict to ``train_history_`` (``epoch``, ``train_loss``,
    ``train_loss_best``, ``valid_loss``, ``valid_loss_best``,
    ``valid_accuracy``, ``dur`` and one entry per score) and calls the
    ``on_epoch_finished`` handlers as ``handler(net, train_history_)``; a
    handler raising ``StopIteration`` ends training after that epoch.
    ``verbose=1`` prints the parameter count, the layers and a table row per
    epoch.  A training loss that becomes nan or infinite raises
    ``FloatingPointError`` naming the epoch.  Unlike nolearn, ``fit`` does
    not swallow ``KeyboardInterrupt``: a net stopped that way is not
    reported as trained.  With ``regression=True`` ``valid_accuracy`` is nan.

    As in nolearn 0.6.1, ``eval_size=`` becomes ``train_split=TrainSplit(eval_size)``
    (deprecated; a subclass defining ``train_test_split(X, y, eval_size)`` has
    it used as the split instead), :meth:`get_output` gives any layer's output, :func:`~aenet.nolearn.grad_scale`
    scales a layer's gradients, and :meth:`score` gives R² as ``r2_score(predictions, y)``.
    ``sklearn.base.clone`` copies the arguments (layer instances too), so a net
    works in ``GridSearchCV`` over routed keywords such as ``hidden_num_units``.

    Data are float32 ``X`` (cast once, not copied when already float32; a
    ``np.memmap`` is read batch by batch, but note that a validation split
    copies both parts into memory: with ``TrainSplit(eval_size=0)`` it stays
    on disk) and ``y`` int32 labels ``0..K-1``
    for classification or a float32 matrix for regression.
    ``use_label_encoder=True`` maps arbitrary labels to ``0..K-1`` and back.
    ``custom_scores`` are ``(name, func(y_batch, proba_batch))`` pairs
    evaluated with numpy on the validation batches; ``scores_train`` and
    ``scores_valid`` are ``(name, func(proba_expr, y_expr))`` pairs compiled
    into the training and validation functions.
    """

    def __init__(
        self,
        layers,
        update=nesterov_momentum,
        loss=None,
        objective=objective,
        objective_loss_function=None,
        batch_iterator_train=BatchIterator(batch_size=128),
        batch_iterator_test=BatchIterator(batch_size=128),
        regression=False,
        max_epochs=100,
        train_split=TrainSplit(eval_size=0.2),
        custom_scores=None,
        scores_train=None,
        scores_valid=None,
        X_tensor_type=None,
        y_tensor_type=None,
        use_label_encoder=False,
        on_batch_finished=None,
        on_epoch_finished=None,
        on_training_started=None,
        on_training_finished=None,
        more_params=None,
        check_input=True,
        verbose=0,
        **kwargs,
    ):
        if loss is not None:
            raise ValueError("the 'loss' argument is not supported; use 'objective_loss_function'")
        if hasattr(self, "train_test_split"):  # nolearn's older hook, in a subclass
            warnings.warn(
                "the 'train_test_split' method is deprecated; use the 'train_split' argument",
                DeprecationWarning, stacklevel=2,
            )
            train_split = LegacyTrainTestSplit(eval_size=kwargs.pop("eval_size", 0.2))
        if "eval_size" in kwargs:  # nolearn's older argument
            warnings.warn(
                "the 'eval_size' argument is deprecated; use train_split=TrainSplit(eval_size=...)",
                DeprecationWarning, stacklevel=2,
            )
            stratify = getattr(train_split, "stratify", True)
            train_split = TrainSplit(eval_size=kwargs.pop("eval_size"), stratify=stratify)
        self.layers = layers
        self.update = update
        self.loss = loss
        self.objective = objective
        self.objective_loss_function = objective_loss_function
        self.batch_iterator_train = batch_iterator_train
        self.batch_iterator_test = batch_iterator_test
        self.regression = regression
        self.max_epochs = max_epochs
        self.train_split = train_split
        self.custom_scores = custom_scores
        self.scores_train = scores_train
        self.scores_valid = scores_valid
        self.X_tensor_type = X_tensor_type
        self.y_tensor_type = y_tensor_type
        self.use_label_encoder = use_label_encoder
        self.on_batch_finished = on_batch_finished
        self.on_epoch_finished = on_epoch_finished
        self.on_training_started = on_training_started
        self.on_training_finished = on_training_finished
        self.more_params = more_params
        self.check_input = check_input
        self.verbose = verbose
        self._kwarg_keys = []
        self._set_kwargs(kwargs)

    def _set_kwargs(self, kwargs):
        for key, value in kwargs.items():
            if key not in self._kwarg_keys:
                if hasattr(self, key) or key.startswith("_"):
                    raise ValueError(f"keyword {key!r} clashes with a NeuralNet attribute")
                self._kwarg_keys.append(key)
            setattr(self, key, value)

    # -- scikit-learn parameters -------------------------------------------

    def get_params(self, deep=True):
        """The constructor's arguments, including the routed ``**kwargs``."""
        return {key: getattr(self, key) for key in _INIT_PARAMS + tuple(self._kwarg_keys)}

    def __sklearn_clone__(self):
        """An unfitted copy for ``sklearn.base.clone``: the arguments deep-copied, layer instances too."""
        return type(self)(**copy.deepcopy(self.get_params(deep=False)))

    def set_params(self, **params):
        """Set constructor arguments (and routed keywords); returns ``self``.

        Arguments that shape the compiled functions (layers, update,
        objective, ``regression``, scores, any routed keyword...) make the
        next :meth:`fit` recompile; changing ``layers`` or a keyword routed to
        a layer also rebuilds the layers, with fresh weights.  Other arguments
        (``max_epochs``, handlers, batch iterators, ``verbose``...) take
        effect without recompiling.
        """
        kwargs = {k: v for k, v in params.items() if k not in _INIT_PARAMS}
        for key in _INIT_PARAMS:
            if key in params:
                setattr(self, key, params[key])
        self._set_kwargs(kwargs)
        layer_names = list(getattr(self, "layers_", {}).keys())
        touches_layers = "layers" in params or any(routing.owner(key, layer_names) in layer_names for key in kwargs)
        if touches_layers:
            self.__dict__.pop("layers_", None)
        if kwargs or any(key in _GRAPH_PARAMS for key in params):
            self._initialized = False
        return self

    # -- building -----------------------------------------------------------

    def _routed_keywords(self):
        """The ``<prefix>_<arg>`` keywords and ``more_params``, by key."""
        return {**{key: getattr(self, key) for key in self._kwarg_keys}, **(self.more_params or {})}

    def _layer_names(self):
        if hasattr(self, "layers_"):
            return list(self.layers_.keys())
        return routing.declared_names(self.layers)

    def _get_params_for(self, name):
        """The keywords routed to ``name`` (a layer, "update" or "objective"), without the prefix."""
        return routing.routed(self._routed_keywords(), name, self._layer_names())

    def _check_for_unused_kwargs(self):
        routing.check_unused(self._kwarg_keys, list(self.layers_.keys()))

    def initialize_layers(self, layers=None):
        """Build ``layers_`` (a :class:`~aenet.nolearn.routing.Layers` dict) and return the output layer.

        The output layers, a list, when ``layers`` lists built layers of which
        several feed no other (the branches of a net with several outputs).
        """
        if layers is not None:
            self.layers = layers
        if routing.are_instances(self.layers):
            self.layers_ = routing.adopt_instances(self.layers, self._kwarg_keys)
        else:
            self.layers_ = routing.build_layers(self.layers, self._routed_keywords(), self.X_tensor_type)
        outputs = self._output_layers()
        return outputs[0] if len(outputs) == 1 else outputs

    def _output_layers(self):
        """The layers the net predicts: those of a list of built layers that feed no other, else the last."""
        if routing.are_instances(self.layers):
            return routing.output_layers([self.layers] if isinstance(self.layers, Layer) else list(self.layers))
        return [self.layers_[-1]]

    def initialize(self):
        """Build the layers (once), check the keywords and compile the functions."""
        if getattr(self, "_initialized", False):
            return
        self._device.pull()  # before recompiling: the trained values, not the host's older ones
        if getattr(self, "layers_", None) is None:
            self.initialize_layers()
        self._check_for_unused_kwargs()
        self.__dict__.pop("_get_output_fn_cache", None)
        iter_funcs = self._create_iter_funcs(self.layers_, self.objective, self.update, self.y_tensor_type)
        self.train_iter_, self.eval_iter_, self.predict_iter_ = iter_funcs
        if not hasattr(self, "train_history_"):
            self.train_history_ = []
        self._print_layer_info = PrintLayerInfo()
        self._print_log = PrintLog()
        self._initialized = True

    def _create_iter_funcs(self, layers, objective, update, output_type):
        """Compile the net (as ``self._compiled``) and return its ``(train, evaluate, predict)`` functions.

        nolearn's hook; the arguments are read from the net itself.
        """
        input_layers = [layer for layer in layers.values() if isinstance(layer, InputLayer)]
        if len(input_layers) != 1:
            raise ValueError(f"NeuralNet needs exactly one InputLayer, found {len(input_layers)}")
        self._compiled = compile_net(
            self, input_layers[0], self._get_params_for("objective"), self._get_params_for("update")
        )
        return self._compiled.train, self._compiled.evaluate, self._compiled.predict

    @property
    def _device(self):
        """The compiled functions, which sync the device's copy of the state (or nothing to sync)."""
        return self.__dict__.get("_compiled") or _HostOnly()

    @property
    def _on_device(self):
        """Whether the compiled functions keep the parameters on a JAX device."""
        return self._device.on_device

    # -- data checks ----------------------------------------------------------

    def _check_good_input(self, X, y=None):
        """``(X, y)`` with their lengths checked; a 1-D ``y`` becomes a column for regression."""
        return inputs.check_good_input(X, y, regression=self.regression)

    def _prepare_X(self, X):
        input_layer = self.layers_[0] if self.check_input and hasattr(self, "layers_") else None
        return inputs.prepare_X(X, input_layer)

    def _prepare_y(self, y, fitting=True):
        if self.regression:
            return inputs.regression_targets(y)
        if self.use_label_encoder:
            if fitting and not (hasattr(self, "classes_") and getattr(self, "train_history_", None)):
                self.classes_ = np.unique(y)  # kept while training continues
            return inputs.encoded_labels(np.asarray(y), self.classes_, check=self.check_input)
        if not self.check_input:
            return np.asarray(y).astype(np.int32, copy=False)
        return inputs.class_labels(y, self._n_outputs())

    def _n_outputs(self):
        if not hasattr(self, "layers_"):
            return None
        shape = self._output_layers()[0].output_shape
        return shape[-1] if len(shape) == 2 else None

    # -- training ---------------------------------------------------------------

    def fit(self, X, y, epochs=None):
        """Train for ``epochs`` (default ``max_epochs``) more epochs; returns ``self``."""
        X, y = self._check_good_input(X, y)
        self.initialize()
        X = self._prepare_X(X)
        y = self._prepare_y(y, fitting=True)
        self.train_loop(X, y, epochs=epochs)
        return self

    def partial_fit(self, X, y, classes=None):
        """Train one epoch (continuing from the current weights)."""
        return self.fit(X, y, epochs=1)

    def train_loop(self, X, y, epochs=None):
        """Split the data, then run the epochs and handlers (data already prepared).

        The net is compiled first unless no epoch is to run.  See
        :mod:`aenet.nolearn.training` for how batches reach a JAX device.
        """
        epochs = self.max_epochs if epochs is None else epochs
        if epochs:
            self.initialize()
        train_loop(self, X, y, epochs)

    # -- prediction -------------------------------------------------------------

    def predict_proba(self, X):
        """The deterministic network output for ``X``, batch by batch.

        A tuple of outputs, one per output layer, when the net has several.
        """
        self.initialize()
        self._device.push()
        X = self._prepare_X(X)
        out = [self.predict_iter_(inputs.batch_float32(Xb)) for Xb, _ in self.batch_iterator_test(X)]
        outputs = self._output_layers()
        if not out:
            out = [[np.zeros((0,) + tuple(layer.output_shape[1:]), dtype=np.float32) for layer in outputs]]
        joined = tuple(np.concatenate(parts) for parts in zip(*out))
        return joined[0] if len(joined) == 1 else joined

    def predict(self, X):
        """Class labels (argmax of :meth:`predict_proba`), or the output(s) for regression."""
        proba = self.predict_proba(X)
        if self.regression:
            return proba
        if isinstance(proba, tuple):
            raise ValueError(
                f"predict needs one output layer for classification, the net has {len(proba)}; use predict_proba"
            )
        labels = np.argmax(proba, axis=1)
        if self.use_label_encoder:
            return self.classes_[labels]
        return labels.astype(np.int32)

    def get_output(self, layer, X, deterministic=False):
        """The output of ``layer`` (a layer of the net or its name) for ``X``, batch by batch.

        As in nolearn, noise layers are active unless ``deterministic=True``.
        """
        self.initialize()
        if isinstance(layer, str):
            layer = self.layers_[layer]
        cache = self.__dict__.setdefault("_get_output_fn_cache", {})
        key = (layer, bool(deterministic))
        if key not in cache:
            cache[key] = output_function(self.layers_[0], layer, deterministic)
        self._device.pull()
        X = self._prepare_X(X)
        return np.concatenate([cache[key](inputs.batch_float32(Xb)) for Xb, _ in self.batch_iterator_test(X)])

    def score(self, X, y):
        """Accuracy for classification, R² for regression.

        As in nolearn, R² is computed as ``r2_score(predictions, y)``: the
        predictions take the place of the true values.
        """
        X, y = self._check_good_input(X, y)
        prediction = self.predict(X)
        if self.regression:
            return inputs.r2_score(prediction, np.asarray(y).reshape(len(y), -1))
        return float(np.mean(prediction == np.asarray(y)))

    def __repr__(self):
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("layers", "max_epochs", *self._kwarg_keys))
        return f"{type(self).__name__}({shown})"

    def __getstate__(self):
        self._device.pull()
        return {key: value for key, value in self.__dict__.items() if key not in _COMPILED}
