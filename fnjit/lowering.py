"""Model -> IR: walk a model's nodes in topological order and let each layer emit its ops.

Nested models are inlined (their nodes lowered in place, their weights shared); a weight used by
several nodes is one IR param, so autodiff sums its gradients.

The IR has static shapes: a model input declared with unknown dimensions (`Input(shape=(None,
8))`, a sequence of any length) is lowered for the concrete shape of the data at hand, and the
Trainer keeps one program per input shape. Layers' declared shapes keep `None`; the shapes
they see while lowering (`ctx.shape`) are concrete.
"""

from __future__ import annotations

from .codegen.ir import FLOAT_DTYPES, Builder, IndexBound


class LoweringContext:
    """What a layer's `lower` sees: ops to emit, params to reference, shapes to read."""

    def __init__(self, floatx):
        self.builder = Builder(floatx)
        self.params = {}  # id(Variable) -> IR param name
        self.variables = {}  # IR param name -> Variable
        self.origin = ""  # the layer being lowered, in the user's names: for errors
        self.label = ""  # the same in graph positions ("layer 3 Dense"): for code comments
        self.position = ""  # that layer's position ("3"; "3.1" inside the model at 3)
        self.node = None  # the call being lowered: its options (Node.call_options)
        # Keras masking: the mask of each input of the call being lowered (an IR value of
        # dtype bool, one per batch row and time step, or None), as Keras 3 passes `mask=`.
        self.masks = []
        self._trainable = lambda variable: True  # lower_model: the model's trainable weights
        self.added_losses = []  # values of Layer.add_loss in traced calls (summed per sample)
        self.activity_penalties = []  # scalar values: a regularizer's sum over the batch
        # The `training=` of the layer call being lowered (None: the phase decides). Layers
        # read False (Dropout: identity; BatchNormalization: moving statistics); True makes
        # every op of the call run its training maths in every phase.
        self.training = None

    @property
    def graph(self):
        return self.builder.graph

    @property
    def masked(self):
        """Whether the model makes a Keras mask (Embedding(mask_zero=True), Masking)."""
        return any(op.kind == "mask" for op in self.graph.ops)

    def shape(self, value):
        return self.graph.shape(value)

    def dtype(self, value):
        return self.graph.dtype(value)

    def batch_factor(self, value):
        """Rows per sample of a batched value (1 unless TimeDistributed folded steps in)."""
        return self.graph.batch_factor(value)

    def index_input(self, value, size):
        """Declare that `value` indexes a table of `size` rows. Native code does no bounds
        checks, so the value must be a model input, which is checked before every call."""
        if value not in self.graph.inputs:
            raise ValueError(f"{self.origin}: its indices must come straight from a model Input "
                             "(fnjit checks them against the table size before running)")
        self.graph.index_inputs.append(IndexBound(value, int(size), self.origin))

    def param(self, variable):
        key = id(variable)
        if key not in self.params:
            trainable = variable.trainable and self._trainable(variable)
            name = self.builder.param(variable.path, variable.shape, trainable,
                                      role=variable.name)
            self.params[key] = name
            self.variables[name] = variable
        return self.params[key]

    def op(self, kind, inputs, out_shapes, **kw):
        return self.builder.op(kind, inputs, out_shapes, origin=self.origin, label=self.label,
                               force_training=self.training is True, **kw)


def concrete_input_shapes(model, input_shapes=None):
    """The non-batch shape of each model input (a tuple of tuples): the declared one, with
    unknown dimensions taken from `input_shapes` (those of the data). Raises if a dimension
    stays unknown."""
    declared = [tuple(t.shape[1:]) for t in model.inputs]
    if input_shapes is None:
        input_shapes = declared
    shapes = []
    for t, want, got in zip(model.inputs, declared, input_shapes):
        got = tuple(got)
        name = t._history[0].name
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            raise ValueError(f"input {name!r}: declared shape {(None,) + want} does not match "
                             f"data of shape (n,) + {got}")
        if any(g is None for g in got):
            raise ValueError(f"input {name!r} has unknown dimensions {(None,) + want}: its "
                             "code is generated for the shape of the data, so give data "
                             "(fit/predict) or input_shapes")
        shapes.append(got)
    return tuple(shapes)


def float_dtype(model):
    """The float type a model computes in: that of its layers, each fixed when the layer was
    made (Keras 3's dtype policy: `set_floatx` later changes new layers only, and
    `Dense(dtype="float64")` computes in float64). A program has one float type, so layers that
    disagree are refused."""
    from . import backend
    from .layers.base import InputLayer

    found = {}
    for layer in _leaf_layers(model):
        dtype = str(getattr(layer, "dtype", "") or "")
        if isinstance(layer, InputLayer) or not (dtype.startswith("float") or
                                                 "float16" in dtype):
            continue  # an input's dtype is its data's; integer dtypes are layers' output types
        if dtype not in FLOAT_DTYPES:
            raise ValueError(f"model {model.name!r}: layer {layer.name!r} has dtype {dtype!r}; "
                             "fnjit computes in float32 or float64 only")
        found.setdefault(dtype, []).append(layer.name)
    if len(found) > 1:
        raise ValueError(f"model {model.name!r} mixes float types, which one compiled program "
                         f"cannot hold: {', '.join(f'{d}: {n[:3]}' for d, n in found.items())} "
                         "(set_floatx applies to layers made after it; give every layer the "
                         "same dtype)")
    return next(iter(found), None) or getattr(model, "dtype", None) or backend.floatx()


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer is not model:
            yield from _leaf_layers(layer)
        else:
            yield layer


