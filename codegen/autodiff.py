"""Reverse-mode automatic differentiation over the IR.

The backward program visits the forward ops in reverse order and calls each op's backward
(its VJP, written beside its forward in the op's template). The plan decides, statically:

- which values carry a gradient: those on a path from a trainable param (or a requested input)
  to a loss;
- which ops need a backward at all: those with a gradient flowing into one of their outputs;
- where each input gradient goes. Every gradient buffer is written exactly once by its first
  contributor (in reverse order); later contributors, from fan-out or from a shared layer's
  other nodes, write a temporary that is then added in. No backward ever accumulates itself,
  so every template's backward simply overwrites its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Graph, Op, format_table, printable


@dataclass
class Grad:
    """Where one input's gradient is written by one backward step."""

    target: str  # variable the backward writes (the gradient buffer, or a temporary)
    of: str  # the value or param it is the gradient of
    fresh: bool  # True: `target` must be allocated before the call
    accumulate_into: str | None = None  # after the call: `accumulate_into += target`


@dataclass
class Step:
    op: Op
    dy: list  # per output: gradient variable, or None if no gradient flows into it
    zero_dy: list  # outputs whose gradient is None but the backward needs an array: zeros
    dx: list  # per input: Grad, or None when that input needs no gradient


@dataclass
class BackwardPlan:
    seeds: list  # (loss value, weight): d total / d loss value = weight / size
    steps: list
    param_grads: dict  # param name -> gradient variable (a view into the flat grads buffer)
    unreached_params: list  # trainable params no loss depends on: their gradient is zero
    input_grads: dict = field(default_factory=dict)  # input name -> gradient variable


def grad_name(name: str) -> str:
    return "g_" + name


def plan_backward(graph: Graph, losses, wrt_inputs=()) -> BackwardPlan:
    """`losses`: list of (value name, weight). `wrt_inputs`: graph inputs to differentiate."""
    trainable = {p.name for p in graph.params.values() if p.trainable}
    # Forward sweep: which values depend on something we differentiate with respect to.
    depends = set(trainable) | set(wrt_inputs)
    for op in graph.ops:
        if any(i in depends for i in op.inputs):
            depends.update(o for o in op.outputs if graph.values[o].is_float)

    # Backward sweep: which values' gradients are needed for the losses.
    has_grad = {name for name, _ in losses if name in depends}
    seeds = [(name, w) for name, w in losses if name in has_grad]
    steps = []
    written = set(has_grad)  # gradient buffers already holding a (first) contribution
    temp_count = {}
    for op in reversed(graph.ops):
        if not any(o in has_grad for o in op.outputs):
            continue
        dy = [grad_name(o) if o in has_grad else None for o in op.outputs]
        zero_dy = [o for o in op.outputs if o not in has_grad]
        dx = []
        for i in op.inputs:
            if i not in depends:
                dx.append(None)
                continue
            g = grad_name(i)
            if g not in written:
                written.add(g)
                # Param gradients are views into the flat grads buffer, declared up front.
                dx.append(Grad(target=g, of=i, fresh=i not in graph.params))
            else:
                k = temp_count.get(g, 0) + 1
                temp_count[g] = k
                # Value names all start with v_/x_/w_/s_, so a `t<k>_` prefix cannot collide.
                dx.append(Grad(target=f"t{k}_{g}", of=i, fresh=True, accumulate_into=g))
            has_grad.add(i)
        steps.append(Step(op, dy, zero_dy, dx))

    param_grads = {p: grad_name(p) for p in graph.params if p in trainable}
    unreached = [p for p in param_grads if grad_name(p) not in written]
    input_grads = {i: grad_name(i) for i in wrt_inputs}
    for i in wrt_inputs:
        if grad_name(i) not in written:
            unreached.append(i)
    return BackwardPlan(seeds, steps, param_grads, unreached, input_grads)


def plan_table(graph: Graph, plan: BackwardPlan) -> str:
    """The backward plan as a table (`fnjit dump --plan`), one row per step in the order the
    generated backward runs them: the forward op it differentiates (its index in `--ir`), the
    output gradients it reads (`zeros(v)`: an output no loss depends on, given zeros), the
    gradient buffers it writes (`t1_g_v (+= g_v)`: a later contribution, written to a temporary
    and added in) and the inputs it gives no gradient (nothing to differentiate there)."""
    index = {id(op): i for i, op in enumerate(graph.ops)}
    rows = [("step", "forward #", "op", "reads", "writes", "no gradient to", "from")]
    for k, step in enumerate(plan.steps):
        reads = [g for g in step.dy if g is not None] + [f"zeros({o})" for o in step.zero_dy]
        writes = [g.target if g.accumulate_into is None else
                  f"{g.target} (+= {g.accumulate_into})" for g in step.dx if g is not None]
        skipped = [i for i, g in zip(step.op.inputs, step.dx) if g is None]
        rows.append((str(k), str(index[id(step.op)]), step.op.kind, ", ".join(reads),
                     ", ".join(writes), ", ".join(skipped), printable(step.op.label)))
    seeds = ", ".join(f"{grad_name(v)} = {w} / size" for v, w in plan.seeds)
    head = [f"seeds:   {seeds}",
            "params:  " + ", ".join(f"{p} -> {g}" for p, g in plan.param_grads.items()),
            f"no gradient (no loss depends on them): {', '.join(plan.unreached_params) or '-'}",
            ""]
    return "\n".join(head + format_table(rows)) + "\n" + graph.legend("")
