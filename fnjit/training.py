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

from . import backend, losses, optimizers
from . import random as _random
from .callbacks import CallbackList, History, ProgbarLogger
from .codegen.program import Program
from .lowering import concrete_input_shapes, lower_model
from .metrics import lower as lower_metric
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
    metrics: list  # (display name, kind, fn)


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
        self._target = "cpu"

    def _invalidate(self):
        self._programs = {}

    # ---- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                target="cpu", **kwargs):
        for ignored in ("sample_weight_mode", "weighted_metrics", "run_eagerly", "jit_compile",
                        "steps_per_execution", "auto_scale_loss"):
            kwargs.pop(ignored, None)
        if kwargs:
            raise TypeError(f"compile: unexpected arguments {sorted(kwargs)}")
        optimizer = optimizers.get(optimizer)
        args = (loss, metrics, loss_weights)
        # Resolve now when the outputs are known (a Sequential without an input shape resolves
        # at first use), before changing anything: a failed compile leaves the model as it was.
        specs = self._output_specs(*args) if getattr(self, "inputs", None) else None
        self.optimizer, self._target, self._compile_args = optimizer, target, args
        self._outputs_spec = specs
        self._slots = None
        self.compiled = True
        self._programs = {k: v for k, v in self._programs.items() if k[0] == "predict"}

    def _resolve_compile(self):
        if self._outputs_spec is None:
            self._outputs_spec = self._output_specs(*self._compile_args)

    def _output_specs(self, loss, metrics, loss_weights):
        """Per-output losses, weights and metrics (needs the outputs' names and shapes)."""
        names = self.output_names
        loss_list = _per_output(loss, names, "loss")
        weights = _per_output(loss_weights if loss_weights is not None else 1.0, names,
                              "loss_weights")
        if isinstance(metrics, dict):
            metric_list = _per_output(metrics, names, "metrics")
        elif metrics and all(isinstance(m, (list, tuple)) for m in metrics):
            metric_list = _per_output(list(metrics), names, "loss")
        else:
            metric_list = [metrics] * len(names)
        specs = []
        for name, out, lss, w, mets in zip(names, self.outputs, loss_list, weights, metric_list):
            lname = losses.get(lss) if lss is not None else None
            if isinstance(mets, str) or callable(mets):
                mets = [mets]
            resolved = [resolve_metric(m, lname, out.shape) for m in (mets or [])]
            specs.append(OutputSpec(name, lname, float(w if w is not None else 1.0), resolved))
        if all(s.loss is None for s in specs):
            raise ValueError("compile: no loss given; pass loss=... (a name such as "
                             "'categorical_crossentropy', a list, or a dict by output name)")
        return specs

    def _ensure_graph(self, x=None):
        ensure = getattr(self, "_ensure_built", None)
        if ensure is not None and x is not None:
            ensure(x)
        if not getattr(self, "inputs", None):
            raise ValueError(f"model {self.name!r} has no inputs yet: give its first layer an "
                             "input_shape, or add an Input")

    # ---- programs ------------------------------------------------------------------------
    def _log_names(self):
        specs = self._outputs_spec
        multi = len(specs) > 1
        names = [f"{s.name}_loss" for s in specs if s.loss]
        for s in specs:
            for display, _, _ in s.metrics:
                names.append(f"{s.name}_{display}" if multi else display)
        return names

    def _program(self, kind, xs=None):
        """The compiled program of `kind` for input arrays `xs` (whose shapes fill in unknown
        dimensions such as a variable sequence length): one program per distinct input shape,
        built on first use and kept."""
        floatx = backend.floatx()
        shapes = self._input_shapes(kind, xs)
        key = (kind, floatx, self._target, self.optimizer.kernel if kind == "train" else None,
               tuple(shapes))
        if key in self._programs:
            return self._programs[key]
        ctx, xs, ys = lower_model(self, floatx, shapes)
        kw = {}
        if kind == "train":
            targets, loss_values, metric_values = [], [], []
            for spec, y in zip(self._outputs_spec, ys):
                shape = losses.target_shape(spec.loss or "", ctx.shape(y))
                t = ctx.builder.input(f"target_{spec.name}", shape)
                targets.append(t)
                ctx.origin = f"loss and metrics of output {spec.name!r}"
                ctx.hint = spec.name
                if spec.loss:
                    loss_values.append((losses.lower(ctx, spec.loss, y, t), spec.weight))
                for _, mkind, fn in spec.metrics:
                    metric_values.append(lower_metric(ctx, mkind, fn, y, t))
            kw = dict(targets=targets, losses=loss_values, metrics=metric_values,
                      optimizer=self.optimizer.kernel)
        header = (f"# Generated by fnjit from model {self.name!r} ({type(self).__name__}), "
                  f"{kind} program, {floatx}.\n# Regenerated from the model and templates/; "
                  "edits are not kept.")
        program = Program(ctx.graph, model_inputs=xs, header=header, target=self._target, **kw)
        signature = [(id(ctx.variables[s.name]), s.trainable) for s in program.slots]
        if self._store is None or self._store_signature != (signature, floatx):
            self._store = ParamStore(ctx.variables, program.slots, floatx)
            self._store_signature = (signature, floatx)
            self._slots = None
        self._programs[key] = program
        return program

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
    def _arrays(self, data, tensors, names, what, shapes, dtypes):
        if data is None:
            raise ValueError(f"no {what} data given")
        if isinstance(data, dict):
            unknown = set(data) - set(names)
            if unknown:
                raise ValueError(f"{what} data names unknown {what}(s) {sorted(unknown)}; the "
                                 f"model's {what}s are {names}")
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"{what} data is missing {what}(s) {missing}")
            data = [data[n] for n in names]
        elif not isinstance(data, (list, tuple)):
            data = [data]
        if len(data) != len(names):
            raise ValueError(f"the model has {len(names)} {what}(s) {names} but {len(data)} "
                             f"{what} array(s) were given")
        out = []
        for arr, name, shape, dtype in zip(data, names, shapes, dtypes):
            a = np.asarray(arr)
            if what == "target" and a.ndim == len(shape) + 1 and a.shape[-1] == 1:
                a = a.reshape(a.shape[:-1])  # sparse labels given as (n, 1)
            if what == "target" and a.ndim == len(shape) - 1 and shape[-1] == 1:
                a = a.reshape(a.shape + (1,))  # binary labels given as (n,)
            want = tuple(shape[1:])
            got = tuple(a.shape[1:])
            if a.ndim != len(shape) or any(w is not None and w != g for w, g in zip(want, got)):
                raise ValueError(f"{what} {name!r}: expected arrays of shape "
                                 f"{(None,) + want}, got {a.shape}")
            if np.dtype(dtype).kind in "iu" and a.dtype.kind == "f":
                bad = ~np.isfinite(a) | (a != np.floor(a))
                if bad.any():
                    raise ValueError(f"{what} {name!r} has integer dtype {dtype} but its data "
                                     f"holds non-integer values such as {a[bad].ravel()[:3]}")
            try:
                a = np.ascontiguousarray(a, dtype=dtype)
            except (TypeError, ValueError) as e:
                raise ValueError(f"{what} {name!r}: cannot convert data of dtype {a.dtype} to "
                                 f"{dtype}: {e}") from None
            out.append(a)
        n = {len(a) for a in out}
        if len(n) > 1:
            raise ValueError(f"{what} arrays have different numbers of samples: "
                             f"{dict(zip(names, (len(a) for a in out)))}")
        return out

    def _inputs(self, x):
        self._ensure_graph(x)
        return self._arrays(x, self.inputs, self.input_names, "input",
                            [t.shape for t in self.inputs],
                            [t.dtype if t.dtype != "float32" else backend.floatx()
                             for t in self.inputs])

    def _targets(self, y):
        if not self.compiled:
            raise RuntimeError(f"model {self.name!r} must be compiled before training or "
                               "evaluation: call model.compile(optimizer, loss)")
        self._resolve_compile()
        specs = self._outputs_spec
        shapes = [losses.target_shape(s.loss or "", t.shape) for s, t in zip(specs, self.outputs)]
        ys = self._arrays(y, self.outputs, self.output_names, "target", shapes,
                          [backend.floatx()] * len(specs))
        for s, t, out in zip(specs, ys, self.outputs):
            if s.loss == "sparse_categorical_crossentropy" or any(
                    fn == "sparse_categorical_accuracy" for _, _, fn in s.metrics):
                k = out.shape[-1]
                bad = ~np.isfinite(t) | (t < 0) | (t >= k) | (t != np.floor(t))
                if bad.any():
                    raise ValueError(f"target {s.name!r}: sparse labels must be integers in "
                                     f"[0, {k}); found {t[bad].ravel()[:5]}")
        return ys

    def _data(self, x, y):
        xs, ys = self._inputs(x), self._targets(y)
        if len(xs[0]) != len(ys[0]):
            raise ValueError(f"inputs and targets have different numbers of samples: "
                             f"{len(xs[0])} input rows, {len(ys[0])} target rows")
        return xs, ys

    # ---- steps ---------------------------------------------------------------------------
    def _train_buffers(self):
        store = self._store
        if self._slots is None or self._slots.shape[1] != store.params.size:
            opt = self.optimizer
            self._slots = np.full((max(opt.slots, 1), store.params.size), opt.slot_init,
                                  store.dtype)
            restore = self.__dict__.pop("_pending_slots", None)  # set by fnjit.saving
            if restore is not None:
                restore(store, self._slots)
        store.bind()
        return store

    def _run_train_batch(self, program, xs, ys):
        store = self._train_buffers()
        logs = np.zeros(program.n_logs)
        hyper = self.optimizer.hyper(store.dtype)
        program.train_step(store.params, store.state, store.grads, self._slots, hyper, xs, ys,
                           logs)
        self.optimizer.iterations += 1
        return logs

    def _logs_dict(self, sums, count, prefix=""):
        specs = self._outputs_spec
        n_losses = sum(1 for s in specs if s.loss)
        means = [float(v) / max(count, 1) for v in sums]
        names = self._log_names()
        out = {prefix + "loss": float(sum(means[:n_losses]))}
        multi = len(specs) > 1
        for name, v in zip(names, means):
            if multi or not name.endswith("_loss"):
                out[prefix + name] = v
        return out

    # ---- public loops --------------------------------------------------------------------
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
        if class_weight is not None or sample_weight is not None:
            raise ValueError("fit: class_weight and sample_weight are not supported yet")
        xs, ys = self._data(x, y)
        batch_size = int(batch_size or 32)
        if batch_size <= 0:
            raise ValueError(f"fit: batch_size must be positive, got {batch_size}")
        n = len(xs[0])
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) < 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            val = self._data(validation_data[0], validation_data[1])
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in (0, 1), got "
                                 f"{validation_split}")
            split = int(n * (1 - validation_split))
            val = ([a[split:] for a in xs], [a[split:] for a in ys])
            xs, ys = [a[:split] for a in xs], [a[:split] for a in ys]
            n = split
        if n == 0:
            raise ValueError("fit: no training samples")
        verbose = 1 if verbose == "auto" else verbose
        program = self._program("train", xs)
        program.module.seed(_random.draw_seed())
        steps = steps_per_epoch or math.ceil(n / batch_size)
        cblist = self._callbacks(callbacks, verbose, {"epochs": epochs, "steps": steps,
                                                      "verbose": verbose,
                                                      "batch_size": batch_size, "samples": n},
                                 history=True)
        batch_hooks = cblist.needs_batch_hooks or (verbose == 1 and sys.stdout.isatty())
        self.stop_training = False
        cblist.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cblist.on_epoch_begin(epoch, {})
            order = _random.generator().permutation(n) if shuffle else None
            sums = np.zeros(program.n_logs)
            seen = 0
            for b in range(steps):
                lo = (b * batch_size) % n
                hi = min(lo + batch_size, n)
                if batch_hooks:
                    cblist.on_train_batch_begin(b, {})
                if order is None:
                    bx, by = [a[lo:hi] for a in xs], [a[lo:hi] for a in ys]
                else:
                    idx = order[lo:hi]
                    bx, by = [a[idx] for a in xs], [a[idx] for a in ys]
                sums += self._run_train_batch(program, bx, by)
                seen += hi - lo
                if batch_hooks:
                    cblist.on_train_batch_end(b, self._logs_dict(sums, seen))
                if self.stop_training:
                    break
            logs = self._logs_dict(sums, seen)
            if val is not None and (epoch + 1) % validation_freq == 0:
                logs.update(self._evaluate_arrays(val[0], val[1],
                                                  validation_batch_size or batch_size, "val_"))
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

    def _evaluate_arrays(self, xs, ys, batch_size, prefix="", cblist=None):
        program = self._program("train", xs)
        store = self._store
        store.bind()
        sums = np.zeros(program.n_logs)
        n = len(xs[0])
        hooks = cblist is not None and cblist.needs("on_test_batch_begin", "on_test_batch_end")
        for b, lo in enumerate(range(0, n, batch_size)):
            hi = min(lo + batch_size, n)
            if hooks:
                cblist.on_test_batch_begin(b, {})
            program.evaluate(store.params, store.state, [a[lo:hi] for a in xs],
                             [a[lo:hi] for a in ys], sums)
            if hooks:
                cblist.on_test_batch_end(b, self._logs_dict(sums, hi, prefix))
        return self._logs_dict(sums, n, prefix)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False,
                 callbacks=None, **kwargs):
        kwargs.pop("sample_weight", None)
        kwargs.pop("steps", None)
        xs, ys = self._data(x, y)
        batch_size = int(batch_size or 32)
        verbose = 1 if verbose == "auto" else verbose
        cblist = self._callbacks(callbacks, verbose, {
            "epochs": 1, "steps": math.ceil(len(xs[0]) / batch_size), "verbose": verbose})
        cblist.on_test_begin({})
        logs = self._evaluate_arrays(xs, ys, batch_size, cblist=cblist)
        cblist.on_test_end(logs)
        return self._format(logs, return_dict)

    def _format(self, logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        xs = self._inputs(x)
        program = self._program("train" if self.compiled else "predict", xs)
        store = self._store
        store.bind()
        batch_size = int(batch_size or 32)
        n = len(xs[0])
        verbose = 1 if verbose == "auto" else verbose
        cblist = self._callbacks(callbacks, verbose, {
            "epochs": 1, "steps": math.ceil(n / batch_size), "verbose": verbose})
        hooks = cblist.needs("on_predict_batch_begin", "on_predict_batch_end")
        cblist.on_predict_begin({})
        chunks = []
        for b, lo in enumerate(range(0, n, batch_size)):
            hi = min(lo + batch_size, n)
            if hooks:
                cblist.on_predict_batch_begin(b, {})
            chunks.append(program.predict(store.params, store.state, [a[lo:hi] for a in xs]))
            if hooks:
                cblist.on_predict_batch_end(b, {"outputs": chunks[-1]})
        cblist.on_predict_end({})
        if not chunks:
            outs = [np.zeros((0,) + tuple(program.graph.shape(o)[1:]), store.dtype)
                    for o in program.graph.outputs]
        else:
            outs = [np.concatenate([c[k] for c in chunks]) for k in range(len(self.outputs))]
        return outs[0] if len(outs) == 1 else outs

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        xs, ys = self._data(x, y)
        program = self._program("train", xs)
        sums = self._run_train_batch(program, xs, ys)
        return self._format(self._logs_dict(sums, len(xs[0])), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        xs, ys = self._data(x, y)
        return self._format(self._evaluate_arrays(xs, ys, max(len(xs[0]), 1)), return_dict)

    def predict_on_batch(self, x):
        n = len(self._inputs(x)[0])
        return self.predict(x, batch_size=max(n, 1), verbose=0)

    @property
    def metrics_names(self):
        if not self.compiled:
            return []
        return ["loss"] + [k for k in self._logs_dict([0.0] * len(self._log_names()), 1)
                           if k != "loss"]

