"""Model (functional) and Sequential."""

from __future__ import annotations

import warnings

from . import summary as _summary
from .layers.base import InputLayer, KerasTensor, Layer, Node
from .training import Trainer


def _structure(x, what):
    """Flatten a single tensor, list/tuple or dict of tensors; remember names for dicts."""
    if isinstance(x, KerasTensor):
        return [x], None, True
    if isinstance(x, dict):
        return list(x.values()), list(x.keys()), False
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, KerasTensor) for t in x):
        return list(x), None, False
    raise ValueError(f"Model {what} must be a tensor, a list of tensors or a dict of tensors, "
                     f"got {x!r}")


class Model(Layer, Trainer):
    """A functional model: `Model(inputs, outputs)` over a graph of layer calls."""

    def __init__(self, inputs=None, outputs=None, name=None, *, input=None, output=None,
                 trainable=True, **kwargs):
        if input is not None or output is not None:
            warnings.warn("Model(input=..., output=...) is Keras 1; use Model(inputs=..., "
                          "outputs=...)", DeprecationWarning, stacklevel=2)
            inputs = input if inputs is None else inputs
            outputs = output if outputs is None else outputs
        Layer.__init__(self, name=name or _unique_model_name(type(self)), trainable=trainable,
                       **kwargs)
        Trainer.__init__(self)
        if inputs is None or outputs is None:
            if type(self) is Model:
                raise ValueError("Model needs inputs and outputs: Model(inputs=x, outputs=y)")
            return
        if _subclassed(self):
            raise ValueError(f"{type(self).__name__} defines call(): a subclassed model takes no "
                             "inputs/outputs (it is built from its first data)")
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        self.inputs, self._input_keys, self._single_input = _structure(inputs, "inputs")
        self.outputs, self._output_keys, self._single_output = _structure(outputs, "outputs")
        for t in self.inputs:
            if t._history is None or not isinstance(t._history[0], InputLayer):
                raise ValueError(f"Model {self.name!r}: every input must be a tensor returned by "
                                 f"fnjit.Input; {t!r} is the output of a layer")
        for t in self.outputs:
            if t._history is None:
                raise ValueError(f"Model {self.name!r}: output {t!r} was not produced by a layer")
        self._nodes, self._layers = _map_graph(self)
        names = [layer.name for layer in self._layers]
        for n in names:
            if names.count(n) > 1:
                raise ValueError(f"Model {self.name!r}: the name {n!r} is used {names.count(n)} "
                                 "times; all layer names in a model must be unique")
        self.built = True
        self._invalidate()

    # ---- graph -----------------------------------------------------------------------------
    def _ordered_nodes(self):
        return self._nodes

    @property
    def layers(self):
        return list(self._layers) if hasattr(self, "_layers") else self._attribute_layers()

    def get_layer(self, name=None, index=None):
        if index is not None:
            if not 0 <= index < len(self._layers):
                raise ValueError(f"Model {self.name!r} has {len(self._layers)} layers; "
                                 f"no index {index}")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in model {self.name!r}; layers: "
                         f"{[layer.name for layer in self._layers]}")

    # ---- the model's own tensors (Keras: model.input is what Model(inputs=...) was given) ----
    def _own(self, what):
        if not getattr(self, "inputs", None):
            raise AttributeError(f"The layer {self.name} has never been called and thus has no "
                                 f"defined {what}.")
        if what == "input":
            tensors, keys, single = self.inputs, self._input_keys, self._single_input
        else:
            tensors, keys, single = self.outputs, self._output_keys, self._single_output
        if keys:
            return dict(zip(keys, tensors))
        return tensors[0] if single else list(tensors)

    @property
    def input(self):
        return self._own("input")

    @property
    def output(self):
        return self._own("output")

    @property
    def input_shape(self):
        x = self._own("input")
        return x.shape if not isinstance(x, (list, dict)) else [t.shape for t in self.inputs]

    @property
    def output_shape(self):
        y = self._own("output")
        return y.shape if not isinstance(y, (list, dict)) else [t.shape for t in self.outputs]

    @property
    def input_names(self):
        return [t._history[0].name for t in self.inputs]

    @property
    def output_names(self):
        if self._output_keys:
            return list(self._output_keys)
        return [t._history[0].name for t in self.outputs]

    # ---- weights: those of the layers, each weight once --------------------------------------
    def _unique_weights(self, which):
        seen, out = set(), []
        own = [w for w in self._weights if which == "weights" or
               (w.trainable == (which == "trainable_weights"))]
        for w in own:  # a subclassed model's own add_weight variables come first
            seen.add(id(w))
            out.append(w)
        for layer in self._layers if hasattr(self, "_layers") else self._attribute_layers():
            for w in getattr(layer, which):
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self):
        return self._unique_weights("trainable_weights") if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self._unique_weights("weights")
        return self._unique_weights("non_trainable_weights")

    @property
    def weights(self):
        return self._unique_weights("weights")

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"model {self.name!r} has {len(mine)} weights, got {len(weights)}")
        for var, value in zip(mine, weights):
            var.assign(value)

    def count_params(self):
        return int(sum(w.value.size for w in self.weights))

    # ---- subclassed models: `call` traced into a one-node graph ------------------------------
    def _attribute_layers(self):
        """The layers assigned to attributes (lists flattened), in Keras' order."""
        return self._tracked_layers()

    def build(self, input_shape=None):
        """A subclassed model: build for inputs of `input_shape` (batch axis first)."""
        if not getattr(self, "inputs", None) and _subclassed(self):
            many = isinstance(input_shape, list) and input_shape and \
                isinstance(input_shape[0], (tuple, list))
            shapes = list(input_shape) if many else [input_shape]
            self._build_from_call([tuple(s) for s in shapes], [None] * len(shapes), not many)

    def _build_from_call(self, shapes, dtypes, single):
        """Trace `call` on Inputs of `shapes`: the model becomes Inputs -> one node whose
        lowering traces `call` again, into the model's IR (fnjit/layers/custom.py)."""
        from .layers.base import Input

        ins = [Input(shape=tuple(s[1:]), dtype=d) for s, d in zip(shapes, dtypes)]
        outs = _TracedCall(self)(ins[0] if single else ins)
        self._init_graph(ins[0] if single else ins, outs)
        self._layers = self._attribute_layers()

    def _ensure_built(self, x):
        if not getattr(self, "inputs", None) and _subclassed(self):
            import numpy as np

            arrays = x if isinstance(x, (list, tuple)) else [x]
            arrays = [np.asarray(a) for a in arrays]
            self._build_from_call([(None,) + a.shape[1:] for a in arrays],
                                  [str(a.dtype) if a.dtype.kind in "iu" else None
                                   for a in arrays], not isinstance(x, (list, tuple)))

    def lower(self, ctx, inputs):
        """A model called inside a traced call: its graph inlined."""
        from .lowering import lower_functional

        return lower_functional(ctx, self, inputs, prefix=f"{ctx.position}.", training=ctx.training)

    # ---- calling a model on tensors, like a layer ------------------------------------------
    def __call__(self, inputs, *args, training=None, mask=None, **kwargs):
        from .layers import custom
        from .ops import SymbolicTensor

        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if any(isinstance(t, SymbolicTensor) for t in flat):
            if not getattr(self, "inputs", None):
                self.build([t.shape for t in flat] if len(flat) > 1 else flat[0].shape)
            if training is not None:
                kwargs["training"] = training
            if mask is not None:
                kwargs["mask"] = mask
            return custom.call_inside_trace(self, inputs, args, kwargs)
        call_args = self._call_args(args, training, mask, kwargs)
        if not all(isinstance(t, KerasTensor) for t in flat) and not isinstance(inputs, dict):
            self._ensure_built(inputs)  # data: built on it, then run (Keras returns tensors)
            return self.predict(inputs, verbose=0)
        if not getattr(self, "inputs", None) and _subclassed(self):
            self._build_from_call([t.shape for t in flat], [t.dtype for t in flat],
                                  not isinstance(inputs, (list, tuple)))
        tensors = list(inputs.values()) if isinstance(inputs, dict) else (
            list(inputs) if isinstance(inputs, (list, tuple)) else [inputs])
        if len(tensors) != len(self.inputs):
            raise ValueError(f"model {self.name!r} expects {len(self.inputs)} input(s), got "
                             f"{len(tensors)}")
        for t, mine in zip(tensors, self.inputs):
            want, got = tuple(mine.shape[1:]), tuple(t.shape[1:])
            if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
                raise ValueError(f"model {self.name!r}: input {mine._history[0].name!r} expects "
                                 f"shape {mine.shape}, got a tensor of shape {t.shape}")
        shapes = [t.shape for t in self.outputs]
        if any(tuple(t.shape) != tuple(mine.shape) for t, mine in zip(tensors, self.inputs)):
            # A more specific input (250x250 images for a model built on (None, None, 3)):
            # Keras infers the outputs' shapes from it.
            shapes = self.compute_output_shape([t.shape for t in tensors])
            shapes = shapes if isinstance(shapes, list) else [shapes]
        outs = [KerasTensor(shape, t.dtype, name=f"{self.name}/out{i}")
                for i, (shape, t) in enumerate(zip(shapes, self.outputs))]
        Node(self, tensors, outs, not isinstance(inputs, (list, tuple, dict)), call_args)
        return outs[0] if len(outs) == 1 else outs

    def compute_output_shape(self, input_shape):
        """The outputs' shapes for inputs of `input_shape` (one shape per input), node by node
        through the graph with each layer's compute_output_shape."""
        given = [input_shape] if len(self.inputs) == 1 and not (
            isinstance(input_shape, list) and isinstance(input_shape[0], (tuple, list))) \
            else list(input_shape)
        known = {id(t): tuple(s) for t, s in zip(self.inputs, given)}
        for node in self._ordered_nodes():
            if isinstance(node.layer, InputLayer):
                continue
            ins = [known.get(id(t), tuple(t.shape)) for t in node.input_tensors]
            outs = node.layer.compute_output_shape(ins[0] if node.single_input else ins)
            for t, shape in zip(node.output_tensors, outs if isinstance(outs, list) else [outs]):
                known[id(t)] = tuple(shape)
        shapes = [known.get(id(t), tuple(t.shape)) for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # ---- display -----------------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        for name, value, default in (("expand_nested", expand_nested, False),
                                     ("show_trainable", show_trainable, False),
                                     ("layer_range", layer_range, None)):
            if value != default:  # Keras' other options: refused, never ignored
                raise ValueError(f"summary({name}={value!r}) is not supported by fnjit; leave "
                                 f"{name} at its default ({default!r})")
        if not hasattr(self, "_nodes"):
            raise ValueError(f"model {self.name!r} has not been built yet: call it on data (fit, "
                             "predict, model(x)) or build(input_shape) first, as Keras asks")
        _summary.print_summary(self, line_length=line_length, positions=positions,
                               print_fn=print_fn)

    def get_config(self):
        from .saving import functional_config

        if _subclassed(self):
            # Keras 3: the base config, enough when __init__ takes nothing else; a model whose
            # __init__ takes arguments must define get_config to be saved.
            import inspect

            params = inspect.signature(type(self).__init__).parameters
            extra = [p for p, v in params.items() if p != "self" and v.kind not in (
                v.VAR_KEYWORD, v.VAR_POSITIONAL) and p not in ("name", "trainable", "dtype")]
            if extra and type(self).get_config is Model.get_config:
                raise NotImplementedError(
                    f"{type(self).__name__} is a subclassed model whose __init__ takes {extra}: "
                    "define get_config (and register the class, or pass it as custom_objects "
                    "when loading) to save it, or use save_weights / load_weights")
            return Layer.get_config(self)
        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .saving import model_from_config

        return model_from_config(config, custom_objects,
                                 class_name="Sequential" if cls is Sequential else None)

    # ---- saving (fnjit/saving) ------------------------------------------------------------
    def save(self, filepath, overwrite=True, **kwargs):
        """Save config, weights and compile settings: `.keras` (Keras 3) or `.h5` (Keras 2)."""
        from .saving import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        from .saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        from .saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def to_json(self, **kwargs):
        from .saving import to_json

        return to_json(self, **kwargs)


