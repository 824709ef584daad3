"""Preprocessing layers compiled into the model: Normalization (statistics from `adapt`) and
CategoryEncoding (integer tokens to one-hot, multi-hot or count vectors). Both lower to the ops
of fnjit/ops/ (elementwise, broadcast, reduce), so they need no template of their own."""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend, ops
from ..data_adapters import PyDataset
from .base import Layer, Variable
from .normalization_args import int_axes, non_batch_axes


class Normalization(Layer):
    """y = (x - mean) / max(sqrt(variance), epsilon) (invert=True: x * max(sqrt(variance),
    epsilon) + mean), with epsilon the backend's (1e-7), as Keras 3. The statistics are kept per
    position of `axis` (an int, a list, or None: one mean and variance for everything) and
    taken over the other axes, either from `mean` and `variance` given here (constants, no
    weights) or by `adapt(data)`: then they are the non-trainable weights [mean, variance,
    count] in Keras 3's shapes; count is an int32 scalar that Keras 3 keeps and never updates,
    and neither does fnjit.

    Keras 3 computes the identity with a layer never adapted; fnjit refuses to run it (an
    unadapted Normalization is almost always a forgotten `adapt`): call adapt(), give mean and
    variance, or load or set its weights."""

    supports_masking = True  # Keras 3: the mask passes through

    input_rank_fixed = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = int_axes(self, axis, none_ok=True)
        if (mean is None) != (variance is None):
            raise ValueError(f"{self._what}: give both mean and variance, or neither (then "
                             f"call adapt()); got mean={mean!r}, variance={variance!r}")
        if mean is not None:
            for arg, value in (("mean", mean), ("variance", variance)):
                a = np.asarray(value)
                if a.dtype.kind not in "iuf" or not np.all(np.isfinite(a)):
                    raise ValueError(f"{self._what}: {arg} must be finite numbers, got "
                                     f"{value!r}")
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"{self._what}: mean and variance must have the same shape, "
                                 f"got {np.shape(mean)} and {np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(f"{self._what}: mean of shape {np.shape(mean)} has more axes "
                                 f"than axis={self.axis}")
        self.input_mean = mean
        self.input_variance = variance
        if not isinstance(invert, (bool, np.bool_)):
            raise TypeError(f"{self._what}: invert must be True or False, got {invert!r}")
        self.invert = bool(invert)
        self._adapted = False

    # ---- shapes --------------------------------------------------------------------------
    def _keep_axes(self, input_shape):
        return tuple(non_batch_axes(self, self.axis, input_shape, "kept by the statistics",
                                    why="; statistics are per feature"))

    def input_axes(self, input_shape):
        return self._keep_axes(input_shape)

    def _stats_shape(self, input_shape):
        return tuple(input_shape[a] for a in self._keep_axes(input_shape))

    def _broadcast_shape(self, input_shape):
        """The statistics' shape for broadcasting against a sample (no batch axis)."""
        keep = self._keep_axes(input_shape)
        return tuple(d if a in keep else 1 for a, d in enumerate(input_shape))[1:]

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        shape = self._stats_shape(input_shape)
        self._build_shape = input_shape
        if self.input_mean is not None:
            self._constants = [self._expand(value, input_shape, arg) for arg, value in
                               (("mean", self.input_mean), ("variance", self.input_variance))]
            return
        self.mean = self.add_weight("mean", shape, "zeros", trainable=False)
        self.variance = self.add_weight("variance", shape, "ones", trainable=False)
        self.count = Variable(np.zeros((), "int32"), "count", f"{self.name}/count",
                              trainable=False)  # Keras 3's int32 scalar (compiled code never
        self._weights.append(self.count)        # reads it, so it may be an integer)

    def _expand(self, value, input_shape, arg):
        """A given mean or variance, its axes aligned with the last kept axes (Keras 3), in
        the broadcast shape."""
        value = np.asarray(value, np.float64)
        target = self._broadcast_shape(input_shape)
        keep = self._keep_axes(input_shape)
        expanded = [1] * len(target)
        for i in range(1, value.ndim + 1):
            expanded[keep[-i] - 1] = value.shape[-i]
        try:
            return np.broadcast_to(value.reshape(expanded), target).copy()
        except ValueError:
            raise ValueError(f"{self._what}: {arg} of shape {value.shape} does not fit the kept "
                             f"axes {self.axis} of input shape {tuple(input_shape)}") from None

    # ---- adapt ---------------------------------------------------------------------------
    def adapt(self, data):
        """Set the mean and the variance from `data`: a numpy array (first axis the batch), or
        an iterable of such batches (a list, a generator, a PyDataset; an (x, y) tuple gives
        x), combined exactly. Statistics over every axis but `axis`."""
        if self.input_mean is not None:
            raise ValueError(f"{self._what}: adapt() on a layer given mean= and variance=")
        if isinstance(data, np.ndarray):
            batches = [data]
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            if getattr(data, "num_batches", 0) is None:
                raise ValueError(f"{self._what}: adapt() got an endless PyDataset "
                                 "(num_batches None); give it a length")
            # A PyDataset by index: Keras 2's image iterators iterate endlessly.
            batches = (data[i] for i in range(data.num_batches)) \
                if isinstance(data, PyDataset) else data
        else:
            raise TypeError(f"{self._what}: adapt() takes a numpy array or an iterable of "
                            f"batches (arrays), got {type(data).__name__}")
        total = 0
        mean = var = None
        for batch in batches:
            if isinstance(batch, tuple):
                batch = batch[0]
            batch = np.asarray(batch)
            if batch.dtype.kind not in "biuf" or batch.ndim == 0:
                raise TypeError(f"{self._what}: adapt() needs numeric arrays with a batch axis, "
                                f"got {batch.dtype} of shape {batch.shape}")
            if not self.built:
                self.build((None,) + batch.shape[1:])
                self.built = True
            keep = self._keep_axes(self._build_shape)
            if batch.ndim != len(self._build_shape) or any(
                    batch.shape[a] != self._build_shape[a] for a in keep):
                raise ValueError(f"{self._what}: adapt() got a batch of shape {batch.shape}; "
                                 f"the layer was built for inputs of shape "
                                 f"{tuple(self._build_shape)}")
            if batch.size == 0:
                continue
            reduce = tuple(a for a in range(batch.ndim) if a not in keep)
            batch = batch.astype(np.float64)
            count = int(np.prod([batch.shape[a] for a in reduce]))
            b_mean, b_var = batch.mean(axis=reduce), batch.var(axis=reduce)
            if mean is None:
                total, mean, var = count, b_mean, b_var
                continue
            # Two populations' statistics combined (Keras 3's update, exact).
            total += count
            w = count / total
            new = mean * (1 - w) + b_mean * w
            var = (var + (mean - new) ** 2) * (1 - w) + (b_var + (b_mean - new) ** 2) * w
            mean = new
        if mean is None:
            raise ValueError(f"{self._what}: adapt() got no data (an empty array or iterable)")
        self.mean.assign(mean.astype(self.mean.dtype))
        self.variance.assign(var.astype(self.variance.dtype))
        self._adapted = True

    # ---- lowering ------------------------------------------------------------------------
    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        if not np.dtype(ctx.dtype(x)).kind == "f":
            raise ValueError(f"{self._what}: its input is {ctx.dtype(x)}; feed floats (an Input "
                             "of dtype float32)")
        target = self._broadcast_shape(shape)
        if self.input_mean is not None:
            mean, variance = (ops._constant(ctx, c) for c in self._constants)
        else:
            if not self._adapted and not self.mean.value.any() and \
                    np.all(self.variance.value == 1):
                raise ValueError(f"{self._what} was never adapted: call its adapt(data) first, "
                                 "or give Normalization(mean=..., variance=...) (Keras 3 would "
                                 "pass its inputs through unchanged)")
            mean, variance = (ops.reshape_to(ops.SymbolicTensor(ctx, ctx.param(v)), target)
                              for v in (self.mean, self.variance))
        scale = ops.maximum(ops.sqrt(variance), backend.epsilon())
        x = ops.SymbolicTensor(ctx, x)
        y = ops.add(ops.multiply(x, scale), mean) if self.invert else \
            ops.divide(ops.subtract(x, mean), scale)
        return [y.value]

    def get_config(self):
        def listed(value):
            return None if value is None else np.asarray(value).tolist()

        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": listed(self.input_mean), "variance": listed(self.input_variance)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("axis"), list):
            config["axis"] = tuple(config["axis"])
        return cls(**config)


