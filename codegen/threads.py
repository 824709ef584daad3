"""How many threads generated code may use: its own parallel loops and the BLAS it calls.

FNJIT_NUM_THREADS is the number of threads of the kernels whose outer loop splits into
independent blocks of work large enough to pay for a parallel region (20-40 us each, measured):
the convolutions (blocks of samples), pooling (samples) and the recurrent time loops (blocks of
batch rows). With 1 those kernels are rendered with plain loops under `@jit`, exactly as every
other kernel; with n > 1 they are rendered with `numba.prange` and `parallel=True` (another text,
so another compiled copy in the cache), and Numba runs them on up to n threads.

The default is 1. `FNJIT_NUM_THREADS=auto` renders the kernels for every core this process
may run on and lets the threads used follow the machine's load (`adapt_threads`, at most every
half second): as many as the cores other processes leave idle, at least one. Measured on the
2-core machine (2026-12-02, CNN train step, wall time): quiet, two threads took 31 ms against
50 ms for one; with one other busy process, a fixed two took 48-55 ms against 42-44 ms for one
(the thread sharing its core with the other process holds up the whole parallel region), and
`auto` 36-43 ms against 35-42 ms. It is not the default because the quiet benchmark of the same
day (bench/bench_guides.py) found it slower on the recurrent models (headline 8.6 against 6.2
ms, the LSTM 0.92 against 0.66 ms) and its gain on the CNN inconsistent (1.12x), and because
Numba's parallel compile doubles a convolution model's cold start. Numba's threading layer is
its workqueue (threads that sleep between regions) unless NUMBA_THREADING_LAYER chooses
another: OpenMP's threads spin after a region, taking a core another process wanted.

Numba's `np.dot` calls the OpenBLAS that scipy ships (numpy has its own copy). Its default of
one thread per core made small GEMMs (batch 32 x 784 x 64) 8x slower on a busy 2-core machine:
a worker thread that is not scheduled stalls every call (0.47 ms per MLP step with 1 thread
against 3.9 ms with 2 while other processes ran), and BLAS threads inside the parallel kernels
compete with their own threads (the CNN step at FNJIT_NUM_THREADS=2 was no faster with two BLAS
threads than at one thread). So the BLAS threads follow the load by default (FNJIT_BLAS_THREADS
unset or `auto`): the cores idle at the first call (a /proc/loadavg snapshot), then as many as
other processes leave idle (a LoadFollower of its own), and one thread for a program with a
convolution, whose tiles call the BLAS on small GEMMs (quiet, 2026-12-02, train step wall:
headline 4.2-4.8 ms against 5.1-5.6 with one thread, siamese 21-23 against 23-27, the CNN
46-52 against 29-30 before it was kept to one; with one other busy process the headline
took 6.4-6.6 against 5.9-6.2). A number fixes the count. numpy's own BLAS is left alone.
"""

from __future__ import annotations

import os
import time

_DONE = False
ADAPT_EVERY = 0.5  # seconds between two looks at the machine's load


def _count_setting(name, default, also=""):
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be {also}a whole number >= 1, got {raw!r}")
    return value


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def idle_cores() -> int:
    """The usable cores less the processes running now (this one included; /proc/loadavg's
    count of runnable ones, a snapshot); 0 where it cannot be read."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, usable_cores() - running)


def follows_load() -> bool:
    """Whether the thread count follows the machine's load (FNJIT_NUM_THREADS=auto)."""
    return os.environ.get("FNJIT_NUM_THREADS", "").strip().lower() == "auto"


def num_threads() -> int:
    """Threads the parallel kernels are rendered for: FNJIT_NUM_THREADS (default 1), or with
    `auto` the usable cores (within the threads Numba starts, NUMBA_NUM_THREADS). ValueError
    for a setting that is neither `auto` nor a whole number >= 1, or above the threads Numba
    started with."""
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    if follows_load():
        return max(1, min(usable_cores(), most))
    n = _count_setting("FNJIT_NUM_THREADS", 1, also="`auto` or ")
    if n > most:
        raise ValueError(f"FNJIT_NUM_THREADS={n} is more than the {most} threads Numba has "
                         "(NUMBA_NUM_THREADS, by default the number of cores)")
    return n


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_seconds():
    """CPU seconds the whole machine has been busy (every core, every process) from
    /proc/stat; None where there is none (the thread count then stays as rendered)."""
    try:
        with open("/proc/stat") as f:
            # user nice system idle iowait irq softirq steal: the guest times after them are
            # already inside user and nice, so summing them too counted a host's guests twice.
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks) - idle) / _TICK



