"""Rendering: IR + backward plan -> Python source, through the Jinja2 templates.

Every op kind `k` is the template file `templates/k.j2`, which defines its macros side by side:

- `kernels(op)`: the `@jit` functions the op may call, named by the variant they implement
  (identical kernel text from several ops is emitted once; a function no entry point calls,
  directly or through another kernel, is not emitted at all);
- `forward(op)`: the driver lines that fill `op.outs` (and `op.saved`), already allocated;
- `backward(op)`: the driver lines that fill every non-None `op.dx[i]` from `op.dy`, given the
  forward's inputs, outputs and saved values. A backward always overwrites its targets;
- `equation(op)` (optional): one line saying what the op computes, for the driver's comment.

Allocation, gradient accumulation and comments are the module template's job, so an op's
template holds only its maths. The driver's text depends on the architecture alone: values are
named by graph position (see codegen/ir.py), comments by layer position, so the same
architecture gives the same source and shares one compiled program. Last, `tidy` passes bare
numbers at kernel calls by keyword and wraps lines to 100 columns.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import jinja2

from .autodiff import BackwardPlan
from .cache import TemplateCode
from .fusion import fuse_conv_max_pool
from .ir import Graph, printable

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
    undefined=jinja2.StrictUndefined,  # a missing variable is an error, never empty text
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,
    bytecode_cache=TemplateCode(),  # compiled templates kept on disk (codegen/cache.py)
)

# Above this many op steps (forward ops of the longest phase + backward steps), entry points
# are Python calling native kernels. Measured: the train step of a 10-layer MLP (44 steps)
# compiled in 7 s, of a 40-layer one (164 steps) in 45 s, Xception's (~900) in 137 s.
NATIVE_ENTRY_MAX_STEPS = 80


def _unsupported(what):
    """Called by a target variant's template for what it has no kernel for yet."""
    raise ValueError(f"{what} has no kernel for this target yet (its template variant lacks "
                     "it); use target='cpu'")


_ENV.globals["raise_unsupported"] = _unsupported

_NP_DTYPE = {"float32": "np.float32", "float64": "np.float64", "int32": "np.int32",
             "int64": "np.int64", "int8": "np.int8", "int16": "np.int16", "uint8": "np.uint8",
             "bool": "np.bool_"}


def library(kind, variant=""):
    """The template module of an op kind (its macros are callable from Python and templates).
    A target's `variant` (".cuda") picks `kind.cuda.j2`, the same macros for that target."""
    try:
        return _ENV.get_template(f"{kind}{variant}.j2").module
    except jinja2.TemplateNotFound:
        raise ValueError(f"no template for op kind {kind!r} in {TEMPLATE_DIR}"
                         + (f" for target variant {variant!r}" if variant else "")) from None


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
    def __init__(self, graph: Graph, threads=1):
        self.graph = graph
        self.threads = threads  # of the parallel kernels (codegen/threads.py)
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
            kind=op.kind, index=index, label=printable(op.label or "model"),
            attrs=SimpleNamespace(**op.attr),
            ins=[self.var(i) for i in op.inputs], outs=[self.var(o) for o in op.outputs],
            saved=[self.var(s) for s in op.saved], dy=dy, dx=dx, f=self.f,
            training=training or op.force_training, threads=self.threads,
        )

    def comment(self, op, v):
        """The lines that open an op's block: where it comes from (graph positions only, never
        a user's name), its attrs, the shapes in and out, and the equation it computes."""
        attrs = ", ".join(f"{k}={printable(val, 40)}" for k, val in op.attrs)
        lines = [f"{v.label}: {op.kind}" + (f" ({attrs})" if attrs else "")]
        lib = library(op.kind)
        if hasattr(lib, "equation"):
            lines.append(str(lib.equation(v)).strip())
        ins = ", ".join(f"{x} {x.dims}" for x in v.ins)
        outs = ", ".join(f"{y} {y.dims}" for y in v.outs)
        lines.append(f"{ins} -> {outs}")
        return [part for line in lines for part in
                textwrap.wrap(printable(line, 1000), LINE_WIDTH - 6, subsequent_indent="    ")]


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


