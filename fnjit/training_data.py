"""The data of fit / evaluate / predict as arrays the programs take: inputs and targets by
position or output name, checked against the model's shapes and dtypes, and per-output sample
weights (given, or from class_weight).
"""

from __future__ import annotations

import numpy as np

from . import losses
from .argument_checks import _check_integers, _class_weights_to_samples, _numeric_array


def _ones(n, dtype):
    """np.ones(n, dtype), at a third of its cost (np.ones is Python: empty, then copyto)."""
    a = np.empty(n, dtype)
    a.fill(1)
    return a


class TrainingData:
    """Arrays checked for a model (mixed into Model through Trainer)."""

    def _array_specs(self, what):
        """(names, [(rank, non-batch shape, dtype)]) of the model's inputs or of its targets,
        which the arrays given are checked against: settled by the graph, compile() and floatx
        (ProgramCache._settled), not by the data."""
        if what == "input":
            names, shapes, dtypes = self.input_names, [t.shape for t in self.inputs], \
                self._input_dtypes()
        else:
            names = self.output_names
            shapes = [losses.target_shape(s.loss or "", t.shape)
                      for s, t in zip(self._outputs_spec, self.outputs)]
            dtypes = [self._float_dtype()] * len(names)
        return names, [(len(shape), tuple(shape[1:]), np.dtype(dtype))
                       for shape, dtype in zip(shapes, dtypes)]

    def _arrays(self, data, what, caller):
        arg = "x" if what == "input" else "y"
        if data is None:
            raise ValueError(f"{caller}: no {what} data given ({arg}=None)")
        names, specs = self._settled(what, self._array_specs, what)
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
        for arr, name, (rank, want, dtype) in zip(data, names, specs):
            a = _numeric_array(arr, f"{caller}: {arg} ({what} {name!r})")
            if a.ndim != rank:
                if what == "target" and a.ndim == rank + 1 and a.shape[-1] == 1:
                    a = a.reshape(a.shape[:-1])  # sparse labels given as (n, 1)
                if what == "target" and a.ndim == rank - 1 and want[-1:] == (1,):
                    a = a.reshape(a.shape + (1,))  # binary labels given as (n,)
                if what == "input" and a.ndim == rank + 1 and a.shape[-1] == 1:
                    a = a.reshape(a.shape[:-1])  # Keras 3 squeezes one extra trailing axis of 1
                if what == "input" and a.ndim == rank - 1 and want[-1:] == (1,):
                    a = a.reshape(a.shape + (1,))  # (n, 28, 28) for Input((28, 28, 1))
            got = a.shape[1:]
            if a.ndim != rank or got != want and any(w is not None and w != g
                                                     for w, g in zip(want, got)):
                raise ValueError(f"{caller}: {arg} ({what} {name!r}): expected arrays of shape "
                                 f"{(None,) + want}, got {a.shape}")
            if len(a) == 0:
                raise ValueError(f"{caller}: {arg} ({what} {name!r}) is empty: 0 samples")
            if dtype.kind in "iu" and not np.can_cast(a.dtype, dtype):  # else every value fits
                _check_integers(a, dtype, f"{caller}: {arg} ({what} {name!r})")
            # Inputs are cast once their program is known (see _compiled), targets now.
            out.append(a if what == "input" else np.ascontiguousarray(a, dtype=dtype))
        if len(out) > 1 and len({len(a) for a in out}) > 1:
            raise ValueError(f"{caller}: {arg} arrays have different numbers of samples: "
                             f"{dict(zip(names, (len(a) for a in out)))}")
        return out

    def _input_dtypes(self):
        """Float inputs take the model's float type (lowering.lower_model); integer ones keep
        theirs."""
        floatx = self._float_dtype()
        return [floatx if t.dtype.startswith("float") else t.dtype for t in self.inputs]

    def _inputs(self, x, caller):
        """The input arrays, checked but still in the dtypes given (see _compiled)."""
        self._ensure_graph(x)
        return self._arrays(x, "input", caller)

    def _compiled(self, kind, xs):
        """The program of `kind` for input arrays `xs`, and `xs` in its dtypes: indices are
        checked on the data as given, before a cast could round them (float64 to float32)."""
        program = self._program(kind, xs)
        _, specs = self._settled("input", self._array_specs, "input")
        cast = [np.ascontiguousarray(a, dtype) for a, (_, _, dtype) in zip(xs, specs)]
        if any(c.dtype != a.dtype for c, a in zip(cast, xs)):  # (else the program checks them)
            program.check_indices(xs)
        return program, cast

    def _sparse_outputs(self):
        """[(output index, number of classes)] of the outputs whose targets are class indices."""
        return [(k, out.shape[-1]) for k, (s, out) in enumerate(zip(self._outputs_spec,
                                                                  self.outputs))
                if s.loss == "sparse_categorical_crossentropy" or any(
                    fn == "sparse_categorical_accuracy"
                    for _, _, fn in s.metrics + s.weighted_metrics)]

    def _targets(self, y, caller):
        if not self.compiled:
            raise RuntimeError(f"model {self.name!r} must be compiled before training or "
                               "evaluation: call model.compile(optimizer, loss)")
        if not self._needs_targets():
            if y is not None:
                raise ValueError(f"{caller}: model {self.name!r} was compiled without a loss or "
                                 "metrics on its outputs (it minimises the losses its layers "
                                 "add): give no targets (y=None)")
            return []
        ys = self._arrays(y, "target", caller)
        for k, classes in self._settled("sparse outputs", self._sparse_outputs):
            t = ys[k]
            bad = ~np.isfinite(t) | (t < 0) | (t >= classes) | (t != np.floor(t))
            if bad.any():
                raise ValueError(f"{caller}: y (target {self._outputs_spec[k].name!r}): sparse "
                                 f"labels must be integers in [0, {classes}); found "
                                 f"{t[bad].ravel()[:5]}")
        return ys

    def _sample_weights(self, sample_weight, class_weight, ys, caller):
        """One float array of n per output: `sample_weight` given once, per output (list or
        dict by output name), or derived from `class_weight`; ones where none is given."""
        n = len(ys[0])
        if sample_weight is None and class_weight is None:  # the common case, kept cheap
            return [_ones(n, self._float_dtype())] * len(ys)
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
        floatx = self._float_dtype()
        out = []
        for name, w in zip(names, per_output):
            if w is None:
                out.append(_ones(n, floatx))
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
