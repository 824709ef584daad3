"""keras.callbacks.TensorBoard: the event files are read back record by record with
tensorboardX's own framing check (masked CRC32C) and protobuf classes, and compared with the
fit's History and the model's weights; without tensorboardX the callback refuses clearly."""

import builtins
import importlib.util
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import fnjit as keras

HAVE_TBX = importlib.util.find_spec("tensorboardX") is not None
needs_tbx = pytest.mark.skipif(not HAVE_TBX, reason="tensorboardX is not installed")


def read_events(folder):
    """Every Event in the event files of `folder`, checking each record's framing."""
    from tensorboardX.proto.event_pb2 import Event
    from tensorboardX.record_writer import masked_crc32c

    files = sorted(Path(folder).glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    events = []
    for file in files:
        data = file.read_bytes()
        pos = 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("Q", header)
            (header_crc,) = struct.unpack("I", data[pos + 8:pos + 12])
            body = data[pos + 12:pos + 12 + length]
            (body_crc,) = struct.unpack("I", data[pos + 12 + length:pos + 16 + length])
            assert header_crc == masked_crc32c(header) and body_crc == masked_crc32c(body)
            events.append(Event.FromString(body))
            pos += 16 + length
    return events


def scalars(folder):
    """tag -> {step: value} of the simple scalar summaries in `folder`."""
    out = {}
    for event in read_events(folder):
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                out.setdefault(value.tag, {})[event.step] = value.simple_value
    return out


def small_model():
    inp = keras.Input((3,))
    out = keras.layers.Dense(1, name="dense")(keras.layers.Dense(4, name="hidden")(inp))
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


def data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


@needs_tbx
def test_epoch_and_batch_scalars_histograms_and_graph(tmp_path):
    x, y = data()
    model = small_model()
    batch_logs = {}
    step = iter(range(1, 1000))
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: batch_logs.__setitem__(next(step), dict(logs)))
    tb = keras.callbacks.TensorBoard(tmp_path, histogram_freq=2, update_freq=3,
                                     write_graph=True)
    history = model.fit(x, y, batch_size=8, epochs=3, validation_data=(x[:8], y[:8]),
                        callbacks=[tb, record], verbose=0)
    train, val = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    for name in ("loss", "mae"):
        np.testing.assert_allclose([train[f"epoch_{name}"][e] for e in range(3)],
                                   history.history[name], rtol=1e-6)
        np.testing.assert_allclose([val[f"epoch_{name}"][e] for e in range(3)],
                                   history.history[f"val_{name}"], rtol=1e-6)
    assert train["epoch_learning_rate"] == {0: pytest.approx(0.05), 1: pytest.approx(0.05),
                                            2: pytest.approx(0.05)}
    # 4 batches an epoch, 12 in all, counted from 1 over the fit: every third is written
    assert sorted(train["batch_loss"]) == [3, 6, 9, 12]
    for s, value in train["batch_loss"].items():
        assert value == pytest.approx(batch_logs[s]["loss"], rel=1e-6)
    assert "batch_loss" not in val and not any(t.startswith("val_") for t in train)
    # histograms at epochs 0 and 2 (histogram_freq=2): the last holds the final weights
    histos = {}
    for event in read_events(tmp_path / "train"):
        for value in event.summary.value:
            if value.WhichOneof("value") == "histo":
                histos.setdefault(value.tag, {})[event.step] = value.histo
    kernel = model.get_layer("hidden").weights[0]
    assert sorted(histos) == sorted(f"{w.path}/histogram" for w in model.weights)
    last = histos[f"{kernel.path}/histogram"][2]
    assert sorted(histos[f"{kernel.path}/histogram"]) == [0, 2]
    assert last.num == 12 and last.sum == pytest.approx(float(kernel.numpy().sum()), rel=1e-5)
    assert last.min == pytest.approx(float(kernel.numpy().min()))
    # the model's JSON, as Keras' conceptual graph
    graphs = [v for e in read_events(tmp_path / "train") for v in e.summary.value
              if v.tag == "keras"]
    assert len(graphs) == 1
    assert graphs[0].metadata.plugin_data.plugin_name == "graph_keras_model"
    assert json.loads(graphs[0].tensor.string_val[0]) == json.loads(model.to_json())


@needs_tbx
def test_epoch_update_freq_adds_no_batch_hooks_and_evaluate_logs_by_iteration(tmp_path):
    x, y = data()
    model = small_model()
    tb = keras.callbacks.TensorBoard(tmp_path, write_graph=False,
                                     write_steps_per_second=True)
    assert "on_train_batch_end" not in vars(tb)  # fit computes no per-batch logs for it
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[tb])
    train = scalars(tmp_path / "train")
    assert not any(t.startswith("batch_") for t in train)
    assert sorted(train["epoch_steps_per_second"]) == [0, 1]
    assert all(v > 0 for v in train["epoch_steps_per_second"].values())
    assert not (tmp_path / "validation").exists()  # no validation: no empty event file
    loss = model.evaluate(x, y, verbose=0, callbacks=[tb], return_dict=True)["loss"]
    val = scalars(tmp_path / "validation")
    assert val["evaluation_loss_vs_iterations"] == {4: pytest.approx(loss, rel=1e-6)}
    batch = keras.callbacks.TensorBoard(tmp_path / "b", update_freq="batch")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[batch])
    assert sorted(scalars(tmp_path / "b" / "train")["batch_loss"]) == [1, 2]


def test_arguments_are_checked_by_name(tmp_path):
    for kwargs, match in [(dict(update_freq="sometimes"), "update_freq"),
                          (dict(update_freq=0), "update_freq"),
                          (dict(histogram_freq=-1), "histogram_freq"),
                          (dict(write_images=True), "write_images"),
                          (dict(profile_batch=2), "profile_batch"),
                          (dict(embeddings_freq=1), "embeddings_freq")]:
        with pytest.raises(ValueError, match=match):
            keras.callbacks.TensorBoard(tmp_path, **kwargs)


def test_without_tensorboardx_it_refuses_clearly(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_tbx(name, *args, **kwargs):
        if name == "tensorboardX" or name.startswith("tensorboardX."):
            raise ImportError("No module named 'tensorboardX'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tbx)
    with pytest.raises(ImportError, match=r"needs tensorboardX.*pip install tensorboardX"):
        keras.callbacks.TensorBoard(tmp_path)
    assert not any(tmp_path.iterdir())
