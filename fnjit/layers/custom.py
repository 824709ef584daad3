"""Custom layers and subclassed models: a user's `call` traced into IR ops.

A layer that defines `call(inputs, training=None, mask=None)` is compiled by calling it on
symbolic tensors (fnjit/ops/): every ops/backend function and Python operator it uses appends
IR ops, the Variables it made with `add_weight` become IR params, and layers it calls (its
sublayers) lower themselves in place. The same trace on a scratch graph gives its output shape
when it defines no `compute_output_shape`.

`training` is a flag, not a bool: passed on to sublayers (Dropout), the generated code decides
per phase. A `call` that branches on it (`if training:`) is traced twice, once per branch, and
a `phase` op picks the training trace's value in training code and the other in inference.
"""

from __future__ import annotations

import inspect

from .. import ops


class TrainingFlag:
    """The `training` argument of a traced call."""

    def __init__(self, value):
        self.value = value
        self.consulted = False

    def __bool__(self):
        self.consulted = True
        return self.value

    def __repr__(self):
        return f"<training flag: traced as {self.value}>"


def _where(layer):
    return f"{layer._what} (its call method)"


def _call_kwargs(layer, flag, mask=None):
    params = inspect.signature(layer.call).parameters
    kwargs = {}
    if "training" in params:
        kwargs["training"] = flag
    if "mask" in params:
        kwargs["mask"] = mask
    return kwargs


def float_masks(ctx, single):
    """The masks of the call being lowered (`ctx.masks`) as user code sees them: symbolic
    float tensors of 1.0 (kept) and 0.0 (masked), as the ops' comparisons give (the traced ops
    are float); one, or a list for a list input; None when no input has one."""
    if all(m is None for m in ctx.masks):
        return None
    syms = [float_mask(ctx, m) for m in ctx.masks]
    return syms[0] if single else syms


def float_mask(ctx, mask):
    """One mask (a bool IR value, or None) as a symbolic float tensor of 1.0 and 0.0."""
    if mask is None:
        return None
    return ops.SymbolicTensor(ctx, ctx.op("mask_weight", [mask], [ctx.shape(mask)],
                                          attrs={"normalize": False})[0])


def bool_mask(ctx, value):
    """A float tensor from user code (nonzero: kept) as a mask."""
    return ctx.op("mask", [value], [ctx.shape(value)], out_dtypes=["bool"],
                  attrs={"value": 0.0, "reduce": False, "apply": False})[0]


def lower_compute_mask(layer, ctx, inputs, outputs, compute=None):
    """The output masks of a custom layer's call: its `compute_mask(inputs, mask)` (or a
    Lambda's `mask` function, `compute`) traced on symbolic tensors (the mask as floats, see
    float_masks); a tensor it returns (nonzero: kept) becomes a mask, None no mask. Keras
    zips a list of masks with the outputs."""
    single = ctx.node.single_input if ctx.node is not None else len(inputs) == 1
    mask = float_masks(ctx, single)
    compute = compute or layer.compute_mask
    returned = {}

    def fn(x):
        out = compute(x, mask)
        returned["masks"] = list(out) if isinstance(out, (list, tuple)) else [out]
        # the tracer wants tensors back: the input stands in for a None
        kept = [m for m in returned["masks"] if m is not None]
        return kept or (x if single else x[0])

    where = f"{layer._what} (its compute_mask method or mask function)"
    values, _ = ops.trace(ctx, fn, inputs, single=single, where=where)
    found = iter(values)
    masks = [None if m is None else bool_mask(ctx, next(found)) for m in returned["masks"]]
    return (masks + [None] * len(outputs))[:len(outputs)]


def _single(shapes_or_values):
    return not isinstance(shapes_or_values, list)


def lower_call(layer, ctx, inputs):
    """IR values of `layer.call` on IR values `inputs` (a list) in `ctx`; a `mask` argument
    of call receives the inputs' masks (float_masks)."""
    single = getattr(layer, "_call_single", len(inputs) == 1)
    return _trace(layer, ctx, inputs, single)[0]


