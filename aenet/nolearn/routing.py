"""How a ``NeuralNet`` turns its ``layers`` argument and ``<prefix>_<arg>`` keywords into layers.

Keywords are routed by prefix: ``<layer name>_`` to that layer's
constructor, ``update_`` to the update rule, ``objective_`` to the
objective; the longest matching prefix wins.  :func:`build_layers` builds the
:class:`Layers` of a declaration, wiring each layer to the previous one unless
``<name>_incoming(s)`` names others, and sharing weights named by
``<name>_W="other"``.
"""
import numbers
from collections import OrderedDict
from pydoc import locate

from aenet.lasagne.layers import InputLayer, Layer, get_all_layers

ROUTED_PREFIXES = ("update", "objective")


# Keyword arguments of a layer that may name another layer, besides incoming(s).
LAYER_REFERENCE_PARAMS = ("mask_input",)


class Layers(OrderedDict):
    """The net's layers by name; an int or a slice indexes them by position.

    As in nolearn, :meth:`keys` and :meth:`values` return lists.

    >>> Layers([("a", 1), ("b", 2)]).keys()
    ['a', 'b']
    """

    def __getitem__(self, key):
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return self.values()[key]
        if isinstance(key, slice):
            return Layers(list(self.items())[key])
        return super().__getitem__(key)

    def keys(self):
        return list(super().keys())

    def values(self):
        return list(super().values())


def owner(key, layer_names):
    """The layer name (or "update"/"objective") whose prefix ``key`` has; longest wins."""
    matches = [n for n in [*layer_names, *ROUTED_PREFIXES] if key.startswith(f"{n}_")]
    return max(matches, key=len) if matches else None


def default_layer_name(layer_class, index):
    """nolearn's name of an unnamed layer: class name without "Layer", lowercased, plus index."""
    return f"{layer_class.__name__.lower().replace('layer', '')}{index}"


def declared_names(layers):
    """The layer names of a ``layers`` declaration, before anything is built."""
    if isinstance(layers, Layer):
        return [layer.name for layer in get_all_layers(layers) if layer.name]
    names = []
    for i, spec in enumerate(layers):
        if isinstance(spec, Layer):
            names.append(spec.name or default_layer_name(type(spec), i))
        elif not isinstance(spec, (list, tuple)) or len(spec) != 2:
            continue  # reported by build_layers
        elif isinstance(spec[1], dict):
            names.append(spec[1].get("name") or default_layer_name(_factory(spec[0]), i))
        else:
            names.append(spec[0])
    return names


def routed(keywords, name, layer_names):
    """The entries of ``keywords`` routed to ``name``, without the prefix."""
    return {key[len(name) + 1:]: value for key, value in keywords.items() if owner(key, layer_names) == name}


def check_unused(keys, layer_names):
    """Raise ``ValueError("Unused kwarg: ...")`` for the first of ``keys`` that no prefix takes."""
    for key in keys:
        if owner(key, layer_names) is None:
            raise ValueError(f"Unused kwarg: {key}")


def are_instances(spec):
    """Whether ``layers`` was given as built layers (the output layer, or a list of instances)."""
    return isinstance(spec, Layer) or (
        isinstance(spec, (list, tuple)) and bool(spec) and all(isinstance(s, Layer) for s in spec)
    )


def adopt_instances(spec, keywords):
    """``Layers`` of built layers; a keyword routed to one of them raises ``ValueError``.

    ``spec`` is a layer or a list of layers: every layer they depend on is
    adopted, each once, output by output (so both branches of a net with two
    outputs are in).  An unnamed layer gets its default name from its index
    in its output's :func:`get_all_layers`, as in nolearn.
    """
    layers = Layers()
    for output in [spec] if isinstance(spec, Layer) else spec:
        for i, layer in enumerate(get_all_layers(output)):
            if not any(layer is known for known in layers.values()):
                _add(layers, layer.name or default_layer_name(type(layer), i), layer)
    for key in keywords:
        target = owner(key, layers.keys())
        if target in layers:
            raise ValueError(
                f"keyword {key!r} targets layer {target!r}, but layers were passed as "
                "instances; set it on the layer instead"
            )
    return layers


