"""Callbacks with Keras 3's hooks, arguments and behaviour: History, the progress bar, and the
ones users reach for (checkpoints, early stopping, learning-rate control, CSV logs).

Every file a callback writes goes to a temporary file renamed into place, so a process killed
mid-write leaves the previous checkpoint or log intact.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .progbar import Progbar


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

    def needs(self, *hooks):
        """Whether some callback overrides one of `hooks` (in its class or, as LambdaCallback
        does, on the instance): the loops skip per-batch calls nobody listens to."""
        return any(hook in vars(cb) or getattr(type(cb), hook) is not getattr(Callback, hook)
                   for cb in self.callbacks for hook in hooks)

    @property
    def needs_batch_hooks(self):
        return self.needs("on_train_batch_end", "on_batch_end", "on_train_batch_begin",
                          "on_batch_begin")


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


# ---- progress output ---------------------------------------------------------------------

class ProgbarLogger(Callback):
    """The progress output of fit (an `Epoch i/n` line and a bar per epoch), evaluate and
    predict, in Keras 3's format."""

    def __init__(self, verbose=None, stream=None):
        super().__init__()
        self._verbose_arg = verbose  # None: the verbosity fit/evaluate/predict were given
        self.verbose = 1 if verbose is None else verbose
        self.stream = stream
        self.progbar = None
        self.in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1) if self._verbose_arg is None else self._verbose_arg
        self.verbose = 1 if verbose == "auto" else verbose

    def _new_bar(self):
        self.progbar = Progbar(self.params.get("steps"), verbose=self.verbose,
                               stream=self.stream or sys.stdout)
        self._seen = 0  # batches done: the count shown when the steps were not known

    def _done(self):
        return self.params.get("steps") or self._seen

    def on_train_begin(self, logs=None):
        self.in_fit = True

    def on_train_end(self, logs=None):
        self.in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        epochs = self.params.get("epochs", 1)
        if self.verbose and epochs > 1:
            stream = self.stream or sys.stdout
            stream.write(f"Epoch {epoch + 1}/{epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self.progbar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self._done(), list((logs or {}).items()), finalize=True)

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self._seen = batch + 1
            self.progbar.update(batch + 1, list((logs or {}).items()), finalize=False)

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self.progbar.update(self._done(), list((logs or {}).items()), finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self.progbar.update(batch + 1, None, finalize=False)

    def on_predict_end(self, logs=None):
        self.progbar.update(self._done(), None, finalize=True)


# ---- monitoring a quantity ----------------------------------------------------------------

_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "crossentropy", "hinge", "divergence")


class MonitorCallback(Callback):
    """What EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share: the monitored quantity,
    its direction (mode), and what counts as an improvement (beyond min_delta)."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode {mode!r} is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        """'auto': accuracies are maximised, losses and errors minimised, as in Keras."""
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor.removeprefix("val_")
            if "acc" in name or name.endswith(("auc", "precision", "recall")):
                self.monitor_op = np.greater
            elif any(word in name for word in _LOWER_IS_BETTER):
                self.monitor_op = np.less
            else:
                raise ValueError(f"{type(self).__name__} callback received monitor="
                                 f"{self.monitor!r}, but cannot tell whether that metric "
                                 "should be maximized or minimized. Pass mode='max' or "
                                 "mode='min'.")
        self._signed_delta = -self.min_delta if self.monitor_op is np.less else self.min_delta

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self._signed_delta, reference))

    def _monitored(self, logs, what):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{what} conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}",
                          stacklevel=3)
        return value


class EarlyStopping(MonitorCallback):
    """Stop training when `monitor` has not improved for `patience` epochs (Keras 3: each
    epoch without improvement counts, starting after `start_from_epoch`; a `baseline` must be
    beaten before the count resets)."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self._monitored(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class _SavesEveryNBatches(Callback):
    """`save_freq`: "epoch" (the subclass saves at epoch ends) or a number of batches, counted
    across epochs, after which `_save(epoch, batch, logs)` runs."""

    _batches_since_save = 0
    _epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)