def lower_model(model, floatx, input_shapes=None):
    """Lower `model` to a fresh graph. Returns (context, input values, output values).

    `input_shapes`: the non-batch shape of each input's data, needed where the model declares
    unknown dimensions (variable-length sequences)."""
    ctx = LoweringContext(floatx)
    trainable_ids = {id(w) for w in model.trainable_weights}
    ctx._trainable = lambda v: id(v) in trainable_ids
    shapes = concrete_input_shapes(model, input_shapes)
    # Float inputs take the program's float type; integer inputs (token ids) keep theirs.
    xs = [ctx.builder.input(t._history[0].name, (None,) + shape,
                            floatx if t.dtype.startswith("float") else t.dtype)
          for t, shape in zip(model.inputs, shapes)]
    ys = lower_functional(ctx, model, xs)
    ctx.graph.outputs = list(ys)
    ctx.output_masks = list(ctx.masks)  # the masks of the outputs (losses and metrics use them)
    return ctx, xs, ys


def lower_functional(ctx, model, input_values, prefix="", training=None):
    """Lower the nodes of `model` on `input_values`. A layer's label is its position in
    `model.layers` (`prefix` holds the positions of the models it is nested in).
    `training`: that of the call of `model` (a nested model); a node's own wins.
    Masks: `ctx.masks` holds those of `input_values` on entry (a nested model's call), and
    those of the outputs on return."""
    values = {id(t): v for t, v in zip(model.inputs, input_values)}
    masks = {id(t): m for t, m in zip(model.inputs, ctx.masks)}
    positions = {id(layer): i for i, layer in enumerate(model.layers)}
    for node in model._ordered_nodes():
        if node.is_input:
            continue
        layer = node.layer
        args = [values[id(t)] for t in node.input_tensors]
        in_masks = [masks.get(id(t)) for t in node.input_tensors]
        ctx.masks = in_masks
        position = f"{prefix}{positions.get(id(layer), '?')}"
        ctx.training = node.call_args.get("training", training)
        if hasattr(layer, "_ordered_nodes"):  # a model used as a layer: inline it
            outs = lower_functional(ctx, layer, args, prefix=position + ".",
                                    training=ctx.training)
            out_masks = ctx.masks
        else:
            ctx.position = position
            ctx.origin = f"{layer.name} ({type(layer).__name__}), node {node.index}"
            ctx.label = f"layer {position} {type(layer).__name__}" + (
                f", call {node.index}" if node.index else "")
            ctx.node = node
            outs = layer.lower(ctx, args)
            ctx.masks = in_masks
            out_masks = layer.lower_mask(ctx, args, outs) if any(
                m is not None for m in in_masks) or layer.makes_mask else [None] * len(outs)
        if layer.activity_regularizer is not None:
            ctx.origin = f"activity_regularizer of {layer.name} ({type(layer).__name__})"
            ctx.label = f"activity regularizer of layer {position}"
            ctx.activity_penalties += [penalty(ctx, layer.activity_regularizer, v) for v in outs]
        if len(outs) != len(node.output_tensors):
            raise RuntimeError(f"layer {layer.name!r} lowered to {len(outs)} outputs, "
                               f"expected {len(node.output_tensors)}")
        for t, v in zip(node.output_tensors, outs):
            want = tuple(t.shape[1:])
            got = tuple(ctx.shape(v)[1:])
            if len(want) != len(got) or any(w is not None and w != g
                                            for w, g in zip(want, got)):
                raise RuntimeError(f"layer {layer.name!r}: lowered shape {got} differs from "
                                   f"its declared output shape {want}")
            values[id(t)] = v
        for t, m in zip(node.output_tensors, out_masks):
            masks[id(t)] = m
    ctx.training = training
    ctx.masks = [masks.get(id(t)) for t in model.outputs]
    return [values[id(t)] for t in model.outputs]


def penalty(ctx, regularizer, value):
    """A regularizer's penalty on IR `value` (a weight, or a layer's output), traced into the
    graph: a scalar value (a non-scalar result is summed, as Keras adds up a loss tensor)."""
    from . import ops

    (v,), _ = ops.trace(ctx, regularizer, [value])
    if ctx.shape(v) != ():
        v = ops.sum(ops.SymbolicTensor(ctx, v)).value
    return v


def lower_penalties(ctx):
    """The regularization terms of the loss, as (value, weight) pairs for the program: the sum
    of the weight penalties of the trainable weights (repeated along the batch, so that its
    batch mean is itself), and the sum of the activity penalties as an unbatched scalar, which
    the training step divides by the batch size as Keras 3 does."""
    from . import ops

    def total(values):
        syms = [ops.SymbolicTensor(ctx, v) for v in values]
        out = syms[0]
        for s in syms[1:]:
            out = out + s
        return out.value

    out = []
    weights = []
    for name, var in ctx.variables.items():
        if var.regularizer is not None and ctx.graph.params[name].trainable:
            ctx.origin = f"regularizer of weight {var.path}"
            ctx.label = f"regularizer of weight {name}"
            weights.append(penalty(ctx, var.regularizer, name))
    if weights:
        out.append((ops.per_sample(ctx, total(weights)), 1.0))
    if ctx.activity_penalties:
        out.append((total(ctx.activity_penalties), 1.0))
    return out
