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

Keywords are routed by prefix: ``<layer name>_`` to that layer's constructor,
``update_`` to the update function, ``objective_`` to the objective.  A keyword
that nothing takes raises ``ValueError("Unused kwarg: ...")`` in
:meth:`NeuralNet.initialize`.
"""
import math
import numbers
import os
from collections import OrderedDict
from time import perf_counter

import numpy as np

import aenet  # noqa: F401  (configures aesara before it is imported)
import aesara
import aesara.tensor as at
from aenet.atomic import atomic_open
from aenet.lasagne.layers import InputLayer, Layer, get_all_layers, get_all_params, get_output
from aenet.lasagne.objectives import aggregate, categorical_crossentropy, squared_error
from aenet.lasagne.updates import nesterov_momentum
from aenet.nolearn.batches import BatchIterator, TrainSplit
from aenet.nolearn.handlers import PrintLayerInfo, PrintLog

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


class Layers(OrderedDict):
    """The net's layers by name; an int or a slice indexes them by position."""

    def __getitem__(self, key):
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return list(self.values())[key]
        if isinstance(key, slice):
            return Layers(list(self.items())[key])
        return super().__getitem__(key)


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
    """The scalar loss of the last of ``layers`` against ``target``.

    ``aggregate(loss_function(output, target))`` plus ``l1`` times the sum of
    absolute values and ``l2`` times the sum of squares of the parameters
    tagged ``regularizable`` (weights, not biases).  ``deterministic=True``
    turns off dropout and other noise (used for validation).
    """
    output_layer = layers[-1]
    output = get_output(output_layer, deterministic=deterministic, **(get_output_kw or {}))
    loss = aggregate(loss_function(output, target))
    if l1 or l2:
        params = get_all_params(output_layer, regularizable=True)
        if l1:
            loss = loss + np.float32(l1) * sum(at.sum(abs(p)) for p in params)
        if l2:
            loss = loss + np.float32(l2) * sum(at.sum(p**2) for p in params)
    return loss


def _as_list(handlers):
    if handlers is None:
        return []
    if isinstance(handlers, (list, tuple)):
        return list(handlers)
    return [handlers]


def _run_handlers(handlers, net, history):
    """Call each handler; True when one raised StopIteration."""
    try:
        for handler in handlers:
            handler(net, history)
    except StopIteration:
        return True
    return False


def _is_layer_class(obj):
    return isinstance(obj, type) and issubclass(obj, Layer)


def _float32(X):
    """``X`` as float32: unchanged when it already is (a memmap stays a memmap)."""
    if isinstance(X, np.ndarray) and (X.dtype == np.float32 or isinstance(X, np.memmap)):
        return X  # memmaps of other dtypes are cast batch by batch
    return np.asarray(X, dtype=np.float32)


def _batch_float32(Xb):
    return np.ascontiguousarray(Xb, dtype=np.float32)


def _batches(iterator, X, y, data=None):
    """``(n, args, yb)`` for each batch of ``iterator(X, y)``: its size, a step's arguments, its labels.

    The arguments are the batch ``(Xb, yb)`` (float32 ``Xb``), or with
    ``data`` (``X`` and ``y`` on the device) ``(*data, index)``, the batch's
    indices on the device, for functions that take the batch there.
    """
    from aenet import device

    bound = iterator(X, y)
    if data is None:
        for Xb, yb in bound:
            yield len(Xb), (_batch_float32(Xb), yb), yb
    else:
        for index in bound.batch_indices():
            yield len(index), (*data, device.put(index.astype(np.int32))), y[index]


_END = object()


def _one_ahead(iterable):
    """The items of ``iterable``, each handed out once the next one has been made.

    For steps queued on a device: the host reads one step's outputs while
    the next one runs, instead of the device waiting for the host.
    """
    iterator = iter(iterable)
    previous = next(iterator, _END)
    for item in iterator:
        yield previous
        previous = item
    if previous is not _END:
        yield previous