def _trace(layer, ctx, inputs, single):
    # A call made with training=True/False (the node's, or the outer call's) is traced once.
    fixed = getattr(ctx, "training", None)
    flag = TrainingFlag(True if fixed is None else fixed)
    mask = float_masks(ctx, single) if "mask" in inspect.signature(layer.call).parameters \
        else None

    def fn(x, **kw):
        return layer.call(x, **_call_kwargs(layer, flag, mask))

    outs, multi = ops.trace(ctx, fn, inputs, single=single, where=_where(layer))
    if flag.consulted and fixed is None:  # `if training:` in call: trace both branches
        flag = TrainingFlag(False)
        with ops.losses_ignored():
            infer, _ = ops.trace(ctx, fn, inputs, single=single, where=_where(layer))
        if [ctx.shape(v) for v in infer] != [ctx.shape(v) for v in outs]:
            raise ValueError(f"{_where(layer)}: its training and inference branches give "
                             f"different shapes {[ctx.shape(v) for v in outs]} and "
                             f"{[ctx.shape(v) for v in infer]}")
        outs = [v if v == w else ctx.op("phase", [v, w], [ctx.shape(v)])[0]
                for v, w in zip(outs, infer)]
    return outs, multi


def traced_output_shape(layer, input_shape):
    """The output shape(s) of a custom layer, by tracing `call` into a scratch graph."""
    single = _single(input_shape)
    layer._call_single = single
    shapes = [input_shape] if single else list(input_shape)
    return ops.trace_shapes(lambda x: layer.call(x, **_call_kwargs(layer, TrainingFlag(False))),
                            shapes, single=single, where=_where(layer))


def call_inside_trace(layer, inputs, args, kwargs):
    """`layer(inputs)` on symbolic tensors inside another layer's traced call: build it, lower
    it in place, return symbolic tensors."""
    tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    bad = [k for k, v in kwargs.items()
           if not (k == "mask" and (v is None or isinstance(v, ops.SymbolicTensor)))
           and not (k == "training" and (v is None or isinstance(v, (TrainingFlag, bool))))]
    if args or bad:
        raise ops.UnsupportedOperation(
            f"{layer._what} was called inside a traced call with arguments "
            f"{bad or list(args)}: only training= (True, False, None or the flag the outer call "
            "received) and mask= (a tensor, nonzero where kept, or None) are supported")
    if not all(isinstance(t, ops.SymbolicTensor) for t in tensors):
        kinds = [type(t).__name__ for t in tensors]
        raise ops.UnsupportedOperation(f"{layer._what} was called on {kinds} inside a traced "
                                       "call: every input must be a tensor")
    ctx = tensors[0]._ctx
    single = not isinstance(inputs, (list, tuple))
    shapes = tensors[0].shape if single else [t.shape for t in tensors]
    layer._build_once(shapes)
    from .base import _has_call

    if not _has_call(layer):
        layer.compute_output_shape(shapes)  # some layers settle details there
    layer._call_single = single
    outer = (ctx.origin, ctx.label, ctx.training, ctx.masks, ctx.node)
    ctx.origin = f"{layer.name} ({type(layer).__name__}) in {outer[0]}"
    ctx.label = f"{outer[1]} > {type(layer).__name__}"
    if isinstance(kwargs.get("training"), bool):  # training=True/False: this call's own
        ctx.training = kwargs["training"]
    # Its mask: the one given with mask= (for its first input), else none (the outer call's
    # masks are not this call's).
    given = kwargs.get("mask")
    ctx.masks = [bool_mask(ctx, given.value) if given is not None else None] + \
        [None] * (len(tensors) - 1)
    ctx.node = None
    try:
        outs = layer.lower(ctx, [t.value for t in tensors])
    finally:
        ctx.origin, ctx.label, ctx.training, ctx.masks, ctx.node = outer
    result = [ops.SymbolicTensor(ctx, v) for v in outs]
    layer._traced_shape = [r.shape for r in result] if len(result) > 1 else result[0].shape
    return result if len(result) > 1 else result[0]


def call_eagerly(layer, inputs):
    """`layer(array)` outside a model, as Keras runs a layer eagerly: a one-layer model on Inputs
    of the arrays' shapes (first axis the batch) predicts them. The node this adds to the layer
    is taken off again, so the layer's graph history is as before."""
    import numpy as np

    from ..models import Model
    from .base import Input

    single = not isinstance(inputs, (list, tuple))
    arrays = [np.asarray(a) for a in ([inputs] if single else inputs)]
    if any(a.ndim == 0 for a in arrays):
        raise ValueError(f"{layer._what} was called on a scalar; its first axis is the batch")
    ins = [Input(shape=a.shape[1:], dtype=str(a.dtype) if a.dtype.kind in "iu" else None)
           for a in arrays]
    before = len(layer._inbound_nodes)
    outs = layer(ins[0] if single else ins)
    try:
        model = Model(ins[0] if single else ins, outs)
        return model.predict(arrays[0] if single else arrays, batch_size=max(len(arrays[0]), 1),
                             verbose=0)
    finally:
        del layer._inbound_nodes[before:]
