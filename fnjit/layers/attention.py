"""MultiHeadAttention, Attention, AdditiveAttention (Keras 3's arguments, weights and configs).

They are compositions of existing ops: projections are `dense` (MultiHeadAttention's einsum
kernels (d, heads, key_dim) seen as 2-D), scores and weighted sums `batch_matmul`, head axes
moved by `transpose`, the masked softmax of templates/softmax.j2 (an `attention_mask` input and
the causal mask), `dropout` on the attention weights in training; the additive scores are
elementwise ops and a reduce (fnjit/ops/).

Keras masking: the masks of the inputs (Embedding(mask_zero=True), Masking upstream) are used as
Keras 3 fills in query_mask / value_mask / key_mask (an Attention's `mask=`): AND-ed into the
attention mask (`keras_mask_scores`), an Attention's masked query rows zeroed; the output keeps
the query's mask. Those arguments given explicitly as tensors are refused by name;
`attention_mask=` and `use_causal_mask=True` are supported.
"""

from __future__ import annotations

import math

from .. import initializers, ops
from .base import KerasTensor, Layer
from .core import refuse_seed
from .layer_normalization import refuse_unsupported


def _check_tensor(layer, what, value):
    if not isinstance(value, KerasTensor):
        raise TypeError(f"{layer._what}: {what} must be a tensor made by fnjit.Input or another "
                        f"layer, got {type(value).__name__}")


def _mask_shape(layer, mask_shape, t, s):
    if tuple(mask_shape[1:]) != (t, s):
        raise ValueError(f"{layer._what}: attention_mask must have shape (batch, {t}, {s}) "
                         f"(batch, query steps, key steps), got {tuple(mask_shape)}")


def keras_mask_scores(ctx, query_mask, value_masks, t, s, explicit=None):
    """The (n, t, s) attention mask (1.0 where allowed) Keras 3 builds from the Keras masks of
    the inputs (Embedding(mask_zero=True), Masking): the query's mask (n, t) along the rows,
    the value's and key's (n, s) along the columns, AND-ed with an `explicit` attention mask
    (nonzero where allowed). None when no input has a mask."""
    from .custom import float_mask

    parts = [ops.expand_dims(float_mask(ctx, query_mask), -1)] if query_mask is not None \
        else []
    parts += [ops.expand_dims(float_mask(ctx, m), 1) for m in value_masks if m is not None]
    if not parts:
        return explicit
    auto = parts[0]
    for part in parts[1:]:
        auto = auto * part
    if tuple(auto.shape[1:]) != (t, s):
        auto = ops.broadcast_to(auto, (None, t, s))
    if explicit is not None:
        auto = auto * ops.SymbolicTensor(ctx, explicit)
    return auto.value


def masked_softmax(ctx, scores, heads, mask=None, causal=False):
    """Softmax over the last axis of (n, heads, T, S) scores, masked positions excluded."""
    if mask is None and not causal:
        return ctx.op("softmax", [scores], [ctx.shape(scores)])[0]
    return ctx.op("softmax", [scores] + ([mask] if mask is not None else []),
                  [ctx.shape(scores)], attrs={"masked": True, "heads": heads,
                                              "causal": bool(causal)})[0]


def matmul(ctx, x, y, i, k, j, out_shape):
    """Per sample (and per leading axis), (i, k) @ (k, j)."""
    return ctx.op("batch_matmul", [x, y], [out_shape], attrs={"i": i, "k": k, "j": j})[0]


def dropout(ctx, x, rate):
    if rate == 0 or ctx.training is False:  # a call with training=False: no dropout
        return x
    shape = ctx.shape(x)
    return ctx.op("dropout", [x], [shape], attrs={"rate": rate}, saved_shapes=[shape])[0]


