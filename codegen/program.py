"""A compiled program: one graph rendered for a target, loaded, with its buffer layout.

The generated module has up to four entry points, each compiled on first use:

    predict(params, state, *xs) -> outputs
    predict_batches(params, state, *xs, batch) -> outputs over all samples, `batch` at a time
        (Keras' predict in one call: no Python between batches, no concatenation after)
    evaluate(params, state, *xs, *ys, *sws, logs) -> reported (inference losses and metrics)
    train_step(params, state, grads, slots, hyper, *xs, *ys, *sws, logs)
        -> (input gradients, reported)

(One fused training entry rather than gradients + update: each entry point costs a Numba
compile of its own, seconds; gradients alone are a train step with SGD at rate 0.)

On the CPU the entry points are tiered, as a JIT's methods are: each runs first as Python over
the compiled kernels (the same source, `NATIVE = False`), and is compiled native on its
FNJIT_NATIVE_AFTER-th call, or at once when its machine code is already in this process or the
disk cache. A driver's native compile costs more than its kernels' (measured on a loaded
machine, a small Conv2D model: about 50 of its 66 s of compiling were the drivers), and Python
entries cost microseconds per kernel call, so a model used for a few
steps (a test, `train_on_batch` in a notebook, a short evaluate) never pays for it, and a long
fit pays it once, early.

`params` is the flat buffer of trainable weights, `state` of non-trainable ones, `grads` has
the layout of `params`, `slots` one row per optimizer variable; `sws` are per-sample weights
(one array of n per sample-weight input); `logs` accumulates, as n * batch mean, the total loss
in logs[0] and then whatever values the caller asked to report.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import sys
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cache
from .autodiff import plan_backward
from .batching import predict_block
from .ir import Graph
from .memory import configure_malloc
from .render import render_module
from .threads import adapt_threads, configure_threads, num_threads
from .workers import first_call


class Target:
    """Where generated code runs. A target renders a graph to source and loads that source."""

    name = "abstract"

    def render(self, graph, **kw) -> str:
        raise NotImplementedError

    def load(self, rendered):
        """The loaded driver: called as `driver(entry, args) -> result`, with `module` (the
        driver module whose entries run now), `kernel_modules`, `native` (whether any entry
        runs native) and `loaded` (the driver modules it holds)."""
        raise NotImplementedError

    def pull(self, host):
        """Bring a host buffer up to date if this target holds a newer copy of it elsewhere
        (the CUDA target keeps gradients and optimizer slots on the device)."""


def _whole_number_setting(name, default) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {raw!r}")
    return value


def native_driver_budget() -> int:
    """How many distinct native drivers one process compiles (`FNJIT_NATIVE_DRIVERS`)."""
    return _whole_number_setting("FNJIT_NATIVE_DRIVERS", DEFAULT_NATIVE_DRIVERS)


def compile_workers():
    """How many worker processes compile an entry's kernels beside this one on its first call
    (`FNJIT_COMPILE_WORKERS`, 0: none), or None (unset): as many as the machine has idle cores
    then, at most 2 (codegen/workers.py)."""
    if os.environ.get("FNJIT_COMPILE_WORKERS") is None:
        return None
    return _whole_number_setting("FNJIT_COMPILE_WORKERS", 0)


def native_after() -> int:
    """How many calls an entry point runs as Python before it is compiled native
    (`FNJIT_NATIVE_AFTER`; 0: native from the first call)."""
    return _whole_number_setting("FNJIT_NATIVE_AFTER", DEFAULT_NATIVE_AFTER)


# Numba never frees what it compiled (LLVM's MCJIT keeps machine code, and a dispatcher once
# typed stays alive: numba#5976, #7831): every distinct native driver costs a process ~5-10 MB
# for good. Past a budget, new architectures get Python entry points over the shared native
# kernels, which compile nothing new, so a process that builds hundreds of models stays flat.
DEFAULT_NATIVE_DRIVERS = 32
# Measured with fit() on a loaded machine (load ~4, so relative only): a Python entry cost an
# MLP 784-64-64-10 nothing per step (412 vs 408 us), a small CNN 1.4 ms (5.2 vs 3.9 ms), an
# LSTM(32) over 20 steps 14 ms (15.7 vs 1.25 ms); a driver's native compile took seconds. Past
# 64 calls even the LSTM has lost under a second to the Python tier.
DEFAULT_NATIVE_AFTER = 64
_NATIVE_DRIVERS = set()  # names of the native driver modules this process has loaded
_WARNED = []


class CpuTarget(Target):
    """Numba's CPU backend, code cached on disk (see cache.py)."""

    name = "cpu"

    def render(self, graph, **kw):
        rendered = render_module(graph, module_name=cache.module_name, threads=num_threads(),
                                 **kw)
        # A convolution's tiles call the BLAS on small GEMMs, whose two threads synchronise at
        # every call: the guide CNN's step took 46-52 ms with two BLAS threads against 29-30
        # with one, where the recurrent models gained 1.1-1.2x (quiet, 2026-12-02).
        return dataclasses.replace(rendered,
                                   one_blas=any(op.kind == "conv" for op in graph.ops))

    def load(self, rendered):
        """Import the kernel modules, then the driver that imports them, tiered."""
        configure_threads()
        configure_malloc()
        kernels = cache.load_all(rendered.kernels.values())
        return TieredDriver(rendered.driver, kernels, rendered.native, rendered.one_blas)


