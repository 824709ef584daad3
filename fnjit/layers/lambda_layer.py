"""Lambda: a layer whose maths is a Python function of fnjit.backend (K) operations.

The function is traced, not run on data: at call time on symbolic inputs to learn the output
shape, and again when the model is lowered, where every K operation it calls becomes IR ops that
are compiled and differentiated like any layer (fnjit/ops/).
"""

from __future__ import annotations

from .. import ops
from .base import Layer


class Lambda(Layer):
    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda {self.name!r}: function must be callable, got "
                            f"{type(function).__name__}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape
        if mask is not None and not callable(mask):
            raise ValueError(f"Lambda {self.name!r}: mask= must be a function (inputs, mask) "
                             "-> mask, traced like the function; a fixed mask tensor is not "
                             "supported")
        # Keras 3: with `mask` the layer supports masking, its output mask mask(inputs, mask);
        # without, a mask reaching it is dropped (with Keras' warning).
        self.mask = mask
        self.supports_masking = mask is not None
        self._single = True

    def _where(self):
        return f"Lambda layer {self.name!r} (function {getattr(self.function, '__name__', '?')})"

    def compute_output_shape(self, input_shape):
        # Layer.__call__ gives one shape tuple for one tensor, a list for a list of tensors.
        self._single = not isinstance(input_shape, list)
        shapes = [input_shape] if self._single else list(input_shape)
        traced = ops.trace_shapes(self.function, shapes, single=self._single,
                                  arguments=self.arguments, where=self._where())
        declared = self._declared_shape(input_shape)
        if declared is not None and _strip(declared) != _strip(traced):
            raise ValueError(f"{self._where()}: output_shape={self._output_shape!r} gives "
                             f"{declared}, but the function computes {traced}")
        return traced

    def _declared_shape(self, input_shape):
        if self._output_shape is None:
            return None
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = (input_shape if self._single else input_shape[0])[0]
        return (batch,) + tuple(self._output_shape)

    def lower(self, ctx, inputs):
        outs, _ = ops.trace(ctx, self.function, inputs, single=self._single,
                            arguments=self.arguments, where=self._where())
        return outs

    @property
    def makes_mask(self):
        return self.mask is not None

    def lower_mask(self, ctx, inputs, outputs):
        if self.mask is None:
            return super().lower_mask(ctx, inputs, outputs)
        from . import custom

        return custom.lower_compute_mask(self, ctx, inputs, outputs, self.mask)

    def get_config(self):
        # A Python function cannot be stored in a config: its name is recorded for reading.
        return {**super().get_config(), "function": getattr(self.function, "__name__", None),
                "output_shape": self._output_shape if not callable(self._output_shape) else None,
                "arguments": self.arguments}


def _strip(shape):
    """A shape (or list of shapes) without its batch axis, for comparison."""
    if isinstance(shape, list):
        return [_strip(s) for s in shape]
    return tuple(shape)[1:]
