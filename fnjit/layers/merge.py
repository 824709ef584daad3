"""Merge layers, as classes and functions: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot; and Keras 1's `merge(mode=...)` function and `Merge` layer, which build
today's layers. The elementwise merges and Dot are written with the backend ops (fnjit/ops/).
"""

from __future__ import annotations

import functools
import warnings

from .. import ops
from .base import KerasTensor, Layer


class _Merge(Layer):
    supports_masking = True

    def lower_mask(self, ctx, inputs, outputs):
        """Keras 3's merges: the masks OR-ed when every input has one, else no mask."""
        masks = ctx.masks
        if any(m is None for m in masks):
            return [None]
        return ctx.op("mask", list(masks), [ctx.shape(masks[0])], out_dtypes=["bool"],
                      attrs={"combine": "or"})

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

    def lower_mask(self, ctx, inputs, outputs):
        """Keras 3 expands each input's mask (ones for an input without one) to the input's
        shape, concatenates them along the axis and takes `any` over the last axis: along the
        last axis that is the OR of the masks, and no mask (all ones) where an input has
        none; along another axis the masks joined."""
        masks = ctx.masks
        axis = self._axis(len(ctx.shape(inputs[0])))
        last = axis == len(ctx.shape(inputs[0])) - 1
        if last and any(m is None for m in masks):
            return [None]
        if last:
            return super().lower_mask(ctx, inputs, outputs)
        if any(m is None for m in masks) or any(len(ctx.shape(m)) != 2 for m in masks) or \
                axis != 1:
            raise ValueError(f"{ctx.origin}: concatenating along axis {self.axis} inputs with "
                             "masks (Keras masking) is supported only along the time axis "
                             "(1) with a (batch, steps) mask on every input")
        shape = (None, sum(ctx.shape(m)[1] for m in masks))
        return ctx.op("mask", list(masks), [shape], out_dtypes=["bool"],
                      attrs={"combine": "concat"})

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


class _Elementwise(_Merge):
    """A merge of inputs of equal shapes, folded pairwise with one backend op."""

    def build(self, input_shape):
        self._check(input_shape)
        if any(tuple(s) != tuple(input_shape[0]) for s in input_shape):
            raise ValueError(f"{type(self).__name__} {self.name!r}: inputs must have equal "
                             f"shapes, got {input_shape}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def lower(self, ctx, inputs):
        return [self._merge([ops.SymbolicTensor(ctx, v) for v in inputs]).value]


class Subtract(_Elementwise):
    """inputs[0] - inputs[1]."""

    def build(self, input_shape):
        if isinstance(input_shape, list) and len(input_shape) != 2:
            raise ValueError(f"Subtract {self.name!r} must be called on exactly 2 tensors, got "
                             f"{len(input_shape)}")
        super().build(input_shape)

    def _merge(self, xs):
        return ops.subtract(xs[0], xs[1])


class Multiply(_Elementwise):
    def _merge(self, xs):
        return functools.reduce(ops.multiply, xs)


class Average(_Elementwise):
    def _merge(self, xs):
        return ops.multiply(functools.reduce(ops.add, xs), 1.0 / len(xs))


class Maximum(_Elementwise):
    def _merge(self, xs):
        return functools.reduce(ops.maximum, xs)


class Minimum(_Elementwise):
    def _merge(self, xs):
        return functools.reduce(ops.minimum, xs)


class Dot(_Merge):
    """Per sample, the dot product of two tensors along `axes` (an int for both, or a pair);
    `normalize=True` L2-normalises both along those axes first (cosine proximity)."""

    def lower_mask(self, ctx, inputs, outputs):
        return [None]  # Keras 3: Dot's compute_mask returns None

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)) or len(axes) != 2 or \
                    not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Dot {self.name!r}: axes must be an int or a pair of ints, "
                                 f"got {axes!r}")
        self.axes = axes if isinstance(axes, int) else tuple(axes)
        self.normalize = bool(normalize)

    def _pair(self, shapes):
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        pair = tuple(a % len(s) if -len(s) <= a < len(s) else None
                     for a, s in zip(axes, shapes))
        if None in pair or 0 in pair:
            raise ValueError(f"Dot {self.name!r}: axes={self.axes} must name non-batch axes of "
                             f"the input shapes {shapes}")
        return pair

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"Dot {self.name!r} must be called on a list of 2 tensors, got "
                             f"{input_shape}")
        a0, a1 = self._pair(input_shape)
        if input_shape[0][a0] != input_shape[1][a1]:
            raise ValueError(f"Dot {self.name!r}: incompatible input shapes: axis {a0} of "
                             f"{input_shape[0]} has size {input_shape[0][a0]}, axis {a1} of "
                             f"{input_shape[1]} has size {input_shape[1][a1]}")

    def compute_output_shape(self, input_shape):
        a0, a1 = self._pair(input_shape)
        first = [d for i, d in enumerate(input_shape[0]) if i != a0]
        second = [d for i, d in enumerate(input_shape[1]) if i not in (0, a1)]
        out = first + second
        return tuple(out + [1] if len(out) == 1 else out)

    def lower(self, ctx, inputs):
        x, y = (ops.SymbolicTensor(ctx, v) for v in inputs)
        a0, a1 = self._pair([x.shape, y.shape])
        if self.normalize:
            x, y = ops.l2_normalize(x, axis=a0), ops.l2_normalize(y, axis=a1)
        return [ops.batch_dot(x, y, (a0, a1)).value]

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


