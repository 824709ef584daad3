"""How many threads generated code may use: its own parallel loops and the BLAS it calls.

FNJIT_NUM_THREADS (default 1) is the number of threads of the kernels whose outer loop splits
into independent blocks of work large enough to pay for a parallel region (20-40 us each,
measured): the convolutions (blocks of samples) and pooling (samples). With 1 those kernels
are rendered with plain loops under `@jit`, exactly as every other kernel; with n > 1 they are
rendered with `numba.prange` and `parallel=True` (another text, so another compiled copy in
the cache), and Numba runs them on n threads. The default stays 1: on a busy 2-core machine a
second thread that is not scheduled stalls the kernel waiting on it, and Numba's parallel
compile takes longer. Numba's threading layer is its workqueue (threads that sleep between
regions) unless NUMBA_THREADING_LAYER chooses another: OpenMP's threads spin after a region,
taking a core another process wanted.

Numba's `np.dot` calls the OpenBLAS that scipy ships (numpy has its own copy). Its default of
one thread per core made small GEMMs (batch 32 x 784 x 64) 8x slower on a busy 2-core machine:
a worker thread that is not scheduled stalls every call (0.47 ms per MLP step with 1 thread
against 3.9 ms with 2 while other processes ran). One thread is the default;
FNJIT_BLAS_THREADS sets another count. numpy's own BLAS is left alone.
"""

from __future__ import annotations

import os

_DONE = False


def _count_setting(name, default):
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {raw!r}")
    return value


def num_threads() -> int:
    """Threads of the parallel kernels (FNJIT_NUM_THREADS, default 1). ValueError for a
    setting that is not a whole number >= 1, or above the threads Numba started with
    (NUMBA_NUM_THREADS, by default the machine's cores)."""
    n = _count_setting("FNJIT_NUM_THREADS", 1)
    if n > 1:
        import numba

        most = numba.config.NUMBA_NUM_THREADS
        if n > most:
            raise ValueError(f"FNJIT_NUM_THREADS={n} is more than the {most} threads Numba has "
                             "(NUMBA_NUM_THREADS, by default the number of cores)")
    return n


def configure_threads():
    """Once per process, before the first native call: the parallel kernels' thread count
    (FNJIT_NUM_THREADS) and scipy's OpenBLAS thread count (FNJIT_BLAS_THREADS)."""
    global _DONE
    if _DONE:
        return
    threads = num_threads()
    blas = _count_setting("FNJIT_BLAS_THREADS", 1)
    _DONE = True
    if threads > 1:
        import numba

        if "NUMBA_THREADING_LAYER" not in os.environ:
            numba.config.THREADING_LAYER = "workqueue"
        numba.set_num_threads(threads)
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library Numba will call)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    for lib in ThreadpoolController().lib_controllers:
        if lib.user_api == "blas" and "scipy" in os.path.basename(os.path.dirname(lib.filepath)):
            lib.set_num_threads(blas)
