"""Model configs in Keras 3's form, both ways: `functional_config(model)` writes what Keras 3's
`Model.get_config()` writes; `model_from_config` rebuilds a model from that or from a Keras 2
config (`inbound_nodes` as lists). Layers come from a registry by class name; no code from a
file is ever run (a Lambda layer is refused unless `safe_mode=False`)."""

from __future__ import annotations

import json

from .files import TOO_DEEP, FileFormatError

# Keras 3 config keys that fnjit's layers and optimizers do not take; dropped on load when they
# hold their neutral value, refused (by the class itself) otherwise.
_NEUTRAL = {
    "quantization_config": (None,), "optional": (False,), "sparse": (False, None),
    "ragged": (False, None), "lora_rank": (None,), "lora_alpha": (None,),
    "weight_decay": (None, 0, 0.0), "clipnorm": (None,), "clipvalue": (None,),
    "global_clipnorm": (None,), "use_ema": (False,), "ema_overwrite_frequency": (None,),
    "loss_scale_factor": (None,), "gradient_accumulation_steps": (None,),
    "synchronized": (False,),
}
_ALWAYS_DROPPED = ("ema_momentum", "shared_object_id", "build_config", "compile_config")
# Classes whose config carries code: refused unless safe_mode=False.
UNSAFE_CLASSES = ("Lambda",)

_CUSTOM_OBJECTS: dict = {}  # registered name ("package>Name") -> class
_SCOPES: list = []  # custom_object_scope dicts, innermost last


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class so that files naming it can be loaded (as Keras')."""
    def decorate(cls):
        key = f"{package}>{name or cls.__name__}"
        if key in _CUSTOM_OBJECTS and _CUSTOM_OBJECTS[key] is not cls:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered to "
                             f"{_CUSTOM_OBJECTS[key]!r}")
        _CUSTOM_OBJECTS[key] = cls
        cls._registered_name = key
        return cls
    return decorate


def get_custom_objects():
    """The global registry (registered name -> class), as Keras': adding to it registers."""
    return _CUSTOM_OBJECTS


def get_registered_name(obj):
    cls = obj if isinstance(obj, type) else type(obj)
    return cls.__dict__.get("_registered_name", cls.__name__)


def get_registered_object(name, custom_objects=None, module_objects=None):
    for table in [custom_objects or {}] + _SCOPES[::-1] + [_CUSTOM_OBJECTS,
                                                           module_objects or {}]:
        if name in table:
            return table[name]
    return None


class custom_object_scope:  # noqa: N801  (Keras' name)
    """`with custom_object_scope({"MyLayer": MyLayer}):` loads files naming those classes."""

    def __init__(self, *dicts):
        self.table = {}
        for d in dicts:
            self.table.update(d or {})

    def __enter__(self):
        _SCOPES.append(self.table)
        return self

    def __exit__(self, *exc):
        _SCOPES.remove(self.table)


CustomObjectScope = custom_object_scope


def layer_registry(custom_objects=None):
    """Class name -> class for every layer fnjit exports, the model classes, and the classes
    registered or passed as custom_objects."""
    from .. import layers
    from ..layers.base import Layer
    from ..models import Model, Sequential

    table = {name: obj for name, obj in vars(layers).items()
             if isinstance(obj, type) and issubclass(obj, Layer)}
    table.update({"Functional": Model, "Model": Model, "Sequential": Sequential})
    # Registered classes by their registered name ("package>Name", which files record) and,
    # as Keras, by class name; then scopes, then this call's custom_objects.
    for key, cls in _CUSTOM_OBJECTS.items():
        table[key] = cls
        table.setdefault(key.split(">")[-1], cls)
    for scope in _SCOPES:
        table.update(scope)
    table.update(custom_objects or {})
    return table


# ---- writing ------------------------------------------------------------------------------

def keras_class_name(layer):
    from ..models import Model, Sequential

    if isinstance(layer, Model) and not isinstance(layer, Sequential) and \
            not _subclassed(layer):
        return "Functional"
    return type(layer).__name__


