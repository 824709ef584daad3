"""Symbolic tensors, nodes, weights and the Layer base class.

As in Keras: calling a layer on symbolic tensors records a `Node` (this layer, its input tensors,
its output tensors) and returns new tensors whose `_history` is (layer, node index, tensor
index). A shared layer is a layer with several nodes. A layer lowers itself to IR ops in
`lower`; everything else here is bookkeeping.
"""

from __future__ import annotations

import numpy as np

from .. import backend, initializers


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

    def __init__(self, layer, inputs, outputs, single_input):
        self.layer = layer
        self.input_tensors = list(inputs)
        self.output_tensors = list(outputs)
        self.single_input = single_input
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

    def __init__(self, value, name, path, trainable=True):
        self.value = value
        self.name = name
        self.path = path
        self.trainable = trainable

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def numpy(self):
        return np.array(self.value, copy=True)

    def assign(self, value):
        value = np.asarray(value)
        if value.shape != self.value.shape:
            raise ValueError(f"weight {self.path!r} has shape {self.value.shape}; "
                             f"cannot assign a value of shape {value.shape}")
        self.value[...] = value

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"


def _flatten(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Layer:
    """Base class of every layer (and of Model)."""

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 batch_size=None, batch_input_shape=None, **kwargs):
        for legacy in ("weights", "activity_regularizer", "input_length"):
            kwargs.pop(legacy, None)
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
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            batch_size, input_shape = batch_input_shape[0], batch_input_shape[1:]
        self._input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self._batch_size_arg = batch_size

    # ---- to override -------------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights, given the input shape(s) (batch dimension None)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def output_dtype(self, input_dtypes):
        return self.dtype

    def lower(self, ctx, inputs):
        """Emit IR ops computing this layer's outputs from IR values `inputs` (a list);
        return the list of output values."""
        raise NotImplementedError(f"{type(self).__name__} cannot be compiled")

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @property
    def _what(self):
        """How error messages name this layer: `Conv2D 'conv2d_1'`."""
        return f"{type(self).__name__} {self.name!r}"

    # ---- weights -----------------------------------------------------------------------
    def add_weight(self, name, shape, initializer="glorot_uniform", trainable=True, dtype=None):
        init = initializers.get(initializer)
        dtype = dtype or backend.floatx()
        # np.array, not np.ascontiguousarray, which turns a scalar weight (shape ()) into (1,).
        value = np.array(init(tuple(shape), dtype), dtype=dtype, order="C")
        var = Variable(value, name, f"{self.name}/{name}", trainable)
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
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        return [w for w in self._weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return list(self._weights)
        return [w for w in self._weights if not w.trainable]

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
    def __call__(self, inputs, *args, **kwargs):
        tensors = _flatten(inputs)
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"layer {self.name!r} ({type(self).__name__}) was called on "
                                f"{type(t).__name__}; call layers on tensors made by "
                                "fnjit.Input or by other layers")
        single = not isinstance(inputs, (list, tuple))
        shapes = tensors[0].shape if single else [t.shape for t in tensors]
        if not self.built:
            self.build(shapes)
            self.built = True
        out_shapes = self.compute_output_shape(shapes)
        multi = isinstance(out_shapes, list)
        out_shapes = out_shapes if multi else [out_shapes]
        dtype = self.output_dtype([t.dtype for t in tensors])
        outputs = [KerasTensor(s, dtype, name=f"{self.name}/out{i}")
                   for i, s in enumerate(out_shapes)]
        Node(self, tensors, outputs, single)
        return outputs if multi else outputs[0]

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
        raise AttributeError(f"layer {self.name!r} has {len(nodes)} inbound nodes, hence the "
                             f"notion of \"layer {what}\" is ill-defined; use {at} instead")

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
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      **kwargs)._tensor
