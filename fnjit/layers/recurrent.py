"""Recurrent layers: LSTM, GRU, SimpleRNN (Keras 3 arguments, weights and configs).

Each layer lowers to one op (templates/lstm.j2, gru.j2, simple_rnn.j2) that runs the whole
sequence: the input projection of all time steps is one GEMM, the time loop does one small
GEMM per step for the recurrent part, and the backward keeps what it needs as saved values.
A sequence of unknown length (`Input(shape=(None, 8))`) is compiled for the length of the data.

Masking as Keras 3 (a mask from Embedding(mask_zero=True) or Masking): a masked step leaves
the states as they were and outputs the previous output, or zeros with zero_output_for_mask
(templates/_recurrent.j2). Not supported: stateful=True.
`initial_state=` (or Keras 2's `layer([x, h, c])`) gives the starting states as inputs of
the op; their gradients are those left in the backward loop after its first step.
Dropout draws one input mask and one recurrent mask per sequence, shared by the time steps
and, unlike Keras 3 with recurrent_dropout (four masks), by the gates.
"""

from __future__ import annotations

import numpy as np

from .. import activations, initializers
from .base import Layer

# Activations the recurrent templates implement (derivatives written from the output).
STEP_ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear")


class _Recurrent(Layer):
    """What LSTM, GRU and SimpleRNN share: sequence handling, dropout, weights, lowering."""

    input_rank_fixed = True  # (batch, timesteps, features); the features checked by Layer

    kind = ""  # the op kind (template name)
    gates = 1  # blocks of `units` columns in the kernels
    n_states = 1  # states returned with return_state (LSTM: h and c)
    state_roles = ()  # saved (n, t, units) values besides the gates, by role

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        kind = type(self).__name__
        if units is None or int(units) != units or units <= 0:
            raise ValueError(f"{kind} {self.name!r}: units must be a positive int, got {units!r}")
        self._weight_options(kernel_regularizer=kernel_regularizer,
                             recurrent_regularizer=recurrent_regularizer,
                             bias_regularizer=bias_regularizer,
                             kernel_constraint=kernel_constraint,
                             recurrent_constraint=recurrent_constraint,
                             bias_constraint=bias_constraint)
        if stateful:
            raise ValueError(f"{kind} {self.name!r}: stateful=True is not supported")
        if seed is not None:
            raise ValueError(f"{kind} {self.name!r}: seed= is not supported: dropout masks "
                             "come from one generator per model, seeded by "
                             "fnjit.utils.set_random_seed")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{kind} {self.name!r}: {arg} must be in [0, 1), got {rate!r}")
        self.units = int(units)
        self.activation = self._step_activation("activation", activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)  # a hint for graph backends; the compiled loop is the same
        self.zero_output_for_mask = bool(zero_output_for_mask)

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        """`initial_state`: the starting states, a tensor or a list (LSTM: [h, c]) of shape
        (batch, units); they become inputs of the node after the sequence (as Keras 2's
        `layer([x, h, c])`, also accepted), and gradients flow into them."""
        if initial_state is not None:
            if isinstance(inputs, (list, tuple)):
                raise ValueError(f"{self._what}: give the initial states either in the input "
                                 "list or as initial_state=, not both")
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
            inputs = [inputs] + states
        return super().__call__(inputs, *args, **kwargs)

    supports_masking = True

    def lower_mask(self, ctx, inputs, outputs):
        """Keras 3: the output sequence keeps the mask (return_sequences), the rest have none."""
        return [ctx.masks[0] if self.return_sequences else None] + [None] * (len(outputs) - 1)

    def _step_activation(self, arg, value):
        name = activations.get(value)
        if name not in STEP_ACTIVATIONS:
            raise ValueError(f"{type(self).__name__} {self.name!r}: {arg}={name!r} is not "
                             f"supported; choose one of {STEP_ACTIVATIONS}")
        return name

    # ---- shapes and weights ---------------------------------------------------------------
    def _check_input(self, input_shape):
        """The sequence's shape; with initial states (a list of shapes), theirs are checked."""
        if isinstance(input_shape, list):
            if len(input_shape) != 1 + self.n_states:
                raise ValueError(f"{self._what} takes a sequence and {self.n_states} initial "
                                 f"state(s), got {len(input_shape)} inputs {input_shape}")
            for shape in input_shape[1:]:
                if len(shape) != 2 or shape[-1] != self.units:
                    raise ValueError(f"{self._what}: each initial state must have shape "
                                     f"(batch, {self.units}), got {tuple(shape)}")
            input_shape = input_shape[0]
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r} expects one input of shape "
                             f"(batch, timesteps, features), got {input_shape}")
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the feature axis of its "
                             f"input must be known, got input shape {input_shape}")
        return input_shape

    def build(self, input_shape):
        input_shape = self._check_input(input_shape)
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], width), self.kernel_initializer,
                                      **self._options("kernel"))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer,
                                                **self._options("recurrent"))
        self.bias = self.add_weight("bias", self._bias_shape(), self._bias_init(),
                                    **self._options("bias")) if self.use_bias else None

    def _options(self, role):
        return {"regularizer": getattr(self, f"{role}_regularizer"),
                "constraint": getattr(self, f"{role}_constraint")}

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def compute_output_shape(self, input_shape):
        input_shape = self._check_input(input_shape)
        batch, steps = input_shape[0], input_shape[1]
        y = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [y] + [(batch, self.units)] * self.n_states
        return y

    # ---- lowering -------------------------------------------------------------------------
    def _attrs(self):
        return {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout}

    def lower(self, ctx, inputs):
        x, states = inputs[0], list(inputs[1:])
        # Called with training=False: no dropout in any phase.
        dropout, recurrent_dropout = (0.0, 0.0) if ctx.training is False else \
            (self.dropout, self.recurrent_dropout)
        _, steps, features = ctx.shape(x)
        if steps < 1:
            raise ValueError(f"{ctx.origin}: needs at least one time step, got input shape "
                             f"{ctx.shape(x)}")
        u = self.units
        roles = {"gates": (None, steps, self.gates * u)}
        roles.update({r: (None, steps, u) for r in self.state_roles})
        mask = ctx.masks[0] if ctx.masks else None
        zero_output = mask is not None and self.zero_output_for_mask
        if zero_output and not self.return_sequences:
            raise ValueError(f"{ctx.origin}: zero_output_for_mask=True with "
                             "return_sequences=False and a mask is not supported (Keras 3 "
                             "then returns zeros as the last output of a sequence whose last "
                             "step is masked); leave zero_output_for_mask False")
        if mask is not None and ctx.shape(mask) != (None, steps):
            raise ValueError(f"{ctx.origin}: its input mask has shape {ctx.shape(mask)}; a "
                             f"recurrent layer needs one of shape (batch, {steps}), one per "
                             "time step")
        if not self.return_sequences or zero_output:
            roles["seq"] = (None, steps, u)  # the states after each step
        if dropout > 0:
            roles["mask"] = (None, features)
            roles["xin"] = (None, steps, features)  # the masked input, for d kernel
        if recurrent_dropout > 0:
            roles["rmask"] = (None, u)
        y = (None, steps, u) if self.return_sequences else (None, u)
        outs = [y] + ([(None, u)] * self.n_states if self.return_state else [])
        params = [ctx.param(self.kernel), ctx.param(self.recurrent_kernel)]
        params += [ctx.param(self.bias)] if self.use_bias else []
        return ctx.op(self.kind, [x] + params + states + ([mask] if mask is not None else []),
                      outs, saved_shapes=list(roles.values()),
                      attrs={**self._attrs(), "dropout": dropout,
                             "recurrent_dropout": recurrent_dropout, "saved": tuple(roles),
                             # Present only with initial states (inputs after the weights),
                             # and with a mask (the last input).
                             **({"initial_state": True} if states else {}),
                             **({"masked": True} if mask is not None else {}),
                             **({"zero_output": True} if zero_output else {})})

    def keras_weight_groups(self):
        """Keras 3 keeps an RNN's weights in its cell (LSTMCell, ...): saved under `cell/vars`,
        the layer's own `vars` empty (see fnjit/saving/weights.py)."""
        return {"vars": [], "cell/vars": list(self._weights)}

    # ---- config ---------------------------------------------------------------------------
    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "units": self.units,
                "activation": self.activation, "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                **self._weight_options_config(
                    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                    "kernel_constraint", "recurrent_constraint", "bias_constraint"),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            if isinstance(config.get(key), dict):
                entry = config[key]
                init = initializers.get(initializers.snake(entry["class_name"]))
                for k, v in (entry.get("config") or {}).items():
                    if hasattr(init, k):
                        setattr(init, k, v)
                config[key] = init
        return cls(**config)


