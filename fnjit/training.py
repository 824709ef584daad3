"""compile / fit / evaluate / predict: the Python loop around the generated native steps.

The model is lowered (fnjit/lowering.py) and compiled (fnjit.codegen) lazily, on the first call
that needs code; the result is kept until the model or its compile settings change. Weights
live in one flat buffer per model (`ParamStore`); each layer's weights are views into it, so a
native step updates them in place and `get_weights` sees the result without copying.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from . import backend, constraints, data_adapters, losses, optimizers
from . import random as _random
from .callbacks import CallbackList, History, ProgbarLogger
from .codegen.ir import printable
from .codegen.program import TARGET_NAMES, Program, default_target
from .lowering import concrete_input_shapes, lower_model, lower_penalties
from .metrics import lower as lower_metric
from .metrics import refuse_masked_metric
from .metrics import resolve as resolve_metric

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


def _numeric_array(data, what):
    """`data` as a numpy array of real numbers (bool, int or float), or a clear error."""
    try:
        a = np.asarray(data)
    except ValueError as e:  # numpy refuses ragged nested lists
        raise ValueError(f"{what}: cannot be made an array (ragged rows?): {e}") from None
    if a.dtype.kind not in "biuf":
        kind = {"c": "complex", "O": "object (ragged rows or mixed types?)", "U": "string",
                "S": "bytes"}.get(a.dtype.kind, str(a.dtype))
        raise TypeError(f"{what}: arrays of {kind} dtype {a.dtype} are not supported; give "
                        "real numbers (float, int or bool)")
    return a


def _check_integers(a, dtype, what):
    """Refuse values that an integer dtype cannot hold exactly: a narrowing cast would wrap
    them (2**32 + 9 as int32 is 9) or cut them (3.5 to 3)."""
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.floor(a))
        if bad.any():
            raise ValueError(f"{what} has integer dtype {dtype} but its data holds non-integer "
                             f"values such as {a[bad].ravel()[:3]}")
    info = np.iinfo(dtype)
    bad = (a < info.min) | (a > info.max)
    if bad.any():
        raise ValueError(f"{what} has dtype {dtype} but its data holds values out of its range "
                         f"[{info.min}, {info.max}] such as {a[bad].ravel()[:3]}")


def _class_weights_to_samples(class_weight, y, caller):
    """Keras' conversion: each sample weighs class_weight[its class] (1 for a class not
    named); the class is the argmax of a one-hot row, else the (rounded) label."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"{caller}: class_weight must be a dict {{class index: weight}}, got "
                        f"{type(class_weight).__name__}")
    table = {}
    for c, w in class_weight.items():
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
            raise ValueError(f"{caller}: class_weight keys must be integer class indices, got "
                             f"{c!r}")
        if isinstance(w, bool) or not isinstance(w, (int, float, np.number)) or \
                not math.isfinite(w):
            raise ValueError(f"{caller}: class_weight[{c}] must be a finite number, got {w!r}")
        table[int(c)] = float(w)
    labels = y if y.ndim == 1 else (y.argmax(-1) if y.shape[-1] != 1 else y[..., 0])
    if labels.ndim != 1:
        raise ValueError(f"{caller}: class_weight needs one class per sample; the targets of "
                         f"shape {y.shape} have several (use sample_weight)")
    labels = np.round(labels).astype(np.int64)
    return np.array([table.get(int(c), 1.0) for c in labels], backend.floatx())


def _count(value, what, caller, default=None, least=1):
    """An integer argument of at least `least` (batch_size, steps, epochs...), None giving
    `default`."""
    if value is None:
        return default
    words = "a positive integer" if least == 1 else f"an integer >= {least}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{caller}: {what} must be {words}, got {value!r}")
    if value < least:
        raise ValueError(f"{caller}: {what} must be {words}, got {value}")
    return int(value)


