"""Saving and loading, as `keras.saving`: the `.keras` format of Keras 3 (a zip holding
config.json, metadata.json and model.weights.h5), weights files in Keras 3's and Keras 2's HDF5
layouts, Keras 2's full-model `.h5`, and JSON configs. Files written by Keras 3 load here and
files written here load in Keras 3. Every write goes to a temporary file renamed into place."""

from __future__ import annotations

import datetime
import io
import json
import warnings
import zipfile
from pathlib import Path

from . import optimizer_state
from .config import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_layer,
    functional_config,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    layer_registry,
    model_from_config,
    model_from_json,
    model_to_dict,
    register_keras_serializable,
    to_json,
)
from .files import FileFormatError, atomic_path, reading, require_h5py
from .weights import is_legacy, read_keras3, read_legacy, write_keras3, write_legacy

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "model_from_json",
           "model_from_config", "functional_config", "register_keras_serializable",
           "layer_registry", "deserialize_layer", "to_json", "get_custom_objects",
           "custom_object_scope", "CustomObjectScope", "get_registered_name",
           "get_registered_object"]

_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
KERAS_FORMAT_VERSION = "3.0.0"  # the Keras release whose file format this writes


# ---- compile config -----------------------------------------------------------------------

def _name_of(obj):
    from .. import losses

    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [_name_of(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _name_of(v) for k, v in obj.items()}
    if isinstance(obj, losses.Loss) and obj.fn:  # with its options, as Keras 3 writes it
        return {"module": "keras.losses", "class_name": type(obj).__name__,
                "config": obj.get_config(), "registered_name": None}
    try:
        return losses.get(obj)
    except ValueError:
        return getattr(obj, "__name__", None) or getattr(obj, "name", None) or str(obj)


def compile_config(model):
    """What `compile` was given, as Keras 3 writes it into config.json."""
    args = getattr(model, "_compile_args", None)
    if not getattr(model, "compiled", False) or args is None:
        return None
    loss, metrics, loss_weights = args
    opt = model.optimizer
    config = {k: v for k, v in opt.get_config().items() if not (k == "decay" and not v)}
    return {"optimizer": {"module": "keras.optimizers", "class_name": type(opt).__name__,
                          "config": config, "registered_name": None},
            "loss": _name_of(loss), "loss_weights": _name_of(loss_weights),
            "metrics": _name_of(metrics),
            "weighted_metrics": _name_of(getattr(model, "_weighted_metrics", None)),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def _object_name(value):
    """A loss or metric from a compile config: names stay, serialised built-in losses become
    instances with their options, other serialised objects become names."""
    from .. import losses
    from ..backend import snake_case

    if isinstance(value, dict) and "class_name" in value:
        config = value.get("config") or {}
        if value.get("module", "").endswith("losses") and value["class_name"] in losses.CLASSES:
            return losses.CLASSES[value["class_name"]](**config)
        if value.get("module", "").endswith("metrics") and config.get("name"):
            return config["name"]
        return snake_case(value["class_name"])
    if isinstance(value, list):
        return [_object_name(v) for v in value]
    if isinstance(value, dict):
        return {k: _object_name(v) for k, v in value.items()}
    return value


def _optimizer_from(data):
    from .. import optimizers

    return optimizers.deserialize(data)


def restore_compile(model, config, path):
    try:
        model.compile(optimizer=_optimizer_from(config.get("optimizer", "rmsprop")),
                      loss=_object_name(config.get("loss")),
                      metrics=_object_name(config.get("metrics")),
                      weighted_metrics=_object_name(config.get("weighted_metrics")),
                      loss_weights=config.get("loss_weights"))
    except (ValueError, TypeError) as e:
        warnings.warn(f"{path}: the model was saved compiled, but its compile settings cannot "
                      f"be restored ({e}); it is returned uncompiled: call compile()",
                      stacklevel=3)


# ---- .keras -------------------------------------------------------------------------------

def _weights_bytes(model, legacy=False):
    h5py = require_h5py()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        (write_legacy if legacy else write_keras3)(f, model)
        if not legacy and getattr(model, "optimizer", None) is not None:
            optimizer_state.write(f, model)
    return buf.getvalue()


def _save_keras(model, path, overwrite):
    config = model_to_dict(model, compile_config(model))
    from ..codegen import __version__

    metadata = {"keras_version": KERAS_FORMAT_VERSION, "saved_by": f"fnjit {__version__}",
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = _weights_bytes(model)
    with atomic_path(path, overwrite) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        zf.writestr(_METADATA, json.dumps(metadata))
        zf.writestr(_CONFIG, json.dumps(config))
        zf.writestr(_WEIGHTS, weights)


def _load_keras(path, custom_objects, compile, safe_mode):
    h5py = require_h5py()
    with reading(path, "model file"):
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as e:
            raise FileFormatError(f"model file {str(path)!r} is not a .keras file (not a valid "
                                  f"zip archive: {e})") from None
        with zf:
            names = zf.namelist()
            for needed in (_CONFIG, _WEIGHTS):
                if needed not in names:
                    raise FileFormatError(f"model file {str(path)!r} has no {needed} (it holds "
                                          f"{names}): not a Keras 3 .keras file")
            try:
                config = json.loads(zf.read(_CONFIG))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise FileFormatError(f"model file {str(path)!r}: {_CONFIG} is not valid "
                                      f"JSON ({e})") from None
            model = deserialize_layer(config, custom_objects, safe_mode)
            with h5py.File(io.BytesIO(zf.read(_WEIGHTS)), "r") as f:
                read_keras3(f, model)
                if compile and config.get("compile_config"):
                    restore_compile(model, config["compile_config"], path)
                    if model.compiled:
                        optimizer_state.read(f, model)
    return model


# ---- Keras 2 full-model .h5 -----------------------------------------------------------------

def _save_h5(model, path, overwrite):
    h5py = require_h5py()
    config = model_to_dict(model)
    with atomic_path(path, overwrite) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": config["class_name"],
                                              "config": config["config"]})
        f.attrs["backend"] = "fnjit"
        f.attrs["keras_version"] = KERAS_FORMAT_VERSION
        training = compile_config(model)
        if training is not None:
            training["optimizer_config"] = training.pop("optimizer")
            f.attrs["training_config"] = json.dumps(training)
        write_legacy(f.create_group("model_weights"), model)


def _load_h5(path, custom_objects, compile, safe_mode):
    h5py = require_h5py()
    with reading(path, "model file"), h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise FileFormatError(f"model file {str(path)!r} has no model_config: it holds "
                                  "weights only; build the model and call load_weights()")
        config = json.loads(f.attrs["model_config"])
        model = deserialize_layer(config, custom_objects, safe_mode)
        read_legacy(f, model)
        training = json.loads(f.attrs["training_config"]) if "training_config" in f.attrs \
            else None
    if compile and training:
        training = dict(training)
        training["optimizer"] = training.pop("optimizer_config", "rmsprop")
        restore_compile(model, training, path)
    return model


# ---- public API ------------------------------------------------------------------------------

def _suffix(path):
    name = str(path).lower()
    for ext in (".weights.h5", ".keras", ".h5", ".hdf5"):
        if name.endswith(ext):
            return ext
    return Path(name).suffix


def save_model(model, filepath, overwrite=True, **kwargs):
    """`model.save(path)`: `.keras` (Keras 3's format) or `.h5`/`.hdf5` (Keras 2's)."""
    ext = _suffix(filepath)
    if ext == ".keras":
        _save_keras(model, filepath, overwrite)
    elif ext in (".h5", ".hdf5"):
        _save_h5(model, filepath, overwrite)
    else:
        raise ValueError(f"save: {str(filepath)!r} must end in .keras (Keras 3's format) or "
                         ".h5 (Keras 2's)")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a `.keras` file or a Keras 2 full-model `.h5` file."""
    path = Path(filepath)
    if not path.exists():
        raise FileNotFoundError(f"load_model: no such file {str(path)!r}")
    if zipfile.is_zipfile(path) or _suffix(path) == ".keras":
        return _load_keras(path, custom_objects, compile, safe_mode)
    return _load_h5(path, custom_objects, compile, safe_mode)


def save_weights(model, filepath, overwrite=True):
    """`.weights.h5`: Keras 3's layout; `.h5` / `.hdf5`: Keras 2's layout."""
    ext = _suffix(filepath)
    if ext not in (".weights.h5", ".h5", ".hdf5"):
        raise ValueError(f"save_weights: {str(filepath)!r} must end in .weights.h5 (Keras 3's "
                         "layout) or .h5 (Keras 2's)")
    data = _weights_bytes(model, legacy=ext != ".weights.h5")
    with atomic_path(filepath, overwrite) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def load_weights(model, filepath, skip_mismatch=False, by_name=False):
    """Weights from a `.weights.h5` (Keras 3), a Keras 2 `.h5`, or a `.keras` file."""
    path = Path(filepath)
    if not path.exists():
        raise FileNotFoundError(f"load_weights: no such file {str(path)!r}")
    h5py = require_h5py()
    model._ensure_graph()
    if zipfile.is_zipfile(path):
        with reading(path, "weights file"), zipfile.ZipFile(path) as zf:
            if _WEIGHTS not in zf.namelist():
                raise FileFormatError(f"weights file {str(path)!r} is a zip without "
                                      f"{_WEIGHTS}")
            with h5py.File(io.BytesIO(zf.read(_WEIGHTS)), "r") as f:
                read_keras3(f, model, skip_mismatch)
        return
    with reading(path, "weights file"):
        try:
            f = h5py.File(path, "r")
        except OSError as e:
            raise FileFormatError(f"weights file {str(path)!r} is not an HDF5 file ({e})") \
                from None
        with f:
            if is_legacy(f):
                read_legacy(f, model, by_name, skip_mismatch)
            elif "layers" in f or "vars" in f:
                read_keras3(f, model, skip_mismatch)
            else:
                raise FileFormatError(f"weights file {str(path)!r} holds neither Keras 3's "
                                      "layout (layers/...) nor Keras 2's (layer_names)")


def load_training_state(model, filepath):
    """Weights and, for a compiled model, the optimizer's state (step count and moments) from
    a `.weights.h5` that save_weights wrote: where BackupAndRestore resumes from."""
    path = Path(filepath)
    h5py = require_h5py()
    model._ensure_graph()
    with reading(path, "backup file"), h5py.File(path, "r") as f:
        read_keras3(f, model)
        if getattr(model, "compiled", False):
            model._slots = None  # rebuilt at the next step, with the restored moments
            optimizer_state.read(f, model)
