"""The CUDA target: a graph rendered through the `*.cuda.j2` templates to a driver of Python
entry points launching numba-cuda kernels on device arrays.

Params, state, gradients and optimizer slots are mirrored on the device for as long as the
program lives: a host buffer is uploaded when it is first seen and again only when its contents
changed on the host (`set_weights`, loading). Each call moves the batch in and the outputs and
logs out. After a train step the params and state are copied back into the host arrays, so that
`get_weights`, saving and callbacks read current values without a hook into the weight store;
gradients and optimizer slots come back only on demand (`pull`). See CudaCalls.
"""

from __future__ import annotations

import os
import sys
import threading
import weakref

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
    """One host buffer's device copy, and the host contents it was last equal to. The host
    buffer is held weakly (the registry must not keep dead buffers alive) and passed in.
    `stale`: the device copy is newer than the host's (a train step wrote it)."""

    def __init__(self, cuda, host):
        self.host = weakref.ref(host)
        self.device = cuda.to_device(host)
        self.seen = host.copy()
        self.stale = False

    def refresh(self, host):
        """Upload the host's contents if the host changed them (set_weights, loading)."""
        if not np.array_equal(host, self.seen, equal_nan=True):
            self.device.copy_to_device(host)
            self.seen[...] = host
            self.stale = False

    def write_back(self, host):
        if host.size:
            self.device.copy_to_host(host)
            self.seen[...] = host
        self.stale = False


# One device copy per host buffer, shared by every program of a model (predict after fit
# reads the params the train step left on the device: no upload). Keyed by the host array's
# id while it lives.
_MIRRORS = {}


def _mirror(cuda, host):
    m = _MIRRORS.get(id(host))
    if m is None or m.host() is not host:
        m = _MIRRORS[id(host)] = _Mirror(cuda, host)
        weakref.finalize(host, _MIRRORS.pop, id(host), None)
    else:
        m.refresh(host)
    return m


def pull(host):
    """Bring a host buffer up to date with its device copy, if a train step left that newer
    (the gradients and optimizer slots stay on the device between steps)."""
    m = _MIRRORS.get(id(host))
    if m is not None and m.host() is host and m.stale:
        m.write_back(host)


class CudaCalls:
    """Runs a CUDA driver's entry points on host arguments, keeping the program's buffers on
    the device (see the module docstring).

    Host <-> device copies per call, once the buffers are resident (counted by
    tests/test_cuda_target.py's test_copies_per_train_step): each batch array (inputs,
    targets, sample weights) in; the logs (and the values stateful metrics read) out; after a
    train step the params and the non-trainable state out, so that get_weights, saving and
    callbacks read current weights with no hook into the weight store (a cost of one copy of
    the params per step: 0.2 MB for the guide MLP, tens of microseconds; 80 MB for Xception,
    milliseconds). Gradients and optimizer slots stay on the device: `pull` brings them back
    on demand (Program.gradients, saving the optimizer's state). The params go in again only
    when the host changed them (set_weights, loading); the step's hyper-parameters (a few
    scalars, new each step: schedules, Adam's bias correction) go in with the batch."""

    # Positions of the resident buffers in each entry point's arguments: params, state
    # (then grads and slots for a train step).
    RESIDENT = {"predict": 2, "evaluate": 2, "train_step": 4}
    WRITTEN_BACK = 2  # params and state: the host's weights stay current

    native = False  # the entry points are Python launching kernels

    def __init__(self, module, kernel_modules, cuda):
        self.module, self.kernel_modules, self.cuda = module, kernel_modules, cuda
        self.loaded = [module]

    def __call__(self, entry, args):
        cuda = self.cuda
        k = self.RESIDENT[entry]
        resident = [_mirror(cuda, a) for a in args[:k]]
        rest = list(args[k:])
        logs = rest.pop() if entry != "predict" else None
        moved = [cuda.to_device(np.ascontiguousarray(a)) for a in rest]
        # Uninitialised: the entry point zeroes its logs on the device (no copy in).
        dlogs = cuda.device_array(logs.shape, logs.dtype) if logs is not None else None
        fn = getattr(self.module, entry)
        result = fn(*[m.device for m in resident], *moved,
                    *([dlogs] if dlogs is not None else []))
        if dlogs is not None:
            logs += dlogs.copy_to_host()
        if entry == "train_step":
            for m, host in zip(resident[:self.WRITTEN_BACK], args):
                m.write_back(host)
            for m in resident[self.WRITTEN_BACK:]:
                m.stale = True
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

    def pull(self, host):
        pull(host)

    def load(self, rendered):
        cuda = check_available()
        kernels = cache.load_all(rendered.kernels.values())
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