def _verbosity(verbose, caller):
    """Keras' verbose: 'auto' (1 here), 0 silent, 1 progress bar, 2 one line per epoch."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, int, np.integer)) and int(verbose) in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"{caller}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


class Trainer:
    """The training half of Model: mixed into Model, using its graph."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self._outputs_spec = None
        self._programs = {}
        self._store = None
        self._slots = None
        self.stop_training = False
        self.history = None
        self._target = default_target()
        self._masked_outputs = set()  # outputs carrying a mask (Keras masking), found lowering

    def _invalidate(self):
        self._programs = {}

    # ---- compile -------------------------------------------------------------------------
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
        return any(s.loss or s.metrics or s.weighted_metrics for s in self._outputs_spec)

    def _ensure_graph(self, x=None):
        ensure = getattr(self, "_ensure_built", None)
        if ensure is not None and x is not None:
            ensure(x)
        if not getattr(self, "inputs", None):
            raise ValueError(f"model {self.name!r} has no inputs yet: give its first layer an "
                             "input_shape, or add an Input")

    # ---- programs ------------------------------------------------------------------------
    def _log_layout(self):
        """What logs[1:] of a training program hold (logs[0] is the total loss), in Keras'
        order: (name shown, or None for a hidden entry; what; output index; metric or None).
        Per-output losses (models with several outputs) are unweighted by `loss_weights`, as
        Keras reports them; a weighted metric is divided by its output's sum of weights."""
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

    def _program(self, kind, xs=None):
        """The compiled program of `kind` for input arrays `xs` (whose shapes fill in unknown
        dimensions such as a variable sequence length): one program per distinct input shape,
        built on first use and kept."""
        floatx = backend.floatx()
        shapes = self._input_shapes(kind, xs)
        key = (kind, floatx, self._target,
               self.optimizer.program_key() if kind == "train" else None, tuple(shapes))
        if key in self._programs:
            return self._programs[key]
        ctx, xs, ys = lower_model(self, floatx, shapes)
        if self._target == "cuda" and ctx.masked:
            raise ValueError(f"model {self.name!r}: masking (Embedding(mask_zero=True) or "
                             "Masking) is not supported on target 'cuda' yet; use target='cpu'")
        kw = {}
        if kind == "train":
            kw = self._training_values(ctx, ys)
        # The header names no user name: the same architecture gives the same source, and so
        # one compiled program (the legend of `generated_source()` holds the names).
        header = (f"# Generated by fnjit: the {kind} program of a {printable(type(self).__name__)}"
                  f", {floatx}.\n# Regenerated from the model and templates/; edits are not kept.")
        python_side = kw.pop("python_constraints", [])
        program = Program(ctx.graph, model_inputs=xs, header=header, target=self._target,
                          about=f"model '{self.name}' ({type(self).__name__})", **kw)
        program.constrained = python_side
        signature = [(id(ctx.variables[s.name]), s.trainable) for s in program.slots]
        if self._store is None or self._store_signature != (signature, floatx):
            self._store = ParamStore(ctx.variables, program.slots, floatx)
            self._store_signature = (signature, floatx)
            self._slots = None
        # output index -> position of its predictions among the values the program reports
        outputs = list(ys)
        program.report_index = {outputs.index(v): i for i, v in
                                enumerate(kw.get("report", ()))}
        self._programs[key] = program
        return program

    def _training_values(self, ctx, ys):
        """Targets, per-sample weights, losses and logged values of a training program."""
        specs = self._outputs_spec
        targets, weights, loss_values, values = [], [], [], {}
        self._masked_outputs = {k for k, m in enumerate(ctx.output_masks) if m is not None}
        for k, (spec, y) in enumerate(zip(specs if self._needs_targets() else [], ys)):
            shape = losses.target_shape(spec.loss or "", ctx.shape(y))
            targets.append(ctx.builder.input(f"target of {spec.name}", shape, role="y"))
            weights.append(ctx.builder.input(f"sample weights of {spec.name}", (None,),
                                             role="sw"))
            ctx.origin = f"loss and metrics of output {spec.name!r}"
            ctx.label = f"loss and metrics of output {k}"
            mask = ctx.output_masks[k]
            if spec.loss:
                values["loss", k] = losses.apply_mask(
                    ctx, losses.lower(ctx, spec.loss, y, targets[k]), mask, "loss")
                loss_values.append((values["loss", k], spec.weight, weights[k]))
            for what, mets in (("metric", spec.metrics), ("weighted", spec.weighted_metrics)):
                for j, (_, mkind, fn) in enumerate(mets):
                    if mkind != "stateful":
                        values[what, k, j] = losses.apply_mask(
                            ctx, lower_metric(ctx, mkind, fn, y, targets[k]), mask, "metric",
                            normalize=False)
                    elif mask is not None:
                        refuse_masked_metric(fn, spec.name)
            if mask is not None:  # a masked metric's denominator: the unmasked steps
                values["mask_sum", k] = losses.apply_mask(ctx, None, mask, "metric")
        # Losses layers added in their traced calls (Layer.add_loss): in the total only, as
        # Keras 3's History shows them.
        loss_values += [(v, 1.0) for v in ctx.added_losses]
        if not loss_values:
            raise ValueError("compile: no loss given and no layer adds one (add_loss); pass "
                             "loss=... (a name such as 'categorical_crossentropy', a list, or a "
                             "dict by output name)")
        logs = []
        for _, what, k, m in self._log_layout():
            if what == "loss":
                logs.append([(values["loss", k], 1.0, weights[k])])
            elif what == "weight_sum":
                logs.append([(None, 1.0, weights[k])])
            elif what in ("mask_sum", "weighted_mask_sum"):
                logs.append([(values["mask_sum", k], 1.0,
                              weights[k] if what == "weighted_mask_sum" else None)])
            else:
                mets = specs[k].metrics if what == "metric" else specs[k].weighted_metrics
                value = values[what, k, mets.index(m)]
                logs.append([(value, 1.0, weights[k] if what == "weighted" else None)])
        # Constraints of the weights this program trains, after each update (Keras 3):
        # compiled into the step where the template can, else in Python after it.
        compiled, python_side = [], []
        for name, var in ctx.variables.items():
            if var.constraint is not None and ctx.graph.params[name].trainable:
                attrs = constraints.lowered(var.constraint, var.shape)
                if attrs is None:
                    python_side.append((var, var.constraint))
                else:
                    compiled.append((name, attrs))
        trainable = {name: var for name, var in ctx.variables.items()
                     if ctx.graph.params[name].trainable}
        # the predictions of outputs with stateful metrics, which the step returns
        report = [y for spec, y in zip(specs, ys)
                  if any(kind == "stateful" for _, kind, _ in spec.metrics +
                         spec.weighted_metrics)]
        return dict(targets=targets, losses=loss_values, logs=logs, sample_weights=weights,
                    penalties=lower_penalties(ctx), constraints=compiled,
                    python_constraints=python_side, optimizer=self.optimizer.update(trainable),
                    report=report)

    def _input_shapes(self, kind, xs):
        """Concrete non-batch input shapes: those of the arrays `xs`; without arrays, the
        declared ones, or, where some are unknown, those of the last program of this kind."""
        if xs is not None:
            return concrete_input_shapes(self, [a.shape[1:] for a in xs])
        if any(d is None for t in self.inputs for d in t.shape[1:]):
            built = [key[-1] for key in self._programs if key[0] == kind]
            if built:
                return list(built[-1])
        return concrete_input_shapes(self)

    def generated_source(self, kind=None):
        """The generated module of this model: the training program once compiled with a loss,
        else the inference program."""
        self._ensure_graph()
        kind = kind or ("train" if self.compiled else "predict")
        return self._program(kind).source

    def export_source(self, directory):
        """Write this model's generated code, weights and a `run.py` into `directory`: a
        program that runs without fnjit (numpy and numba only). See fnjit/export.py."""
        from .export import export_source

        return export_source(self, directory)

    def generated_ir(self, kind=None):
        self._ensure_graph()
        kind = kind or ("train" if self.compiled else "predict")
        return self._program(kind).graph.table()

    # ---- data ----------------------------------------------------------------------------
    def _arrays(self, data, names, what, shapes, dtypes, caller):
        arg = {"input": "x", "target": "y"}[what]
        if data is None:
            raise ValueError(f"{caller}: no {what} data given ({arg}=None)")
        if isinstance(data, dict):
            unknown = set(data) - set(names)
            if unknown:
                raise ValueError(f"{caller}: {arg} names unknown {what}(s) {sorted(unknown)}; "
                                 f"the model's {what}s are {names}")
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"{caller}: {arg} is missing {what}(s) {missing}")
            data = [data[n] for n in names]
        elif not isinstance(data, (list, tuple)):
            data = [data]
        if len(data) != len(names):
            raise ValueError(f"{caller}: the model has {len(names)} {what}(s) {names} but "
                             f"{len(data)} {what} array(s) were given in {arg}")
        out = []
        for arr, name, shape, dtype in zip(data, names, shapes, dtypes):
            a = _numeric_array(arr, f"{caller}: {arg} ({what} {name!r})")
            if what == "target" and a.ndim == len(shape) + 1 and a.shape[-1] == 1:
                a = a.reshape(a.shape[:-1])  # sparse labels given as (n, 1)
            if what == "target" and a.ndim == len(shape) - 1 and shape[-1] == 1:
                a = a.reshape(a.shape + (1,))  # binary labels given as (n,)
            if what == "input" and a.ndim == len(shape) + 1 and a.shape[-1] == 1:
                a = a.reshape(a.shape[:-1])  # Keras 3 squeezes one extra trailing axis of 1
            if what == "input" and a.ndim == len(shape) - 1 and shape[-1] == 1:
                a = a.reshape(a.shape + (1,))  # (n, 28, 28) for Input((28, 28, 1))
            want = tuple(shape[1:])
            got = tuple(a.shape[1:])
            if a.ndim != len(shape) or any(w is not None and w != g for w, g in zip(want, got)):
                raise ValueError(f"{caller}: {arg} ({what} {name!r}): expected arrays of shape "
                                 f"{(None,) + want}, got {a.shape}")
            if len(a) == 0:
                raise ValueError(f"{caller}: {arg} ({what} {name!r}) is empty: 0 samples")
            if np.dtype(dtype).kind in "iu":
                _check_integers(a, np.dtype(dtype), f"{caller}: {arg} ({what} {name!r})")
            # Inputs are cast once their program is known (see _compiled), targets now.
            out.append(a if what == "input" else np.ascontiguousarray(a, dtype=dtype))
        n = {len(a) for a in out}
        if len(n) > 1:
            raise ValueError(f"{caller}: {arg} arrays have different numbers of samples: "
                             f"{dict(zip(names, (len(a) for a in out)))}")
        return out

    def _input_dtypes(self):
        return [t.dtype if t.dtype != "float32" else backend.floatx() for t in self.inputs]

    def _inputs(self, x, caller):
        """The input arrays, checked but still in the dtypes given (see _compiled)."""
        self._ensure_graph(x)
        return self._arrays(x, self.input_names, "input", [t.shape for t in self.inputs],
                            self._input_dtypes(), caller)

    def _compiled(self, kind, xs):
        """The program of `kind` for input arrays `xs`, and `xs` in its dtypes: indices are
        checked on the data as given, before a cast could round them (float64 to float32)."""
        program = self._program(kind, xs)
        program.check_indices(xs)
        return program, [np.ascontiguousarray(a, dtype) for a, dtype in
                         zip(xs, self._input_dtypes())]

    def _targets(self, y, caller):
        if not self.compiled:
            raise RuntimeError(f"model {self.name!r} must be compiled before training or "
                               "evaluation: call model.compile(optimizer, loss)")
        self._resolve_compile()
        specs = self._outputs_spec
        if not self._needs_targets():
            if y is not None:
                raise ValueError(f"{caller}: model {self.name!r} was compiled without a loss or "
                                 "metrics on its outputs (it minimises the losses its layers "
                                 "add): give no targets (y=None)")
            return []
        shapes = [losses.target_shape(s.loss or "", t.shape) for s, t in zip(specs, self.outputs)]
        ys = self._arrays(y, self.output_names, "target", shapes,
                          [backend.floatx()] * len(specs), caller)
        for s, t, out in zip(specs, ys, self.outputs):
            if s.loss == "sparse_categorical_crossentropy" or any(
                    fn == "sparse_categorical_accuracy"
                    for _, _, fn in s.metrics + s.weighted_metrics):
                k = out.shape[-1]
                bad = ~np.isfinite(t) | (t < 0) | (t >= k) | (t != np.floor(t))
                if bad.any():
                    raise ValueError(f"{caller}: y (target {s.name!r}): sparse labels must be "
                                     f"integers in [0, {k}); found {t[bad].ravel()[:5]}")
        return ys

    def _sample_weights(self, sample_weight, class_weight, ys, caller):
        """One float array of n per output: `sample_weight` given once, per output (list or
        dict by output name), or derived from `class_weight`; ones where none is given."""
        n = len(ys[0])
        if sample_weight is None and class_weight is None:  # the common case, kept cheap
            return [np.ones(n, backend.floatx())] * len(ys)
        names = self.output_names
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(f"{caller}: class_weight and sample_weight cannot both be "
                                 "given (as in Keras)")
            if len(names) != 1:
                raise ValueError(f"{caller}: class_weight is only supported for models with a "
                                 f"single output (this one has {names}); give sample_weight "
                                 "per output instead")
            sample_weight = _class_weights_to_samples(class_weight, ys[0], caller)
        if sample_weight is None:
            per_output = [None] * len(names)
        elif isinstance(sample_weight, dict):
            unknown = set(sample_weight) - set(names)
            if unknown:
                raise ValueError(f"{caller}: sample_weight names unknown output(s) "
                                 f"{sorted(unknown)}; the model's outputs are {names}")
            per_output = [sample_weight.get(name) for name in names]
        elif isinstance(sample_weight, (list, tuple)) and (len(names) > 1 or (
                len(sample_weight) == 1 and np.ndim(sample_weight[0]) >= 1)):
            if len(sample_weight) != len(names):
                raise ValueError(f"{caller}: sample_weight has {len(sample_weight)} arrays but "
                                 f"the model has {len(names)} outputs {names}")
            per_output = list(sample_weight)
        else:
            per_output = [sample_weight] * len(names)
        floatx = backend.floatx()
        out = []
        for name, w in zip(names, per_output):
            if w is None:
                out.append(np.ones(n, floatx))
                continue
            what = f"{caller}: sample_weight (output {name!r})"
            a = _numeric_array(w, what)
            if a.ndim == 2 and a.shape[1] == 1:
                a = a.reshape(-1)
            if a.shape != (n,):
                raise ValueError(f"{what}: expected one weight per sample, shape ({n},), got "
                                 f"{a.shape}")
            if not np.isfinite(a).all():
                raise ValueError(f"{what}: weights must be finite, found "
                                 f"{a[~np.isfinite(a)][:3]}")
            out.append(np.ascontiguousarray(a, floatx))
        return out

    def _data(self, x, y, caller, sample_weight=None, class_weight=None):
        xs, ys = self._inputs(x, caller), self._targets(y, caller)
        if not ys:  # only the losses layers add: no targets, nothing to weigh
            if sample_weight is not None or class_weight is not None:
                raise ValueError(f"{caller}: sample_weight and class_weight weigh the outputs' "
                                 "losses; this model has none (only losses its layers add)")
            return xs, ys, []
        if len(xs[0]) != len(ys[0]):
            raise ValueError(f"{caller}: x and y have different numbers of samples: "
                             f"{len(xs[0])} input rows, {len(ys[0])} target rows")
        return xs, ys, self._sample_weights(sample_weight, class_weight, ys, caller)

    # ---- steps ---------------------------------------------------------------------------
    def _train_buffers(self):
        store = self._store
        if self._slots is None or self._slots.shape[1] != store.params.size:
            opt = self.optimizer
            self._slots = np.zeros((max(opt.slots, 1), store.params.size), store.dtype)
            for row, value in enumerate(opt.slot_rows()):
                self._slots[row] = value
            restore = self.__dict__.pop("_pending_slots", None)  # set by fnjit.saving
            if restore is not None:
                restore(store, self._slots)
        store.bind()
        return store

    def _run_train_batch(self, program, xs, ys, sws):
        store = self._train_buffers()
        logs = np.zeros(program.n_logs)
        hyper = self.optimizer.hyper(store.dtype)
        _, reported = program.train_step(store.params, store.state, store.grads, self._slots,
                                          hyper, xs, ys, logs, sws)
        for var, constraint in program.constrained:
            constraints.apply(constraint, var)
        self.optimizer.iterations += 1
        self._update_stateful(program, ys, reported, sws)
        return logs

    def _logs_dict(self, sums, count, prefix=""):
        """Epoch (or running) means from summed logs: per sample, a weighted metric per unit
        of its output's sample weights (0 where they sum to 0, as Keras' Mean)."""
        layout = self._log_layout()
        sums_of = {(what, k): float(sums[i]) for i, (_, what, k, _) in enumerate(layout, 1)
                   if what in ("weight_sum", "mask_sum", "weighted_mask_sum")}
        out = {prefix + "loss": float(sums[0]) / max(count, 1)}
        for i, (name, what, k, _) in enumerate(layout, 1):
            if name is None:
                continue
            if k in self._masked_outputs:
                den = sums_of["mask_sum" if what == "metric" else "weighted_mask_sum", k]
            else:
                den = sums_of["weight_sum", k] if what == "weighted" else max(count, 1)
            out[prefix + name] = float(sums[i]) / den if den else 0.0
        for name, _, metric, _ in self._stateful_metrics():
            out[prefix + name] = metric.result()
        return out

    # ---- public loops --------------------------------------------------------------------
    def _prepared(self, source, kind, caller, class_weight=None, program=None):
        """(program, xs, ys, sws) of each batch of one epoch of `source`: array batches come
        checked and cast (for `program`); batches from Python are checked and cast one by
        one, each finding the program of its shapes. `kind` "predict" reads only x."""
        for batch in source.epoch():
            if program is not None:
                yield (program, *batch)
                continue
            x, y, sw = batch
            if kind == "predict":
                xs, ys, sws = self._inputs(x, caller), [], []
                kind_ = "train" if self.compiled else "predict"
            else:
                xs, ys, sws = self._data(x, y, caller, sw, class_weight)
                kind_ = "train"
            prog, xs = self._compiled(kind_, xs)
            yield prog, xs, ys, sws

    def _source(self, x, y, sample_weight, class_weight, caller, batch_size, steps,
                shuffle=False, continuing=False, kind="train"):
        """(batch source, program for array batches or None) for data given as arrays or as
        a generator / iterator / PyDataset."""
        if data_adapters.is_batch_source(x):
            data_adapters.refuse_with_source(caller, y=y, sample_weight=sample_weight,
                                             batch_size=batch_size)
            return data_adapters.batch_source(x, caller, steps, shuffle, continuing), None
        batch_size = _count(batch_size, "batch_size", caller, 32)
        if kind == "predict":
            parts = (self._inputs(x, caller), [], [])
        else:
            parts = self._data(x, y, caller, sample_weight, class_weight)
        program, xs = self._compiled("train" if kind == "train" or self.compiled else
                                     "predict", parts[0])
        n = len(xs[0])
        if not shuffle and steps is not None:  # evaluation: at most one pass
            steps = min(steps, math.ceil(n / batch_size))
        return data_adapters.ArrayBatches((xs, *parts[1:]), batch_size, steps,
                                          shuffle), program

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, nb_epoch=None, **kwargs):
        if nb_epoch is not None:
            warnings.warn("fit(nb_epoch=...) is Keras 1; use epochs=", DeprecationWarning,
                          stacklevel=2)
            epochs = nb_epoch
        if kwargs:
            raise TypeError(f"fit: unexpected arguments {sorted(kwargs)}")
        _count(batch_size, "batch_size", "fit")
        steps_per_epoch = _count(steps_per_epoch, "steps_per_epoch", "fit")
        validation_steps = _count(validation_steps, "validation_steps", "fit")
        validation_batch_size = _count(validation_batch_size, "validation_batch_size", "fit")
        validation_freq = _count(validation_freq, "validation_freq", "fit")
        epochs = _count(epochs, "epochs", "fit", least=0)
        initial_epoch = _count(initial_epoch, "initial_epoch", "fit", least=0)
        verbose = _verbosity(verbose, "fit")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"fit: shuffle must be True or False, got {shuffle!r}")
        if validation_split and data_adapters.is_batch_source(x):
            raise ValueError("fit: validation_split needs arrays; x is a generator, an iterator "
                             "or a PyDataset: give validation_data instead")
        train, program = self._source(x, y, sample_weight, class_weight, "fit", batch_size,
                                      steps_per_epoch, bool(shuffle), continuing=True)
        val = val_program = None
        if validation_data is not None and data_adapters.is_batch_source(validation_data):
            data_adapters.refuse_with_source("fit (validation_data)",
                                             validation_batch_size=validation_batch_size)
            val = data_adapters.batch_source(validation_data, "fit (validation_data)",
                                             validation_steps, continuing=False)
        elif validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or "
                                 "(x_val, y_val, val_sample_weight), a generator, an iterator "
                                 "or a PyDataset")
            val, val_program = self._source(
                *validation_data[:2], validation_data[2] if len(validation_data) == 3 else None,
                None, "fit (validation_data)", validation_batch_size or batch_size,
                validation_steps)
        elif validation_split:
            if isinstance(validation_split, bool) or \
                    not isinstance(validation_split, (int, float, np.number)) or \
                    not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in (0, 1), got "
                                 f"{validation_split}")
            parts, n = train.parts, train.n
            split = int(n * (1 - validation_split))
            if split == 0 or split == n:
                raise ValueError(f"fit: validation_split={validation_split} of {n} samples "
                                 "leaves no training or no validation samples")
            val_batch = validation_batch_size or train.batch_size
            val_steps = math.ceil((n - split) / val_batch)
            val = data_adapters.ArrayBatches(tuple([a[split:] for a in p] for p in parts),
                                             val_batch, min(validation_steps or val_steps,
                                                            val_steps))
            val_program = program
            train = data_adapters.ArrayBatches(tuple([a[:split] for a in p] for p in parts),
                                               train.batch_size, steps_per_epoch, train.shuffle)
        array_info = {"batch_size": train.batch_size, "samples": train.n} \
            if program is not None else {}
        cblist = self._callbacks(callbacks, verbose, {"epochs": epochs, "steps": train.steps,
                                                      "verbose": verbose, **array_info},
                                 history=True)
        # (unknown steps: the progress bar counts the batches it is shown)
        batch_hooks = cblist.needs_batch_hooks or (verbose == 1 and sys.stdout.isatty()) or \
            (verbose and train.steps is None)
        seeded = set()
        self.stop_training = False
        cblist.on_train_begin({})
        # a callback may move the start (BackupAndRestore resuming an interrupted fit)
        initial_epoch = self.__dict__.pop("_initial_epoch", None) or initial_epoch
        for epoch in range(initial_epoch, epochs):
            if train.exhausted:  # a generator read to its end in an earlier epoch
                if train.steps is None:  # (with steps, it warned when it ran out)
                    warnings.warn(data_adapters.RAN_OUT, stacklevel=2)
                break
            cblist.on_epoch_begin(epoch, {})
            self._reset_stateful()
            sums = None
            seen = 0
            for b, (prog, xs, ys, sws) in enumerate(self._prepared(train, "train", "fit",
                                                                   class_weight, program)):
                if id(prog) not in seeded:
                    prog.module.seed(_random.draw_seed())
                    seeded.add(id(prog))
                if batch_hooks:
                    cblist.on_train_batch_begin(b, {})
                logs = self._run_train_batch(prog, xs, ys, sws)
                sums = logs if sums is None else sums + logs
                seen += len(xs[0])
                if batch_hooks:
                    cblist.on_train_batch_end(b, self._logs_dict(sums, seen))
                if self.stop_training:
                    break
            train.end_epoch()
            if sums is None:  # a generator that had nothing left for this epoch
                warnings.warn(data_adapters.RAN_OUT, stacklevel=2)
                break
            logs = self._logs_dict(sums, seen)
            if val is not None and (epoch + 1) % validation_freq == 0:
                logs.update(self._evaluate_source(val, val_program, "fit (validation_data)",
                                                  "val_"))
            cblist.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cblist.on_train_end({})
        return self.history

    def _callbacks(self, callbacks, verbose, params, history=False):
        """Keras 3's order: the user's callbacks, then History, then the progress bar."""
        cbs = list(callbacks or [])
        if history:
            self.history = next((cb for cb in cbs if isinstance(cb, History)), None)
            if self.history is None:
                self.history = History()
                cbs.append(self.history)
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
            cbs.append(ProgbarLogger(verbose))
        return CallbackList(cbs, self, params)

    def _evaluate_source(self, source, program, caller, prefix="", cblist=None):
        """Losses and metrics over one epoch of `source` (see _source)."""
        sums = None
        n = 0
        self._reset_stateful()
        hooks = cblist is not None and cblist.needs("on_test_batch_begin", "on_test_batch_end")
        for b, (prog, xs, ys, sws) in enumerate(self._prepared(source, "evaluate", caller,
                                                               program=program)):
            if hooks:
                cblist.on_test_batch_begin(b, {})
            store = self._store
            store.bind()
            if sums is None:
                sums = np.zeros(prog.n_logs)
            reported = prog.evaluate(store.params, store.state, xs, ys, sums, sws)
            self._update_stateful(prog, ys, reported, sws)
            n += len(xs[0])
            if hooks:
                cblist.on_test_batch_end(b, self._logs_dict(sums, n, prefix))
        source.end_epoch()
        if sums is None:
            raise ValueError(f"{caller}: the data gave no batches (a generator already read "
                             "to its end?): a generator is read once; give one that yields "
                             "enough batches for every epoch, or a PyDataset")
        return self._logs_dict(sums, n, prefix)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        if kwargs:
            raise TypeError(f"evaluate: unexpected arguments {sorted(kwargs)}")
        _count(batch_size, "batch_size", "evaluate")
        steps = _count(steps, "steps", "evaluate")
        verbose = _verbosity(verbose, "evaluate")
        source, program = self._source(x, y, sample_weight, None, "evaluate", batch_size,
                                       steps)
        cblist = self._callbacks(callbacks, verbose, {
            "epochs": 1, "steps": source.steps, "verbose": verbose})
        cblist.on_test_begin({})
        logs = self._evaluate_source(source, program, "evaluate", cblist=cblist)
        cblist.on_test_end(logs)
        return self._format(logs, return_dict)

    def _format(self, logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        _count(batch_size, "batch_size", "predict")
        steps = _count(steps, "steps", "predict")
        verbose = _verbosity(verbose, "predict")
        source, program = self._source(x, None, None, None, "predict", batch_size, steps,
                                       kind="predict")
        cblist = self._callbacks(callbacks, verbose, {
            "epochs": 1, "steps": source.steps, "verbose": verbose})
        hooks = cblist.needs("on_predict_batch_begin", "on_predict_batch_end")
        cblist.on_predict_begin({})
        chunks = []
        for b, (prog, xs, _, _) in enumerate(self._prepared(source, "predict", "predict",
                                                            program=program)):
            if hooks:
                cblist.on_predict_batch_begin(b, {})
            store = self._store
            store.bind()
            chunks.append(prog.predict(store.params, store.state, xs))
            if hooks:
                cblist.on_predict_batch_end(b, {"outputs": chunks[-1]})
        source.end_epoch()
        if not chunks:
            raise ValueError("predict: the data gave no batches (a generator already read to "
                             "its end?)")
        cblist.on_predict_end({})
        outs = [np.concatenate([c[k] for c in chunks]) for k in range(len(self.outputs))]
        return outs[0] if len(outs) == 1 else outs

    # ---- Keras 2's generator methods: fit / evaluate / predict take generators now --------
    def _keras2_generator(self, what, data, workers, use_multiprocessing, max_queue_size):
        warnings.warn(f"Model.{what}_generator is Keras 2 (deprecated); use Model.{what}, which "
                      "takes generators and PyDatasets", DeprecationWarning, stacklevel=3)
        if isinstance(workers, bool) or workers not in (0, 1):
            raise ValueError(f"{what}_generator: workers={workers!r} is not supported: fnjit "
                             "reads a generator in the main thread (0 or 1); a PyDataset reads "
                             "in threads with PyDataset(workers=...)")
        if use_multiprocessing:
            raise ValueError(f"{what}_generator: use_multiprocessing=True is not supported: "
                             "fnjit reads batches in one process")
        # Keras 2's read-ahead queue: fnjit does not read ahead, so there is nothing to bound.
        _count(max_queue_size, "max_queue_size", f"{what}_generator")
        if not data_adapters.is_batch_source(data):
            raise TypeError(f"{what}_generator: expected a generator, an iterator or a "
                            f"PyDataset, got {type(data).__name__}")

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None,
                      validation_freq=1, class_weight=None, max_queue_size=10, workers=1,
                      use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Keras 2's: fit on `generator`. `shuffle` applies to a PyDataset only."""
        self._keras2_generator("fit", generator, workers, use_multiprocessing, max_queue_size)
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs,
                        verbose=verbose, callbacks=callbacks, validation_data=validation_data,
                        validation_steps=validation_steps, validation_freq=validation_freq,
                        class_weight=class_weight, initial_epoch=initial_epoch,
                        shuffle=bool(shuffle) and isinstance(generator,
                                                             data_adapters.PyDataset))

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                           workers=1, use_multiprocessing=False, verbose=0):
        self._keras2_generator("evaluate", generator, workers, use_multiprocessing,
                               max_queue_size)
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                          workers=1, use_multiprocessing=False, verbose=0):
        self._keras2_generator("predict", generator, workers, use_multiprocessing,
                               max_queue_size)
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        xs, ys, sws = self._data(x, y, "train_on_batch", sample_weight, class_weight)
        program, xs = self._compiled("train", xs)
        sums = self._run_train_batch(program, xs, ys, sws)
        return self._format(self._logs_dict(sums, len(xs[0])), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        xs, ys, sws = self._data(x, y, "test_on_batch", sample_weight)
        program, xs = self._compiled("train", xs)
        source = data_adapters.ArrayBatches((xs, ys, sws), len(xs[0]))
        return self._format(self._evaluate_source(source, program, "test_on_batch"),
                            return_dict)

    def predict_on_batch(self, x):
        n = len(self._inputs(x, "predict_on_batch")[0])
        return self.predict(x, batch_size=n, verbose=0)

    @property
    def metrics_names(self):
        if not self.compiled:
            return []
        self._resolve_compile()
        return ["loss"] + [name for name, _, _, _ in self._log_layout() if name is not None] + \
            [name for name, _, _, _ in self._stateful_metrics()]
