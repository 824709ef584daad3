"""A compiled program: one graph rendered for a target, loaded, with its buffer layout.

The generated module has up to three entry points, all native, each compiled on first use:

    predict(params, state, *xs) -> outputs
    evaluate(params, state, *xs, *ys, logs)                  (inference losses and metrics)
    train_step(params, state, grads, slots, hyper, *xs, *ys, logs) -> input gradients

(One fused training entry rather than gradients + update: each entry point costs a Numba
compile of its own, about a second; gradients alone are a train step with SGD at rate 0.)

`params` is the flat buffer of trainable weights, `state` of non-trainable ones, `grads` has
the layout of `params`, `slots` one row per optimizer variable; `logs` accumulates losses and
metrics as n * batch mean.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cache
from .autodiff import plan_backward
from .ir import Graph
from .render import render_module
from .threads import configure_blas


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
        return render_module(graph, module_name=cache.module_name, **kw)

    def load(self, rendered):
        """Import the kernel modules, then the driver that imports them."""
        configure_blas()
        kernels = [cache.load(source) for source in rendered.kernels.values()]
        return cache.load(rendered.driver), kernels


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
                 optimizer="sgd", wrt_inputs=(), header="", target="cpu"):
        """`losses`: (value, weight) pairs; their weighted sum is what training minimises.
        `metrics`: values reported as batch means. `optimizer`: an optimizer kernel name
        (templates/optimizers.j2)."""
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; choose one of {sorted(TARGETS)}")
        self.graph = graph
        self.model_inputs = list(model_inputs)  # value names, in the entry points' order
        self.targets = list(targets)
        self.target = TARGETS[target]
        self.slots, self.params_size, self.state_size = layout(graph)
        logs = list(losses) + [(m, 1.0) for m in metrics]
        plan = plan_backward(graph, list(losses), wrt_inputs) if losses else None
        self.rendered = self.target.render(
            graph, model_inputs=list(model_inputs), targets=list(targets), logs=logs, plan=plan,
            optimizer=optimizer, header=header)
        self.source = self.rendered.text()
        self.module, self.kernel_modules = self.target.load(self.rendered)
        # The driver module stays loaded while this program lives (see cache.release).
        cache.acquire(self.module)
        weakref.finalize(self, cache.release, self.module.__name__)
        self.n_logs = len(logs)
        self.optimizer = optimizer
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
            for mod in [self.module] + self.kernel_modules:
                cache.record_compiled(Path(mod.__file__))
        return result

    def predict(self, params, state, xs):
        self.check_indices(xs)
        return self._call("predict", params, state, *xs)

    def evaluate(self, params, state, xs, ys, logs):
        self.check_indices(xs)
        self._call("evaluate", params, state, *xs, *ys, logs)

    def train_step(self, params, state, grads, slots, hyper, xs, ys, logs):
        """Returns the gradients of the `wrt_inputs`."""
        self.check_indices(xs)
        return self._call("train_step", params, state, grads, slots, hyper, *xs, *ys, logs)

    def gradients(self, params, state, grads, xs, ys, logs):
        """Gradients without changing the params: a train step of SGD with rate 0."""
        if self.optimizer != "sgd":
            raise ValueError("gradients() needs a program compiled with optimizer='sgd'")
        zero = np.zeros((1, max(params.size, 1)), params.dtype)
        return self.train_step(params, state, grads, zero, np.zeros(2, params.dtype), xs, ys,
                               logs)
