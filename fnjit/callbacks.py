"""Callbacks: the `Callback` base with Keras' hooks, `History`, and the progress bar."""

from __future__ import annotations

import sys
import time


class Callback:
    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


class CallbackList:
    """Calls a hook on every callback, in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args):
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call

    @property
    def needs_batch_hooks(self):
        base = Callback
        return any(type(cb).on_train_batch_end is not base.on_train_batch_end or
                   type(cb).on_batch_end is not base.on_batch_end or
                   type(cb).on_train_batch_begin is not base.on_train_batch_begin or
                   type(cb).on_batch_begin is not base.on_batch_begin
                   for cb in self.callbacks)


class History(Callback):
    """Records every epoch's logs: `history.history['loss']` is the list of epoch losses."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _fmt_value(v):
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


class ProgbarLogger(Callback):
    """Keras' progress output: verbose=1 a bar per epoch, verbose=2 one line per epoch."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.width = 30

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        self.last_draw = 0.0
        if self.verbose:
            self.stream.write(f"Epoch {epoch + 1}/{self.params.get('epochs', 1)}\n")

    def _metrics(self, logs):
        return "".join(f" - {k}: {_fmt_value(v)}" for k, v in (logs or {}).items())

    def _bar(self, done, total, logs, final):
        elapsed = time.perf_counter() - self.epoch_start
        filled = int(self.width * done / max(total, 1))
        bar = "=" * max(filled - 1, 0) + (">" if filled < self.width else "=") + \
            "." * (self.width - filled)
        width = len(str(total))
        if final:
            per = elapsed / max(done, 1)
            timing = f"{elapsed:.0f}s {per * 1e3:.0f}ms/step" if per >= 1e-3 else \
                f"{elapsed:.0f}s {per * 1e6:.0f}us/step"
        else:
            eta = elapsed / max(done, 1) * (total - done)
            timing = f"ETA: {eta:.0f}s"
        return f"{done:{width}d}/{total} [{bar}] - {timing}{self._metrics(logs)}"

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose != 1 or not self.stream.isatty():
            return
        now = time.perf_counter()
        if now - self.last_draw < 0.05:
            return
        self.last_draw = now
        total = self.params.get("steps", 1)
        self.stream.write("\r" + self._bar(batch + 1, total, logs, False))
        self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        if not self.verbose:
            return
        total = self.params.get("steps", 1)
        if self.verbose == 1:
            line = self._bar(total, total, logs, True)
            self.stream.write(("\r" if self.stream.isatty() else "") + line + "\n")
        else:
            elapsed = time.perf_counter() - self.epoch_start
            self.stream.write(f"{total}/{total} - {elapsed:.0f}s{self._metrics(logs)}\n")
        self.stream.flush()
