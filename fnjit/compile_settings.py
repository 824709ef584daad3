"""Model.compile: the optimizer, the target, and per output its loss, loss weight and metrics
(`OutputSpec`); from them, what the logs of a training program hold and the metrics accumulated
in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import losses, optimizers
from .codegen.program import TARGET_NAMES, default_target
from .metrics import resolve as resolve_metric


@dataclass
class OutputSpec:
    name: str
    loss: object  # a built-in loss name, a user function of (y_true, y_pred), or None
    weight: float
    metrics: list  # (display name, kind, fn), reported unweighted
    weighted_metrics: list  # (display name, kind, fn), weighted by the sample weights


def _per_output(value, names, what):
    """Expand a compile argument given once, as a list, or as a dict by output name."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} names unknown output(s) {sorted(unknown)}; the "
                             f"model's outputs are {names}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)) and what != "metrics":
        if len(value) != len(names):
            raise ValueError(f"compile: {what} has {len(value)} entries but the model has "
                             f"{len(names)} outputs {names}")
        return list(value)
    return [value] * len(names)


class CompileSettings:
    """compile and what it settles (mixed into Model through Trainer)."""

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, target=None, sample_weight_mode=None):
        """Keras' compile. fnjit always compiles: `run_eagerly=True`, `jit_compile=False` and
        `steps_per_execution` other than 1 are refused; `auto_scale_loss` only matters for
        mixed precision, which fnjit does not have (as in Keras with float32, no effect);
        `sample_weight_mode` (Keras 2) only None: sample weights are one per sample.
        `target` (fnjit's): where the compiled code runs, "cpu" or "cuda"; None reads the
        FNJIT_TARGET environment variable (default "cpu")."""
        if run_eagerly:
            raise ValueError("compile: run_eagerly=True is not supported: fnjit always runs "
                             "compiled code (debug with `fnjit dump` instead)")
        if jit_compile not in (True, "auto"):
            raise ValueError(f"compile: jit_compile={jit_compile!r} is not supported: fnjit "
                             "always compiles (pass True or 'auto')")
        if isinstance(steps_per_execution, bool) or steps_per_execution != 1:
            raise ValueError(f"compile: steps_per_execution={steps_per_execution!r} is not "
                             "supported: fnjit runs one native call per batch (pass 1)")
        if not isinstance(auto_scale_loss, bool):
            raise TypeError(f"compile: auto_scale_loss must be True or False, got "
                            f"{auto_scale_loss!r}")
        if sample_weight_mode is not None:
            raise ValueError(f"compile: sample_weight_mode={sample_weight_mode!r} is Keras 2's "
                             "and not supported: sample weights are one per sample "
                             "(fit(sample_weight=...) of shape (samples,))")
        target = default_target() if target is None else target
        if target not in TARGET_NAMES:
            raise ValueError(f"compile: target={target!r} names no target; choose one of "
                             f"{list(TARGET_NAMES)}")
        if target == "cuda":
            from .codegen.cuda_target import check_available
            check_available()
        optimizer = optimizers.get(optimizer)
        args = (loss, metrics, loss_weights)
        # Resolve now when the outputs are known (a Sequential without an input shape resolves
        # at first use), before changing anything: a failed compile leaves the model as it was.
        specs = self._output_specs(*args, weighted_metrics) \
            if getattr(self, "inputs", None) else None
        self.optimizer, self._target, self._compile_args = optimizer, target, args
        self._weighted_metrics = weighted_metrics
        self._outputs_spec = specs
        self._slots = None
        self.compiled = True
        self._programs = {k: v for k, v in self._programs.items() if k[0] == "predict"}
        self._per_call = {}

    def _resolve_compile(self):
        if self._outputs_spec is None:
            self._outputs_spec = self._output_specs(*self._compile_args,
                                                    self._weighted_metrics)

    def _output_specs(self, loss, metrics, loss_weights, weighted_metrics=None):
        """Per-output losses, weights and metrics (needs the outputs' names and shapes)."""
        names = self.output_names
        loss_list = _per_output(loss, names, "loss")
        weights = _per_output(loss_weights if loss_weights is not None else 1.0, names,
                              "loss_weights")

        def per_output_metrics(value, what):
            if isinstance(value, dict):
                return _per_output(value, names, what)
            if value and all(isinstance(m, (list, tuple)) for m in value):
                return _per_output(list(value), names, "loss")
            return [value] * len(names)

        specs = []
        for name, out, lss, w, mets, wmets in zip(
                names, self.outputs, loss_list, weights, per_output_metrics(metrics, "metrics"),
                per_output_metrics(weighted_metrics, "weighted_metrics")):
            lname = losses.get(lss) if lss is not None else None
            if isinstance(w, bool) or not isinstance(w, (int, float, type(None))) or \
                    (w is not None and not math.isfinite(w)):
                raise ValueError(f"compile: loss_weights of output {name!r} must be a finite "
                                 f"number, got {w!r}")
            resolved, weighted = [], []
            for given, into in ((mets, resolved), (wmets, weighted)):
                if isinstance(given, str) or callable(given):
                    given = [given]
                into.extend(resolve_metric(m, lname, out.shape) for m in (given or []))
            shown = {display for display, _, _ in resolved}
            # Keras 3 shows a weighted metric under its name, prefixed `weighted_` when an
            # unweighted metric of that name is shown too.
            weighted = [(f"weighted_{d}" if d in shown else d, k, fn) for d, k, fn in weighted]
            specs.append(OutputSpec(name, lname, float(w if w is not None else 1.0), resolved,
                                    weighted))
        return specs

    def _needs_targets(self):
        """Whether training takes target arrays: not when no output has a loss or metric (the
        model minimises only the losses its layers add, Layer.add_loss)."""
        self._resolve_compile()
        return self._settled("needs targets", self._any_output_trained)

    def _any_output_trained(self):
        return any(s.loss or s.metrics or s.weighted_metrics for s in self._outputs_spec)

    def _log_layout(self):
        """What logs[1:] of a training program hold (logs[0] is the total loss), in Keras'
        order: (name shown, or None for a hidden entry; what; output index; metric or None).
        Per-output losses (models with several outputs) are unweighted by `loss_weights`, as
        Keras reports them; a weighted metric is divided by its output's sum of weights."""
        return self._settled("log layout", self._layout_of_logs)

    def _layout_of_logs(self):
        specs = self._outputs_spec
        multi = len(specs) > 1
        layout = [(f"{s.name}_loss", "loss", k, None) for k, s in enumerate(specs)
                  if s.loss and multi]
        for what in ("metric", "weighted"):
            for k, s in enumerate(specs):
                mets = s.metrics if what == "metric" else s.weighted_metrics
                if what == "weighted" and mets:
                    layout.append((None, "weight_sum", k, None))
                if k in self._masked_outputs and any(m[1] != "stateful" for m in mets):
                    # Keras 3's masked metric: sum(v * m * w) / sum(m * w) over the epoch
                    layout.append((None, "mask_sum" if what == "metric" else
                                   "weighted_mask_sum", k, None))
                for m in mets:
                    if m[1] == "stateful":  # accumulated in Python: _stateful_metrics
                        continue
                    layout.append((f"{s.name}_{m[0]}" if multi else m[0], what, k, m))
        return layout

    def _stateful_metrics(self):
        """[(log name, output index, Metric, weighted)]: the metrics accumulated in Python from
        each batch's targets and predictions (fnjit/metrics.py); `weighted_metrics` ones are
        given the sample weights."""
        return self._settled("stateful metrics", self._metrics_in_python)

    def _metrics_in_python(self):
        specs = self._outputs_spec
        multi = len(specs) > 1
        return [(f"{s.name}_{display}" if multi else display, k, fn, weighted)
                for k, s in enumerate(specs)
                for weighted, mets in ((False, s.metrics), (True, s.weighted_metrics))
                for display, kind, fn in mets if kind == "stateful"]

    def _update_stateful(self, program, ys, reported, sws):
        for _, k, metric, weighted in self._stateful_metrics():
            metric.update_state(ys[k], reported[program.report_index[k]],
                                sample_weight=sws[k] if weighted and sws is not None else None)

    def _reset_stateful(self):
        for _, _, metric, _ in self._stateful_metrics():
            metric.reset_state()