def _add(layers, name, layer):
    if name in layers:
        raise ValueError(f"two layers are named {name!r}")
    layers[name] = layer


def build_layers(spec, keywords, X_tensor_type=None):
    """``Layers`` built from a declaration ``[("name", Class), ...]`` or ``[(Class, {kwargs}), ...]``.

    ``keywords`` are the routed ``<layer>_<arg>`` keywords; ``X_tensor_type``
    makes the input layer's variable when given.
    """
    names = declared_names(spec)
    layers = Layers()
    previous = None
    for i, layer_def in enumerate(spec):
        factory, kw = _split_definition(i, layer_def)
        name = kw["name"]
        kw.update(routed(keywords, name, names))
        _wire(kw, name, layers, previous, factory, X_tensor_type)
        previous = _construct(factory, kw, name)
        _add(layers, name, previous)
    return layers


def _split_definition(i, layer_def):
    """``(factory, kwargs with "name")`` of ``layers[i]``."""
    if not isinstance(layer_def, (list, tuple)) or len(layer_def) != 2:
        raise ValueError(
            f"layers[{i}] must be ('name', LayerClass) or (LayerClass, {{kwargs}}), got {layer_def!r}"
        )
    if isinstance(layer_def[0], str) and not isinstance(layer_def[1], dict):
        return _factory(layer_def[1]), {"name": layer_def[0]}
    factory, kw = _factory(layer_def[0]), dict(layer_def[1])
    kw.setdefault("name", default_layer_name(factory, i))
    return factory, kw


def _factory(spec):
    """A layer class, or the class a dotted path such as ``"aenet.lasagne.layers.DenseLayer"`` names."""
    if not isinstance(spec, str):
        return spec
    found = locate(spec)
    if found is None:
        raise ValueError(f"layer class {spec!r} not found")
    return found


def output_layers(layers):
    """The layers of ``layers`` (a list) that none of the others takes as input, in order."""
    inputs = set()
    for layer in layers:
        for parent in get_all_layers(layer)[:-1]:
            inputs.add(id(parent))
    return [layer for layer in layers if id(layer) not in inputs]


def _subclass_of(factory, cls):
    """``issubclass`` that is False for a factory that is not a class (a function)."""
    try:
        return issubclass(factory, cls)
    except TypeError:
        return False


def _wire(kw, name, layers, previous, factory, X_tensor_type):
    """Set the incoming layer(s), the input variable and shared parameters in ``kw``.

    A layer with no ``incoming(s)`` keyword takes the previous layer; the
    first layer has none, which is an error for an aenet layer class and
    ``incoming=None`` for another factory, as nolearn passes it.
    """
    if _subclass_of(factory, InputLayer):
        if X_tensor_type is not None and "input_var" not in kw:
            kw["input_var"] = X_tensor_type(name)
    elif "incoming" in kw:
        kw["incoming"] = _resolve(layers, kw["incoming"], name)
    elif "incomings" in kw:
        kw["incomings"] = [_resolve(layers, n, name) for n in kw["incomings"]]
    else:
        if previous is None and isinstance(factory, type) and issubclass(factory, Layer):
            raise ValueError(f"layer {name!r} has no incoming layer; start with an InputLayer")
        kw["incoming"] = previous
    for param in LAYER_REFERENCE_PARAMS:
        if isinstance(kw.get(param), str):
            kw[param] = _resolve(layers, kw[param], name)
    for attr in ("W", "b"):
        if isinstance(kw.get(attr), str):  # share another layer's parameter
            kw[attr] = getattr(_resolve(layers, kw[attr], name), attr)


def _construct(factory, kw, name):
    try:
        return factory(**kw)
    except TypeError as error:
        shown = {k: v for k, v in kw.items() if k not in ("incoming", "incomings")}
        raise TypeError(
            f"could not build layer {name!r} as {getattr(factory, '__name__', factory)}(**{shown!r}): {error}"
        ) from error


def _resolve(layers, ref, name):
    if isinstance(ref, Layer):
        return ref
    try:
        return layers[ref]
    except KeyError:
        raise ValueError(
            f"layer {name!r} refers to layer {ref!r}, which is not defined before it "
            f"(defined: {list(layers.keys())})"
        ) from None