class LoadFollower:
    """Chooses the threads of the parallel kernels from the machine's load: at each look, the
    cores that other processes kept busy since the last one (the machine's busy time less
    this process's CPU time, over the wall time between) are taken from the usable cores,
    within 1 and the rendered count. The clocks are arguments so that a test can drive it."""

    def __init__(self, most, cores, machine=machine_busy_seconds, own=time.process_time,
                 clock=time.monotonic, start=None):
        self.most, self.cores = most, cores
        self.machine, self.own, self.clock = machine, own, clock
        self.threads = most if start is None else start
        self.last = None  # (wall, machine busy seconds, own CPU seconds) at the last look

    def look(self):
        busy = self.machine()
        if busy is None:
            return self.threads
        sample = (self.clock(), busy, self.own())
        if self.last is not None and sample[0] > self.last[0]:
            wall = sample[0] - self.last[0]
            others = ((sample[1] - self.last[1]) - (sample[2] - self.last[2])) / wall
            idle = self.cores - max(0.0, others)
            self.threads = max(1, min(self.most, int(idle + 0.5)))
        self.last = sample
        return self.threads


_FOLLOWERS = []  # (LoadFollower, the function that applies its count, or None) per `auto`
_NEXT_LOOK = [0.0]


class BlasThreads:
    """scipy's OpenBLAS threads under FNJIT_BLAS_THREADS=auto: the follower's count, or one for
    a program that asks for one; set only when it changes (threadpoolctl's call costs us)."""

    def __init__(self, lib, follower):
        self.lib, self.follower, self.now = lib, follower, None

    def use(self, one):
        n = 1 if one else self.follower.threads
        if n != self.now:
            self.lib.set_num_threads(n)
            self.now = n


_BLAS = []  # the BlasThreads when the BLAS threads follow the load


def adapt_threads(one_blas=False):
    """Before a native call: the threads for now of each setting that follows the load (see the
    module's docstring), and one BLAS thread for a program that asks (`one_blas`, measured
    slower with two: TieredDriver.one_blas, set by CpuTarget.render). Costs a clock read
    between two looks."""
    if _FOLLOWERS:
        now = time.monotonic()
        if now >= _NEXT_LOOK[0]:
            _NEXT_LOOK[0] = now + ADAPT_EVERY
            for follower, apply in _FOLLOWERS:
                before = follower.threads
                if follower.look() != before and apply is not None:
                    apply(follower.threads)
    if _BLAS:
        _BLAS[0].use(one_blas)


def blas_follows_load() -> bool:
    """Whether the BLAS threads follow the machine's load: FNJIT_BLAS_THREADS unset (the
    default) or `auto`."""
    return os.environ.get("FNJIT_BLAS_THREADS", "auto").strip().lower() == "auto"


def blas_threads() -> int:
    """The most BLAS threads: FNJIT_BLAS_THREADS, or by default (`auto`) the usable cores.
    ValueError for anything else than `auto` or a whole number >= 1."""
    if blas_follows_load():
        return usable_cores()
    return _count_setting("FNJIT_BLAS_THREADS", 1, also="`auto` or ")


def configure_threads():
    """Once per process, before the first native call: the parallel kernels' thread count
    (FNJIT_NUM_THREADS) and scipy's OpenBLAS thread count (FNJIT_BLAS_THREADS)."""
    global _DONE
    if _DONE:
        return
    threads = num_threads()
    blas = blas_threads()
    _DONE = True
    if threads > 1:
        import numba

        if "NUMBA_THREADING_LAYER" not in os.environ:
            numba.config.THREADING_LAYER = "workqueue"
        numba.set_num_threads(threads)
        if follows_load():
            _FOLLOWERS.append((LoadFollower(threads, usable_cores()), numba.set_num_threads))
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library Numba will call)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    for lib in ThreadpoolController().lib_controllers:
        if lib.user_api == "blas" and "scipy" in os.path.basename(os.path.dirname(lib.filepath)):
            if blas_follows_load() and blas > 1:
                # Until the first look, the threads of the cores idle now (a snapshot): a busy
                # machine does not pay for a second thread it does not have (a stalled small
                # GEMM, above), a quiet one gains from the first call.
                follower = LoadFollower(blas, usable_cores(), start=min(blas, 1 + idle_cores()))
                _FOLLOWERS.append((follower, None))
                _BLAS.append(BlasThreads(lib, follower))
                _BLAS[0].use(False)
            else:
                lib.set_num_threads(blas)
