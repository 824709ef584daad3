"""Bidirectional: a recurrent layer run forwards and a copy of it run backwards over the same
sequence, their outputs merged (Keras 3's arguments, weights and configs).

Lowering lowers both layers on the input; the backward layer's output sequence, in processing
order, is reversed back into input time (templates/reverse.j2) before the merge (concatenate,
or the elementwise ops of fnjit/ops/).
"""

from __future__ import annotations

from .. import ops
from .base import Layer

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _clone(layer, name, **changes):
    config = {**layer.get_config(), "name": name, **changes}
    return type(layer).from_config(config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """`Bidirectional(LSTM(units, ...), merge_mode="concat", backward_layer=None)`. The forward
    layer is a copy of `layer` named forward_<name>; the backward one a copy with
    go_backwards=True named backward_<name>, or `backward_layer`. Weights: the forward layer's,
    then the backward layer's. Outputs: the merged output (two with merge_mode=None), then with
    return_state the forward layer's states and the backward layer's."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        super().__init__(weights=weights, **kwargs)
        from .recurrent import _Recurrent

        for what, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is not None and not isinstance(value, _Recurrent):
                raise ValueError(f"{self._what}: {what} must be an LSTM, GRU or SimpleRNN "
                                 f"layer, got {value!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"{self._what}: merge_mode must be one of {MERGE_MODES}, got "
                             f"{merge_mode!r}")
        self.forward_layer = _clone(layer, "forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _clone(layer, "backward_" + _strip(layer.name, "backward_"),
                                    go_backwards=True)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(f"{self._what}: the forward and backward layers must have "
                             "different go_backwards, got "
                             f"{self.forward_layer.go_backwards} for both")
        for attr in ("return_sequences", "return_state"):
            if getattr(self.forward_layer, attr) != getattr(self.backward_layer, attr):
                raise ValueError(f"{self._what}: the forward and backward layers must have the "
                                 f"same {attr}, got {getattr(self.forward_layer, attr)} and "
                                 f"{getattr(self.backward_layer, attr)}")
        # Keras 3: with return_sequences the masked steps of both directions output zeros.
        for rnn in (self.forward_layer, self.backward_layer):
            rnn.zero_output_for_mask = rnn.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            layer._build_once(input_shape)
            for w in layer._weights:
                if not w.path.startswith(self.name + "/"):
                    w.path = f"{self.name}/{w.path}"

    def compute_output_shape(self, input_shape):
        out = self.forward_layer.compute_output_shape(input_shape)
        backward = self.backward_layer.compute_output_shape(input_shape)
        if out != backward:
            raise ValueError(f"{self._what}: the forward and backward layers' outputs must have "
                             f"the same shapes, got {out} and {backward}")
        states = []
        if self.return_state:
            out, states = out[0], list(out[1:])
        if self.merge_mode == "concat":
            merged = [tuple(out[:-1]) + (out[-1] * 2,)]
        elif self.merge_mode is None:
            merged = [tuple(out), tuple(out)]
        else:
            merged = [tuple(out)]
        if self.return_state or self.merge_mode is None:
            return merged + states + states
        return merged[0]

    # The weights are the two layers' (as TimeDistributed's are its layer's).
    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self.forward_layer.trainable_weights + self.backward_layer.trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.forward_layer.weights + self.backward_layer.weights
        return (self.forward_layer.non_trainable_weights +
                self.backward_layer.non_trainable_weights)

    def keras_weight_groups(self):
        """Keras 3 saves the two layers under forward_layer/ and backward_layer/."""
        from ..saving.weights import layer_groups

        return {"vars": [], **layer_groups(self.forward_layer, "forward_layer/"),
                **layer_groups(self.backward_layer, "backward_layer/")}

    def lower(self, ctx, inputs):
        origin = ctx.origin
        outs = []
        for layer in (self.forward_layer, self.backward_layer):
            ctx.origin = f"{origin} > {layer.name} ({type(layer).__name__})"
            outs.append(layer.lower(ctx, inputs))
        ctx.origin = origin
        (y, *forward_states), (y_rev, *backward_states) = outs
        if self.return_sequences:
            shape = ctx.shape(y_rev)
            (y_rev,) = ctx.op("reverse", [y_rev], [shape],
                              attrs={"size": shape[1], "inner": shape[2]})
        a, b = ops.SymbolicTensor(ctx, y), ops.SymbolicTensor(ctx, y_rev)
        if self.merge_mode is None:
            merged = [y, y_rev]
        elif self.merge_mode == "concat":
            merged = [ops.concatenate([a, b], axis=-1).value]
        elif self.merge_mode == "sum":
            merged = [ops.add(a, b).value]
        elif self.merge_mode == "mul":
            merged = [ops.multiply(a, b).value]
        else:  # ave
            merged = [ops.multiply(ops.add(a, b), 0.5).value]
        return merged + forward_states + backward_states

    def lower_mask(self, ctx, inputs, outputs):
        """Keras 3: each output sequence keeps the mask (return_sequences); states have none."""
        keep = ctx.masks[0] if self.return_sequences else None
        merged = 2 if self.merge_mode is None else 1
        return [keep] * merged + [None] * (len(outputs) - merged)

    def get_config(self):
        def serialized(layer):
            return {"module": "keras.layers", "class_name": type(layer).__name__,
                    "config": layer.get_config(), "registered_name": None}
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialized(self.forward_layer),
                "backward_layer": serialized(self.backward_layer)}

    @classmethod
    def from_config(cls, config):
        from ..saving.config import deserialize_layer

        config = dict(config)
        config["layer"] = deserialize_layer(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"])
        return cls(**config)