Functional = Model


def _subclassed(model):
    """A subclassed model: its maths is its `call` method."""
    cls = model if isinstance(model, type) else type(model)
    return callable(getattr(cls, "call", None))


class _TracedCall(Layer):
    """The one node of a subclassed model's graph: lowers by tracing the model's `call`."""

    def __init__(self, model):
        super().__init__(name=f"{model.name}_call")
        self._model = model

    def build(self, input_shape):
        self._model._call_single = not isinstance(input_shape, list)

    def compute_output_shape(self, input_shape):
        from .layers import custom

        return custom.traced_output_shape(self._model, input_shape)

    def lower(self, ctx, inputs):
        from .layers import custom

        return custom.lower_call(self._model, ctx, inputs)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved with `model.save` (by fnjit or Keras): `.keras` or Keras 2 `.h5`."""
    from .saving import load_model as _load

    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    model.save(filepath, overwrite=overwrite, **kwargs)


def model_from_json(json_string, custom_objects=None):
    from .saving import model_from_json as _from_json

    return _from_json(json_string, custom_objects=custom_objects)


def clone_model(model):
    """A new model with the same config and freshly initialised weights."""
    return type(model).from_config(model.get_config())


def _unique_model_name(cls):
    from . import backend

    if _subclassed(cls):  # Keras names a subclassed model after its class
        return backend.unique_name(backend.snake_case(cls.__name__))
    return backend.unique_name("sequential" if cls.__name__ == "Sequential" else "functional")


def _map_graph(model):
    """Nodes in topological order and layers in Keras' order (by depth from the outputs, ties
    broken by first visit in a depth-first walk from the outputs)."""
    inputs = {id(t) for t in model.inputs}
    order, finished, in_progress, first_seen = [], set(), set(), {}

    def visit(tensor):
        layer, node_index, _ = tensor._history
        node = layer._inbound_nodes[node_index]
        if id(node) in finished:
            return
        if id(node) in in_progress:
            raise ValueError(f"model {model.name!r}: the graph has a cycle at layer "
                             f"{layer.name!r}")
        first_seen.setdefault(id(layer), (len(first_seen), layer))
        in_progress.add(id(node))
        if not node.is_input and id(tensor) not in inputs:
            for t in node.input_tensors:
                visit(t)
        in_progress.discard(id(node))
        finished.add(id(node))
        order.append(node)

    for t in model.outputs:
        visit(t)

    # Depth: outputs' nodes are 0; a node's parents are deeper than it.
    depth = {}
    layer_depth = {}
    for node in reversed(order):
        d = depth.setdefault(id(node), 0)
        d = max(d, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = d
        depth[id(node)] = d
        for parent in node.parent_nodes:
            depth[id(parent)] = max(d + 1, depth.get(id(parent), 0))

    # Every tensor a node consumes must come from the inputs.
    available = set(inputs)
    for node in sorted(order, key=lambda n: -depth[id(n)]):
        for t in node.input_tensors:
            if id(t) not in available:
                raise ValueError(
                    f"Graph disconnected: layer {node.layer.name!r} needs tensor {t.name!r}, "
                    f"which cannot be computed from the model inputs "
                    f"{[t._history[0].name for t in model.inputs]}")
        if not node.is_input:  # an Input that is not among the model's inputs feeds nothing
            available.update(id(t) for t in node.output_tensors)
    for t in model.inputs:
        if id(t._history[0]) not in {id(n.layer) for n in order}:
            layer = t._history[0]
            first_seen.setdefault(id(layer), (len(first_seen), layer))
            layer_depth[id(layer)] = max(layer_depth.values(), default=0)
            order.insert(0, layer._inbound_nodes[0])
            depth[id(layer._inbound_nodes[0])] = layer_depth[id(layer)]

    nodes = sorted(order, key=lambda n: (-depth[id(n)], first_seen[id(n.layer)][0]))
    layers = sorted((entry[1] for entry in first_seen.values()),
                    key=lambda lyr: (-layer_depth[id(lyr)], first_seen[id(lyr)][0]))
    return nodes, layers


class Sequential(Model):
    """A linear stack of layers, built on the same functional graph."""

    def __init__(self, layers=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._stack = []
        self._input_tensor = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor):  # Sequential([Input(...), ...])
            if self._stack:
                raise ValueError("an Input can only be the first entry of a Sequential model")
            self._input_tensor = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a layer, got {layer!r}")
        if isinstance(layer, InputLayer):
            self._input_tensor = layer._tensor
            return
        if not self._stack and self._input_tensor is None and \
                layer._input_shape_arg is not None:
            from .layers.base import Input

            self._input_tensor = Input(shape=layer._input_shape_arg,
                                       batch_size=layer._batch_size_arg)
        self._stack.append(layer)
        if self._input_tensor is not None:
            self._rebuild()

    def pop(self):
        if not self._stack:
            raise ValueError("pop() on an empty Sequential model")
        layer = self._stack.pop()
        if self._stack and self._input_tensor is not None:
            self._rebuild()
        return layer

    def _rebuild(self):
        x = self._input_tensor
        for layer in self._stack:
            # Reuse the node this layer already has for this input (no duplicate nodes).
            prior = [n for n in layer._inbound_nodes if n.input_tensors == [x]]
            x = prior[0].output_tensors[0] if prior else layer(x)
        self._init_graph(self._input_tensor, x)

    def build(self, input_shape=None):
        """Build from an input shape (batch first) when no layer declared one."""
        if self._input_tensor is None:
            from .layers.base import Input

            self._input_tensor = Input(shape=tuple(input_shape[1:]))
            self._rebuild()

    @property
    def layers(self):
        # Keras lists a Sequential model's layers without its InputLayer.
        return list(self._stack)

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2's: predict, warning when the outputs are not probabilities."""
        warnings.warn("Sequential.predict_proba is Keras 2 (deprecated); use predict",
                      DeprecationWarning, stacklevel=2)
        preds = self.predict(x, batch_size=batch_size, verbose=verbose)
        if preds.min() < 0 or preds.max() > 1:
            warnings.warn("Network returning invalid probability values. The last layer might "
                          "not normalize predictions into probabilities (like softmax or "
                          "sigmoid would).", stacklevel=2)
        return preds

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Keras 2's: the argmax of the last axis, or for one output unit whether it is above
        0.5 (int32, shape (n, 1))."""
        warnings.warn("Sequential.predict_classes is Keras 2 (deprecated); use "
                      "predict(x).argmax(axis=-1), or (predict(x) > 0.5).astype('int32') for "
                      "one sigmoid unit", DeprecationWarning, stacklevel=2)
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def __call__(self, inputs, *args, **kwargs):
        """As a layer: a Sequential without an input shape is built on its first call, for
        the shape of the tensor it is called on (as in Keras)."""
        if not getattr(self, "inputs", None) and self._stack:
            from .layers.base import KerasTensor

            first = inputs[0] if isinstance(inputs, (list, tuple)) and inputs else inputs
            if isinstance(first, KerasTensor):
                self.build(first.shape)
        return super().__call__(inputs, *args, **kwargs)

    def _ensure_built(self, x):
        if not getattr(self, "inputs", None):
            import numpy as np

            first = x[0] if isinstance(x, (list, tuple)) else x
            self.build((None,) + tuple(np.shape(first)[1:]))
