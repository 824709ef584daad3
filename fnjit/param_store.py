"""The flat buffers behind a model's weights. Each layer's weights are views into one buffer
per model, so a native step updates them in place and `get_weights` sees the result without
copying.
"""

from __future__ import annotations

import numpy as np

_BINDING_EPOCH = [0]  # bumped whenever some store takes ownership of variables


class ParamStore:
    """The flat buffers behind a model's weights: `params` (trainable) and `state`."""

    def __init__(self, variables, slots, dtype):
        self.dtype = np.dtype(dtype)
        self.entries = [(variables[s.name], s) for s in slots]
        self.params = np.zeros(sum(s.stop - s.start for _, s in self.entries if s.trainable),
                               self.dtype)
        self.state = np.zeros(sum(s.stop - s.start for _, s in self.entries if not s.trainable),
                              self.dtype)
        self.grads = np.zeros_like(self.params)
        self.epoch = None
        self.bind()

    def bind(self):
        """Make every variable a view into this store, keeping its current value."""
        if self.epoch == _BINDING_EPOCH[0]:
            return
        for var, s in self.entries:
            buf = self.params if s.trainable else self.state
            view = buf[s.start:s.stop].reshape(s.shape)
            if var.value is not view and not (var.value.base is buf and
                                              var.value.__array_interface__["data"] ==
                                              view.__array_interface__["data"]):
                view[...] = var.value
                var.value = view
        _BINDING_EPOCH[0] += 1
        self.epoch = _BINDING_EPOCH[0]
