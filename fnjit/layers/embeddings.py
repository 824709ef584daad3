"""Embedding: integer indices to dense vectors (Keras 3 arguments, weight and config)."""

from __future__ import annotations

from .. import backend, initializers
from .base import Layer


class Embedding(Layer):
    """y[..., :] = embeddings[x[...], :]. Weight: embeddings (input_dim, output_dim).

    Indices must be integers in [0, input_dim): they are checked before every native call
    (ValueError naming the layer and the bad value). The input may have any integer dtype, or a
    float dtype holding whole numbers. `input_length` (Keras 1/2: the sequence length, an int
    or a tuple of the input's axes after the batch, None where free) is checked against the
    input's shape as Keras 2 did (a conflict is a ValueError naming both), and, as there, it is
    the input shape of a Sequential it begins. (Keras 3 warns that it is deprecated and ignores
    it; the programs that pass it are Keras 1 and 2 programs, which meant this.)
    `mask_zero=True`: index 0 is padding; the output carries a mask, x != 0, that the
    recurrent layers, pooling, merges, losses and metrics downstream honour as in Keras 3.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs \
                and "batch_input_shape" not in kwargs:
            # Keras 2: the first layer of a Sequential takes (input_length,) per sample.
            kwargs["input_shape"] = (tuple(input_length) if isinstance(input_length, (list, tuple))
                                     else (input_length,))
        super().__init__(weights=weights, **kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if value is None or int(value) != value or value <= 0:
                raise ValueError(f"Embedding {self.name!r}: {arg} must be a positive int, "
                                 f"got {value!r}")
        if lora_rank is not None:
            raise ValueError(f"Embedding {self.name!r}: lora_rank is not supported")
        self._weight_options(embeddings_regularizer=embeddings_regularizer,
                             embeddings_constraint=embeddings_constraint)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self.input_length = input_length

    supports_masking = True  # Keras 3: its compute_mask is its own (a mask reaching it ends)

    @property
    def makes_mask(self):
        return self.mask_zero

    def lower_mask(self, ctx, inputs, outputs):
        """Keras 3's compute_mask: x != 0 with mask_zero, else none."""
        if not self.mask_zero:
            return [None]
        (x,) = inputs
        return ctx.op("mask", [x], [ctx.shape(x)], out_dtypes=["bool"],
                      attrs={"value": 0.0, "reduce": False, "apply": False})

    def input_axes(self, input_shape):
        return ()  # indices of any shape

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def compute_output_shape(self, input_shape):
        if self.input_length is not None:
            lengths = (tuple(self.input_length) if isinstance(self.input_length, (list, tuple))
                       else (self.input_length,))
            axes = tuple(input_shape)[1:]
            if len(lengths) != len(axes) or any(
                    want is not None and got is not None and int(want) != int(got)
                    for want, got in zip(lengths, axes)):
                raise ValueError(f"Embedding {self.name!r}: input_length={self.input_length!r}, "
                                 f"but the input has shape {tuple(input_shape)!r}")
        return tuple(input_shape) + (self.output_dim,)

    def output_dtype(self, input_dtypes):
        return self.dtype if self.dtype.startswith("float") else backend.floatx()

    def lower(self, ctx, inputs):
        (x,) = inputs
        ctx.index_input(x, self.input_dim)
        table = ctx.param(self.embeddings)
        return ctx.op("embedding", [x, table], [ctx.shape(x) + (self.output_dim,)])

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                **self._weight_options_config("embeddings_regularizer",
                                              "embeddings_constraint"),
                "mask_zero": self.mask_zero}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        init = config.get("embeddings_initializer")
        if isinstance(init, dict):
            resolved = initializers.get(initializers.snake(init["class_name"]))
            for k, v in (init.get("config") or {}).items():
                if hasattr(resolved, k):
                    setattr(resolved, k, v)
            config["embeddings_initializer"] = resolved
        return cls(**config)

    def __repr__(self):
        return f"<Embedding name={self.name}, {self.input_dim} -> {self.output_dim}>"


__all__ = ["Embedding"]