def _module_for(key):
    for suffix, module in (("initializer", "keras.initializers"),
                           ("regularizer", "keras.regularizers"),
                           ("constraint", "keras.constraints")):
        if key.endswith(suffix):
            return module
    return "keras.layers"


def _keras_value(key, value):
    """A config value as Keras 3 writes it: nested objects get `module` and `registered_name`."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        return {"module": value.get("module", _module_for(key)),
                "class_name": value["class_name"],
                "config": {k: _keras_value(k, v) for k, v in value["config"].items()},
                "registered_name": value.get("registered_name")}
    if isinstance(value, tuple):
        return [_keras_value(key, v) for v in value]
    return value


def _shape(shape):
    return list(shape) if not isinstance(shape, list) else [_shape(s) for s in shape]


def serialize_layer(layer):
    """One layer (or nested model) as Keras 3 serialises it."""
    from ..models import Model

    if isinstance(layer, Model) and not _subclassed(layer):
        config = functional_config(layer)
    else:
        config = {k: _keras_value(k, v) for k, v in layer.get_config().items()}
    custom = not _is_builtin(layer)
    out = {"module": None if custom else _keras_module(layer),
           "class_name": keras_class_name(layer), "config": config,
           "registered_name": get_registered_name(layer) if custom else
           ("Functional" if keras_class_name(layer) == "Functional" else None)}
    if layer._inbound_nodes and not getattr(layer, "_is_input_layer", False) and \
            type(layer).__name__ != "InputLayer":
        node = layer._inbound_nodes[0]
        if node.input_tensors:
            shapes = [list(t.shape) for t in node.input_tensors]
            # An RNN given initial states is built from its sequence's shape, as in Keras;
            # a layer whose build() takes several named shapes (attention) says how.
            single = node.single_input or bool(getattr(layer, "n_states", None))
            hook = getattr(layer, "keras_build_config", None)
            out["build_config"] = hook(shapes) if hook is not None else \
                {"input_shape": shapes[0] if single else shapes}
    return out


def _subclassed(layer):
    from ..models import _subclassed

    return _subclassed(layer)


def _is_builtin(layer):
    from .. import layers
    from ..models import Model

    cls = type(layer)
    return cls is Model or getattr(layers, cls.__name__, None) is cls or \
        cls.__name__ in ("Sequential", "InputLayer")


def _keras_module(layer):
    name = keras_class_name(layer)
    if name == "Functional":
        return "keras.src.models.functional"
    if name == "Sequential":
        return "keras"
    return "keras.layers"


def functional_config(model):
    """`model.get_config()` in Keras 3's form (Functional or Sequential)."""
    from ..models import Sequential

    if isinstance(model, Sequential):
        return _sequential_config(model)
    own = {id(n) for n in model._ordered_nodes()}

    def kept_index(layer, node_index):
        return sum(1 for n in layer._inbound_nodes[:node_index] if id(n) in own)

    def tensor_config(t):
        layer, node_index, tensor_index = t._history
        return {"class_name": "__keras_tensor__",
                "config": {"shape": list(t.shape), "dtype": t.dtype,
                           "keras_history": [layer.name, kept_index(layer, node_index),
                                             tensor_index]}}

    def node_argument(value):
        if isinstance(value, dict):
            return {k: node_argument(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [node_argument(v) for v in value]
        return tensor_config(value) if hasattr(value, "_history") else value

    def history(t):
        # Keras counts a functional model's own (construction) node first in input_layers and
        # output_layers; fnjit's models have no such node.
        layer, node_index, tensor_index = t._history
        shift = 1 if keras_class_name(layer) == "Functional" else 0
        return [layer.name, kept_index(layer, node_index) + shift, tensor_index]

    layers = []
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = []
        for node in layer._inbound_nodes:
            if id(node) not in own or not node.input_tensors:
                continue
            if node.arguments is not None:  # a call with several arguments (attention)
                args, kwargs = node.arguments
                entry["inbound_nodes"].append({"args": node_argument(args),
                                               "kwargs": node_argument(kwargs)})
                continue
            tensors = [tensor_config(t) for t in node.input_tensors]
            # The call's arguments (training=, an RNN's initial_state=) as Keras 3 writes them.
            args, kwargs = [tensors[0] if node.single_input else tensors], dict(node.call_args)
            if getattr(layer, "n_states", None) and len(tensors) > 1:
                args, kwargs["initial_state"] = [tensors[0]], tensors[1:]
            entry["inbound_nodes"].append({"args": args, "kwargs": kwargs})
        layers.append(entry)

    def structure(tensors, keys, single):
        if keys:
            return {k: history(t) for k, t in zip(keys, tensors)}
        return history(tensors[0]) if single else [history(t) for t in tensors]

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": structure(model.inputs, model._input_keys, model._single_input),
            "output_layers": structure(model.outputs, model._output_keys,
                                       model._single_output)}


def _sequential_config(model):
    layers = []
    if model._input_tensor is not None:
        inp = model._input_tensor._history[0]
        layers.append({"module": "keras.layers", "class_name": "InputLayer",
                       "config": inp.get_config(), "registered_name": None})
    layers += [serialize_layer(layer) for layer in model._stack]
    config = {"name": model.name, "trainable": model.trainable, "dtype": model.dtype,
              "layers": layers}
    if model._input_tensor is not None:
        config["build_input_shape"] = list(model._input_tensor.shape)
    return config


def model_to_dict(model, compile_config=None):
    """The whole config.json of a .keras file (or `to_json`)."""
    out = serialize_layer(model)
    shape = None
    if getattr(model, "inputs", None):
        shapes = [list(t.shape) for t in model.inputs]
        shape = shapes[0] if len(shapes) == 1 else shapes
    out["build_config"] = {"input_shape": shape if keras_class_name(model) == "Sequential" or
                           _subclassed(model) else None}
    if compile_config is not None:
        out["compile_config"] = compile_config
    return out


# ---- reading ------------------------------------------------------------------------------

def _contains_lambda(value):
    if isinstance(value, dict):
        if value.get("class_name") == "__lambda__" or value.get("function_type") == "lambda":
            return True
        return any(_contains_lambda(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_lambda(v) for v in value)
    return False


def clean_config(config):
    """A Keras layer config made fit for fnjit's constructors: DTypePolicy objects become their
    name, nested initializers become instances, neutral Keras-only keys go."""
    from .. import initializers

    out = {}
    for key, value in config.items():
        if key in _ALWAYS_DROPPED or (key in _NEUTRAL and value in _NEUTRAL[key]):
            continue
        if key == "dtype" and isinstance(value, dict):
            value = value.get("config", {}).get("name", "float32")
        elif key.endswith("_initializer") and isinstance(value, dict):
            value = initializers.get(value)
        out[key] = value
    return out


def deserialize_layer(data, custom_objects=None, safe_mode=True):
    """A layer (or model) from its serialised dict."""
    if not isinstance(data, dict) or "class_name" not in data:
        raise FileFormatError(f"expected a layer config with a 'class_name', got {data!r:.200}")
    class_name = data["class_name"]
    name = data.get("config", {}).get("name", data.get("name"))
    nested_model = class_name in ("Functional", "Model", "Sequential")
    if safe_mode and (class_name in UNSAFE_CLASSES or
                      (not nested_model and _contains_lambda(data.get("config")))):
        raise FileFormatError(
            f"layer {name!r} ({class_name}) carries Python code, which loading would run; "
            "refused in safe mode. Load with safe_mode=False only if you trust the file")
    registry = layer_registry(custom_objects)
    cls = registry.get(class_name) or registry.get(data.get("registered_name") or "")
    if cls is None:
        raise FileFormatError(f"layer {name!r} is of class {class_name!r}, which fnjit does not "
                              "have; pass custom_objects={" + repr(class_name) + ": cls} if "
                              "you have an implementation")
    from ..models import Model

    if isinstance(cls, type) and issubclass(cls, Model) and _subclassed(cls):
        # A subclassed model: its class (registered or passed) rebuilds it from its own
        # config, then it is built for the recorded input shape so the weights exist.
        config = clean_config(data.get("config", {}))
        try:
            model = cls(**config) if cls.from_config.__func__ is Model.from_config.__func__ \
                else cls.from_config(config)
        except TypeError as e:
            raise FileFormatError(f"model {name!r} ({class_name}): its config does not fit "
                                  f"{class_name}: {e}") from None
        shape = (data.get("build_config") or {}).get("input_shape")
        if shape is not None:
            model.build(shape)
        return model
    if isinstance(cls, type) and issubclass(cls, Model):
        return _model_from_config(data["config"], custom_objects, safe_mode, class_name)
    try:
        return cls.from_config(clean_config(data.get("config", {})))
    except TypeError as e:
        raise FileFormatError(f"layer {name!r} ({class_name}): its config does not fit fnjit's "
                              f"{class_name}: {e}") from None


def model_from_config(config, custom_objects=None, safe_mode=True, class_name=None):
    """A Model or Sequential from `model.get_config()` output (Keras 3 or Keras 2 form); a
    full serialised dict (with 'class_name' and 'config') is accepted too."""
    try:
        return _model_from_config(config, custom_objects, safe_mode, class_name)
    except RecursionError:
        raise FileFormatError(f"model_from_config: {TOO_DEEP}") from None


def _model_from_config(config, custom_objects, safe_mode, class_name):
    if "class_name" in config and "config" in config:
        return deserialize_layer(config, custom_objects, safe_mode)
    if class_name == "Sequential" or "input_layers" not in config:
        return _sequential_from_config(config, custom_objects, safe_mode)
    return _functional_from_config(config, custom_objects, safe_mode)


def _sequential_from_config(config, custom_objects, safe_mode):
    from ..models import Sequential

    layer_list = config["layers"] if isinstance(config, dict) else config  # Keras 1: a list
    model = Sequential(name=config.get("name") if isinstance(config, dict) else None)
    for entry in layer_list:
        model.add(deserialize_layer(entry, custom_objects, safe_mode))
    shape = config.get("build_input_shape") if isinstance(config, dict) else None
    if not getattr(model, "inputs", None) and shape:
        model.build(tuple(shape))
    if isinstance(config, dict) and config.get("trainable") is False:
        model.trainable = False
    return model


def _is_legacy_node(node_data):
    return isinstance(node_data, list)


# The call arguments Keras 3 fills in with the inputs' automatic masks.
_MASK_ARGS = ("mask", "query_mask", "value_mask", "key_mask")


def _histories(value):
    """The layer names a node argument's tensors come from."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return [value["config"]["keras_history"][0]]
    if isinstance(value, (list, tuple)):
        return [name for v in value for name in _histories(v)]
    return []


def _mask_ops(config):
    """The names of the op nodes (keras.src.ops: NotEqual, Any, ...) whose results only feed
    `mask=` arguments, directly or through each other: Keras 3 writes the masks it computed
    automatically (Embedding(mask_zero=True)'s x != 0, Masking's any(x != value)) into the
    config that way. fnjit recomputes those masks from the layers that make them
    (fnjit/lowering.py), so these nodes and the mask arguments they feed are left out."""
    uses = {}  # name -> [(consumer, as a mask argument)]
    for entry in config["layers"]:
        for node in entry.get("inbound_nodes") or []:
            if not isinstance(node, dict):
                continue
            kwargs = node.get("kwargs") or {}
            for key, value in [(None, node.get("args", []))] + list(kwargs.items()):
                for name in _histories(value):
                    uses.setdefault(name, []).append((entry.get("name"), key in _MASK_ARGS))
    ops = {e.get("name") for e in config["layers"]
           if str(e.get("module", "")).startswith("keras.src.ops")}
    found = set()
    while True:
        more = {name for name in ops - found if uses.get(name) and all(
            as_mask or consumer in found for consumer, as_mask in uses[name])}
        if not more:
            return found
        found |= more


def _functional_from_config(config, custom_objects, safe_mode):
    from ..layers.base import KerasTensor
    from ..models import Model

    created, pending, kinds = {}, {}, {}
    skipped = _mask_ops(config)
    for entry in config["layers"]:
        if entry.get("name") in skipped:
            continue
        layer = deserialize_layer(entry, custom_objects, safe_mode)
        name = entry.get("name", layer.name)
        created[name] = layer
        kinds[name] = entry.get("class_name")
        pending[name] = list(entry.get("inbound_nodes") or [])

    def first_node_shift(name, legacy):
        # Keras 2 counts a nested model's construction node everywhere; Keras 3 only in
        # input_layers / output_layers (see functional_config).
        return 1 if kinds.get(name) in (("Functional", "Model", "Sequential") if legacy
                                        else ("Functional",)) else 0

    def tensor(name, node_index, tensor_index, legacy, top):
        if name not in created:
            raise FileFormatError(f"a node refers to layer {name!r}, which the config lacks")
        layer = created[name]
        index = node_index - (first_node_shift(name, legacy) if legacy or top else 0)
        if index >= len(layer._inbound_nodes):
            raise IndexError(index)  # not created yet: retry after other layers
        return layer._inbound_nodes[index].output_tensors[tensor_index]

    def revive(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return tensor(*value["config"]["keras_history"], legacy=False, top=False)
        if isinstance(value, (list, tuple)):  # tuples: a live Keras get_config()
            return [revive(v) for v in value]
        if isinstance(value, dict):
            raise FileFormatError(f"unsupported node argument {value!r:.200}")
        return value

    def call(name, node_data):
        layer = created[name]
        if _is_legacy_node(node_data):
            tensors = [tensor(d[0], d[1], d[2], legacy=True, top=False) for d in node_data]
            return layer(tensors[0] if len(tensors) == 1 else tensors)
        args = revive(node_data.get("args", []))
        kwargs = {key: revive(value) for key, value in (node_data.get("kwargs") or {}).items()
                  if not (key in _MASK_ARGS and _histories(value) and
                          set(_histories(value)) <= skipped)}
        tensor_kwargs = ("initial_state",) + tuple(getattr(layer, "tensor_kwargs", ()))
        for key, value in kwargs.items():
            tensors = value if isinstance(value, list) else [value]
            if key not in tensor_kwargs and any(isinstance(t, KerasTensor) for t in tensors):
                raise FileFormatError(f"layer {name!r} is called with tensor argument {key!r}, "
                                      "which fnjit does not support")
        if kwargs.get("mask") is None:
            kwargs.pop("mask", None)  # Keras writes mask=None
        if len(args) > 1:  # several positional arguments (MultiHeadAttention's query, value)
            return layer(*args, **kwargs)
        return layer(args[0] if len(args) == 1 else args, **kwargs)

    while any(pending.values()):
        progress = False
        for entry in config["layers"]:
            name = entry.get("name")
            while pending.get(name):
                try:
                    call(name, pending[name][0])
                except IndexError:
                    break
                pending[name].pop(0)
                progress = True
        if not progress:
            stuck = {k: len(v) for k, v in pending.items() if v}
            raise FileFormatError(f"the model config's graph cannot be rebuilt: layers {stuck} "
                                  "wait for inputs that are never created")

    legacy = any(_is_legacy_node(n) for e in config["layers"]
                 for n in (e.get("inbound_nodes") or []))

    def structure(value):
        if isinstance(value, dict):
            return {k: structure(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)) and len(value) == 3 and \
                isinstance(value[0], str) and isinstance(value[1], int):
            return tensor(*value, legacy=legacy, top=True)
        return [structure(v) for v in value]

    inputs, outputs = structure(config["input_layers"]), structure(config["output_layers"])
    if legacy and isinstance(outputs, list) and len(outputs) == 1:
        outputs = outputs[0]
    if legacy and isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    model = Model(inputs, outputs, name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def to_json(model, **kwargs):
    return json.dumps(model_to_dict(model), **kwargs)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A model (uncompiled, freshly initialised weights) from `model.to_json()` output, Keras 3's
    or Keras 2's."""
    try:
        data = json.loads(json_string)
        if not isinstance(data, dict) or "class_name" not in data:
            raise ValueError("model_from_json: expected a JSON object with 'class_name' and "
                             "'config' (the output of model.to_json())")
        return deserialize_layer(data, custom_objects, safe_mode)
    except json.JSONDecodeError as e:
        raise ValueError(f"model_from_json: not valid JSON ({e})") from None
    except RecursionError:
        raise FileFormatError(f"model_from_json: {TOO_DEEP}") from None