def r2_score(y_true, y_pred):
    """Coefficient of determination, averaged uniformly over output columns."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(r2.mean())


def _check_shapes(variables, values, message):
    """Raise ``ValueError(message(name, ours, theirs))`` at the first value whose shape differs."""
    for i, (var, value) in enumerate(zip(variables, values)):
        ours, theirs = var.get_value(borrow=True).shape, np.shape(value)
        if ours != theirs:
            raise ValueError(message(var.name or i, ours, theirs))


class NeuralNet:
    """A scikit-learn-style estimator around an :mod:`aenet.lasagne` network.

    ``NeuralNet(layers, update=nesterov_momentum, loss=None, objective=objective,
    objective_loss_function=None, batch_iterator_train=BatchIterator(batch_size=128),
    batch_iterator_test=BatchIterator(batch_size=128), regression=False,
    max_epochs=100, train_split=TrainSplit(eval_size=0.2), custom_scores=None,
    scores_train=None, scores_valid=None, X_tensor_type=None, y_tensor_type=None,
    use_label_encoder=False, on_batch_finished=None, on_epoch_finished=None,
    on_training_started=None, on_training_finished=None, more_params=None,
    check_input=True, verbose=0, **kwargs)``

    ``layers`` is one of

    * ``[("name", LayerClass), ...]``,
    * ``[(LayerClass, {"num_units": 10, ...}), ...]`` (an unnamed layer is
      called like nolearn does: class name without "Layer", lowercased, plus
      its index, e.g. ``"dense1"``),
    * a list of layer instances, or the output layer instance itself.

    A layer's ``incoming`` is the previous layer unless ``<name>_incoming``
    (or ``<name>_incomings``) names another one; ``<name>_W="other"`` shares
    the weights of layer ``"other"``.

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
        touches_layers = "layers" in params or any(
            self._owner(key, layer_names) in layer_names for key in kwargs
        )
        if touches_layers:
            self.__dict__.pop("layers_", None)
        if kwargs or any(key in _GRAPH_PARAMS for key in params):
            self._initialized = False
        return self

    # -- building -----------------------------------------------------------

    def _owner(self, key, layer_names):
        """The layer name (or "update"/"objective") whose prefix ``key`` has; longest wins."""
        matches = [n for n in list(layer_names) + ["update", "objective"] if key.startswith(f"{n}_")]
        return max(matches, key=len) if matches else None

    def _get_params_for(self, name, layer_names=None):
        """The keywords routed to ``name``, without the prefix (``more_params`` too)."""
        if layer_names is None:
            layer_names = self._layer_names()
        collected = {}
        sources = [(key, getattr(self, key)) for key in self._kwarg_keys]
        sources += list((self.more_params or {}).items())
        for key, value in sources:
            if self._owner(key, layer_names) == name:
                collected[key[len(name) + 1:]] = value
        return collected

    def _layer_names(self):
        if hasattr(self, "layers_"):
            return list(self.layers_.keys())
        return self._declared_names()

    def _declared_names(self):
        layers = self.layers
        if isinstance(layers, Layer):
            return [layer.name for layer in get_all_layers(layers) if layer.name]
        names = []
        for i, spec in enumerate(layers):
            if isinstance(spec, Layer):
                names.append(spec.name or self._layer_name(type(spec), i))
            elif isinstance(spec[0], str):
                names.append(spec[0])
            else:
                names.append(spec[1].get("name") or self._layer_name(spec[0], i))
        return names

    @staticmethod
    def _layer_name(layer_class, index):
        return f"{layer_class.__name__.lower().replace('layer', '')}{index}"

    def _check_for_unused_kwargs(self):
        names = list(self.layers_.keys())
        for key in self._kwarg_keys:
            if self._owner(key, names) is None:
                raise ValueError(
                    f"Unused kwarg: {key} (prefixes in use: "
                    + ", ".join(f"{n}_" for n in names + ["update", "objective"])
                    + ")"
                )

    def initialize_layers(self, layers=None):
        """Build ``layers_`` (a :class:`Layers` dict) and return the output layer."""
        if layers is not None:
            self.layers = layers
        self.layers_ = Layers()
        spec = self.layers
        if isinstance(spec, Layer) or (
            isinstance(spec, (list, tuple)) and spec and all(isinstance(s, Layer) for s in spec)
        ):
            return self._adopt_instances(spec)

        declared = self._declared_names()
        layer = None
        for i, layer_def in enumerate(spec):
            if not isinstance(layer_def, (list, tuple)) or len(layer_def) != 2:
                raise ValueError(
                    f"layers[{i}] must be ('name', LayerClass) or (LayerClass, {{kwargs}}), "
                    f"got {layer_def!r}"
                )
            if isinstance(layer_def[0], str):
                name, factory = layer_def
                kw = {"name": name}
            else:
                factory, kw = layer_def[0], dict(layer_def[1])
                kw.setdefault("name", self._layer_name(factory, i))
            name = kw["name"]
            if name in self.layers_:
                raise ValueError(f"two layers are named {name!r}")
            kw.update(self._get_params_for(name, declared))

            is_input = _is_layer_class(factory) and issubclass(factory, InputLayer)
            if is_input:
                if self.X_tensor_type is not None and "input_var" not in kw:
                    kw["input_var"] = self.X_tensor_type(name)
            elif "incoming" in kw:
                kw["incoming"] = self._resolve(kw["incoming"], name)
            elif "incomings" in kw:
                kw["incomings"] = [self._resolve(n, name) for n in kw["incomings"]]
            else:
                if layer is None:
                    raise ValueError(f"layer {name!r} has no incoming layer; start with an InputLayer")
                kw["incoming"] = layer
            for attr in ("W", "b"):
                if isinstance(kw.get(attr), str):  # share another layer's parameter
                    kw[attr] = getattr(self._resolve(kw[attr], name), attr)
            try:
                layer = factory(**kw)
            except TypeError as error:
                shown = {k: v for k, v in kw.items() if k not in ("incoming", "incomings")}
                raise TypeError(
                    f"could not build layer {name!r} as {getattr(factory, '__name__', factory)}"
                    f"(**{shown!r}): {error}"
                ) from error
            self.layers_[name] = layer
        return layer

    def _resolve(self, ref, name):
        if isinstance(ref, Layer):
            return ref
        try:
            return self.layers_[ref]
        except KeyError:
            raise ValueError(
                f"layer {name!r} refers to layer {ref!r}, which is not defined before it "
                f"(defined: {list(self.layers_.keys())})"
            ) from None

    def _adopt_instances(self, spec):
        output = spec if isinstance(spec, Layer) else spec[-1]
        for i, layer in enumerate(get_all_layers(output)):
            name = layer.name or self._layer_name(type(layer), i)
            if name in self.layers_:
                raise ValueError(f"two layers are named {name!r}")
            self.layers_[name] = layer
        for key in self._kwarg_keys:
            owner = self._owner(key, self.layers_.keys())
            if owner in self.layers_:
                raise ValueError(
                    f"keyword {key!r} targets layer {owner!r}, but layers were passed as "
                    "instances; set it on the layer instead"
                )
        return output

    def initialize(self):
        """Build the layers (once), check the keywords and compile the functions."""
        if getattr(self, "_initialized", False):
            return
        self._pull_from_device()  # before recompiling: the trained values, not the host's older ones
        if getattr(self, "layers_", None) is None:
            self.initialize_layers()
        self._check_for_unused_kwargs()
        inputs = [layer for layer in self.layers_.values() if isinstance(layer, InputLayer)]
        if len(inputs) != 1:
            raise ValueError(f"NeuralNet needs exactly one InputLayer, found {len(inputs)}")
        self._input_layer = inputs[0]
        self.train_iter_, self.eval_iter_, self.predict_iter_ = self._create_iter_funcs()
        if not hasattr(self, "train_history_"):
            self.train_history_ = []
        self._print_layer_info = PrintLayerInfo()
        self._print_log = PrintLog()
        self._initialized = True

    def _loss_function(self):
        if self.objective_loss_function is not None:
            return self.objective_loss_function
        return squared_error if self.regression else categorical_crossentropy

    def _y_variable(self):
        if self.y_tensor_type is not None:
            return self.y_tensor_type("y")
        if self.regression:
            return at.matrix("y", dtype=aesara.config.floatX)
        return at.ivector("y")

    def _create_iter_funcs(self):
        from aenet import device  # compiles for the configured device

        X = self._input_layer.input_var
        y = self._y_variable()
        output_layer = self.layers_[-1]
        objective_kw = self._get_params_for("objective")
        loss_function = self._loss_function()

        loss_train = self.objective(self.layers_, loss_function=loss_function, target=y, **objective_kw)
        loss_eval = self.objective(
            self.layers_, loss_function=loss_function, target=y, deterministic=True, **objective_kw
        )
        proba = get_output(output_layer, deterministic=True)
        eval_outputs = [loss_eval]
        if not self.regression:
            hits = at.sum(at.eq(at.argmax(proba, axis=1), y), dtype=aesara.config.floatX)
            # over y's length: a mean would compile a broadcast check of the two lengths
            eval_outputs.append(hits / at.cast(y.shape[0], aesara.config.floatX))
        train_outputs = [loss_train]
        train_outputs += [at.mean(func(proba, y)) for _, func in self.scores_train or []]
        eval_outputs += [at.mean(func(proba, y)) for _, func in self.scores_valid or []]

        params = self.get_all_params(trainable=True)
        updates = self.update(loss_train, params, **self._get_params_for("update"))
        # The update rule's own state (velocities, moments...), for get/set_update_state.
        self._update_state_vars = [var for var in updates if not any(var is p for p in params)]

        train_iter = device.function([X, y], train_outputs, updates=updates)
        eval_iter = device.function([X, y], eval_outputs)
        predict_iter = device.function([X], proba)
        self._on_device = device.current() != "cpu"
        self._train_at = self._eval_at = None
        if self._on_device:
            # The same steps on batches taken by index from the data set on the device.
            X_all, y_all, index = X.type("X_all"), y.type("y_all"), at.ivector("index")
            batch = {X: X_all[index], y: y_all[index]}
            n = len(train_outputs)
            cloned = aesara.clone_replace(train_outputs + list(updates.values()), replace=batch)
            self._train_at = device.function(
                [X_all, y_all, index], cloned[:n], updates=dict(zip(updates, cloned[n:]))
            )
            # The output too, for custom_scores (it stays on the device unless read).
            self._eval_at = device.function(
                [X_all, y_all, index], aesara.clone_replace(eval_outputs + [proba], replace=batch)
            )
        self._device_ahead = False
        self._host_values = self._current_host_values(train_iter) if self._on_device else []
        return train_iter, eval_iter, predict_iter

    # -- the device copy of the parameters -------------------------------------------
    #
    # On the JAX devices the compiled functions keep the parameters and the
    # update rule's state on the device (device.function).  The host copies
    # (the shared variables) are brought up to date when training stops
    # between epochs, before handlers run and whenever the net reads or saves
    # them; values set on the host (load_params_from, set_update_state, or a
    # shared variable's set_value) are sent to the device before its next use.

    @staticmethod
    def _current_host_values(function):
        return [(var, var.get_value(borrow=True)) for var in getattr(function, "updated", [])]

    def _pull_from_device(self):
        """Copy the values the training steps left on the device into the shared variables."""
        if getattr(self, "_device_ahead", False):
            self.train_iter_.sync()
            self._host_values = self._current_host_values(self.train_iter_)
            self._device_ahead = False

    def _push_to_device(self):
        """Send shared variables set on the host since the last sync to the device."""
        if not getattr(self, "_on_device", False):
            return
        if any(var.get_value(borrow=True) is not value for var, value in self._host_values):
            for function in (self.train_iter_, self.eval_iter_, self.predict_iter_, self._train_at, self._eval_at):
                function.reload()
            self._host_values = self._current_host_values(self.train_iter_)

    # -- data checks ----------------------------------------------------------

    def _prepare_X(self, X):
        X = _float32(X)
        if self.check_input and hasattr(self, "layers_"):
            shape = tuple(self.layers_[0].shape) if hasattr(self.layers_[0], "shape") else None
            if shape is not None:
                fits = X.ndim == len(shape) and all(
                    s is None or s == d for s, d in zip(shape[1:], X.shape[1:])
                )
                if not fits:
                    raise ValueError(
                        f"X has shape {X.shape} but the input layer {self.layers_[0].name!r} "
                        f"expects {shape}"
                    )
        return X

    def _prepare_y(self, y, fitting=True):
        y = np.asarray(y)
        if self.regression:
            y = y.astype(np.float32, copy=False)
            return y.reshape(-1, 1) if y.ndim == 1 else y
        if self.use_label_encoder:
            if fitting and not (hasattr(self, "classes_") and getattr(self, "train_history_", None)):
                self.classes_ = np.unique(y)  # kept while training continues
            index = np.searchsorted(self.classes_, y)
            index = np.clip(index, 0, len(self.classes_) - 1)
            if self.check_input and np.any(self.classes_[index] != y):
                raise ValueError("y holds labels that were not seen when the label encoder was fitted")
            return index.astype(np.int32)
        if not self.check_input:
            return y.astype(np.int32, copy=False)
        if y.ndim != 1:
            raise ValueError(
                f"classification needs y as a 1-D array of class labels, got shape {y.shape} "
                "(use regression=True for continuous targets)"
            )
        if y.dtype.kind in "iub":
            labels = y
        elif y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                bad = y[~np.isfinite(y) | (y != np.round(y))][0]
                raise ValueError(
                    f"classification needs integer class labels 0..K-1 in y, got non-integer "
                    f"value {bad.item()!r} (use regression=True for continuous targets)"
                )
            labels = y
        else:
            raise ValueError(
                f"classification needs integer class labels 0..K-1 in y, got dtype {y.dtype} "
                "(use use_label_encoder=True to encode other labels)"
            )
        if labels.size and labels.min() < 0:
            raise ValueError(f"class labels must be >= 0, got negative label {labels.min().item()!r}")
        n_out = self._n_outputs()
        if n_out is not None and labels.size and labels.max() >= n_out:
            raise ValueError(
                f"class label {int(labels.max())} is out of range for an output layer with "
                f"{n_out} units (labels must be 0..{n_out - 1})"
            )
        return labels.astype(np.int32)

    def _n_outputs(self):
        if not hasattr(self, "layers_"):
            return None
        shape = self.layers_[-1].output_shape
        return shape[-1] if len(shape) == 2 else None

    def _check_lengths(self, X, y):
        if y is not None and len(X) != len(y):
            raise ValueError(f"X and y have different lengths: {len(X)} samples in X, {len(y)} in y")

    # -- training ---------------------------------------------------------------

    def fit(self, X, y, epochs=None):
        """Train for ``epochs`` (default ``max_epochs``) more epochs; returns ``self``."""
        self._check_lengths(X, y)
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

        On the JAX devices (:mod:`aenet.device`) the training and validation
        sets are copied to the device once per call and each batch is taken
        there by index, when the batch iterator's batches are plain
        ``X[index]`` (:attr:`BatchIterator.batches_by_index`; an iterator that
        augments sends its batches one by one).  The parameters and the update
        rule's state stay on the device: per batch the host sends the indices
        and reads back the loss (and ``scores_train``), the next step already
        queued unless ``on_batch_finished`` handlers must see each step.
        """
        from aenet import device

        self.initialize()
        epochs = self.max_epochs if epochs is None else epochs
        X_train, X_valid, y_train, y_valid = self.train_split(X, y, self)

        def on_device(iterator, X, y):
            """``(X, y)`` copied to the device if batches can be taken there by index, else None."""
            if self._on_device and getattr(iterator, "batches_by_index", False):
                return device.put(_batch_float32(X)), device.put(y)
            return None

        train_data = on_device(self.batch_iterator_train, X_train, y_train)
        valid_data = on_device(self.batch_iterator_test, X_valid, y_valid)
        train_step = self.train_iter_ if train_data is None else self._train_at
        if valid_data is None:
            def valid_step(Xb, yb):
                proba = self.predict_iter_(Xb) if self.custom_scores else None
                return self.eval_iter_(Xb, yb), proba
        else:
            def valid_step(*args):
                *outputs, proba = self._eval_at(*args)
                return outputs, proba

        on_batch_finished = _as_list(self.on_batch_finished)
        on_epoch_finished = _as_list(self.on_epoch_finished)
        on_training_started = _as_list(self.on_training_started)
        on_training_finished = _as_list(self.on_training_finished)
        if self.verbose:
            # The log row is printed before other handlers may stop training.
            on_epoch_finished.insert(0, self._print_log)
            on_training_started.insert(0, self._print_layer_info)
        # On a device, a step's outputs are read once the next step is queued.
        ahead = _one_ahead if self._on_device and not on_batch_finished else iter

        history = self.train_history_
        self._push_to_device()
        stop = _run_handlers(on_training_started, self, history)
        epochs_done = 0
        while not stop and epochs_done < epochs:
            epochs_done += 1
            epoch = len(history) + 1
            t0 = perf_counter()
            self._push_to_device()  # what handlers set on the host

            train_sums = np.zeros(1 + len(self.scores_train or []))
            n_train = 0
            batches = _batches(self.batch_iterator_train, X_train, y_train, train_data)
            steps = ((n, train_step(*args)) for n, args, _ in batches)
            for i, (n, outputs) in enumerate(ahead(steps)):
                self._device_ahead = self._on_device  # the step updated the device's copy
                outputs = np.asarray(outputs, dtype=np.float64)  # the host's only read of a step
                if not math.isfinite(outputs[0]):
                    raise FloatingPointError(
                        f"training loss is {outputs[0]} at epoch {epoch} (batch {i + 1}); "
                        "try a lower learning rate, or check X for nan/inf"
                    )
                train_sums += n * outputs
                n_train += n
                if on_batch_finished:
                    self._pull_from_device()
                    if _run_handlers(on_batch_finished, self, history):
                        stop = True
                        break
                    self._push_to_device()

            n_eval_outputs = 1 + (not self.regression) + len(self.scores_valid or [])
            valid_sums = np.zeros(n_eval_outputs)
            custom_sums = np.zeros(len(self.custom_scores or []))
            n_valid = 0
            batches = _batches(self.batch_iterator_test, X_valid, y_valid, valid_data)
            steps = ((n, yb, valid_step(*args)) for n, args, yb in batches)
            for n, yb, (outputs, proba) in ahead(steps):
                valid_sums += n * np.asarray(outputs, dtype=np.float64)
                if self.custom_scores:
                    proba = np.asarray(proba)
                    custom_sums += n * np.array([f(yb, proba) for _, f in self.custom_scores])
                n_valid += n
            self._pull_from_device()

            train_means = train_sums / n_train if n_train else np.full_like(train_sums, np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                valid_means = valid_sums / n_valid
                custom_means = custom_sums / n_valid
            train_loss, valid_loss = float(train_means[0]), float(valid_means[0])
            previous_train = [row["train_loss"] for row in history]
            previous_valid = [row["valid_loss"] for row in history if not math.isnan(row["valid_loss"])]
            info = {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_loss_best": train_loss <= min(previous_train, default=math.inf),
                "valid_loss": valid_loss,
                "valid_loss_best": valid_loss <= min(previous_valid, default=math.inf),
                "valid_accuracy": float("nan") if self.regression else float(valid_means[1]),
            }
            first_score = 1 if self.regression else 2
            for k, (name, _) in enumerate(self.scores_train or []):
                info[name] = float(train_means[1 + k])
            for k, (name, _) in enumerate(self.scores_valid or []):
                info[name] = float(valid_means[first_score + k])
            for k, (name, _) in enumerate(self.custom_scores or []):
                info[name] = float(custom_means[k])
            info["dur"] = perf_counter() - t0
            history.append(info)
            if _run_handlers(on_epoch_finished, self, history):
                stop = True

        _run_handlers(on_training_finished, self, history)

    # -- prediction -------------------------------------------------------------

    def predict_proba(self, X):
        """The deterministic network output for ``X``, batch by batch."""
        self.initialize()
        self._push_to_device()
        X = self._prepare_X(X)
        out = [self.predict_iter_(_batch_float32(Xb)) for Xb, _ in self.batch_iterator_test(X)]
        if not out:
            return np.zeros((0,) + tuple(self.layers_[-1].output_shape[1:]), dtype=np.float32)
        return np.concatenate(out)

    def predict(self, X):
        """Class labels (argmax of :meth:`predict_proba`), or the output for regression."""
        proba = self.predict_proba(X)
        if self.regression:
            return proba
        labels = np.argmax(proba, axis=1)
        if self.use_label_encoder:
            return self.classes_[labels]
        return labels.astype(np.int32)

    def score(self, X, y):
        """Accuracy for classification, R² for regression."""
        self._check_lengths(X, y)
        prediction = self.predict(X)
        if self.regression:
            return r2_score(np.asarray(y).reshape(len(y), -1), prediction)
        return float(np.mean(prediction == np.asarray(y)))

    # -- parameters -----------------------------------------------------------------

    def _ensure_layers(self):
        if getattr(self, "layers_", None) is None:
            self.initialize_layers()

    def get_all_layers(self):
        self._ensure_layers()
        return list(self.layers_.values())

    def get_all_params(self, **tags):
        """The parameters of all layers (each once), filtered by tags like ``trainable=True``."""
        params = []
        for layer in self.get_all_layers():
            for param in layer.get_params(**tags):
                if not any(param is p for p in params):
                    params.append(param)
        return params

    def get_all_params_values(self):
        """``{layer name: [parameter values]}`` in layer order."""
        self._ensure_layers()
        self._pull_from_device()
        return OrderedDict(
            (name, [p.get_value() for p in layer.get_params()]) for name, layer in self.layers_.items()
        )

    def save_params_to(self, path):
        """Write the parameter values by layer name to ``path`` as ``.npz`` (no pickle).

        The file is written atomically and no ``.npz`` suffix is added.
        """
        arrays = {
            f"{name}:{i}": value
            for name, values in self.get_all_params_values().items()
            for i, value in enumerate(values)
        }
        with atomic_open(path, "wb") as f:
            np.savez(f, **arrays)

    @staticmethod
    def _read_params(path):
        grouped = OrderedDict()
        with np.load(os.fspath(path), allow_pickle=False) as data:
            for key in data.files:
                name, _, index = key.rpartition(":")
                grouped.setdefault(name, {})[int(index)] = data[key]
        return OrderedDict((n, [v[i] for i in sorted(v)]) for n, v in grouped.items())

    def load_params_from(self, source):
        """Set parameters from a file of :meth:`save_params_to`, a net, or a ``{name: values}`` dict.

        Layers are matched by name; layers missing on either side are left
        alone.  Every shape is checked before anything is set, and a mismatch
        raises ``ValueError`` naming the layer and both shapes.
        """
        self._ensure_layers()
        self._pull_from_device()  # the layers left alone keep their trained values
        if isinstance(source, (str, os.PathLike)):
            source = self._read_params(source)
        elif isinstance(source, NeuralNet):
            source = source.get_all_params_values()
        matched = []
        for name, values in source.items():
            layer = self.layers_.get(name)
            if layer is None:
                continue
            params = layer.get_params()
            if len(params) != len(values):
                raise ValueError(
                    f"cannot load layer {name!r}: it has {len(params)} parameters, the source has {len(values)}"
                )
            _check_shapes(params, values, lambda var, ours, theirs: (
                f"cannot load layer {name!r}: parameter {var} has shape {ours} in this net but {theirs} in the source"
            ))
            matched.append((name, params, values))
        if source and not matched:
            raise ValueError(
                f"no layer of the source ({list(source.keys())}) is in this net ({list(self.layers_.keys())})"
            )
        for name, params, values in matched:
            for param, value in zip(params, values):
                param.set_value(np.asarray(value, dtype=param.dtype))
            if self.verbose:
                shapes = ", ".join("x".join(map(str, np.shape(v))) for v in values)
                print(f"Loaded parameters to layer {name!r} (shapes {shapes}).", flush=True)
        self._push_to_device()

    def get_update_state(self):
        """The values of the update rule's state variables, as a list of arrays (copies).

        These are the shared variables the update rule created besides the
        parameters (nesterov momentum's velocities, adam's moments and step
        count), in the order it created them.  Together with the parameters,
        ``train_history_`` and the training batch iterator's random state, they
        are what continuing a training run exactly needs.  Compiles the net
        first if needed; right after compiling they hold the rule's initial
        values (zero velocities).
        """
        self.initialize()
        self._pull_from_device()
        return [var.get_value() for var in self._update_state_vars]

    def set_update_state(self, values):
        """Set the update rule's state variables from :meth:`get_update_state`'s list.

        The number of arrays and every shape are checked before anything is
        set; a mismatch raises ``ValueError`` naming the variable and both
        shapes.  Values are cast to each variable's dtype.
        """
        self.initialize()
        values = list(values)
        variables = self._update_state_vars
        if len(values) != len(variables):
            raise ValueError(
                f"the update rule has {len(variables)} state variables, got {len(values)} values"
            )
        _check_shapes(variables, values, lambda var, ours, theirs: (
            f"update state variable {var} has shape {ours}, the value has {theirs}"
        ))
        self._pull_from_device()  # the parameters stay as trained
        for var, value in zip(variables, values):
            var.set_value(np.asarray(value, dtype=var.dtype))
        self._push_to_device()

    def __repr__(self):
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("layers", "max_epochs", *self._kwarg_keys))
        return f"{type(self).__name__}({shown})"

    def __getstate__(self):
        self._pull_from_device()
        state = dict(self.__dict__)
        compiled = ("train_iter_", "eval_iter_", "predict_iter_", "_train_at", "_eval_at", "_on_device",
                    "_device_ahead", "_host_values")  # fmt: skip
        for key in compiled + ("_initialized", "_update_state_vars"):
            state.pop(key, None)
        return state
