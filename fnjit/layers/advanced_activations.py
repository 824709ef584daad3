"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax (Keras 3's defaults; the module has
Keras 2's name). Their maths is in templates/elementwise.j2, activation.j2, softmax.j2 and
prelu.j2."""

from __future__ import annotations

import warnings

from .. import activations, initializers, ops
from .base import Layer


def _sym(ctx, x):
    return ops.SymbolicTensor(ctx, x)


class ReLU(Layer):
    """x above `threshold` (clipped to `max_value` when given), negative_slope * (x - threshold)
    below it."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("max_value", max_value), ("negative_slope", negative_slope),
                           ("threshold", threshold)):
            if (value is None and arg != "max_value") or (value is not None and value < 0):
                raise ValueError(f"ReLU {self.name!r}: {arg} must be a float >= 0, got "
                                 f"{value!r}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def lower(self, ctx, inputs):
        y = ops.relu(_sym(ctx, inputs[0]), negative_slope=self.negative_slope,
                     max_value=self.max_value, threshold=self.threshold)
        return [y.value]

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """x for x >= 0, negative_slope * x below (Keras 2 called it `alpha`)."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU(alpha=...) is Keras 2; use negative_slope=",
                          DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"LeakyReLU {self.name!r}: negative_slope must be a float >= 0, "
                             f"got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def lower(self, ctx, inputs):
        return [ops.leaky_relu(_sym(ctx, inputs[0]), self.negative_slope).value]

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) below."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def lower(self, ctx, inputs):
        return [ops.elu(_sym(ctx, inputs[0]), self.alpha).value]

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax along `axis` (any non-batch axis)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"Softmax {self.name!r}: one axis is supported, got {axis}")
            axis = axis[0]
        self.axis = int(axis)

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"Softmax {self.name!r}: axis={self.axis} must be a non-batch axis "
                             f"of the input shape {tuple(input_shape)}")

    def lower(self, ctx, inputs):
        # Keras 3 adds a large negative number at masked positions, broadcasting the mask
        # (batch, steps) against the input: not compiled.
        self.refuse_masks(ctx, "Softmax with a mask is not supported; drop mask_zero or put "
                          "the Softmax after a layer that ends the mask")
        return [activations.lower(ctx, inputs[0], "softmax", axis=self.axis)]

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """x for x > 0, alpha * x below, alpha learned per element of a sample (shared along
    `shared_axes`). Weight: alpha, the input shape without the batch axis, 1 on shared axes."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self._weight_options(alpha_regularizer=alpha_regularizer,
                             alpha_constraint=alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) \
                else [shared_axes]

    input_rank_fixed = True

    def input_axes(self, input_shape):
        # alpha has the shape of a sample, 1 along the shared axes
        return tuple(a for a in range(1, len(input_shape)) if a not in (self.shared_axes or []))

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or []:
            if not 1 <= a < len(input_shape):
                raise ValueError(f"PReLU {self.name!r}: shared axis {a} is not a non-batch axis "
                                 f"of the input shape {tuple(input_shape)}")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU {self.name!r}: the axes of the input shape "
                             f"{tuple(input_shape)} that are not shared must be known")
        self.alpha = self.add_weight("alpha", tuple(shape), self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)

    def lower(self, ctx, inputs):
        (x,) = inputs
        alpha = _sym(ctx, ctx.param(self.alpha))
        # Shared axes: alpha repeated over the sample shape; its gradient is summed back.
        alpha = ops.broadcast_to(alpha, ctx.shape(x)[1:])
        return ctx.op("prelu", [x, alpha.value], [ctx.shape(x)])

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                **self._weight_options_config("alpha_regularizer", "alpha_constraint"),
                "shared_axes": self.shared_axes}