class TieredDriver:
    """A CPU driver's entry points: each runs as Python over the compiled kernels until its
    FNJIT_NATIVE_AFTER-th call (or its machine code is in this process or the disk cache), then
    native while this process is within its budget of compiled drivers (FNJIT_NATIVE_DRIVERS).
    The setting is read and the native module's name (a hash of the source) computed once, at
    load, not on every call of the Python tier."""

    def __init__(self, source, kernel_modules, may_go_native, one_blas=False):
        self.source = source
        self.one_blas = one_blas  # its calls run the BLAS on one thread (CpuTarget.render)
        self.native_name = cache.module_name(source)
        self.native_after = native_after()
        self.workers = compile_workers()
        self.kernel_modules = kernel_modules
        self.python = cache.load(source, native=False)
        self.compiled = None  # the native module, once an entry went native
        self.may_go_native = may_go_native
        self.calls = collections.Counter()
        self.native_entries = set()
        self.python_called = set()  # entries that ran in the Python tier at least once
        self.loaded = [self.python]  # the driver modules this program holds (cache.acquire)

    @property
    def module(self):
        """The driver module serving the entry points that went native, else the Python one."""
        return self.compiled if self.native_entries else self.python

    @property
    def native(self):
        return bool(self.native_entries)

    def __call__(self, entry, args, calls=1):
        """Run `entry`; `calls`: how many calls of the Python tier this one counts as (a
        predict over k batches, k)."""
        if entry not in self.native_entries and self.may_go_native:
            first = entry not in self.calls
            self.calls[entry] += calls
            due = self.calls[entry] > self.native_after or first and self._compiled_already(entry)
            if due and _within_budget(self.native_name):
                if self.compiled is None:
                    self.compiled = cache.load(self.source)
                    self.loaded.append(self.compiled)
                    cache.acquire(self.compiled)
                self.native_entries.add(entry)
        module = self.compiled if entry in self.native_entries else self.python
        adapt_threads(self.one_blas)
        if module is self.python and entry not in self.python_called:
            self.python_called.add(entry)  # its kernels compile now: workers help
            return first_call(module, entry, args, self.workers)
        return getattr(module, entry)(*args)

    def _compiled_already(self, entry):
        """Whether `entry`'s machine code is in this process (another model of the same
        architecture ran it native) or in the disk cache."""
        loaded = sys.modules.get(self.native_name)
        if loaded is not None and getattr(loaded, entry).signatures:
            return True
        return cache.has_compiled(Path(self.python.__file__), entry)


def _release(modules):
    for module in modules:
        cache.release(module.__name__)


