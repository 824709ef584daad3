"""How many threads the BLAS behind generated code may use.

Numba's `np.dot` calls the OpenBLAS that scipy ships (numpy has its own copy). Its default of
one thread per core made small GEMMs (batch 32 x 784 x 64) 8x slower on a busy 2-core machine:
a worker thread that is not scheduled stalls every call (0.47 ms per MLP step with 1 thread
against 3.9 ms with 2 while other processes ran). One thread is the default;
FNJIT_BLAS_THREADS sets another count. numpy's own BLAS is left alone.
"""

from __future__ import annotations

import os

_DONE = False


def configure_blas():
    """Set scipy's OpenBLAS thread count once per process (before the first native call)."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    n = int(os.environ.get("FNJIT_BLAS_THREADS", "1"))
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library Numba will call)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    for lib in ThreadpoolController().lib_controllers:
        if lib.user_api == "blas" and "scipy" in os.path.basename(os.path.dirname(lib.filepath)):
            lib.set_num_threads(n)
