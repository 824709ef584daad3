"""fit / evaluate / predict: the Python loop around the generated native steps.

The model's programs come from fnjit/program_cache.py, its compile settings from
fnjit/compile_settings.py, its data checked by fnjit/training_data.py; weights live in one flat
buffer per model (fnjit/param_store.py), which a native step updates in place.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from . import constraints, data_adapters
from . import random as _random
from .argument_checks import _count, _verbosity
from .codegen.program import default_target
from .compile_settings import CompileSettings
from .program_cache import ProgramCache
from .training_data import TrainingData


class Trainer(CompileSettings, ProgramCache, TrainingData):
    """The training half of Model: mixed into Model, using its graph."""

    def __init__(self):
        self.optimizer = None
        self.compiled = False
        self._outputs_spec = None
        self._programs = {}
        self._per_call = {}  # see ProgramCache._settled
        self._store = None
        self._slots = None
        self.stop_training = False
        self.history = None
        self._target = default_target()
        self._masked_outputs = set()  # outputs carrying a mask (Keras masking), found lowering

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

    def _log_readout(self):
        """[(log name, its index in the summed logs, the index of its denominator there, or
        None for the sample count)] of the logs shown: a weighted metric is per unit of its
        output's sample weights, a masked one per unmasked step (see _log_layout)."""
        layout = self._log_layout()
        at = {(what, k): i for i, (_, what, k, _) in enumerate(layout, 1)
              if what in ("weight_sum", "mask_sum", "weighted_mask_sum")}
        readout = []
        for i, (name, what, k, _) in enumerate(layout, 1):
            if name is None:
                continue
            if k in self._masked_outputs and what in ("metric", "weighted"):
                den = at["mask_sum" if what == "metric" else "weighted_mask_sum", k]
            else:
                den = at["weight_sum", k] if what == "weighted" else None
            readout.append((name, i, den))
        return readout

    def _logs_dict(self, sums, count, prefix=""):
        """Epoch (or running) means from summed logs: per sample, or per unit of a denominator
        summed with them (0 where that sums to 0, as Keras' Mean)."""
        sums = sums.tolist()
        out = {prefix + "loss": sums[0] / max(count, 1)}
        for name, i, den in self._settled("log readout", self._log_readout):
            den = max(count, 1) if den is None else sums[den]
            out[prefix + name] = sums[i] / den if den else 0.0
        for name, _, metric, _ in self._stateful_metrics():
            out[prefix + name] = metric.result()
        return out

    # ---- public loops --------------------------------------------------------------------
    def _batch(self, x, y, caller, sample_weight=None, class_weight=None, kind="train"):
        """(program, xs, ys, sws) of one batch of arrays: the one place where a call's data
        is checked and cast and its program found. `kind` "predict" reads only x (and runs
        the training program once compiled, which has the predict entry too)."""
        if kind == "predict":
            xs, ys, sws = self._inputs(x, caller), [], []
        else:
            xs, ys, sws = self._data(x, y, caller, sample_weight, class_weight)
        program, xs = self._compiled("train" if kind != "predict" or self.compiled else
                                     "predict", xs)
        return program, xs, ys, sws

    def _prepared(self, source, kind, caller, class_weight=None, program=None):
        """(program, xs, ys, sws) of each batch of one epoch of `source`: array batches come
        checked and cast (for `program`); batches from Python are checked and cast one by
        one, each finding the program of its shapes. `kind` "predict" reads only x."""
        for batch in source.epoch():
            if program is not None:
                yield (program, *batch)
            else:
                x, y, sw = batch
                yield self._batch(x, y, caller, sw, class_weight, kind)

    def _source(self, x, y, sample_weight, class_weight, caller, batch_size, steps,
                shuffle=False, continuing=False, kind="train"):
        """(batch source, program for array batches or None) for data given as arrays or as
        a generator / iterator / PyDataset."""
        if data_adapters.is_batch_source(x):
            data_adapters.refuse_with_source(caller, y=y, sample_weight=sample_weight,
                                             batch_size=batch_size)
            return data_adapters.batch_source(x, caller, steps, shuffle, continuing), None
        batch_size = _count(batch_size, "batch_size", caller, 32)
        program, *parts = self._batch(x, y, caller, sample_weight, class_weight, kind)
        n = len(parts[0][0])
        if not shuffle and steps is not None:  # evaluation: at most one pass
            steps = min(steps, math.ceil(n / batch_size))
        return data_adapters.ArrayBatches(tuple(parts), batch_size, steps, shuffle), program

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
        from .callbacks import CallbackList, History, ProgbarLogger  # on first use: start time

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
            if sums is None:
                sums = np.zeros(prog.n_logs)
            self._evaluate_batch(prog, xs, ys, sws, sums)
            n += len(xs[0])
            if hooks:
                cblist.on_test_batch_end(b, self._logs_dict(sums, n, prefix))
        source.end_epoch()
        if sums is None:
            raise ValueError(f"{caller}: the data gave no batches (a generator already read "
                             "to its end?): a generator is read once; give one that yields "
                             "enough batches for every epoch, or a PyDataset")
        return self._logs_dict(sums, n, prefix)

    def _evaluate_batch(self, program, xs, ys, sws, sums):
        """Add one batch's losses and metrics into `sums` (and the stateful metrics)."""
        store = self._store
        store.bind()
        reported = program.evaluate(store.params, store.state, xs, ys, sums, sws)
        self._update_stateful(program, ys, reported, sws)

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
        if program is not None and not hooks and source.steps:
            # Arrays, and no callback wants each batch: every batch in one native call.
            store = self._store
            store.bind()
            rows = min(source.n, source.steps * source.batch_size)
            # Keras' default of 32 only bounds memory where samples never meet.
            block = source.batch_size if batch_size is not None else \
                program.default_predict_block(source.batch_size)
            outs = program.predict_batches(store.params, store.state,
                                           [x[:rows] for x in source.parts[0]], block)
            source.end_epoch()
            cblist.on_predict_end({})
            return outs[0] if len(outs) == 1 else list(outs)
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
        program, xs, ys, sws = self._batch(x, y, "train_on_batch", sample_weight, class_weight)
        sums = self._run_train_batch(program, xs, ys, sws)
        return self._format(self._logs_dict(sums, len(xs[0])), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        program, xs, ys, sws = self._batch(x, y, "test_on_batch", sample_weight)
        self._reset_stateful()
        sums = np.zeros(program.n_logs)
        self._evaluate_batch(program, xs, ys, sws, sums)
        return self._format(self._logs_dict(sums, len(xs[0])), return_dict)

    def predict_on_batch(self, x):
        program, xs, _, _ = self._batch(x, None, "predict_on_batch", kind="predict")
        store = self._store
        store.bind()
        # (predict's entry, over one batch: no second entry point to compile)
        outs = program.predict_batches(store.params, store.state, xs, len(xs[0]))
        return outs[0] if len(outs) == 1 else list(outs)

    @property
    def metrics_names(self):
        if not self.compiled:
            return []
        self._resolve_compile()
        return ["loss"] + [name for name, _, _, _ in self._log_layout() if name is not None] + \
            [name for name, _, _, _ in self._stateful_metrics()]
