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
    origin: str  # the user's path, e.g. "dense_1/kernel": for the legend and error messages

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
    origin: str = ""  # in the user's names ("dense_1 (Dense), node 0"): errors, the legend
    label: str = ""  # in graph positions ("layer 2 Dense"): the comments of generated code
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
    names: dict = field(default_factory=dict)  # input value name -> the user's name for it

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
            rows.append((str(i), op.kind, " ".join(op.inputs), " ".join(outs), attrs,
                         printable(op.label)))
        lines = format_table(rows)
        head = [f"inputs:  {', '.join(f'{n}{_fmt_shape(self.shape(n))}' for n in self.inputs)}",
                f"outputs: {', '.join(self.outputs)}",
                "params:  " + ", ".join(f"{p.name}{_fmt_shape(p.shape)}"
                                        for p in self.params.values()),
                ""]
        return "\n".join(head + lines) + "\n" + self.legend("")

    def legend(self, about) -> str:
        """Where the graph's positions come from in the user's names, as comment lines (outside
        the compiled source, whose text must not depend on names: the same architecture gives
        the same code). Every name is escaped to one printable line."""
        rows = [(n, f"input '{printable(self.names[n])}'") for n in self.inputs]
        rows += [(p.name, f"weight '{printable(p.origin)}'") for p in self.params.values()]
        seen = set()
        for op in self.ops:
            if op.label and op.label not in seen:
                seen.add(op.label)
                rows.append((op.label, printable(op.origin)))
        width = max((len(printable(k, 40)) for k, _ in rows), default=0)
        lines = ["# " + "-" * 93,
                 "# Legend (a comment, not compiled): the model's own names for the positions "
                 "below."]
        if about:
            lines.append(f"#   {printable(about)}")
        lines += [f"#   {printable(k, 40).ljust(width)}  {v}" for k, v in rows]
        return "\n".join(lines + ["# " + "-" * 93]) + "\n"


def format_table(rows) -> list:
    """Rows of text cells, the first the header, as lines of aligned columns with a rule under
    the header (`fnjit dump --ir` and `--plan`)."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def _fmt_shape(shape, factor=1):
    lead = "n" if factor == 1 else f"n*{factor}"
    return "(" + ", ".join(lead if d is None else str(d) for d in shape) + ")"


# Generated identifiers come from the graph alone: a role and a position (x0, y0, w3_kernel,
# v12, s12). A user's names (layers, inputs, weights, the model) never reach generated source
# as code; they travel beside it (`origin`, `Graph.legend`) for comments and error messages.
_ROLE = re.compile(r"[a-z_]{1,32}")


def printable(text, limit=120) -> str:
    """`text` as one printable line, safe inside a `#` comment of generated source: escaped as
    repr escapes it (backslashes, newlines, CR, U+2028/2029, NUL, form feed and every other
    control or format character), without the quotes, cut to `limit` characters."""
    s = repr(str(text))[1:-1]
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _check_attr(kind, key, value):
    """Attrs are compile-time constants that templates write into code: a string attr must be
    a plain word (an activation or loss name), never text that came from a user."""
    if isinstance(value, str):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"op {kind!r}: attr {key}='{printable(value)}' is not a plain "
                             "identifier")
    elif isinstance(value, (tuple, list)):
        for v in value:
            _check_attr(kind, key, v)


class Builder:
    """Fills a Graph, naming every value by its role and position in the graph."""

    def __init__(self, floatx="float32"):
        self.graph = Graph(floatx=floatx)
        self.floatx = floatx

    def input(self, origin, shape, dtype=None, role="x"):
        """A value the caller feeds: x0, x1, ... (model inputs), y0, y1, ... (targets) or sw0,
        sw1, ... (per-sample weights). `origin` is the user's name for it, kept for the legend
        and error messages only."""
        if role not in ("x", "y", "sw"):
            raise ValueError(f"input role must be 'x', 'y' or 'sw', got {role!r}")
        k = sum(1 for n in self.graph.inputs if n.startswith(role))
        name = f"{role}{k}"
        self.graph.values[name] = Value(name, tuple(shape), dtype or self.floatx)
        self.graph.inputs.append(name)
        self.graph.names[name] = str(origin)
        return name

    def param(self, origin, shape, trainable=True, role=""):
        """A weight: w<position>, with `_<role>` when the role is a plain lower-case word (a
        Keras weight role: kernel, bias, moving_mean...). `origin`: the user's path to it."""
        name = f"w{len(self.graph.params)}" + (f"_{role}" if _ROLE.fullmatch(role) else "")
        self.graph.params[name] = Param(name, tuple(shape), self.floatx, trainable, str(origin))
        return name

    def op(self, kind, inputs, out_shapes, *, attrs=None, saved_shapes=(), out_dtypes=None,
           origin="", label="", training_only=False, batch_factors=None,
           force_training=False):
        """Append op number i; returns the list of its output value names (v<i>, v<i>_1, ...;
        saved values s<i>, s<i>_1, ...). `label` says where the op comes from in positions
        only (it goes into comments); `origin` in the user's names (errors, the legend).
        `force_training`: the op runs its training maths in every phase (training=True).

        Batched outputs and saved values inherit the batch factor of the op's batched inputs
        (which must agree); `batch_factors` (one per output) overrides it for ops that move
        rows between the batch and other axes."""
        for i in inputs:
            if i not in self.graph.values and i not in self.graph.params:
                raise ValueError(f"op {kind!r}: unknown input {i!r}")
        for key, value in (attrs or {}).items():
            _check_attr(kind, key, value)
        factors = {self.graph.values[i].batch_factor for i in inputs
                   if i in self.graph.values and self.graph.values[i].batched}
        if len(factors) > 1:
            raise ValueError(f"op {kind!r} ({origin}): its batched inputs have different rows "
                             f"per sample {sorted(factors)}")
        inherited = factors.pop() if factors else 1
        index = len(self.graph.ops)
        outs = []
        for k, shape in enumerate(out_shapes):
            name = f"v{index}" if k == 0 else f"v{index}_{k}"
            dtype = (out_dtypes[k] if out_dtypes else None) or self.floatx
            factor = batch_factors[k] if batch_factors else inherited
            factor = factor if shape and shape[0] is None else 1
            self.graph.values[name] = Value(name, tuple(shape), dtype, factor)
            outs.append(name)
        saved = []
        for k, shape in enumerate(saved_shapes):
            name = f"s{index}" if k == 0 else f"s{index}_{k}"
            factor = inherited if shape and shape[0] is None else 1
            self.graph.values[name] = Value(name, tuple(shape), self.floatx, factor)
            saved.append(name)
        self.graph.ops.append(Op(kind, tuple(inputs), tuple(outs), tuple(saved),
                                 tuple(sorted((attrs or {}).items())), origin, label,
                                 training_only, force_training))
        return outs