_OUTPUT_MODES = ("multi_hot", "one_hot", "count")


class CategoryEncoding(Layer):
    """Integer tokens in [0, num_tokens) to vectors of num_tokens floats (Keras 3):
    `multi_hot` (1 where a token of the sample occurs), `count` (how often), for inputs of
    shape (batch, k); `one_hot` (one vector per token: (batch, 1) or (batch,) -> (batch,
    num_tokens), (batch, k) -> (batch, k, num_tokens)). The tokens must come straight from a
    model Input (integers, or floats holding integers) and are checked before every call: a
    token outside [0, num_tokens) raises, where Keras-JAX would silently drop it. sparse=True
    (sparse tensors) is refused; so is the `count_weights` call argument."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":  # Keras 2's name, which Keras 3 accepts
            output_mode = "multi_hot"
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"{self._what}: unknown output_mode {output_mode!r}; choose one of "
                             f"{list(_OUTPUT_MODES)}")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, numbers.Integral) or \
                num_tokens < 1:
            raise ValueError(f"{self._what}: num_tokens must be a positive int, got "
                             f"{num_tokens!r}")
        if sparse:
            raise ValueError(f"{self._what}: sparse=True is not supported: compiled models "
                             "compute dense arrays; use sparse=False")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode

    def input_axes(self, input_shape):
        return ()

    def _check_rank(self, input_shape):
        rank = len(input_shape)
        if rank > 2 or (rank == 1 and self.output_mode != "one_hot"):
            raise ValueError(f"{self._what}: output_mode={self.output_mode!r} takes inputs of "
                             f"shape (batch, k){' or (batch,)' * (self.output_mode == 'one_hot')}"
                             f", got {tuple(input_shape)}")

    def build(self, input_shape):
        self._check_rank(input_shape)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        if self.output_mode == "one_hot" and len(input_shape) == 2 and input_shape[1] != 1:
            return tuple(input_shape) + (self.num_tokens,)
        return (input_shape[0], self.num_tokens)

    def output_dtype(self, input_dtypes):
        return self.dtype if self.dtype.startswith("float") else backend.floatx()

    def lower(self, ctx, inputs):
        (x,) = inputs
        ctx.index_input(x, self.num_tokens)
        tokens = ops.SymbolicTensor(ctx, x)
        if self.output_mode == "one_hot" and tokens.shape[1:] == (1,):
            tokens = ops.reshape_to(tokens, (None,))
        hot = ops.one_hot(tokens, self.num_tokens)
        if self.output_mode == "multi_hot":
            hot = ops.max(hot, axis=1)
        elif self.output_mode == "count":
            hot = ops.sum(hot, axis=1)
        return [hot.value]

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}  # Keras 3 writes no `sparse`


__all__ = ["Normalization", "CategoryEncoding"]
