"""Keras 3's progress bar (keras.utils.Progbar): the line fit / evaluate / predict print per
epoch, drawn by callbacks.ProgbarLogger.
"""

from __future__ import annotations

import sys
import time


def _fmt_value(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def _fmt_per_step(seconds, unit="step"):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _fmt_eta(eta):
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{eta:.0f}s"


class Progbar:
    """Keras 3's progress bar: `12/32 ━━━━━━━━━━━━━━━━━━━━ 1s 3ms/step - loss: 0.1234`.

    verbose=1 redraws the line in place on a terminal and prints only the final line
    otherwise (a log file gets one line per epoch, not one per step); verbose=2 prints
    `32/32 - 1s - 3ms/step - loss: ...` once at the end; verbose=0 prints nothing.
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, unit_name="step",
                 stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.perf_counter()
        self._after_first = None
        self._last_draw = 0.0
        self._prev_width = 0

    def _per_step(self, current, now):
        if not current:
            return 0.0
        if current == 1 and self._after_first is None:
            self._after_first = now
        if self._after_first is not None and current > 1:
            # The first step includes one-off costs (loading code): leave it out of the rate.
            return (now - self._after_first) / (current - 1)
        return (now - self._start) / current

    def _bar(self, current):
        filled = int(self.width * current / self.target) if self.target else 0
        if self.tty:
            return (f"\x1b[32m{'━' * filled}\x1b[0m" if filled else "") + \
                f"\x1b[37m{'━' * (self.width - filled)}\x1b[0m"
        return "━" * self.width if current >= (self.target or 0) else \
            "━" * filled + "─" * (self.width - filled)

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.perf_counter()
        per_step = self._per_step(current, now)
        metrics = "".join(f" - {k}: {_fmt_value(v)}" for k, v in (values or []))
        if self.verbose == 1:
            if not finalize and (not self.tty or now - self._last_draw < self.interval):
                return
            self._last_draw = now
            if self.target:
                digits = len(str(self.target))
                count = f"{current:{digits}d}/{self.target} {self._bar(current)}"
            else:
                count = f"{current:7d}/Unknown"
            timing = f"{now - self._start:.0f}s" if finalize else \
                _fmt_eta(per_step * (self.target - current)) if self.target else ""
            line = f"{count} {timing} {_fmt_per_step(per_step, self.unit_name)}{metrics}"
            visible = len(line) - (line.count("\x1b[") * 4 if self.tty else 0)
            pad = " " * max(self._prev_width - visible, 0)
            self._prev_width = visible
            self.stream.write(("\r" if self.tty else "") + line + pad +
                              ("\n" if finalize else ""))
            self.stream.flush()
        elif self.verbose == 2 and finalize:
            digits = len(str(self.target or current))
            self.stream.write(f"{current:{digits}d}/{self.target or current} - "
                              f"{now - self._start:.0f}s - "
                              f"{_fmt_per_step(per_step, self.unit_name)}{metrics}\n")
            self.stream.flush()
