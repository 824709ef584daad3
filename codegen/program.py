"""A compiled program: one graph rendered for a target, loaded, with its buffer layout.

The generated module has up to four entry points, all native:

    predict(params, state, *xs) -> outputs
    evaluate(params, state, *xs, *ys, logs)                  (inference losses and metrics)
    gradients(params, state, grads, *xs, *ys, logs) -> input gradients
    train_step(params, state, grads, slots, hyper, *xs, *ys, logs)

`params` is the flat buffer of trainable weights, `state` of non-trainable ones, `grads` has
the layout of `params`, `slots` one row per optimizer variable; `logs` accumulates losses and
metrics as n * batch mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cache
from .autodiff import plan_backward
from .ir import Graph
from .render import render_module


class Target:
    """Where generated code runs. A target renders a graph to source and loads that source."""

    name = "abstract"

    def render(self, graph, **kw) -> str:
        raise NotImplementedError

    def load(self, source):
        raise NotImplementedError


class CpuTarget(Target):
    """Numba's CPU backend, code cached on disk (see cache.py)."""

    name = "cpu"

    def render(self, graph, **kw):
        return render_module(graph, **kw)

    def load(self, source):
        return cache.load(source)


TARGETS = {"cpu": CpuTarget()}


@dataclass(frozen=True)
class Slot:
    """Where one param lives in its flat buffer."""

    name: str
    origin: str
    shape: tuple
    start: int
    stop: int
    trainable: bool


def layout(graph: Graph):
    slots, sizes = [], {True: 0, False: 0}
    for p in graph.params.values():
        start = sizes[p.trainable]
        sizes[p.trainable] += p.size
        slots.append(Slot(p.name, p.origin, p.shape, start, sizes[p.trainable], p.trainable))
    return slots, sizes[True], sizes[False]


class Program:
    def __init__(self, graph: Graph, *, model_inputs, targets=(), losses=(), metrics=(),
                 optimizer=None, wrt_inputs=(), header="", target="cpu"):
        """`losses`: (value, weight) pairs; their weighted sum is what training minimises.
        `metrics`: values reported as batch means. `optimizer`: an optimizer kernel name."""
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; choose one of {sorted(TARGETS)}")
        self.graph = graph
        self.target = TARGETS[target]
        self.slots, self.params_size, self.state_size = layout(graph)
        logs = list(losses) + [(m, 1.0) for m in metrics]
        plan = plan_backward(graph, list(losses), wrt_inputs) if losses else None
        self.source = self.target.render(
            graph, model_inputs=list(model_inputs), targets=list(targets), logs=logs, plan=plan,
            optimizer=optimizer, header=header)
        self.module = self.target.load(self.source)
        self.n_logs = len(logs)
        self._recorded = set()
        self._index_checks = [(list(model_inputs).index(b.input), b) for b in graph.index_inputs]

    def check_indices(self, xs):
        """Native code does no bounds checks: every index input must hold integers in
        [0, size) before it runs. Raises ValueError naming the layer and the bad value."""
        for pos, bound in self._index_checks:
            x = xs[pos]
            if x.size == 0:
                continue
            if x.dtype.kind in "iu":
                bad = (x < 0) | (x >= bound.size)
            else:
                bad = ~np.isfinite(x) | (x != np.floor(x)) | (x < 0) | (x >= bound.size)
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                value = x[where].item()
                raise ValueError(f"{bound.origin}: index {value!r} at position {where} of its "
                                 f"input is out of range; indices must be integers in "
                                 f"[0, {bound.size}) (input_dim={bound.size})")

    def _call(self, entry, *args):
        fn = getattr(self.module, entry)
        result = fn(*args)
        if entry not in self._recorded:  # first call compiled (or loaded) it: vouch for it
            self._recorded.add(entry)
            cache.record_compiled(Path(self.module.__file__))
        return result

    def predict(self, params, state, xs):
        self.check_indices(xs)
        return self._call("predict", params, state, *xs)

    def evaluate(self, params, state, xs, ys, logs):
        self.check_indices(xs)
        self._call("evaluate", params, state, *xs, *ys, logs)

    def gradients(self, params, state, grads, xs, ys, logs):
        self.check_indices(xs)
        return self._call("gradients", params, state, grads, *xs, *ys, logs)

    def train_step(self, params, state, grads, slots, hyper, xs, ys, logs):
        self.check_indices(xs)
        self._call("train_step", params, state, grads, slots, hyper, *xs, *ys, logs)
