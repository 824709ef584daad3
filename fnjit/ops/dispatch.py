"""Dispatch: each exported name of fnjit.ops that has a numpy counterpart (fnjit/eager.py)
appends IR ops when an argument is symbolic (or a weight inside a traced call), else computes
eagerly with numpy, as keras.ops do.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..tracing import SymbolicTensor, current_context
from .emit import _check, _is_variable


def _leaves(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


def _symbolic_call(args, kwargs):
    """Whether a call appends IR ops: it has a symbolic tensor (or a KerasTensor, which the
    traced form refuses with advice), or a weight while a call is being traced."""
    tracing = current_context() is not None
    for a in _leaves(args, kwargs):
        if isinstance(a, SymbolicTensor) or type(a).__name__ == "KerasTensor" or \
                (tracing and _is_variable(a)):
            return True
    return False


def _lift(value, ctx, fname):
    """Weights and arrays among a traced call's arguments (also inside lists) as tensors."""
    if _is_variable(value) or isinstance(value, np.ndarray) and value.ndim > 0:
        return _check(value, fname, ctx)
    if isinstance(value, list) and builtins.any(
            isinstance(v, SymbolicTensor) or _is_variable(v) for v in value):
        return [_lift(v, ctx, fname) for v in value]
    return value


def _dispatching(name, traced, eager):
    def dispatch(*args, **kwargs):
        # Random tensors in a traced call are drawn by the compiled code at every step.
        if _symbolic_call(args, kwargs) or eager is None or (
                name.startswith("random_") and current_context() is not None):
            ctx = current_context()
            if ctx is None:
                ctx = next((a._ctx for a in _leaves(args, kwargs)
                            if isinstance(a, SymbolicTensor)), None)
            if ctx is not None:
                args = [_lift(a, ctx, name) for a in args]
                kwargs = {k: _lift(v, ctx, name) for k, v in kwargs.items()}
            return traced(*args, **kwargs)
        return eager(*args, **kwargs)
    dispatch.__name__ = dispatch.__qualname__ = name
    dispatch.__doc__ = traced.__doc__
    dispatch.__wrapped__ = traced
    return dispatch


def _install_dispatch(namespace):
    """Wrap each function of `namespace` (fnjit.ops' globals) that has an eager twin."""
    from ..eager import FUNCTIONS

    for name, eager in FUNCTIONS.items():
        if name in namespace:
            namespace[name] = _dispatching(name, namespace[name], eager)