def _split_inference(graph, log_values, targets):
    """The inference ops, split in two: the model's forward pass (everything `predict` needs,
    and whatever `evaluate` needs that does not read a target), and the ops that read targets
    (losses and metrics). Returns (forward ops, what the forward returns, the other ops)."""
    ops = needed_ops(graph, list(graph.outputs) + list(log_values), False)
    reads_target, rest, forward = set(targets), [], []
    for op in ops:
        if any(i in reads_target for i in op.inputs):
            reads_target.update(op.outputs + op.saved)
            rest.append(op)
        else:
            forward.append(op)
    produced = {v for op in forward for v in op.outputs}
    returns = list(dict.fromkeys(graph.outputs))
    for name in [i for op in rest for i in op.inputs] + list(log_values):
        if name in produced and name not in returns:
            returns.append(name)
    return forward, returns, rest


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names(code):
    """The names a kernel's code reads (not the words of its docstring or comments): the kernels
    it may call."""
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}


def render_module(graph: Graph, *, model_inputs, targets, logs, plan: BackwardPlan | None,
                  optimizer, header: str, module_name, sample_weights=(),
                  seed_weights=None, constraints=(), native: bool = True,
                  report=(), variant: str = "", threads: int = 1) -> Rendered:
    """Render a model's generated code. `module_name(source)` names a kernel module.
    `native=False` makes the entry points Python calling the native kernels (as for models
    over NATIVE_ENTRY_MAX_STEPS steps).

    `logs`: one list of terms (value name, weight, sample weight input or None) per entry;
    entry k adds `weight * sum_i sw_i * mean(value of sample i)` (sw_i = 1 without sample
    weights) for each term to logs[k], so that dividing the summed logs by the number of
    samples gives Keras' epoch averages. A term whose value is None adds sum_i sw_i.
    `sample_weights`: inputs of one weight per sample, passed after the targets.
    `seed_weights`: loss value -> the sample weight input that scales its backward seed.
    `constraints`: (param name, attrs) projected after the update (templates/constraint.j2).
    `report`: values that evaluate and train_step also return (the predictions that stateful
    metrics accumulate in Python).
    `variant`: the target's template variant ("" for the CPU; ".cuda": `kind.cuda.j2`,
    `module.cuda.py.j2`, `kernel_module.cuda.py.j2`).
    `threads`: FNJIT_NUM_THREADS; above 1 the kernels that split into blocks of work are
    rendered parallel (`op.threads` in templates; _spatial.j2's `jit` and `prange`).
    """

    def lib(kind):
        return library(kind, variant)

    r = _Renderer(graph, threads)
    log_values = [name for terms in logs for name, _, _ in terms if name is not None] + \
        list(report)
    forward_ops, forward_returns, evaluate_ops = _split_inference(
        graph, log_values, list(targets) + list(sample_weights))
    if not variant:  # the CPU templates (codegen/fusion.py)
        read_after = {i for op in evaluate_ops for i in op.inputs}
        forward_ops = fuse_conv_max_pool(graph, forward_ops, set(forward_returns) | read_after)
    phases = {"forward": [(op, r.view(op, False, i)) for i, op in enumerate(forward_ops)],
              "evaluate": [(op, r.view(op, False, i)) for i, op in enumerate(evaluate_ops)]}
    if plan is not None:
        phases["train"] = [(op, r.view(op, True, i)) for i, op in
                           enumerate(needed_ops(graph, log_values, True))]
        index = {id(op): i for i, (op, _) in enumerate(phases["train"])}
        backward = [(s, r.view(s.op, True, index[id(s.op)], s)) for s in plan.steps]
    else:
        backward = []
    for phase in phases.values():
        for op, v in phase:
            v.comment = r.comment(op, v)

    # Every kernel text the ops ask for, by function name; then only those the entry points
    # call (directly or through another kernel) are emitted.
    kernels = {}  # kind -> {function name: text}
    texts = {}  # function name -> text (one text per name across templates)

    def collect(kind, text):
        for chunk in _split_functions(str(text)):
            fn = chunk.split("def ", 1)[1].split("(", 1)[0]
            if texts.setdefault(fn, chunk) != chunk:
                raise ValueError(f"template {kind}.j2 defines kernel {fn!r} differently from "
                                 "another template: kernel names must name their variant")
            kernels.setdefault(kind, {}).setdefault(fn, chunk)

    collect("_runtime", lib("_runtime").kernels())
    for phase in phases.values():
        for _, v in phase:
            collect(v.kind, lib(v.kind).kernels(v))
    for _, v in backward:
        collect(v.kind, lib(v.kind).kernels(v))
    if plan is not None:
        if not str(lib("optimizers").rule(optimizer.kernel)).strip():
            raise ValueError(f"templates/optimizers.j2 has no update rule "
                             f"{optimizer.kernel!r}")
        collect("optimizers", lib("optimizers").kernels(optimizer))
    constraint_views = [SimpleNamespace(p=r.var(name), attrs=SimpleNamespace(**attrs), f=r.f)
                        for name, attrs in constraints] if plan is not None else []
    for c in constraint_views:
        collect("constraint", lib("constraint").kernels(c))

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
    n_steps = max(len(forward_ops) + len(evaluate_ops),
                  len(phases.get("train", ()))) + len(backward)
    native = native and n_steps <= NATIVE_ENTRY_MAX_STEPS
    template = _ENV.get_template(f"module{variant}.py.j2")
    evaluate_reads = {n for op in evaluate_ops for n in op.inputs}

    # The driver is rendered once, its import lines left as a placeholder: which kernels it
    # imports depends on which it calls.
    placeholder = "# <imports>"
    driver = template.render(
        native_entries=native, n_steps=n_steps,
        header=header, graph=graph, lib=lib, imports=placeholder, phases=phases,
        backward=backward, plan=plan, optimizer=optimizer, constraints=constraint_views,
        inputs=[r.var(i) for i in model_inputs], targets=[r.var(t) for t in targets],
        outputs=[r.var(o) for o in graph.outputs],
        forward_returns=[r.var(o) for o in forward_returns],
        evaluate_params=[p for p in params if p.name in evaluate_reads],
        evaluate_state=[p for p in state if p.name in evaluate_reads],
        logs=[[(r.var(v), w, r.var(sw)) for v, w, sw in terms] for terms in logs],
        sample_weights=[r.var(s) for s in sample_weights],
        seed_weights={v: r.var(sw) for v, sw in (seed_weights or {}).items()},
        params=params, state=state, offsets=offsets, var=r.var, gvar=r.gvar, f=r.f,
        input_grads=[(r.var(i), g) for i, g in (plan.input_grads.items() if plan else [])],
        report=[r.var(v) for v in report],
    )

    # The kernels called: the words of the driver that name one, then those their texts name
    # (within the same module). `seed` is called from Python before training.
    owner = {}
    for kind, fns in kernels.items():
        for fn in fns:
            owner.setdefault(fn, kind)
    roots = set(_WORD.findall(driver))
    if plan is not None:
        roots.add("seed")
    needed = {(owner[fn], fn) for fn in roots if fn in owner}
    todo = list(needed)
    while todo:
        kind, fn = todo.pop()
        for word in _names(kernels[kind][fn]):
            if word in kernels[kind] and (kind, word) not in needed:
                needed.add((kind, word))
                todo.append((kind, word))

    # One module per kernel function, named by content (its text and the names of the modules
    # of the kernels it calls, which it imports): a kernel is compiled once per machine (Numba's
    # cache) and shared by every model that calls it. (One module per template, holding the
    # kernels a model happened to call, recompiled every kernel of a template whenever a model
    # called one more or one fewer of them: relu's kernels again for a model that also used
    # sigmoid.) Callees come first, so a module's imports are loaded before it.
    kernel_modules = {}  # module name -> source, callees before their callers
    module_of = {}  # (kind, function name) -> its module's name

    def emit(key, calling=()):
        if key in module_of:
            return module_of[key]
        if key in calling:
            raise ValueError(f"kernels of templates/{key[0]}.j2 call each other in a cycle: "
                             f"{[fn for _, fn in calling]}")
        kind, fn = key
        text = kernels[kind][fn]
        callees = sorted(w for w in _names(text) if w != fn and w in kernels[kind])
        lines = [f"from {emit((kind, w), calling + (key,))} import {w}" for w in callees]
        source = _ENV.get_template(f"kernel_module{variant}.py.j2").render(
            kind=kind, imports="\n".join(lines), body=text)
        name = module_name(source)
        kernel_modules.setdefault(name, source)
        module_of[key] = name
        return name

    for key in sorted(needed):
        emit(key)
    imports = {}  # module name -> functions the driver imports from it
    for (kind, fn), name in module_of.items():
        if owner[fn] == kind and fn in roots:
            imports.setdefault(name, []).append(fn)
    block = "".join(f"from {m} import (  # noqa: F401\n" + "".join(f"    {fn},\n" for fn in fns)
                    + ")\n" for m, fns in imports.items() if fns)
    return Rendered(tidy(driver.replace(placeholder + "\n", block, 1), kernels), kernel_modules,
                    native)