class ModelCheckpoint(MonitorCallback, _SavesEveryNBatches):
    """Save the model (or its weights) every epoch or every `save_freq` batches, to `filepath`
    formatted with `epoch` (1-based) and the logs: 'weights.{epoch:02d}-{val_loss:.2f}.h5'.

    `.keras` saves Keras 3's format and `.h5`/`.hdf5` Keras 2's; with save_weights_only,
    `.weights.h5` is Keras 3's weights layout and `.h5`/`.hdf5` Keras 2's.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, period=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if period is not None:
            warnings.warn("ModelCheckpoint(period=...) is Keras 2; use save_freq='epoch' (or an "
                          "int number of batches)", DeprecationWarning, stacklevel=2)
        self.period = int(period or 1)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             "'epoch' or a positive integer number of batches")
        self.save_freq = save_freq
        name = self.filepath.lower()
        allowed = (".weights.h5", ".h5", ".hdf5") if save_weights_only else \
            (".keras", ".h5", ".hdf5")
        if not name.endswith(allowed):
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} must end in one of "
                             f"{allowed} (save_weights_only={save_weights_only})")

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch" and (epoch + 1) % self.period == 0:
            self._save(epoch, None, logs)

    def _path(self, epoch, batch, logs):
        fields = dict(logs or {})
        if batch is not None:
            fields.setdefault("batch", batch + 1)
        try:
            return self.filepath.format(epoch=epoch + 1, **fields)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e} is not among epoch, batch and the logs "
                           f"{sorted(logs or {})}") from None

    def _should_save(self, epoch, logs, path):
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save(self, epoch, batch, logs):
        if self.monitor_op is None:
            self._set_monitor_op()
        path = self._path(epoch, batch, logs)
        if not self._should_save(epoch, logs, path):
            return
        if Path(path).is_dir():
            raise OSError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {path}")
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)


class TerminateOnNaN(Callback):
    """Stop training (or raise, with raise_error=True) when a batch's loss is NaN or inf."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                                   f"{loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by `factor` when `monitor` has not improved for `patience`
    epochs; wait `cooldown` epochs after a reduction; never below `min_lr`. The generated
    training step reads the learning rate each step, so nothing recompiles."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:  # Keras 2's name for min_delta
            min_delta = kwargs.pop("epsilon")
            warnings.warn("ReduceLROnPlateau(epsilon=...) is Keras 2; use min_delta=",
                          DeprecationWarning, stacklevel=2)
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received "
                             f"factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = self._monitored(logs, "Learning rate reduction")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(optimizer.learning_rate)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to `schedule(epoch, lr)` (or
    `schedule(epoch)`), epoch counted from 0."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.floating)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: "
                             f"{lr!r}")
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """One CSV row per epoch: `epoch` (from 0) and the logs' keys in sorted order (with the
    `val_` columns even before validation has run). The whole file is rewritten atomically
    each epoch, so it is never seen half-written."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._text = ""
        self._header = True

    def on_train_begin(self, logs=None):
        self._text = ""
        self._header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as fh:
                self._text = fh.read()
            self._header = not self._text
        self.keys = None

    def _value(self, v):
        if isinstance(v, str):
            return v
        if isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v) > 0:
            return f'"[{", ".join(map(str, v))}]"'
        return v

    def on_epoch_end(self, epoch, logs=None):
        from .saving.files import atomic_path

        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                lineterminator="\n")
        if self._header:
            writer.writeheader()
            self._header = False
        writer.writerow({"epoch": epoch, **{k: self._value(logs.get(k, "NA"))
                                            for k in self.keys}})
        self._text += out.getvalue()
        with atomic_path(self.filename) as tmp, open(tmp, "w", newline="") as fh:
            fh.write(self._text)


class LambdaCallback(Callback):
    """A callback from functions: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_train_begin(logs), on_train_end(logs), on_train_batch_begin(batch, logs),
    on_train_batch_end(batch, logs); Keras 2's on_batch_begin / on_batch_end too."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        unknown = sorted(k for k in kwargs if not (k.startswith("on_") and hasattr(Callback, k)))
        if unknown:
            raise TypeError(f"LambdaCallback: unexpected arguments {unknown}; hooks are the "
                            "Callback methods (on_epoch_begin, on_train_batch_end, ...)")
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class BackupAndRestore(_SavesEveryNBatches):
    """Keras 3's: back up the weights, the optimizer's state and the epoch count into
    `backup_dir` at the end of every epoch (or every `save_freq` batches); a fit that starts
    with a backup there resumes from it (the epoch it had reached, the weights and optimizer
    moments it had). Each file is written atomically, the weights before the epoch count.
    `double_checkpoint` keeps the previous backup as `*.bkp`, used when the latest cannot be
    read. `delete_checkpoint`: remove the backup when fit ends normally (only the files this
    callback writes, and `backup_dir` if that leaves it empty; Keras removes the whole
    directory)."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"BackupAndRestore: invalid value for argument `save_freq`. "
                             f"Received: save_freq={save_freq!r}. Expected either 'epoch' or "
                             "a positive integer number of batches.")
        self.backup_dir = Path(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._weights_path = self.backup_dir / "latest.weights.h5"
        self._metadata_path = self.backup_dir / "training_metadata.json"

    def _files(self, previous=False):
        suffix = ".bkp" if previous else ""
        return (Path(f"{self._weights_path}{suffix}"), Path(f"{self._metadata_path}{suffix}"))

    def _load(self, previous=False):
        import json

        from .saving import load_training_state

        weights, metadata = self._files(previous)
        if not weights.exists():
            return False
        load_training_state(self.model, weights)
        if metadata.exists():
            self.model._initial_epoch = int(json.loads(metadata.read_text())["epoch"])
        return True

    def on_train_begin(self, logs=None):
        from .saving.files import FileFormatError

        if not getattr(self.model, "inputs", None):
            raise ValueError("To use the BackupAndRestore callback, your model must be built "
                             f"before you call `fit()`. Model {self.model.name!r} is unbuilt: "
                             "give it an input shape")
        try:
            self._load()
        except (FileFormatError, OSError):
            if not (self.double_checkpoint and self._load(previous=True)):
                raise

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def _save(self, epoch, batch=None, logs=None):
        """Back up the state with `epoch` the first epoch still to run (mid-epoch, the one
        under way, which a resumed fit runs again from its start, as in Keras)."""
        import json

        from .saving.files import atomic_path

        if self.double_checkpoint:
            for now, previous in zip(self._files(), self._files(previous=True)):
                if now.exists():
                    with atomic_path(previous) as tmp:
                        Path(tmp).write_bytes(now.read_bytes())
        self.model.save_weights(self._weights_path, overwrite=True)
        with atomic_path(self._metadata_path) as tmp:
            Path(tmp).write_text(json.dumps({"epoch": epoch}))

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for path in self._files() + self._files(previous=True):
            path.unlink(missing_ok=True)
        if self.backup_dir.is_dir() and not any(self.backup_dir.iterdir()):
            self.backup_dir.rmdir()


class RemoteMonitor(Callback):
    """Keras' RemoteMonitor posts each epoch's logs to an HTTP server: refused, fnjit makes no
    network requests."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        raise ValueError("RemoteMonitor(root, path, field, headers, send_as_json) is not "
                         "supported: it posts logs to an HTTP server and fnjit makes no network "
                         "requests; log with CSVLogger, or post from a LambdaCallback")



def __getattr__(name):
    # TensorBoard lives in its own module (an optional writer library) that imports Callback
    # from here: imported when asked for, so that the two modules do not import each other.
    if name == "TensorBoard":
        from .tensorboard import TensorBoard

        return TensorBoard
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
