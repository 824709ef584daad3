"""Symbolic tensors, nodes, weights and the Layer base class.

As in Keras: calling a layer on symbolic tensors records a `Node` (this layer, its input tensors,
its output tensors) and returns new tensors whose `_history` is (layer, node index, tensor
index). A shared layer is a layer with several nodes. A layer lowers itself to IR ops in
`lower`; everything else here is bookkeeping.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import backend, constraints, initializers, regularizers
from ..codegen.ir import FLOAT_DTYPES


class KerasTensor:
    """A symbolic tensor: a static shape (batch None) and a dtype; no data."""

    def __init__(self, shape, dtype=None, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype or backend.floatx()
        self.name = name
        self._history = None  # (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer."""

    def __init__(self, layer, inputs, outputs, single_input, call_args=None):
        self.layer = layer
        self.input_tensors = list(inputs)
        self.output_tensors = list(outputs)
        self.single_input = single_input
        # Arguments given with the call that change what it computes: {"training": True}
        # (honoured by the compiled code, fnjit/lowering.py).
        self.call_args = dict(call_args or {})
        # Options of this call that change what it computes (MultiHeadAttention's
        # use_causal_mask, ...), and its arguments in Keras' form (positional, keyword) for
        # the saved config when they are not just the input tensors.
        self.call_options = {}
        self.arguments = None
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._history = (layer, self.index, i)

    @property
    def parent_nodes(self):
        return [t._history[0]._inbound_nodes[t._history[1]] for t in self.input_tensors
                if t._history is not None]

    @property
    def is_input(self):
        return not self.input_tensors

    def unpack(self, tensors):
        return tensors[0] if len(tensors) == 1 else list(tensors)


class Variable:
    """A weight: a numpy array in Keras' shape. Its buffer may be a view into a compiled
    model's flat parameter buffer; `assign` writes in place so that the view stays valid."""

    def __init__(self, value, name, path, trainable=True, regularizer=None, constraint=None):
        self.value = value
        self.name = name
        self.path = path
        self.trainable = trainable
        self.regularizer = regularizer  # its penalty joins the loss (fnjit/program_cache.py)
        self.constraint = constraint  # applied after every optimizer update

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def numpy(self):
        return np.array(self.value, copy=True)

    def assign_add(self, delta):
        self.assign(self.value + _eager_value(delta, self))

    def assign_sub(self, delta):
        self.assign(self.value - _eager_value(delta, self))

    def assign(self, value):
        value = _eager_value(value, self)
        if value.shape != self.value.shape:
            raise ValueError(f"weight {self.path!r} has shape {self.value.shape}; "
                             f"cannot assign a value of shape {value.shape}")
        self.value[...] = value

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    # In a traced `call` a Variable is an IR param (fnjit/ops/emit.py turns it into a symbolic
    # tensor); outside, its numpy value. Either way the ops functions do the arithmetic.
    __array_priority__ = 1000

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    @property
    def ndim(self):
        return self.value.ndim


def _variable_operators():
    from .. import ops

    binary = {"add": ops.add, "sub": ops.subtract, "mul": ops.multiply,
              "truediv": ops.divide, "pow": ops.pow, "matmul": ops.matmul}
    for name, fn in binary.items():
        setattr(Variable, f"__{name}__", lambda self, other, fn=fn: fn(self, other))
        setattr(Variable, f"__r{name}__", lambda self, other, fn=fn: fn(other, self))
    Variable.__neg__ = lambda self: ops.negative(self)
    Variable.__getitem__ = lambda self, key: ops.getitem(self, key)


def _eager_value(value, var):
    from ..tracing import SymbolicTensor, UnsupportedOperation

    if isinstance(value, SymbolicTensor):
        raise UnsupportedOperation(f"{value._ctx.origin}: weight {var.path!r} is updated inside "
                                   "call (assign/assign_add): compiled calls cannot change state "
                                   "yet; compute the value as an output instead")
    return np.asarray(value)


