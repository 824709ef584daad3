"""How the C heap serves the buffers of generated code.

Every entry point allocates its activations and gradients afresh (np.empty) and frees them when
it returns. With glibc's defaults a freed buffer goes back to the OS at once: one above the mmap
threshold is unmapped, and the top of the heap is trimmed past 128 kB free. The next step then
faults every page in again, zero-filled by the kernel: on the guide CNN at batch 32, 10,000
page faults and 27 ms of system time per step, a quarter of the step's CPU time. Keeping buffers
up to 32 MB (glibc's largest mmap threshold) on the heap, and up to 64 MB of free heap for the
next step, removes them all; the cost is that the process keeps that much memory it freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20

_DONE = False


def configure_malloc():
    """Raise glibc's mmap and trim thresholds once per process; elsewhere (another C library,
    no mallopt) leave the allocator alone."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    if platform.libc_ver()[0] != "glibc":  # another libc's mallopt takes other numbers
        return
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