def _within_budget(name):
    if name in _NATIVE_DRIVERS:
        return True
    if len(_NATIVE_DRIVERS) < native_driver_budget():
        _NATIVE_DRIVERS.add(name)
        return True
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn(
            f"fnjit: this process has compiled {len(_NATIVE_DRIVERS)} model drivers, which "
            "Numba never frees; further new models run Python entry points over the compiled "
            "kernels (same code and numbers, a few microseconds more per layer and step). "
            "FNJIT_NATIVE_DRIVERS raises the limit.", RuntimeWarning, stacklevel=5)
    return False


TARGETS = {"cpu": CpuTarget()}  # "cuda" joins on first use (it imports numba.cuda)
TARGET_NAMES = ("cpu", "cuda")


def pull_to_host(host):
    """Bring a host buffer (gradients, optimizer slots) up to date with whatever copy a loaded
    target holds: call before reading one on the host."""
    for target in TARGETS.values():
        target.pull(host)


def get_target(name):
    """The target called `name`; ValueError for an unknown one."""
    if name not in TARGET_NAMES:
        raise ValueError(f"unknown target {name!r}; choose one of {list(TARGET_NAMES)}")
    if name not in TARGETS:
        from .cuda_target import CudaTarget
        TARGETS[name] = CudaTarget()
    return TARGETS[name]


def default_target():
    """The target a model compiles for unless compile(target=...) says: FNJIT_TARGET, or cpu."""
    name = os.environ.get("FNJIT_TARGET", "cpu")
    if name not in TARGET_NAMES:
        raise ValueError(f"FNJIT_TARGET={name!r} names no target; choose one of "
                         f"{list(TARGET_NAMES)}")
    return name


