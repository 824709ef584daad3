"""Model -> IR: walk a model's nodes in topological order and let each layer emit its ops.

Nested models are inlined (their nodes lowered in place, their weights shared); a weight used by
several nodes is one IR param, so autodiff sums its gradients.
"""

from __future__ import annotations

from .codegen.ir import Builder


class LoweringContext:
    """What a layer's `lower` sees: ops to emit, params to reference, shapes to read."""

    def __init__(self, floatx):
        self.builder = Builder(floatx)
        self.params = {}  # id(Variable) -> IR param name
        self.variables = {}  # IR param name -> Variable
        self.origin = ""
        self.hint = ""
        self._trainable = None

    @property
    def graph(self):
        return self.builder.graph

    def shape(self, value):
        return self.graph.shape(value)

    def dtype(self, value):
        return self.graph.dtype(value)

    def param(self, variable):
        key = id(variable)
        if key not in self.params:
            trainable = variable.trainable and self._trainable(variable)
            name = self.builder.param(variable.path.replace("/", "_"), variable.shape,
                                      trainable, origin=variable.path)
            self.params[key] = name
            self.variables[name] = variable
        return self.params[key]

    def op(self, kind, inputs, out_shapes, **kw):
        kw.setdefault("hint", self.hint)
        return self.builder.op(kind, inputs, out_shapes, origin=self.origin, **kw)


def lower_model(model, floatx):
    """Lower `model` to a fresh graph. Returns (context, input values, output values)."""
    ctx = LoweringContext(floatx)
    trainable_ids = {id(w) for w in model.trainable_weights}
    ctx._trainable = lambda v: id(v) in trainable_ids
    # Float inputs take the program's float type; integer inputs (token ids) keep theirs.
    xs = [ctx.builder.input(t._history[0].name, t.shape,
                            floatx if t.dtype.startswith("float") else t.dtype)
          for t in model.inputs]
    ys = lower_functional(ctx, model, xs)
    ctx.graph.outputs = list(ys)
    return ctx, xs, ys


def lower_functional(ctx, model, input_values):
    values = {id(t): v for t, v in zip(model.inputs, input_values)}
    for node in model._ordered_nodes():
        if node.is_input:
            continue
        layer = node.layer
        args = [values[id(t)] for t in node.input_tensors]
        if hasattr(layer, "_ordered_nodes"):  # a model used as a layer: inline it
            outs = lower_functional(ctx, layer, args)
        else:
            ctx.origin = f"{layer.name} ({type(layer).__name__}), node {node.index}"
            ctx.hint = layer.name
            outs = layer.lower(ctx, args)
        if len(outs) != len(node.output_tensors):
            raise RuntimeError(f"layer {layer.name!r} lowered to {len(outs)} outputs, "
                               f"expected {len(node.output_tensors)}")
        for t, v in zip(node.output_tensors, outs):
            want = tuple(t.shape[1:])
            got = tuple(ctx.shape(v)[1:])
            if want != got:
                raise RuntimeError(f"layer {layer.name!r}: lowered shape {got} differs from "
                                   f"its declared output shape {want}")
            values[id(t)] = v
    return [values[id(t)] for t in model.outputs]
