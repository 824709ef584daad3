"""Merge layers: Concatenate and Add (more in the layers issue), as classes and functions."""

from __future__ import annotations

from .base import Layer


class _Merge(Layer):
    def _check(self, shapes):
        if not isinstance(shapes, list) or len(shapes) < 2:
            raise ValueError(f"{type(self).__name__} {self.name!r} must be called on a list of "
                             f"at least 2 tensors, got {shapes}")


class Add(_Merge):
    def build(self, input_shape):
        self._check(input_shape)
        if any(tuple(s) != tuple(input_shape[0]) for s in input_shape):
            raise ValueError(f"Add {self.name!r}: inputs must have equal shapes, got "
                             f"{input_shape}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def lower(self, ctx, inputs):
        return ctx.op("add", list(inputs), [ctx.shape(inputs[0])])


class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _axis(self, rank):
        axis = self.axis % rank
        if axis == 0:
            raise ValueError(f"Concatenate {self.name!r}: cannot concatenate along the batch axis")
        return axis

    def build(self, input_shape):
        self._check(input_shape)
        ranks = {len(s) for s in input_shape}
        axis = self._axis(len(input_shape[0]))
        ok = len(ranks) == 1 and all(
            tuple(s[:axis]) + tuple(s[axis + 1:]) == tuple(input_shape[0][:axis]) +
            tuple(input_shape[0][axis + 1:]) for s in input_shape)
        if not ok:
            raise ValueError(f"Concatenate {self.name!r}: inputs must match in every axis but "
                             f"the concatenation axis ({self.axis}); got shapes {input_shape}")

    def compute_output_shape(self, input_shape):
        axis = self._axis(len(input_shape[0]))
        out = list(input_shape[0])
        out[axis] = None if any(s[axis] is None for s in input_shape) else sum(
            s[axis] for s in input_shape)
        return tuple(out)

    def lower(self, ctx, inputs):
        shapes = [ctx.shape(v) for v in inputs]
        axis = self._axis(len(shapes[0]))
        return ctx.op("concatenate", list(inputs), [self.compute_output_shape(shapes)],
                      attrs={"axis": axis})

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)