@dataclass(frozen=True)
class Rendered:
    """A model's generated code: the driver (entry points) and the kernel modules it imports."""

    driver: str
    kernels: dict  # module name -> source
    native: bool = True  # whether the entry points are compiled (else Python over kernels)
    one_blas: bool = False  # whether its calls run the BLAS on one thread (CpuTarget.render)

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


# ---- layout of the driver: what a reader sees ---------------------------------------------------

LINE_WIDTH = 100


_DEF = re.compile(r"^def (\w+)\(([^)]*)\):", re.M)
_NUMBER_ARG = re.compile(r"[(,] *(-?[0-9.]+|True|False)[,)]")


def _signatures(kernels):
    """Parameter names of every kernel function: {function name: [parameter names]}."""
    sigs = {}
    for fns in kernels.values():
        for fn, text in fns.items():
            m = _DEF.search(text)
            if m and "*" not in m.group(2):
                sigs[fn] = [p.split("=")[0].split(":")[0].strip()
                            for p in m.group(2).split(",") if p.strip()]
    return sigs


def _bare_number(node):
    """A number, or a tuple of numbers (the per-axis strides of a spatial kernel)."""
    if isinstance(node, ast.Tuple):
        return bool(node.elts) and all(_bare_number(e) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float))


def _name_numbers(line, signatures):
    """A kernel call with a bare number among its positional arguments passes it, and every
    argument after it, by keyword: `max_pool_forward(x, y, size=(1, 2, 2), ...)`, not
    `(x, y, (1, 2, 2), ...)`. Other lines are returned as they are."""
    code = line.strip()
    if not _NUMBER_ARG.search(code) or code.split("(", 1)[0] not in signatures:
        return line
    try:
        call = ast.parse(code).body[0].value
    except SyntaxError:  # a statement that goes on over several lines: left as it is
        return line
    params = signatures[call.func.id]
    first = next((k for k, a in enumerate(call.args) if _bare_number(a)), None)
    if first is None or len(call.args) > len(params) or \
            any(isinstance(a, ast.Starred) for a in call.args):
        return line
    text = [ast.get_source_segment(code, a) for a in call.args]
    args = text[:first] + [f"{p}={t}" for p, t in zip(params[first:], text[first:])]
    args += [ast.get_source_segment(code, k) for k in call.keywords]
    return line[:len(line) - len(line.lstrip())] + f"{call.func.id}({', '.join(args)})"


