"""Rendering: IR + backward plan -> Python source, through the Jinja2 templates.

Every op kind `k` is the template file `templates/k.j2`, which defines three macros side by side:

- `kernels(op)`: the `@jit` functions the op calls, named by the variant they implement
  (identical kernel text from several ops is emitted once);
- `forward(op)`: the driver lines that fill `op.outs` (and `op.saved`), already allocated;
- `backward(op)`: the driver lines that fill every non-None `op.dx[i]` from `op.dy`, given the
  forward's inputs, outputs and saved values. A backward always overwrites its targets.

Allocation, gradient accumulation and comments are the module template's job, so an op's
template holds only its maths.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import jinja2

from .autodiff import BackwardPlan
from .ir import Graph

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
    undefined=jinja2.StrictUndefined,  # a missing variable is an error, never empty text
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
)

# Above this many op steps (forward ops of the longest phase + backward steps), entry points
# are Python calling native kernels. Measured: the train step of a 10-layer MLP (44 steps)
# compiled in 7 s, of a 40-layer one (164 steps) in 45 s, Xception's (~900) in 137 s.
NATIVE_ENTRY_MAX_STEPS = 80

_NP_DTYPE = {"float32": "np.float32", "float64": "np.float64", "int32": "np.int32",
             "int64": "np.int64", "int8": "np.int8", "int16": "np.int16", "uint8": "np.uint8",
             "bool": "np.bool_"}


def library(kind):
    """The template module of an op kind (its macros are callable from Python and templates)."""
    try:
        return _ENV.get_template(f"{kind}.j2").module
    except jinja2.TemplateNotFound:
        raise ValueError(f"no template for op kind {kind!r} in {TEMPLATE_DIR}") from None


def template_digest() -> str:
    """Hash of every template: part of the cache key of anything rendered from them."""
    h = hashlib.sha256()
    for p in sorted(TEMPLATE_DIR.glob("*.j2")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Var:
    """A variable of the generated code, as templates see it."""

    name: str
    shape: tuple  # None marks the batch dimension, rendered as `n` (or `n * k`, see below)
    dtype: str
    batch_factor: int = 1  # the batch dimension holds n * batch_factor rows (see ir.Value)

    def __str__(self):
        return self.name

    @property
    def rank(self):
        return len(self.shape)

    @property
    def dims(self):
        """The shape as source text: `(n, 64)`, or `(n * 20, 64)` with a batch factor of 20."""
        lead = "n" if self.batch_factor == 1 else f"n * {self.batch_factor}"
        parts = [lead if d is None else str(d) for d in self.shape]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    @property
    def np_dtype(self):
        return _NP_DTYPE[self.dtype]

    @property
    def alloc(self):
        return f"np.empty({self.dims}, {self.np_dtype})"

    @property
    def zeros(self):
        return f"np.zeros({self.dims}, {self.np_dtype})"

    @property
    def row_size(self):
        """Elements per row of the leading dimension (all elements when unbatched): what a
        reshape to (-1, ...) of this value must keep whole."""
        k = 1
        for d in self.shape:
            if d is not None:
                k *= d
        return k

    @property
    def per_sample(self):
        """Elements per batch sample: a row times the rows per sample (the batch factor)."""
        return self.batch_factor * self.row_size


class _Renderer:
    def __init__(self, graph: Graph):
        self.graph = graph
        # The program's float type, for typed constants: from the graph, not from its params
        # (a model may have none).
        self.f = _NP_DTYPE[graph.floatx]

    def var(self, name):
        if name is None:
            return None
        if name in self.graph.values:
            v = self.graph.values[name]
            return Var(name, v.shape, v.dtype, v.batch_factor)
        p = self.graph.params[name]
        return Var(name, p.shape, p.dtype)

    def gvar(self, grad_target, of):
        """A gradient variable has the shape and dtype of what it differentiates."""
        v = self.var(of)
        return Var(grad_target, v.shape, v.dtype, v.batch_factor)

    def view(self, op, training, index, step=None):
        dy = dx = None
        if step is not None:
            # An output no gradient flows into gets a zero array (`dz_...`) the module allocates.
            dy = [self.gvar(g or "dz_" + o, o) for g, o in zip(step.dy, op.outputs)]
            dx = [self.gvar(g.target, g.of) if g else None for g in step.dx]
        return SimpleNamespace(
            kind=op.kind, index=index, origin=op.origin, attrs=SimpleNamespace(**op.attr),
            ins=[self.var(i) for i in op.inputs], outs=[self.var(o) for o in op.outputs],
            saved=[self.var(s) for s in op.saved], dy=dy, dx=dx, f=self.f, training=training,
        )


def needed_ops(graph: Graph, targets, training):
    """The ops, in order, that the given values depend on."""
    need = set(targets)
    keep = []
    for op in reversed(graph.ops):
        if op.training_only and not training:
            continue
        if op.training_only or any(o in need for o in op.outputs + op.saved):
            keep.append(op)
            need.update(op.inputs)
    return list(reversed(keep))


def render_module(graph: Graph, *, model_inputs, targets, logs, plan: BackwardPlan | None,
                  optimizer: str | None, header: str, module_name) -> Rendered:
    """Render a model's generated code. `module_name(source)` names a kernel module.

    `logs`: list of (value name, weight); entry k adds `weight * mean(value) * n` to logs[k],
    so that dividing the summed logs by the number of samples gives Keras' epoch averages.
    """
    r = _Renderer(graph)
    log_values = [name for name, _ in logs]
    phases = {}
    phases["predict"] = [(op, r.view(op, False, i)) for i, op in
                         enumerate(needed_ops(graph, graph.outputs, False))]
    phases["evaluate"] = [(op, r.view(op, False, i)) for i, op in
                          enumerate(needed_ops(graph, log_values, False))]
    if plan is not None:
        phases["train"] = [(op, r.view(op, True, i)) for i, op in
                           enumerate(needed_ops(graph, log_values, True))]
        index = {id(op): i for i, (op, _) in enumerate(phases["train"])}
        backward = [(s, r.view(s.op, True, index[id(s.op)], s)) for s in plan.steps]
    else:
        backward = []

    # Kernels live in their own modules, one per distinct kernel text, named by content: a
    # kernel is compiled once per machine (Numba's cache) and shared by every model using it;
    # a new model only compiles its entry points.
    kernel_modules = {}  # module name -> source
    imports = {}  # function name -> (module name, its text)

    def collect(kind, text):
        text = str(text).strip("\n")
        if not text:
            return
        source = _ENV.get_template("kernel_module.py.j2").render(kind=kind, body=text)
        name = module_name(source)
        kernel_modules.setdefault(name, source)
        for chunk in _split_functions(text):
            fn = chunk.split("def ", 1)[1].split("(", 1)[0]
            if fn in imports and imports[fn][1] != chunk:
                raise ValueError(f"template {kind}.j2 defines kernel {fn!r} differently from "
                                 "another template: kernel names must name their variant")
            imports.setdefault(fn, (name, chunk))

    collect("_runtime", library("_runtime").kernels())
    for phase in phases.values():
        for _, v in phase:
            collect(v.kind, library(v.kind).kernels(v))
    for _, v in backward:
        collect(v.kind, library(v.kind).kernels(v))
    if plan is not None:
        collect("optimizers", library("optimizers").kernel(optimizer))
    by_module = {}
    for fn, (mod, _) in sorted(imports.items()):
        by_module.setdefault(mod, []).append(fn)

    params = [r.var(p) for p, prm in graph.params.items() if prm.trainable]
    state = [r.var(p) for p, prm in graph.params.items() if not prm.trainable]
    offsets = {}
    for group in (params, state):
        off = 0
        for p in group:
            size = graph.params[p.name].size
            offsets[p.name] = (off, off + size)
            off += size

    # Small models get native entry points (one native call per step); large ones Python
    # entry points calling native kernels, since compiling one long function is superlinear.
    n_steps = max(len(p) for p in phases.values()) + len(backward)
    template = _ENV.get_template("module.py.j2")
    driver = template.render(
        native_entries=n_steps <= NATIVE_ENTRY_MAX_STEPS, n_steps=n_steps,
        header=header, graph=graph, lib=library, imports=by_module, phases=phases,
        backward=backward, plan=plan, optimizer=optimizer,
        inputs=[r.var(i) for i in model_inputs], targets=[r.var(t) for t in targets],
        outputs=[r.var(o) for o in graph.outputs], logs=[(r.var(n), w) for n, w in logs],
        params=params, state=state, offsets=offsets, var=r.var, gvar=r.gvar, f=r.f,
        input_grads=[(r.var(i), g) for i, g in (plan.input_grads.items() if plan else [])],
    )
    return Rendered(driver, kernel_modules)


@dataclass(frozen=True)
class Rendered:
    """A model's generated code: the driver (entry points) and the kernel modules it imports."""

    driver: str
    kernels: dict  # module name -> source

    def text(self):
        """Everything, driver first, for reading (`fnjit dump`)."""
        parts = [self.driver]
        for name, source in self.kernels.items():
            parts.append(f"\n# {'=' * 93}\n# module {name}\n# {'=' * 93}\n{source}")
        return "".join(parts)


def _split_functions(text):
    """Top-level function definitions (with their decorators) of rendered kernel text."""
    chunks, current = [], []
    for line in text.strip("\n").splitlines():
        starts = line.startswith("@") or (line.startswith("def ") and not
                                          (current and current[-1].startswith("@")))
        if starts and any(c.startswith("def ") for c in current):
            chunks.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    if any(c.startswith("def ") for c in current):
        chunks.append("\n".join(current).strip("\n"))
    return chunks


def render_template(name, **variables):
    """Render one of templates/ that is not an op family (e.g. an exported model's run.py)."""
    return _ENV.get_template(name).render(**variables)
