"""TimeDistributed: one layer (or model) applied to every time step, its weights shared.

Lowering folds the time axis into the batch, (n, t, ...) -> (n * t, ...), lowers the inner
layer or model once on that, and unfolds its output back to (n, t, ...). The folded values
carry a batch factor of t (see codegen/ir.py): their generated buffers have n * t rows, and
every op that maps rows to rows works on them unchanged.
"""

from __future__ import annotations

from .base import Layer


class TimeDistributed(Layer):
    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed {self.name!r} wraps a layer or a model, got "
                             f"{layer!r}")
        self.layer = layer

    def _inner_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 3:
            raise ValueError(f"TimeDistributed {self.name!r} expects one input of shape "
                             f"(batch, timesteps, ...), got {input_shape}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def input_axes(self, input_shape):
        """The wrapped layer's, one axis further (the time axis is inserted at 1)."""
        if isinstance(input_shape, list) or len(input_shape) < 3:
            return ()
        return tuple(a + 1 if a > 0 else a
                     for a in self.layer.input_axes(self._inner_shape(input_shape)))

    def build(self, input_shape):
        inner = self._inner_shape(input_shape)
        self.layer._build_once(inner)

    def compute_output_shape(self, input_shape):
        out = self.layer.compute_output_shape(self._inner_shape(input_shape))
        if isinstance(out, list):
            raise ValueError(f"TimeDistributed {self.name!r}: the wrapped "
                             f"{type(self.layer).__name__} has several outputs; it must have "
                             "one")
        return (input_shape[0], input_shape[1]) + tuple(out[1:])

    # The weights are the wrapped layer's (shared with it wherever else it is used).
    @property
    def trainable_weights(self):
        return list(self.layer.trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return list(self.layer.weights)
        return list(self.layer.non_trainable_weights)

    def keras_weight_groups(self):
        """Keras 3 saves the wrapped layer's weights under `layer/` in that layer's own layout;
        the wrapper's own `vars` are empty (see fnjit/saving/weights.py)."""
        from ..saving.weights import layer_groups

        return {"vars": [], **layer_groups(self.layer, "layer/")}

    def lower(self, ctx, inputs):
        from ..lowering import lower_functional

        (x,) = inputs
        shape = ctx.shape(x)
        steps, factor = shape[1], ctx.batch_factor(x)
        origin, label, position, masks = ctx.origin, ctx.label, ctx.position, ctx.masks
        # The wrapped layer sees each step as a sample: no time mask reaches it (Keras 3 would
        # pass it only to a layer whose call takes `mask`, none of fnjit's per-step layers).
        ctx.masks = [None]
        (folded,) = ctx.op("reshape", [x], [(None,) + tuple(shape[2:])],
                           batch_factors=[factor * steps])
        if hasattr(self.layer, "_ordered_nodes"):  # a model: inline it on the folded steps
            outs = lower_functional(ctx, self.layer, [folded], prefix=position + ".")
        else:
            ctx.origin = f"{origin} > {self.layer.name} ({type(self.layer).__name__})"
            ctx.label = f"{label} > {type(self.layer).__name__}"
            outs = self.layer.lower(ctx, [folded])
        ctx.origin, ctx.label, ctx.position, ctx.masks = origin, label, position, masks
        (y,) = outs
        out_shape = (None, steps) + tuple(ctx.shape(y)[1:])
        return ctx.op("reshape", [y], [out_shape], batch_factors=[factor])

    def get_config(self):
        return {**super().get_config(),
                "layer": {"module": "keras.layers", "class_name": type(self.layer).__name__,
                          "config": self.layer.get_config()}}

    @classmethod
    def from_config(cls, config):
        # The wrapped layer's config is a serialised layer like any in a model file: it gets the
        # same cleaning of Keras-only keys (quantization_config, DTypePolicy objects, ...).
        from ..saving.config import deserialize_layer

        config = dict(config)
        return cls(deserialize_layer(config.pop("layer")), **config)


from .bidirectional import Bidirectional  # noqa: E402, F401  (Keras 2: keras.layers.wrappers)
