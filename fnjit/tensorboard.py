"""keras.callbacks.TensorBoard: event files that TensorBoard reads, written by tensorboardX (an
optional dependency: `pip install tensorboardX`, or `pip install fnjit[tensorboard]`).

What Keras 3 writes, under the same names: in `log_dir/train`, `epoch_<name>` per epoch for the
training logs and the optimizer's `epoch_learning_rate`; with `update_freq` "batch" or N,
`batch_<name>` every N batches (steps counted over the whole fit from 1); with
`histogram_freq` N, `<weight path>/histogram` every N epochs; with `write_graph`, the model's
JSON as Keras' conceptual graph (tag "keras"). In `log_dir/validation`, `epoch_<name>` for the
`val_` logs, and `evaluation_<name>_vs_iterations` after evaluate(callbacks=[...]) (Keras
writes those after fit's validation too; fnjit's fit does not run test hooks for it).
Event files are append-only logs, written as tensorboardX writes them (TensorBoard reads a
file whose last record is still being written).
"""

from __future__ import annotations

import os
import time

import numpy as np

from .callbacks import Callback
from .data_adapters import whole_number


def _scalar(name, value):
    """A log's value as a float; a metric with several values (F1Score(average=None)) is
    refused, as Keras' scalar summaries refuse it."""
    if np.ndim(value) != 0:
        raise ValueError(f"TensorBoard: the log {name!r} is not a scalar (shape "
                         f"{np.shape(value)}); TensorBoard scalars take one number per step")
    return float(value)


def summary_writer_class():
    """tensorboardX.SummaryWriter, or an ImportError saying how to install it."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("TensorBoard: writing TensorBoard event files needs tensorboardX, "
                          "which is not installed: `pip install tensorboardX` (or `pip "
                          "install fnjit[tensorboard]`)") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Keras 3's TensorBoard callback: scalars per epoch (and per batch with `update_freq`),
    weight histograms every `histogram_freq` epochs, the model's graph (`write_graph`).
    Refused: write_images, profile_batch, embeddings_freq and embeddings_metadata (no image
    summaries of weights, no profiler, no embedding projector)."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        for name, value, default in (("write_images", write_images, False),
                                     ("profile_batch", profile_batch, 0),
                                     ("embeddings_freq", embeddings_freq, 0),
                                     ("embeddings_metadata", embeddings_metadata, None)):
            if value != default:
                raise ValueError(f"TensorBoard: {name}={value!r} is not supported by fnjit "
                                 "(no weight images, profiler or embedding projector); leave "
                                 f"{name} at {default!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = whole_number(histogram_freq, "histogram_freq", "TensorBoard",
                                           least=0)
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        elif update_freq != "epoch":
            update_freq = whole_number(update_freq, "update_freq", "TensorBoard")
        self.update_freq = update_freq
        self._writer_class = summary_writer_class()
        self._writers = {}
        self._global_train_batch = 0
        self._batch_start = self._epoch_start = 0.0
        self._epoch_start_iterations = 0
        if update_freq != "epoch":
            # Bound on the instance only when asked: fit computes per-batch logs only for
            # callbacks that listen to batches.
            self.on_train_batch_begin = self._train_batch_begin
            self.on_train_batch_end = self._train_batch_end

    # ---- writers --------------------------------------------------------------------------
    def _writer(self, which):
        """The writer of `log_dir/train` or `log_dir/validation`, made on first use (so that
        no empty event file is left where nothing is logged)."""
        if which not in self._writers:
            self._writers[which] = self._writer_class(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model):
        super().set_model(model)
        self._close()
        if self.write_graph:
            self._write_model_graph()

    def _write_model_graph(self):
        """The model's JSON under the "graph_keras_model" plugin, as Keras writes it, which
        TensorBoard's graph tab draws as Keras' conceptual graph."""
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboardX.proto.types_pb2 import DT_STRING

        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
            plugin_name="graph_keras_model", content=b"1"))
        tensor = TensorProto(dtype=DT_STRING, string_val=[self.model.to_json().encode()],
                             tensor_shape=TensorShapeProto())
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        self._writer("train")._get_file_writer().add_summary(summary, 0)

    # ---- hooks ----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_end(self, logs=None):
        self._close()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_start_iterations = self._iterations()

    def _train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def _train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if step % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / max(seconds, 1e-9), step)
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", _scalar(name, value), step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start
            steps = self._iterations() - self._epoch_start_iterations
            train["steps_per_second"] = steps / max(seconds, 1e-9)
        for which, scalars in (("train", train), ("validation", val)):
            if scalars:
                writer = self._writer(which)
                for name, value in scalars.items():
                    writer.add_scalar(f"epoch_{name}", _scalar(name, value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for layer in self.model.layers:
                for weight in layer.weights:
                    writer.add_histogram(f"{weight.path.replace(':', '_')}/histogram",
                                         weight.numpy(), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", _scalar(name, value),
                              int(optimizer.iterations))
        # tensorboardX writes from a thread and its flush() does not wait for it: only close()
        # puts the events on disk before evaluate() returns. A later call opens a new file.
        writer.close()
        del self._writers["validation"]

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        return int(optimizer.iterations) if optimizer is not None else 0
