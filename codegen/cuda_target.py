"""The CUDA target: a graph rendered through the `*.cuda.j2` templates to a driver of Python
entry points launching numba-cuda kernels on device arrays.

Params, state, gradients and optimizer slots are mirrored on the device for as long as the
program lives: a host buffer is uploaded when it is first seen and again only when its contents
changed on the host (`set_weights`, loading). Each call moves the batch in and the outputs and
logs out. After a train step the updated buffers are copied back into the host arrays, so that
`get_weights`, saving and callbacks read current values without a hook into the weight store.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np

from . import cache
from .program import Target
from .render import render_module


def cuda_module():
    """numba's `cuda` (numba-cuda's when installed), or a clear error."""
    try:
        from numba import cuda
    except ImportError as e:  # pragma: no cover - numba always ships a cuda module
        raise RuntimeError("target 'cuda' needs numba-cuda: pip install fnjit[cuda]") from e
    return cuda


def check_available():
    cuda = cuda_module()
    if simulated():
        serialise_simulated_shared_arrays()
    if not cuda.is_available():
        raise RuntimeError(
            "target 'cuda' was asked for (compile(target='cuda') or FNJIT_TARGET=cuda) but no "
            "CUDA GPU is available to numba (numba.cuda.is_available() is False); install the "
            "driver and `pip install fnjit[cuda]`, or set NUMBA_ENABLE_CUDASIM=1 for the "
            "(slow) simulator, or use target='cpu'")
    return cuda


class _Mirror:
    """One host buffer's device copy, and the host contents it was last equal to."""

    def __init__(self, cuda, host):
        self.host = host
        self.device = cuda.to_device(host)
        self.seen = host.copy()

    def refresh(self):
        if not np.array_equal(self.host, self.seen, equal_nan=True):
            self.device.copy_to_device(self.host)
            self.seen[...] = self.host

    def write_back(self):
        self.device.copy_to_host(self.host)
        self.seen[...] = self.host


class CudaCalls:
    """Runs a CUDA driver's entry points on host arguments, keeping the program's buffers on
    the device (see the module docstring)."""

    # Positions of the resident buffers in each entry point's arguments.
    RESIDENT = {"predict": 2, "evaluate": 2, "train_step": 4}

    native = False  # the entry points are Python launching kernels

    def __init__(self, module, kernel_modules, cuda):
        self.module, self.kernel_modules, self.cuda = module, kernel_modules, cuda
        self.loaded = [module]
        self.mirrors = {}  # argument position (params, state, grads, slots) -> _Mirror

    def mirror(self, pos, host):
        m = self.mirrors.get(pos)
        if m is None or m.host is not host:
            m = self.mirrors[pos] = _Mirror(self.cuda, host)
        else:
            m.refresh()
        return m

    def __call__(self, entry, args):
        cuda = self.cuda
        k = self.RESIDENT[entry]
        resident = [self.mirror(pos, a) for pos, a in enumerate(args[:k])]
        rest = list(args[k:])
        logs = rest.pop() if entry != "predict" else None
        moved = [cuda.to_device(np.ascontiguousarray(a)) for a in rest]
        dlogs = cuda.to_device(np.zeros_like(logs)) if logs is not None else None
        fn = getattr(self.module, entry)
        result = fn(*[m.device for m in resident], *moved,
                    *([dlogs] if dlogs is not None else []))
        if dlogs is not None:
            logs += dlogs.copy_to_host()
        if entry == "train_step":
            for m in resident[:4]:
                m.write_back()
        return _to_host(result)


def _to_host(result):
    """An entry point's result, device arrays copied out (a train step returns two tuples)."""
    if result is None:
        return None
    if isinstance(result, tuple):
        return tuple(_to_host(r) for r in result)
    return result.copy_to_host()


class CudaTarget(Target):
    """NVIDIA GPUs through numba-cuda (`pip install fnjit[cuda]`); NUMBA_ENABLE_CUDASIM=1 runs
    the same code in numba's simulator."""

    name = "cuda"

    def render(self, graph, **kw):
        check_available()
        update = kw.get("optimizer")
        if update is not None and (update.clip or update.decayed):
            raise ValueError("target 'cuda' does not support gradient clipping or weight_decay "
                             "yet; use target='cpu' for this optimizer")
        return render_module(graph, module_name=cache.module_name, native=False,
                             variant=".cuda", **kw)

    def load(self, rendered):
        cuda = check_available()
        kernels = [cache.load(source) for source in rendered.kernels.values()]
        return CudaCalls(cache.load(rendered.driver), kernels, cuda)


def simulated():
    """Whether numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


_SHARED_LOCK = threading.Lock()


def serialise_simulated_shared_arrays():
    """The simulator runs a block's threads as Python threads, and its `cuda.shared.array`
    looks the block's array up by the calling source line and creates it when missing,
    unlocked (numba-cuda 0.30's FakeCUDAShared.array: get, np.empty, store). A thread switch
    between the lookup and the store gives two threads two different "shared" arrays: each
    then reads tile entries the others never wrote. That is how a GEMM of the MLP's predict
    once gave 4 wrong rows of 10 under load (tests/test_cuda_target.py's
    test_simulated_shared_arrays_are_one_per_block widens the window to show it). Here the
    lookup and the store are one locked step, keyed as the simulator keys them (the caller's
    file and line), so every thread of a block gets one array, as on a GPU. Only the simulator
    is changed; a real GPU never runs this."""
    from numba.core import types
    from numba.cuda.simulator import kernelapi
    from numba.np import numpy_support
    shared = kernelapi.FakeCUDAShared
    if getattr(shared.array, "fnjit_serialised", False):
        return
    unlocked = shared.array

    def array(self, shape, dtype, alignment=None):
        if shape == 0 or alignment is not None:  # dynamic shared memory: no lookup to race
            return unlocked(self, shape, dtype, alignment)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        with _SHARED_LOCK:
            res = self._allocations.get(key)
            if res is None:
                res = self._allocations[key] = np.empty(shape, dtype)
        return res

    array.fnjit_serialised = True
    shared.array = array
