"""The intermediate representation: ops on values with static shapes.

A `Graph` is a straight-line program. Every value has a static shape whose first dimension is
`None` when it is the batch (the only dimension that varies at run time). A batched value may
hold several rows per sample: its `batch_factor` k says the leading dimension is n * k for a
batch of n samples (TimeDistributed folds t time steps into the batch: k = t). Ops that map rows
to rows need not know: their outputs inherit the factor of their batched inputs. Params are named
slices of one flat buffer; the graph only knows their names and shapes.

The IR knows nothing of Keras. A front end fills a graph through `Builder`; the autodiff pass
and the renderer read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FLOAT_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Value:
    """A tensor flowing between ops. `shape[0] is None` marks the batch dimension, which holds
    n * batch_factor rows for a batch of n samples."""

    name: str
    shape: tuple
    dtype: str
    batch_factor: int = 1

    @property
    def batched(self) -> bool:
        return len(self.shape) > 0 and self.shape[0] is None

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOAT_DTYPES


@dataclass(frozen=True)
class Param:
    """A weight: a slice of the flat `params` (trainable) or `state` (non-trainable) buffer."""

    name: str
    shape: tuple
    dtype: str
    trainable: bool
    origin: str  # e.g. "dense_1/kernel", for comments and error messages

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass(frozen=True)
class Op:
    """One application of a template's op.

    `outputs` are differentiable results; `saved` are extra results the forward computes only
    for the backward's use (a dropout mask, an LSTM's gate activations): never differentiated.
    `attrs` are compile-time constants the template specialises on.
    """

    kind: str
    inputs: tuple
    outputs: tuple
    saved: tuple = ()
    attrs: tuple = ()  # sorted (key, value) pairs, so that ops hash and compare by value
    origin: str = ""
    training_only: bool = False  # e.g. a batch-statistics update: absent from inference code
    force_training: bool = False  # its training maths in every phase (a call with training=True)

    @property
    def attr(self) -> dict:
        return dict(self.attrs)


@dataclass(frozen=True)
class IndexBound:
    """A graph input used as indices into a table of `size` rows (an embedding): the caller
    checks every element is an integer in [0, size) before running native code, which does no
    bounds checks. `origin` names the layer for the error message."""

    input: str
    size: int
    origin: str


@dataclass
class Graph:
    values: dict = field(default_factory=dict)  # name -> Value
    params: dict = field(default_factory=dict)  # name -> Param (insertion order = buffer order)
    inputs: list = field(default_factory=list)  # value names fed by the caller
    outputs: list = field(default_factory=list)  # value names returned by predict
    ops: list = field(default_factory=list)
    floatx: str = "float32"  # the float type of the program (values, params, constants)

    index_inputs: list = field(default_factory=list)  # IndexBound: checked before each call

    def shape(self, name):
        return self.values[name].shape if name in self.values else self.params[name].shape

    def batch_factor(self, name):
        return self.values[name].batch_factor if name in self.values else 1

    def dtype(self, name):
        return self.values[name].dtype if name in self.values else self.params[name].dtype

    def table(self) -> str:
        """The IR as a plain table, for `fnjit dump --ir`."""
        rows = [("#", "op", "inputs", "outputs", "attrs", "from")]
        for i, op in enumerate(self.ops):
            outs = [f"{o}{_fmt_shape(self.shape(o), self.batch_factor(o))}"
                    for o in op.outputs + op.saved]
            attrs = " ".join(f"{k}={v}" for k, v in op.attrs)
            rows.append((str(i), op.kind, " ".join(op.inputs), " ".join(outs), attrs, op.origin))
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        head = [f"inputs:  {', '.join(f'{n}{_fmt_shape(self.shape(n))}' for n in self.inputs)}",
                f"outputs: {', '.join(self.outputs)}",
                "params:  " + ", ".join(f"{p.name}{_fmt_shape(p.shape)}"
                                        for p in self.params.values()),
                ""]
        return "\n".join(head + lines) + "\n"


def _fmt_shape(shape, factor=1):
    lead = "n" if factor == 1 else f"n*{factor}"
    return "(" + ", ".join(lead if d is None else str(d) for d in shape) + ")"


_IDENT = re.compile(r"[^0-9a-zA-Z_]")


def identifier(text: str) -> str:
    """A Python identifier derived from a layer or weight name."""
    s = _IDENT.sub("_", text)
    return s if s and not s[0].isdigit() else "_" + s


class Builder:
    """Fills a Graph. Names are made unique and stable: the same calls give the same names."""

    def __init__(self, floatx="float32"):
        self.graph = Graph(floatx=floatx)
        self.floatx = floatx
        self._taken = set()

    def _fresh(self, hint):
        base = identifier(hint)
        name, i = base, 1
        while name in self._taken:
            name = f"{base}_{i}"
            i += 1
        self._taken.add(name)
        return name

    def input(self, hint, shape, dtype=None):
        name = self._fresh("x_" + hint)
        self.graph.values[name] = Value(name, tuple(shape), dtype or self.floatx)
        self.graph.inputs.append(name)
        return name

    def param(self, hint, shape, trainable=True, origin=""):
        name = self._fresh("w_" + hint)
        self.graph.params[name] = Param(name, tuple(shape), self.floatx, trainable, origin or hint)
        return name

    def op(self, kind, inputs, out_shapes, *, hint=None, attrs=None, saved_shapes=(),
           out_dtypes=None, origin="", training_only=False, batch_factors=None,
           force_training=False):
        """Append an op; returns the list of its output value names.

        Batched outputs and saved values inherit the batch factor of the op's batched inputs
        (which must agree); `batch_factors` (one per output) overrides it for ops that move
        rows between the batch and other axes."""
        for i in inputs:
            if i not in self.graph.values and i not in self.graph.params:
                raise ValueError(f"op {kind!r}: unknown input {i!r}")
        factors = {self.graph.values[i].batch_factor for i in inputs
                   if i in self.graph.values and self.graph.values[i].batched}
        if len(factors) > 1:
            raise ValueError(f"op {kind!r} ({origin}): its batched inputs have different rows "
                             f"per sample {sorted(factors)}")
        inherited = factors.pop() if factors else 1
        hint = hint or kind
        outs = []
        for k, shape in enumerate(out_shapes):
            name = self._fresh(f"v_{hint}" if k == 0 else f"v_{hint}_out{k}")
            dtype = (out_dtypes[k] if out_dtypes else None) or self.floatx
            factor = batch_factors[k] if batch_factors else inherited
            factor = factor if shape and shape[0] is None else 1
            self.graph.values[name] = Value(name, tuple(shape), dtype, factor)
            outs.append(name)
        saved = []
        for shape in saved_shapes:
            name = self._fresh(f"s_{hint}")
            factor = inherited if shape and shape[0] is None else 1
            self.graph.values[name] = Value(name, tuple(shape), self.floatx, factor)
            saved.append(name)
        self.graph.ops.append(Op(kind, tuple(inputs), tuple(outs), tuple(saved),
                                 tuple(sorted((attrs or {}).items())), origin, training_only,
                                 force_training))
        return outs