def _split_args(text):
    """Top-level comma-separated parts of an argument list."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _wrap(line):
    """A call statement longer than the line width, its arguments moved to continuation lines
    filled up to the width (a long comment or other statement is left as it is)."""
    indent = line[:len(line) - len(line.lstrip())]
    head, sep, rest = line.strip().partition("(")
    if len(line) <= LINE_WIDTH or not sep or not rest.endswith(")") or head.startswith("#") \
            or not all(c.isalnum() or c in "_., =" for c in head):
        return [line]
    out, current = [indent + head + "("], indent + "    "
    for arg in _split_args(rest[:-1]):
        piece = arg + ","
        if current.strip() and len(current) + 1 + len(piece) > LINE_WIDTH:
            out.append(current.rstrip())
            current = indent + "    "
        current += ("" if not current.strip() else " ") + piece
    out.append(current.rstrip()[:-1] + ")")
    return out


def _blank_lines(lines):
    """At most one blank line inside a function, two before a top-level statement (PEP 8)."""
    out, blanks = [], 0
    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        if out:
            out += [""] * min(blanks, 1 if line.startswith(" ") else 2)
        blanks = 0
        out.append(line)
    return out + [""]


def tidy(driver, kernels):
    """Name the numbers of kernel calls, wrap long lines, space as PEP 8 does."""
    signatures = _signatures(kernels)
    lines = [part for line in driver.split("\n")
             for part in _wrap(_name_numbers(line, signatures))]
    return "\n".join(_blank_lines(lines))