class MultiHeadAttention(Layer):
    """Keras 3's MultiHeadAttention over the time axis of (batch, steps, features) inputs:
    `mha(query, value, key=None, attention_mask=None, return_attention_scores=False,
    use_causal_mask=False)`. Weights, Keras' order: query kernel (d_q, heads, key_dim) and bias
    (heads, key_dim), key kernel (d_k, heads, key_dim) and bias, value kernel (d_v, heads,
    value_dim) and bias, output kernel (heads, value_dim, *output_shape) and bias."""

    tensor_kwargs = ("key", "attention_mask")  # call arguments a saved config may bind tensors to
    supports_masking = True  # Keras 3: the output keeps the query's mask

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, sliding_window=None, flash_attention=None,
                 **kwargs):
        super().__init__(**kwargs)
        refuse_unsupported(self, kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer,
                           activity_regularizer=activity_regularizer,
                           kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                           sliding_window=sliding_window)
        if use_gate:
            raise ValueError(f"{self._what}: use_gate=True is not supported yet")
        if flash_attention:
            raise ValueError(f"{self._what}: flash_attention=True is not supported (the "
                             "attention is computed by generated loops)")
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim),
                           ("value_dim", value_dim if value_dim is not None else key_dim)):
            if value is None or int(value) != value or value <= 0:
                raise ValueError(f"{self._what}: {arg} must be a positive int, got {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"{self._what}: dropout must be in [0, 1), got {dropout!r}")
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        if output_shape is not None:
            shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
            if not shape or any(int(d) != d or d <= 0 for d in shape):
                raise ValueError(f"{self._what}: output_shape must be a positive int or a "
                                 f"tuple of them, got {output_shape!r}")
            output_shape = output_shape if isinstance(output_shape, int) else \
                tuple(int(d) for d in shape)
        self.output_shape_arg = output_shape
        if attention_axes is not None:
            axes = (attention_axes,) if isinstance(attention_axes, int) else \
                tuple(attention_axes)
            if axes not in ((1,), (-2,)):
                raise ValueError(f"{self._what}: attention_axes={attention_axes!r} is not "
                                 "supported: attention runs over the steps axis of (batch, "
                                 "steps, features) inputs (attention_axes=None or (1,))")
        self.attention_axes = attention_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        refuse_seed(self, seed)
        self.seed = seed

    # ---- calling: query, value[, key][, attention_mask] become the node's input tensors ----
    def __call__(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
                 attention_mask=None, return_attention_scores=False, training=None,
                 use_causal_mask=False):
        for arg, mask in (("query_mask", query_mask), ("value_mask", value_mask),
                          ("key_mask", key_mask)):
            if mask is not None:
                raise ValueError(f"{self._what}: {arg} is not supported as an argument; the "
                                 "inputs' own masks (Embedding(mask_zero=True), Masking) are "
                                 "used, or pass attention_mask=")
        tensors = [query, value]
        kwargs = {}
        if key is not None:
            tensors.append(key)
            kwargs["key"] = key
        if attention_mask is not None:
            tensors.append(attention_mask)
            kwargs["attention_mask"] = attention_mask
        for what, t in zip(("query", "value", "key/attention_mask", "attention_mask"), tensors):
            _check_tensor(self, what, t)
        options = {"key": key is not None, "mask": attention_mask is not None,
                   "scores": bool(return_attention_scores), "causal": bool(use_causal_mask)}
        if options["scores"]:
            kwargs["return_attention_scores"] = True
        if options["causal"]:
            kwargs["use_causal_mask"] = True
        if training is not None:
            kwargs["training"] = training
        self._options = options
        out = super().__call__(tensors, training=training)
        node = self._inbound_nodes[-1]
        node.call_options = options
        node.arguments = ([query, value], kwargs)
        return out

    def _split(self, shapes, options):
        q, v = shapes[0], shapes[1]
        k = shapes[2] if options["key"] else v
        m = shapes[-1] if options["mask"] else None
        for what, s in (("query", q), ("value", v), ("key", k)):
            if len(s) != 3 or s[-1] is None:
                raise ValueError(f"{self._what}: {what} must have shape (batch, steps, features) "
                                 f"with known features, got {tuple(s)}")
        if tuple(k[:2]) != tuple(v[:2]):
            raise ValueError(f"{self._what}: key and value must have the same steps, got shapes "
                             f"{tuple(k)} and {tuple(v)}")
        if m is not None:
            _mask_shape(self, m, q[1], v[1])
        return q, v, k, m

    def _out_dims(self, query_shape):
        o = self.output_shape_arg
        return (query_shape[-1],) if o is None else ((o,) if isinstance(o, int) else o)

    def build(self, shapes):
        q, v, k, _ = self._split(shapes, self._options)
        h = self.num_heads

        def weight(group, name, shape, init):
            var = self.add_weight(f"{group}/{name}", shape, init)
            var.name = name
            return var

        self._dense = {}
        for group, width, dim in (("query", q[-1], self.key_dim), ("key", k[-1], self.key_dim),
                                  ("value", v[-1], self.value_dim)):
            kernel = weight(group, "kernel", (width, h, dim), self.kernel_initializer)
            bias = weight(group, "bias", (h, dim), self.bias_initializer) \
                if self.use_bias else None
            self._dense[group] = (kernel, bias)
        out = self._out_dims(q)
        kernel = weight("attention_output", "kernel", (h, self.value_dim) + out,
                        self.kernel_initializer)
        bias = weight("attention_output", "bias", out, self.bias_initializer) \
            if self.use_bias else None
        self._dense["attention_output"] = (kernel, bias)

    def compute_output_shape(self, shapes):
        q, v, _, _ = self._split(shapes, self._options)
        y = (q[0], q[1]) + self._out_dims(q)
        if self._options["scores"]:
            return [y, (q[0], self.num_heads, q[1], v[1])]
        return y

    def keras_build_config(self, shapes):
        """Keras 3 builds MultiHeadAttention from named shapes (build(query_shape, ...))."""
        options = self._inbound_nodes[0].call_options
        names = ["query_shape", "value_shape"] + (["key_shape"] if options["key"] else [])
        return {"shapes_dict": dict(zip(names, shapes))}

    def keras_weight_groups(self):
        """Keras 3 saves each projection as a sublayer (query_dense, key_dense, value_dense,
        output_dense); the softmax and dropout sublayers have no weights."""
        groups = {"vars": []}
        for group, saved in (("query", "query_dense"), ("key", "key_dense"),
                             ("value", "value_dense"), ("attention_output", "output_dense")):
            groups[f"{saved}/vars"] = [w for w in self._dense[group] if w is not None]
        groups["_softmax/vars"] = []
        groups["_dropout_layer/vars"] = []
        return groups

    # ---- lowering ---------------------------------------------------------------------------
    def _project(self, ctx, x, group, out_shape, contract=1):
        kernel, bias = self._dense[group]
        params = [ctx.param(kernel)] + ([ctx.param(bias)] if bias is not None else [])
        attrs = {"use_bias": bias is not None}
        if contract != 1:
            attrs["contract"] = contract
        return ctx.op("dense", [x] + params, [out_shape], attrs=attrs)[0]

    def lower(self, ctx, inputs):
        options = ctx.node.call_options if ctx.node is not None else self._options
        q, v, k, m = self._split([ctx.shape(i) for i in inputs], options)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if options["key"] else value
        mask = inputs[-1] if options["mask"] else None
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        t, s = q[1], v[1]
        # Keras 3: the Keras masks of query, value and key (query_mask, value_mask, key_mask,
        # filled in from the inputs) join the attention mask; the output keeps the query's.
        masks = list(ctx.masks) + [None] * 3
        mask = keras_mask_scores(ctx, masks[0], [masks[1]] + ([masks[2]] if options["key"]
                                                              else []), t, s, mask)
        qp = self._project(ctx, query, "query", (None, t, h, kd))
        kp = self._project(ctx, key, "key", (None, s, h, kd))
        vp = self._project(ctx, value, "value", (None, s, h, vd))
        (qp,) = ctx.op("elementwise", [qp], [ctx.shape(qp)],
                       attrs={"fn": "mul_scalar", "a": 1.0 / math.sqrt(kd)})
        qt = ops.permute_value(ctx, qp, (0, 2, 1, 3))  # (n, h, t, kd)
        kt = ops.permute_value(ctx, kp, (0, 2, 3, 1))  # (n, h, kd, s)
        scores = matmul(ctx, qt, kt, t, kd, s, (None, h, t, s))
        weights = masked_softmax(ctx, scores, h, mask, options["causal"])
        dropped = dropout(ctx, weights, self.dropout)
        vt = ops.permute_value(ctx, vp, (0, 2, 1, 3))  # (n, h, s, vd)
        context = matmul(ctx, dropped, vt, t, s, vd, (None, h, t, vd))
        context = ops.permute_value(ctx, context, (0, 2, 1, 3))  # (n, t, h, vd)
        y = self._project(ctx, context, "attention_output", (None, t) + self._out_dims(q),
                          contract=2)
        return [y, weights] if options["scores"] else [y]

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "use_gate": False, "output_shape": self.output_shape_arg,
                "attention_axes": self.attention_axes, "sliding_window": None,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("attention_axes") is not None:  # Keras 3 writes the resolved [1]
            config["attention_axes"] = tuple(config["attention_axes"])
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        return cls(**config)


class _BaseAttention(Layer):
    """Attention and AdditiveAttention: `layer([query, value])` or `([query, value, key])`,
    shapes (batch, Tq, dim) and (batch, Tv, dim); output (batch, Tq, dim)."""

    tensor_kwargs = ()  # a saved config's keyword arguments reach __call__ (no tensors)

    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= dropout < 1:
            raise ValueError(f"{self._what}: dropout must be in [0, 1), got {dropout!r}")
        self.dropout = float(dropout)
        refuse_seed(self, seed)
        self.seed = seed

    def __call__(self, inputs, mask=None, training=None, return_attention_scores=False,
                 use_causal_mask=False):
        if mask is not None:
            raise ValueError(f"{self._what}: mask= is not supported as an argument; the "
                             "inputs' own masks (Embedding(mask_zero=True), Masking) are used")
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{self._what} must be called on a list [query, value] or [query, "
                             f"value, key], got {inputs!r}")
        options = {"scores": bool(return_attention_scores), "causal": bool(use_causal_mask)}
        self._options = options
        out = super().__call__(list(inputs), training=training)
        node = self._inbound_nodes[-1]
        node.call_options = options
        kwargs = {k: True for k, on in (("return_attention_scores", options["scores"]),
                                         ("use_causal_mask", options["causal"])) if on}
        if training is not None:
            kwargs["training"] = training
        if kwargs:
            node.arguments = ([list(inputs)], kwargs)
        return out

    def _split(self, shapes):
        if not isinstance(shapes, list) or len(shapes) not in (2, 3):
            raise ValueError(f"{self._what} expects [query, value] or [query, value, key], got "
                             f"{shapes}")
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) > 2 else v
        for what, s in (("query", q), ("value", v), ("key", k)):
            if len(s) != 3 or s[-1] is None:
                raise ValueError(f"{self._what}: {what} must have shape (batch, steps, dim) with "
                                 f"a known dim, got {tuple(s)}")
        if q[-1] != k[-1]:
            raise ValueError(f"{self._what}: query and key must have the same last dimension, "
                             f"got shapes {tuple(q)} and {tuple(k)}")
        if k[1] != v[1]:
            raise ValueError(f"{self._what}: key and value must have the same steps, got shapes "
                             f"{tuple(k)} and {tuple(v)}")
        return q, v, k

    def compute_output_shape(self, shapes):
        q, v, _ = self._split(shapes)
        y = (q[0], q[1], v[-1])
        return [y, (q[0], q[1], v[1])] if self._options["scores"] else y

    def _scores(self, query, key):
        """Symbolic (n, Tq, Tv) scores from symbolic query and key (fnjit/ops/)."""
        raise NotImplementedError

    def lower(self, ctx, inputs):
        options = ctx.node.call_options if ctx.node is not None else self._options
        q, v, k = self._split([ctx.shape(i) for i in inputs])
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        scores = self._scores(ops.SymbolicTensor(ctx, query), ops.SymbolicTensor(ctx, key))
        # Keras 3 (mask=[query_mask, value_mask], filled in from the inputs' Keras masks): the
        # value's mask hides columns of the scores, the query's zeroes rows of the output.
        masks = list(ctx.masks) + [None] * 2
        scores_mask = keras_mask_scores(ctx, None, [masks[1]], q[1], v[1])
        weights = masked_softmax(ctx, scores.value, 1, scores_mask, options["causal"])
        dropped = dropout(ctx, weights, self.dropout)
        y = matmul(ctx, dropped, value, q[1], v[1], v[-1], (None, q[1], v[-1]))
        if masks[0] is not None:
            from .custom import float_mask

            y = (ops.SymbolicTensor(ctx, y) * ops.expand_dims(float_mask(ctx, masks[0]),
                                                              -1)).value
        return [y, weights] if options["scores"] else [y]

    supports_masking = True

    def lower_mask(self, ctx, inputs, outputs):
        """Keras 3: the output keeps the query's mask; the scores have none."""
        return [ctx.masks[0]] + [None] * (len(outputs) - 1)

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout, "seed": self.seed}