def _flatten(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Layer:
    """Base class of every layer (and of Model)."""

    def __setattr__(self, name, value):
        # Layers assigned to attributes (or lists of them) are sublayers, as in Keras: their
        # weights are this layer's too.
        if not name.startswith("_"):
            tracked = self.__dict__.setdefault("_sublayers", {})
            items = value if isinstance(value, (list, tuple)) else [value]
            if items and all(isinstance(v, Layer) for v in items):
                tracked[name] = value if isinstance(value, Layer) else list(items)
            else:
                tracked.pop(name, None)
        object.__setattr__(self, name, value)

    def _tracked_layers(self):
        seen, out = set(), []
        for group in self.__dict__.get("_sublayers", {}).values():
            for layer in group if isinstance(group, list) else [group]:
                if id(layer) not in seen and layer is not self:
                    seen.add(id(layer))
                    out.append(layer)
        return out

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 batch_size=None, batch_input_shape=None, activity_regularizer=None,
                 weights=None, input_length=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got {name!r}")
        if name and "\x00" in name:
            # Any other text works as a name (it never reaches generated code), but HDF5, which
            # .keras and .h5 files use, cannot store a NUL character.
            raise ValueError(f"{type(self).__name__}: name {name!r} contains a NUL character "
                             "(\\x00), which model files cannot store")
        self.name = name or backend.unique_name(backend.snake_case(type(self).__name__))
        self._trainable = trainable
        self.dtype = dtype or backend.floatx()
        self._inbound_nodes = []
        self._weights = []
        self.built = False
        # Sequential reads these from its first layer.
        if input_dim is not None and input_shape is None:
            # Keras 1: LSTM(32, input_dim=64, input_length=10) takes (10, 64) per sample.
            input_shape = (input_dim,) if input_length is None else (input_length, input_dim)
        elif input_length is not None:
            raise ValueError(f"{type(self).__name__}: input_length={input_length!r} (Keras 1) "
                             "goes with input_dim; give input_shape=(steps, features)")
        if batch_input_shape is not None:
            batch_size, input_shape = batch_input_shape[0], batch_input_shape[1:]
        self._input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self._batch_size_arg = batch_size
        # Keras 2's initial weights (a list as get_weights returns), set once the layer is built.
        self._initial_weights = list(weights) if weights is not None else None
        # Its penalty on each output, divided by the batch size, joins the loss (lowering.py).
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # ---- to override -------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights, given the input shape(s) (batch dimension None)."""

    def _build_once(self, input_shape):
        """build(input_shape) unless built, then Keras 2's initial weights (`weights=`)."""
        if self.built:
            return
        self.build(input_shape)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        if _has_call(self):  # a custom layer: its `call` traced on symbolic inputs
            from . import custom

            return custom.traced_output_shape(self, input_shape)
        return input_shape

    def output_dtype(self, input_dtypes):
        return self.dtype

    # Keras' InputSpec, reduced to what fnjit needs: once built, a layer refuses inputs that
    # differ from its build shapes on these axes (those its weights are sized by) or, with
    # `input_rank_fixed`, in rank. Default: the last axis of a layer with weights (Dense, the
    # RNNs); convolutions, BatchNormalization, PReLU, Embedding say otherwise.
    input_rank_fixed = False

    def input_axes(self, input_shape):
        return (-1,) if self.weights else ()

    # ---- masking (Keras 3) -----------------------------------------------------------------
    # A layer that supports masking passes the mask of its first input on to its outputs
    # (Keras' default compute_mask); one that does not drops it, with Keras 3's warning.
    # `makes_mask`: the layer makes a mask from unmasked inputs (Embedding(mask_zero=True),
    # Masking), so `lower_mask` runs for it even when no input has one.
    # A custom layer's own `compute_mask(inputs, mask)` is traced (fnjit/layers/custom.py), as
    # its `call` is, and implies supports_masking as in Keras 3.
    supports_masking = False

    @property
    def makes_mask(self):
        return _overrides_compute_mask(self)

    def compute_mask(self, inputs, mask=None):
        """Keras' default: the mask of the inputs, unchanged."""
        return mask

    def lower_mask(self, ctx, inputs, outputs):
        """The masks of this call's outputs (bool IR values or None), given `ctx.masks`, those
        of its inputs (at least one is not None unless `makes_mask`)."""
        masks = ctx.masks
        if _overrides_compute_mask(self):
            from . import custom

            return custom.lower_compute_mask(self, ctx, inputs, outputs)
        if not self.supports_masking:
            warnings.warn(f"Layer '{self.name}' (of type {type(self).__name__}) was passed an "
                          "input with a mask attached to it. However, this layer does not "
                          "support masking and will therefore destroy the mask information. "
                          "Downstream layers will not see the mask.", stacklevel=2)
            return [None] * len(outputs)
        # Keras zips the first input's mask (a list for a list input) with the outputs.
        first = masks[:1] if ctx.node is None or ctx.node.single_input else masks
        return (list(first) + [None] * len(outputs))[:len(outputs)]

    def refuse_masks(self, ctx, why):
        """Raise if a Keras mask reaches this call (a layer that supports masking but whose
        use of the mask fnjit does not compile)."""
        if any(m is not None for m in ctx.masks):
            raise ValueError(f"{ctx.origin}: its input carries a mask (Embedding(mask_zero=True) "
                             f"or Masking upstream), and {why}")

    def lower(self, ctx, inputs):
        """Emit IR ops computing this layer's outputs from IR values `inputs` (a list);
        return the list of output values."""
        if _has_call(self):
            from . import custom

            return custom.lower_call(self, ctx, inputs)
        raise NotImplementedError(f"{type(self).__name__} cannot be compiled")

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:  # Keras writes it only when set
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    def _weight_options(self, **options):
        """Resolve and keep `<role>_regularizer` / `<role>_constraint` constructor arguments
        (names, configs, instances, callables) as attributes of the same names."""
        for key, value in options.items():
            module = regularizers if key.endswith("_regularizer") else constraints
            try:
                setattr(self, key, module.get(value))
            except ValueError as e:
                raise ValueError(f"{type(self).__name__}: {key}: {e}") from None

    def _weight_options_config(self, *keys):
        """The config entries of `_weight_options` attributes, Keras 3's serialised form."""
        return {k: (regularizers if k.endswith("_regularizer") else constraints)
                .serialize(getattr(self, k)) for k in keys}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def _what(self):
        """How error messages name this layer: `Conv2D 'conv2d_1'`."""
        return f"{type(self).__name__} {self.name!r}"

    # ---- weights -----------------------------------------------------------------------
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None):
        """Keras 3's signature (shape first); positional arguments starting with a name are
        Keras 2's and fnjit's layers' order (name, shape, initializer, trainable, dtype).
        `autocast` and `aggregation` change nothing with one float type on one device."""
        if args and isinstance(args[0], str):
            order = ("name", "shape", "initializer", "trainable", "dtype")
        else:
            order = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer",
                     "constraint", "aggregation", "overwrite_with_gradient", "name")
        if len(args) > len(order):
            raise TypeError(f"{self._what}: add_weight takes at most {len(order)} positional "
                            f"arguments, got {len(args)}")
        given = dict(zip(order, args))
        name = given.get("name", name)
        shape = given.get("shape", shape)
        initializer = given.get("initializer", initializer)
        dtype = given.get("dtype", dtype)
        trainable = given.get("trainable", trainable)
        regularizer = given.get("regularizer", regularizer)
        constraint = given.get("constraint", constraint)
        overwrite = given.get("overwrite_with_gradient", overwrite_with_gradient)
        if overwrite:
            raise ValueError(f"{self._what}: add_weight(overwrite_with_gradient={overwrite!r}) "
                             "is not supported; leave it False")
        if given.get("aggregation", aggregation) not in (
                "none", "mean", "sum", "only_first_replica", None):
            raise ValueError(f"{self._what}: add_weight: unknown aggregation "
                             f"{given.get('aggregation', aggregation)!r}")
        if shape is None:
            shape = ()
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else \
            tuple(int(d) for d in shape)
        if dtype is None:  # the layer's own float type, fixed when it was made (as Keras 3)
            own = str(self.dtype)
            dtype = own if own in FLOAT_DTYPES else backend.floatx()
        dtype = str(np.dtype(dtype))
        if not dtype.startswith("float"):
            raise ValueError(f"{self._what}: add_weight(dtype={dtype!r}): compiled weights are "
                             "floats")
        if name is None:
            name = "variable" if not self._weights else f"variable_{len(self._weights)}"
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        trainable = bool(trainable)
        # np.array, not np.ascontiguousarray, which turns a scalar weight (shape ()) into (1,).
        value = np.array(init(tuple(shape), dtype), dtype=dtype, order="C")
        var = Variable(value, name, f"{self.name}/{name}", trainable,
                       regularizers.get(regularizer), constraints.get(constraint))
        self._weights.append(var)
        return var

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)

    @property
    def weights(self):
        # Keras' order: own trainable, own non-trainable, then each sublayer's weights.
        return _unique(self.trainable_weights + self.non_trainable_weights) if not \
            self._tracked_layers() else _unique(
                [w for w in self._weights if w.trainable] +
                [w for w in self._weights if not w.trainable] +
                [w for layer in self._tracked_layers() for w in layer.weights])

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return _unique([w for w in self._weights if w.trainable] +
                       [w for layer in self._tracked_layers() for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return _unique(list(self._weights) +
                           [w for layer in self._tracked_layers() for w in layer.weights])
        return _unique([w for w in self._weights if not w.trainable] +
                       [w for layer in self._tracked_layers()
                        for w in layer.non_trainable_weights])

    # ---- losses added in `call` (the VAE pattern) -------------------------------------
    def add_loss(self, loss):
        """Inside a traced `call`: `loss` (a tensor) is added to what training minimises,
        summed over its elements, as Keras 3."""
        from .. import ops

        ops.add_traced_loss(loss, self._what)

    def add_metric(self, *args, **kwargs):
        raise NotImplementedError(
            f"{self._what}: add_metric() was removed in Keras 3; give the metric to "
            "Model.compile(metrics=[...]) instead")

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"layer {self.name!r} expects {len(mine)} weights "
                             f"({[w.name for w in mine]}), got {len(weights)}")
        for var, value in zip(mine, weights):
            var.assign(value)

    def count_params(self):
        return int(sum(w.value.size for w in self.weights))

    # ---- calling -----------------------------------------------------------------------
    def __call__(self, inputs, *args, training=None, mask=None, **kwargs):
        tensors = _flatten(inputs)
        from .. import ops

        if any(isinstance(t, ops.SymbolicTensor) for t in tensors):
            # Called inside another layer's traced `call` (a subclassed model's layers).
            from . import custom

            return custom.call_inside_trace(self, inputs, args,
                                            dict(kwargs, training=training, mask=mask))
        call_args = self._call_args(args, training, mask, kwargs)
        if tensors and all(isinstance(t, (np.ndarray, list, float, int)) for t in tensors) and \
                not call_args:
            from . import custom

            return custom.call_eagerly(self, inputs)
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"layer {self.name!r} ({type(self).__name__}) was called on "
                                f"{type(t).__name__}; call layers on tensors made by "
                                "fnjit.Input or by other layers")
        single = not isinstance(inputs, (list, tuple))
        shapes = tensors[0].shape if single else [t.shape for t in tensors]
        self._call_single = single
        if not self.built:
            self._build_once(shapes)
            self._built_input_shapes = [t.shape for t in tensors]
        elif getattr(self, "_built_input_shapes", None) is None:  # built by a direct build()
            self._built_input_shapes = [t.shape for t in tensors]
        else:
            self._check_input_shapes([t.shape for t in tensors])
        out_shapes = self.compute_output_shape(shapes)
        multi = isinstance(out_shapes, list)
        out_shapes = out_shapes if multi else [out_shapes]
        dtype = self.output_dtype([t.dtype for t in tensors])
        outputs = [KerasTensor(s, dtype, name=f"{self.name}/out{i}")
                   for i, s in enumerate(out_shapes)]
        Node(self, tensors, outputs, single, call_args)
        return outputs if multi else outputs[0]

    def _check_input_shapes(self, shapes):
        """Refuse, at the call, an input this built layer's weights do not fit (compiled code
        would fail later with an error about array sizes)."""
        built = self._built_input_shapes
        if len(built) != len(shapes):
            return
        for i, (was, now) in enumerate(zip(built, shapes)):
            why = None
            if self.input_rank_fixed and len(was) != len(now):
                why = f"expected an input of rank {len(was)}"
            else:
                for a in self.input_axes(was):
                    if not -len(now) <= a < len(now):
                        why = f"expected an input with axis {a}"
                    elif None not in (was[a], now[a]) and was[a] != now[a]:
                        why = f"expected axis {a} of the input shape to have value {was[a]}"
                    if why:
                        break
            if why:
                raise ValueError(f"Input {i} of layer {self.name!r} ({type(self).__name__}) is "
                                 f"incompatible with the layer: {why}, but received an input "
                                 f"of shape {tuple(now)} (the layer was built for inputs of "
                                 f"shape {tuple(was)})")

    def _call_args(self, args, training, mask, kwargs):
        """Check the arguments of a call besides its inputs; returns those a node records."""
        if args:
            raise TypeError(f"{self._what} was called with {len(args)} extra positional "
                            "argument(s); pass its inputs as one tensor or a list, and "
                            "training= by keyword")
        if mask is not None:
            raise ValueError(f"{self._what}: mask= at a call on model tensors is not supported; "
                             "masks come from Embedding(mask_zero=True) or Masking upstream "
                             "(or a custom layer's compute_mask), and mask= works for a layer "
                             "called inside a custom layer's call")
        if kwargs:
            raise TypeError(f"{self._what}: unexpected call argument(s) {sorted(kwargs)}; a "
                            "layer call takes its inputs and training=")
        if training is None:
            return {}
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"{self._what}: training= must be True, False or None, got "
                            f"{training!r}")
        return {"training": bool(training)}

    # ---- node semantics ----------------------------------------------------------------
    def _node(self, index, what):
        if not self._inbound_nodes:
            raise AttributeError(f"layer {self.name!r} has never been called and thus has no "
                                 f"defined {what}")
        if index >= len(self._inbound_nodes):
            raise ValueError(f"asked for node {index} of layer {self.name!r}, which has only "
                             f"{len(self._inbound_nodes)} inbound node(s)")
        return self._inbound_nodes[index]

    def _single(self, what, getter):
        nodes = self._inbound_nodes
        if not nodes:
            raise AttributeError(f"layer {self.name!r} has never been called and thus has no "
                                 f"defined {what}")
        values = [getter(n) for n in nodes]
        if len(nodes) == 1 or (what.endswith("shape") and all(v == values[0] for v in values)):
            return values[0]
        at = "get_" + what.replace(" ", "_") + "_at(node_index)"
        # Keras 2's words, as the guides quote them.
        raise AttributeError(f"Layer {self.name} has multiple inbound nodes, hence the notion "
                             f"of \"layer {what}\" is ill-defined. Use `{at}` instead.")

    def get_input_at(self, node_index):
        n = self._node(node_index, "input")
        return n.input_tensors[0] if n.single_input else list(n.input_tensors)

    def get_output_at(self, node_index):
        n = self._node(node_index, "output")
        return n.unpack(n.output_tensors)

    def get_input_shape_at(self, node_index):
        x = self.get_input_at(node_index)
        return [t.shape for t in x] if isinstance(x, list) else x.shape

    def get_output_shape_at(self, node_index):
        x = self.get_output_at(node_index)
        return [t.shape for t in x] if isinstance(x, list) else x.shape

    @property
    def input(self):
        return self._single("input", lambda n: self.get_input_at(n.index))

    @property
    def output(self):
        return self._single("output", lambda n: self.get_output_at(n.index))

    @property
    def input_shape(self):
        return self._single("input shape", lambda n: self.get_input_shape_at(n.index))

    @property
    def output_shape(self):
        return self._single("output shape", lambda n: self.get_output_shape_at(n.index))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class InputLayer(Layer):
    """The layer behind `Input`: it has one node with no inputs."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, sparse=None,
                 input_shape=None, batch_input_shape=None, **kwargs):
        if shape is None:
            shape = input_shape if input_shape is not None else (
                batch_input_shape[1:] if batch_input_shape is not None else None)
            if batch_input_shape is not None:
                batch_size = batch_input_shape[0]
        if shape is None:
            raise ValueError("Input needs a shape, e.g. Input(shape=(784,))")
        if sparse:
            raise ValueError("Input: sparse=True is not supported: inputs are dense arrays")
        if isinstance(shape, int):
            shape = (shape,)
        for d in shape:
            if d is not None and (not isinstance(d, (int, np.integer)) or d <= 0):
                raise ValueError(f"Input shape {tuple(shape)}: every dimension must be a "
                                 "positive int or None")
        super().__init__(name=name or backend.unique_name("input_layer"), dtype=dtype,
                         **kwargs)
        self.shape = (batch_size,) + tuple(shape)
        self.batch_size = batch_size
        self.built = True
        tensor = KerasTensor((None,) + tuple(shape), self.dtype, name=self.name)
        Node(self, [], [tensor], True)
        self._tensor = tensor

    def get_config(self):
        return {"batch_shape": self.shape, "dtype": self.dtype, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        batch_shape = config.pop("batch_shape", None) or config.pop("batch_input_shape")
        config.pop("sparse", None)
        config.pop("ragged", None)
        return cls(shape=tuple(batch_shape[1:]), batch_size=batch_shape[0], **config)


def Input(shape=None, batch_size=None, dtype=None, name=None, sparse=None, batch_shape=None,
          tensor=None, **kwargs):
    """A symbolic input tensor: `Input(shape=(784,))`."""
    if batch_shape is not None:
        shape, batch_size = tuple(batch_shape[1:]), batch_shape[0]
    if tensor is not None:
        raise ValueError("Input: tensor= (wrapping an existing tensor) is not supported; "
                         "give shape= and feed the data to fit/predict")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, sparse=sparse,
                      **kwargs)._tensor


def _unique(variables):
    seen, out = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _overrides_compute_mask(layer):
    return type(layer).compute_mask is not Layer.compute_mask


def _has_call(layer):
    """Whether `layer` is a custom layer whose maths is its `call` method (built-in layers
    lower themselves and define no `call`)."""
    return callable(getattr(type(layer), "call", None))


_variable_operators()