# ---- Keras 1 ---------------------------------------------------------------------------------

def _modern(mode, concat_axis, dot_axes, output_shape, arguments, name):
    """Today's layer for a Keras 1 merge mode, and how today's Keras spells it."""
    from .lambda_layer import Lambda

    if callable(mode):
        return (Lambda(mode, output_shape=output_shape, arguments=arguments, name=name),
                "Lambda(function)(inputs)")
    table = {
        "sum": (Add, {}, "add(inputs) or Add()"),
        "mul": (Multiply, {}, "multiply(inputs) or Multiply()"),
        "ave": (Average, {}, "average(inputs) or Average()"),
        "max": (Maximum, {}, "maximum(inputs) or Maximum()"),
        "concat": (Concatenate, {"axis": concat_axis},
                   f"concatenate(inputs, axis={concat_axis})"),
        "dot": (Dot, {"axes": _axes(dot_axes)}, f"dot(inputs, axes={_axes(dot_axes)})"),
        "cos": (Dot, {"axes": _axes(dot_axes), "normalize": True},
                f"dot(inputs, axes={_axes(dot_axes)}, normalize=True)"),
    }
    if mode not in table:
        raise ValueError(f"merge: unknown mode {mode!r}; choose one of {sorted(table)} or a "
                         "function")
    cls, kw, spelling = table[mode]
    return cls(name=name, **kw), spelling


def _axes(dot_axes):
    return dot_axes if isinstance(dot_axes, int) else tuple(dot_axes)


def _tensors(inputs, what):
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        raise ValueError(f"{what} expects a list of at least 2 tensors, got {inputs!r}")
    out = []
    for i, t in enumerate(inputs):
        if isinstance(t, KerasTensor):
            out.append(t)
        elif isinstance(t, Layer):
            try:  # Keras 1 accepted layers (their output) as well as tensors
                out.append(t.output)
            except AttributeError:
                raise ValueError(f"{what}: input {i} is the layer {t.name!r}, which has not been "
                                 "called on a tensor yet; pass tensors (e.g. layer(x))") from None
        else:
            raise ValueError(f"{what}: input {i} is a {type(t).__name__}, not a tensor")
    return out


def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None,
          arguments=None, node_indices=None, tensor_indices=None, name=None):
    """Keras 1: merge a list of tensors with `mode` ('sum', 'mul', 'concat', 'ave', 'max',
    'dot', 'cos' or a function of the list of tensors)."""
    layer, spelling = _modern(mode, concat_axis, dot_axes, output_shape, arguments, name)
    warnings.warn(f"merge(..., mode={getattr(mode, '__name__', mode)!r}) is Keras 1; use "
                  f"{spelling}", DeprecationWarning, stacklevel=2)
    return layer(_tensors(inputs, "merge"))


class Merge(Layer):
    """Keras 1's Merge layer: `Merge(mode=...)` called on a list of tensors, or `Merge(tensors,
    mode=...)` already connected to them (its `.output` is the result). Today's layer for the
    mode does the work."""

    def __init__(self, layers=None, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None,
                 output_mask=None, arguments=None, node_indices=None, tensor_indices=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        for arg, value in (("output_mask", output_mask), ("node_indices", node_indices),
                           ("tensor_indices", tensor_indices)):
            if value is not None:
                raise ValueError(f"Merge {self.name!r}: {arg} is not supported; call the "
                                 "merge layer on the tensors themselves")
        self.mode = mode
        self.inner, spelling = _modern(mode, concat_axis, dot_axes, output_shape, arguments,
                                       None)
        warnings.warn(f"Merge(mode={getattr(mode, '__name__', mode)!r}) is Keras 1; use "
                      f"{spelling}", DeprecationWarning, stacklevel=2)
        if layers is not None:
            self(_tensors(layers, f"Merge {self.name!r}"))

    def build(self, input_shape):
        self.inner.build(input_shape)
        self.inner.built = True

    def compute_output_shape(self, input_shape):
        return self.inner.compute_output_shape(input_shape)

    def lower(self, ctx, inputs):
        return self.inner.lower(ctx, inputs)

    def get_config(self):
        return {**super().get_config(), "mode": getattr(self.mode, "__name__", self.mode)}