@dataclass(frozen=True)
class Update:
    """How a train step updates the params after the backward pass (templates/optimizers.j2):
    gradients clipped (`clip`: "norm" per param, "global_norm", "value", or None; threshold
    hyper[0]), the `decayed` params shrunk (w -= w * hyper[1]), then the rule `kernel`
    (its scalars hyper[2:])."""

    kernel: str = "sgd"
    clip: str | None = None
    decayed: tuple = ()  # names of the params that weight decay applies to


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
    def __init__(self, graph: Graph, *, model_inputs, targets=(), losses=(), logs=(),
                 sample_weights=(), penalties=(), constraints=(), optimizer=Update(),
                 wrt_inputs=(), header="", about="", target="cpu", report=()):
        """`losses`: (value, weight) or (value, weight, sample weight input) triples; the sum
        over losses of weight * sum_i sw_i * (mean loss of sample i) / n, plus the
        `penalties` ((value, weight) pairs: regularization, not weighted per sample), is what
        training minimises (Keras' sum_over_batch_size), reported in logs[0]. `logs`: more
        entries to report, each a list of such terms (a term whose value is None sums the
        sample weights). `sample_weights`: the graph inputs holding per-sample weights, in call
        order. `constraints`: (param name, attrs) projections applied after each update
        (templates/constraint.j2). `optimizer`: the `Update` the train step ends with
        (templates/optimizers.j2). `header`: comment lines opening the driver (no user names:
        the compiled text depends on the architecture only); `about`: what the legend of
        `source` says the program is (it may hold names). `report`: values evaluate and
        train_step return besides (the predictions stateful metrics accumulate)."""
        self.graph = graph
        self.model_inputs = list(model_inputs)  # value names, in the entry points' order
        self.targets = list(targets)
        self.target = get_target(target)
        self.slots, self.params_size, self.state_size = layout(graph)
        losses = [tuple(t) + (None,) * (3 - len(t)) for t in losses]
        minimised = losses + [(v, w, None) for v, w in penalties]
        logs = ([minimised] if minimised else []) + [list(terms) for terms in logs]
        plan = plan_backward(graph, [(v, w) for v, w, _ in minimised], wrt_inputs) \
            if losses else None
        self.plan = plan  # for reading: `fnjit dump --plan` (plan_table)
        self.sample_weights = list(sample_weights)
        self.rendered = self.target.render(
            graph, model_inputs=list(model_inputs), targets=list(targets), logs=logs, plan=plan,
            optimizer=optimizer, header=header, sample_weights=self.sample_weights,
            seed_weights={v: sw for v, _, sw in losses if sw is not None},
            constraints=list(constraints), report=list(report))
        # For reading: the legend (the user's names, never compiled), then the code.
        self.source = graph.legend(about) + self.rendered.text()
        self.driver = self.target.load(self.rendered)
        # The driver modules stay loaded while this program lives (see cache.release).
        for module in self.driver.loaded:
            cache.acquire(module)
        weakref.finalize(self, _release, self.driver.loaded)
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

    @property
    def module(self):
        """The driver module whose entry points run now."""
        return self.driver.module

    @property
    def kernel_modules(self):
        return self.driver.kernel_modules

    @property
    def native(self):
        """Whether any entry point of this program runs native."""
        return self.driver.native

    def _call(self, entry, *args, calls=1):
        result = self.driver(entry, args, calls) if calls != 1 else self.driver(entry, args)
        tier = (entry, self.driver.native)
        if tier not in self._recorded:  # first call compiled (or loaded) it: vouch for it
            self._recorded.add(tier)
            cache.record_compiled([Path(mod.__file__) for mod in [self.module]
                                   + self.kernel_modules])
        return result

    def predict(self, params, state, xs):
        self.check_indices(xs)
        return self._call("predict", params, state, *xs)

    def default_predict_block(self, batch):
        """Samples per native block of a predict given no batch size, whose Keras default is
        `batch` (codegen/batching.py); the graph is fixed, so it is worked out once."""
        blocks = self.__dict__.setdefault("_predict_blocks", {})
        if batch not in blocks:
            blocks[batch] = predict_block(self.graph, batch)
        return blocks[batch]

    def predict_batches(self, params, state, xs, batch):
        """The outputs over all samples of `xs`, computed `batch` samples at a time, in one
        call of the driver when it has the entry (else one call per batch)."""
        self.check_indices(xs)
        n = len(xs[0])
        if not hasattr(self.module, "predict_batches"):
            chunks = [self._call("predict", params, state, *(x[b0:b0 + batch] for x in xs))
                      for b0 in range(0, n, batch)]
            return tuple(np.concatenate([c[k] for c in chunks]) for k in range(len(chunks[0])))
        return self._call("predict_batches", params, state, *xs, batch,
                          calls=max(1, -(-n // batch)))

    def _weights(self, sws, xs, dtype):
        """The per-sample weights given, or ones: one array of n per sample-weight input."""
        if sws is None:
            n = len(xs[0]) if xs else 0
            return [np.ones(n, dtype)] * len(self.sample_weights)
        if len(sws) != len(self.sample_weights):
            raise ValueError(f"{len(self.sample_weights)} sample weight arrays expected, "
                             f"got {len(sws)}")
        return list(sws)

    def evaluate(self, params, state, xs, ys, logs, sws=None):
        """Returns the `report` values."""
        self.check_indices(xs)
        return self._call("evaluate", params, state, *xs, *ys,
                          *self._weights(sws, xs, params.dtype), logs)

    def train_step(self, params, state, grads, slots, hyper, xs, ys, logs, sws=None):
        """Returns (the gradients of the `wrt_inputs`, the `report` values)."""
        self.check_indices(xs)
        return self._call("train_step", params, state, grads, slots, hyper, *xs, *ys,
                          *self._weights(sws, xs, params.dtype), logs)

    def gradients(self, params, state, grads, xs, ys, logs, sws=None):
        """Gradients without changing the params: a train step of SGD with rate 0."""
        if self.optimizer != Update():
            raise ValueError("gradients() needs a program compiled with plain SGD (Update())")
        zero = np.zeros((1, max(params.size, 1)), params.dtype)
        result = self.train_step(params, state, grads, zero, np.zeros(4, params.dtype), xs, ys,
                                 logs, sws)[0]
        self.target.pull(grads)
        return result
