"""A first call's kernels compiled in worker processes as well as in this one.

A cold entry point (codegen/program.py, Python tier) calls its kernels one after another, and
each call compiles one (Numba, 0.1-2 s each: the whole of a cold first step but imports). So
before that first call:

1. a dry run of the entry's Python tier, over copies of its arguments, with every kernel
   replaced by a stub that records the argument types it is called with, lists the kernels in
   call order with the signature each will compile for (the driver allocates every buffer it
   passes, so the types are known without computing anything; a value a stub would have
   returned is unknown, and a call that depends on one is simply not listed);
2. the kernels not compiled yet (neither in this process nor on disk) are shared with a few
   worker processes forked from this one (they inherit its loaded modules and Numba's warmed
   state, so they import nothing): this process takes them from the front, in the order it
   calls them, the workers from the back, each claiming one at a time in a shared table;
3. the real call then runs; at a kernel a worker claimed, it waits for that worker and Numba
   loads the machine code the worker wrote to the disk cache (Numba writes each cache file
   under a temporary name and renames it: no reader sees half of one). A worker that fails or
   dies leaves its kernel to this process, which compiles it as it would have anyway.

The numbers are those of the one-process compile: the same source compiled by the same Numba.
The pool is bounded (FNJIT_COMPILE_WORKERS; by default the cores idle at that moment, at most
2: on a busy machine a worker only competes with this process, and costs more CPU time, since
both compile the helpers and Numba internals they share) and shut down when the call returns.
Fork is used (not spawn: a spawned worker would import numba again, and the user's main script
with it).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher
from numba.core.registry import cpu_target

from . import cache
from .threads import idle_cores

MOST_WORKERS = 2
WAIT_SECONDS = 600.0  # a worker compiling one kernel longer than this is taken as hung
FREE, MINE, DONE, FAILED = 0, 1, 2, 3  # kernel states; a worker's claim is CLAIMED + its number
CLAIMED = 10


def idle_workers() -> int:
    """Workers the machine has room for now: its idle cores (threads.idle_cores), at most
    MOST_WORKERS."""
    return min(MOST_WORKERS, idle_cores())


def first_call(module, entry, args, workers=None):
    """`module.entry(*args)`, its kernels compiled by this process and up to `workers` forked
    ones (None: `idle_workers()`; see the module's docstring)."""
    # Forked only where fork exists, and from a process whose one thread is this one: another
    # thread could hold a lock the worker needs (and the fork would copy it held).
    alone = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    if workers is None:
        workers = idle_workers()
    jobs = uncompiled(kernel_calls(module, entry, args)) if workers and alone else []
    if len(jobs) < 2:
        return getattr(module, entry)(*args)
    with Pool(jobs, min(workers, len(jobs) - 1)) as pool:
        return _namespace(module, pool.gate)[entry](*args)


def _namespace(module, wrap):
    """The Python tier of a driver module executed afresh, each kernel it calls wrapped by
    `wrap(dispatcher)`; the module itself is left as it is."""
    path = Path(module.__file__)
    ns = {"__name__": module.__name__ + "_ahead", "__file__": str(path), "NATIVE": False}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    for name, value in list(ns.items()):
        if isinstance(value, Dispatcher):
            ns[name] = wrap(value)
    return ns


def kernel_calls(module, entry, args):
    """The (dispatcher, argument types) of the kernels `module.entry(*args)` calls, in call
    order, each pair once: from a dry run (see the module's docstring)."""
    calls = []

    def record(dispatcher):
        def stub(*a, **kw):
            try:
                types = tuple(dispatcher.typeof_pyval(v) for v in a)
                kwtypes = {k: dispatcher.typeof_pyval(v) for k, v in kw.items()}
                calls.append((dispatcher, dispatcher._compiler.fold_argument_types(
                    types, kwtypes)[1]))
            except Exception:  # an argument computed from an unknown result
                pass
            return _UNKNOWN
        return stub

    if entry == "predict_batches":  # it calls predict on each batch: one batch tells all
        params, state, *xs, batch = args
        entry, args = "predict", (params, state, *(x[:batch] for x in xs))
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    # The driver's own numpy lines then run over buffers no kernel filled: whatever they hold
    # may overflow, which is no news to the user.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _namespace(module, record)[entry](*copies)
        except Exception:  # the driver used an unknown result: what was recorded still holds
            pass
    seen, out = set(), []
    for d, sig in calls:
        if (id(d), sig) not in seen:
            seen.add((id(d), sig))
            out.append((d, sig))
    return out


def uncompiled(calls, listing=None):
    """The calls whose kernel is compiled neither in this process nor on disk."""
    listing = listing or cache._Listing()  # the cache's folder listed once for all
    return [(d, sig) for d, sig in calls
            if sig not in d.overloads and not _on_disk(d, listing)]


def _on_disk(dispatcher, listing):
    path = getattr(sys.modules.get(dispatcher.py_func.__module__), "__file__", None)
    return bool(path) and cache.has_compiled(Path(path), dispatcher.py_func.__name__, listing)


class _Unknown:
    """What a stub of the dry run returns: absorbs arithmetic, reads as 0."""

    def _same(self, *_):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __truediv__ = __rtruediv__ = __neg__ = __getitem__ = __call__ = _same

    def __float__(self):
        return 0.0

    def __int__(self):
        return 0

    def __bool__(self):  # a kernel's test in the driver (rnn_sparse_input): the common branch
        return False

    __index__ = __int__


_UNKNOWN = _Unknown()


class Pool:
    """Worker processes sharing `jobs` ((dispatcher, argument types) in call order) with this
    one through a table of states; `gate(dispatcher)` wraps a kernel so that calling it waits
    for the worker that claimed it."""

    def __init__(self, jobs, workers):
        ctx = multiprocessing.get_context("fork")
        self.jobs = jobs
        self.index = {(id(d), sig): i for i, (d, sig) in enumerate(jobs)}
        self.state = ctx.RawArray("b", len(jobs))
        self.lock = ctx.Lock()
        self.procs = [ctx.Process(target=_work, args=(jobs, self.state, self.lock, k),
                                  daemon=True) for k in range(workers)]

    def __enter__(self):
        # Numba's typing and lowering tables, filled on a process's first compile (0.4 s):
        # filled once here, where the workers inherit them, not once in each process.
        cpu_target.typing_context.refresh()
        cpu_target.target_context.refresh()
        started = []
        try:
            with global_compiler_lock:  # held by no other thread while forking
                for p in self.procs:
                    p.start()
                    started.append(p)
        except Exception:  # e.g. a daemonic process may not have children: compile alone
            self._claim_all()
        self.procs = started
        return self

    def __exit__(self, *exc):
        """No more claims; each worker finishes the kernel it compiles (a killed one could
        leave only a temporary file), then exits; one hung past WAIT_SECONDS is killed."""
        self._claim_all()
        deadline = time.monotonic() + WAIT_SECONDS
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()

    def _claim_all(self):
        if self.lock.acquire(timeout=WAIT_SECONDS):
            try:
                for i in range(len(self.jobs)):
                    if self.state[i] == FREE:
                        self.state[i] = MINE
            finally:
                self.lock.release()

    def gate(self, dispatcher):
        def call(*a, **kw):
            self.before(dispatcher, a, kw)
            return dispatcher(*a, **kw)
        return call

    def before(self, dispatcher, a, kw):
        """Claim this call's kernel for this process, or wait for the worker that has it."""
        try:
            types = tuple(dispatcher.typeof_pyval(v) for v in a)
            kwtypes = {k: dispatcher.typeof_pyval(v) for k, v in kw.items()}
            sig = dispatcher._compiler.fold_argument_types(types, kwtypes)[1]
        except Exception:
            return  # Numba's own call raises the clear error
        i = self.index.get((id(dispatcher), sig))
        if i is None or not self.lock.acquire(timeout=WAIT_SECONDS):
            return
        try:
            state = self.state[i]
            if state == FREE:
                self.state[i] = MINE
        finally:
            self.lock.release()
        if state < CLAIMED:
            return
        worker = self.procs[state - CLAIMED]
        deadline = time.monotonic() + WAIT_SECONDS
        while self.state[i] >= CLAIMED and worker.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)


def _work(jobs, state, lock, number):
    """A worker: compile the last kernel nobody has claimed, until none is left."""
    while True:
        with lock:
            free = [i for i in range(len(jobs)) if state[i] == FREE]
            if not free:
                return
            i = free[-1]
            state[i] = CLAIMED + number
        dispatcher, sig = jobs[i]
        try:
            dispatcher.compile(sig)
            state[i] = DONE
        except Exception:
            state[i] = FAILED