def _pairwise_sum(query, key):
    """(n, Tq, Tv, d): query[:, i] + key[:, j]."""
    qe = ops.expand_dims(query, 2)  # (n, Tq, 1, d)
    ke = ops.expand_dims(key, 1)  # (n, 1, Tv, d)
    return qe + ke


class Attention(_BaseAttention):
    """Dot-product (Luong) attention. score_mode "dot": scores = query @ key^T (times the scalar
    weight `scale` with use_scale); "concat": scores = concat_score_weight *
    sum(tanh(scale * (query_i + key_j))). Weights: [scale] (shape ()), [concat_score_weight]."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{self._what}: score_mode must be 'dot' or 'concat', got "
                             f"{score_mode!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode

    def build(self, shapes):
        self._split(shapes)
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones") \
            if self.score_mode == "concat" else None

    def _scores(self, query, key):
        ctx = query._ctx
        scale = ops.SymbolicTensor(ctx, ctx.param(self.scale)) if self.use_scale else None
        if self.score_mode == "dot":
            scores = ops.batch_dot(query, key, axes=(2, 2))
            return scores * scale if scale is not None else scores
        pair = _pairwise_sum(query, key)
        if scale is not None:
            pair = scale * pair
        weight = ops.SymbolicTensor(ctx, ctx.param(self.concat_score_weight))
        return weight * ops.sum(ops.tanh(pair), axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode}


class AdditiveAttention(_BaseAttention):
    """Additive (Bahdanau) attention: scores = sum(scale * tanh(query_i + key_j)) over the last
    axis. Weights: [scale] of shape (dim,) (glorot_uniform) with use_scale."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(dropout=dropout, **kwargs)
        self.use_scale = bool(use_scale)

    def build(self, shapes):
        q, _, _ = self._split(shapes)
        self.scale = self.add_weight("scale", (q[-1],), "glorot_uniform") \
            if self.use_scale else None

    def _scores(self, query, key):
        ctx = query._ctx
        pair = ops.tanh(_pairwise_sum(query, key))
        if self.use_scale:
            pair = ops.SymbolicTensor(ctx, ctx.param(self.scale)) * pair
        return ops.sum(pair, axis=-1)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale}