class SimpleRNN(_Recurrent):
    """h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias).
    Weights: kernel (in, units), recurrent_kernel (units, units), bias (units,)."""

    kind = "simple_rnn"


class LSTM(_Recurrent):
    """Long short-term memory, gates i, f, c, o. Weights: kernel (in, 4u),
    recurrent_kernel (u, 4u), bias (4u,). return_state gives [output, h, c]."""

    kind = "lstm"
    gates = 4
    n_states = 2
    state_roles = ("cells",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = self._step_activation("recurrent_activation",
                                                          recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        u, init = self.units, self.bias_initializer

        def forget_bias_one(shape, dtype="float32"):
            # Keras: bias_initializer for i, ones for f, bias_initializer for c and o.
            return np.concatenate([np.asarray(init((u,), dtype)), np.ones(u, dtype),
                                   np.asarray(init((2 * u,), dtype))]).astype(dtype)
        return forget_bias_one

    def _attrs(self):
        return {**super()._attrs(), "recurrent_activation": self.recurrent_activation}

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated recurrent unit, Keras 3's default reset_after=True: gates z, r, h;
    hh = act(x_h + r * (h_{t-1} @ R_h + b_rec_h)); h_t = z * h_{t-1} + (1 - z) * hh.
    Weights: kernel (in, 3u), recurrent_kernel (u, 3u), bias (2, 3u): input and recurrent."""

    kind = "gru"
    gates = 3
    state_roles = ("rh",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        if not reset_after:
            raise ValueError(f"GRU {self.name!r}: reset_after=False (the Keras 1/2 variant) is "
                             "not supported yet; Keras 3's default is reset_after=True")
        self.recurrent_activation = self._step_activation("recurrent_activation",
                                                          recurrent_activation)
        self.reset_after = True

    def _bias_shape(self):
        return (2, 3 * self.units)

    def _attrs(self):
        return {**super()._attrs(), "recurrent_activation": self.recurrent_activation}

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "reset_after": self.reset_after}
