"""Weights in HDF5, in Keras' two layouts.

Keras 3 (`.weights.h5`, and `model.weights.h5` inside a `.keras` file): one group per layer,
addressed not by the layer's name but by its class name in snake case made unique in the order
of `model.layers` (`layers/dense`, `layers/dense_1`, ...), each with `vars/0`, `vars/1`, ... in
the order the layer created its trainable then its non-trainable weights. A nested model is a
group with its own `layers/...`. Keras keeps a weight under the object that owns it, so a layer
that holds its weights in a sub-layer has them one group down: an RNN's in `cell/vars` (its
LSTMCell), a wrapper's in `layer/...` (the wrapped layer's own layout, a model's included),
with the layer's own `vars` empty. Such a layer says where with `keras_weight_groups()`,
returning {subpath: [Variable]} (`layer_groups` gives a sub-layer's part).

Keras 2 (`.h5`): `layer_names` lists the layers; each layer group lists `weight_names`, the
datasets' paths inside it (`dense_1/kernel:0`); a full-model file nests all this under
`model_weights`. Loaded by order of the layers that have weights (or by name).
"""

from __future__ import annotations

import numpy as np

from ..backend import snake_case
from .config import keras_class_name
from .files import FileFormatError


def own_variables(layer):
    """A layer's variables in Keras' order: those created trainable, then the others."""
    return [w for w in layer._weights if w.trainable] + \
        [w for w in layer._weights if not w.trainable]


def layer_groups(layer, prefix=""):
    """{subpath: [Variable]} of one layer (or nested model) in Keras 3's layout, each subpath
    starting with `prefix`."""
    from ..models import Model, _subclassed

    if isinstance(layer, Model) and not _subclassed(layer):
        return {path: variables for path, _, variables in keras3_entries(layer, prefix)}
    hook = getattr(layer, "keras_weight_groups", None)
    groups = hook() if hook is not None else {"vars": own_variables(layer)}
    if hook is None:  # a custom layer's sublayers: under their attribute's name, as Keras 3
        for attr, sub in layer.__dict__.get("_sublayers", {}).items():
            if not isinstance(sub, list):
                groups.update(layer_groups(sub, f"{attr}/"))
                continue
            used = {}
            for item in sub:
                key = snake_case(keras_class_name(item))
                used[key] = used.get(key, -1) + 1
                groups.update(layer_groups(item, f"{attr}/{key}" +
                                           (f"_{used[key]}/" if used[key] else "/")))
    return {prefix + sub: variables for sub, variables in groups.items()}


def keras3_entries(model, prefix="", visited=None):
    """[(group path, layer, [Variable])] for every layer of `model`, in Keras 3's layout."""
    from ..models import Model, _subclassed

    if _subclassed(model):  # weights under attribute names, as Keras 3 (see layer_groups)
        return [(path, model, variables) for path, variables in
                layer_groups(model, prefix).items() if variables or path != "vars"]
    visited = set() if visited is None else visited
    out = [(f"{prefix}vars".lstrip("/"), model, [])] if prefix else []
    used = {}
    for layer in model.layers:
        key = snake_case(keras_class_name(layer))
        used[key] = used.get(key, -1) + 1
        path = f"{prefix}layers/{key}" + (f"_{used[key]}" if used[key] else "")
        if id(layer) in visited:
            continue
        visited.add(id(layer))
        if isinstance(layer, Model):
            out += keras3_entries(layer, path + "/", visited)
        else:
            out += [(f"{path}/{sub}", layer, vars_)
                    for sub, vars_ in layer_groups(layer).items()]
    return out


def write_keras3(h5file, model):
    for path, layer, variables in keras3_entries(model):
        group = h5file.require_group(path)
        group.attrs["name"] = layer.name
        for i, var in enumerate(variables):
            group.create_dataset(str(i), data=var.numpy())
    h5file.require_group("vars").attrs["name"] = model.name


def _check_and_assign(pairs, skip_mismatch=False):
    """Validate every (variable, array, where) before assigning any, so that a bad file leaves
    the model unchanged."""
    checked = []
    for var, value, where in pairs:
        value = np.asarray(value)
        if value.shape != var.shape:
            if skip_mismatch:
                continue
            raise FileFormatError(f"{where}: shape {value.shape} does not fit weight "
                                  f"{var.path!r} of shape {var.shape}")
        checked.append((var, value))
    for var, value in checked:
        var.assign(value)


def read_keras3(h5file, model, skip_mismatch=False):
    pairs = []
    for path, layer, variables in keras3_entries(model):
        if path not in h5file:
            if not variables:
                continue
            raise FileFormatError(f"no group {path!r} for layer {layer.name!r} "
                                  f"({type(layer).__name__}); the file holds a different model")
        group = h5file[path]
        if len(group.keys()) != len(variables):
            if skip_mismatch:
                continue
            raise FileFormatError(f"layer {layer.name!r} has {len(variables)} weights, the "
                                  f"file's {path!r} has {len(group.keys())}")
        pairs += [(var, group[str(i)][()], f"{path}/{i}") for i, var in enumerate(variables)]
    _check_and_assign(pairs, skip_mismatch)


def legacy_weights(layer):
    return layer.trainable_weights + layer.non_trainable_weights


def _text(values):
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def write_legacy(group, model):
    """Keras 2's layout, as `save_weights('x.h5')` wrote it."""
    names = [layer.name for layer in model.layers]
    group.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
    group.attrs["backend"] = b"fnjit"
    group.attrs["keras_version"] = b"2.15.0"
    for layer in model.layers:
        g = group.create_group(layer.name)
        weights = legacy_weights(layer)
        g.attrs["weight_names"] = np.array([w.path.encode("utf8") for w in weights])
        for w in weights:
            g.create_dataset(w.path, data=w.numpy())


def is_legacy(h5file):
    return "layer_names" in h5file.attrs or "model_weights" in h5file


def read_legacy(group, model, by_name=False, skip_mismatch=False):
    if "model_weights" in group:
        group = group["model_weights"]
    file_layers = []
    for name in _text(group.attrs["layer_names"]):
        g = group[name]
        weight_names = _text(g.attrs.get("weight_names", []))
        file_layers.append((name, [(f"{name}/{w}", g[w][()]) for w in weight_names]))
    pairs = []
    if by_name:
        mine = {layer.name: layer for layer in model.layers}
        for name, values in file_layers:
            if name in mine:
                pairs += _layer_pairs(mine[name], values, skip_mismatch)
    else:
        file_layers = [(n, v) for n, v in file_layers if v]
        layers = [layer for layer in model.layers if legacy_weights(layer)]
        if len(file_layers) != len(layers):
            raise FileFormatError(f"the file has weights for {len(file_layers)} layers "
                                  f"{[n for n, _ in file_layers]}, the model has "
                                  f"{len(layers)} layers with weights "
                                  f"{[layer.name for layer in layers]}")
        for layer, (_, values) in zip(layers, file_layers):
            pairs += _layer_pairs(layer, values, skip_mismatch)
    _check_and_assign(pairs, skip_mismatch)


def _layer_pairs(layer, values, skip_mismatch):
    weights = legacy_weights(layer)
    if len(weights) != len(values):
        if skip_mismatch:
            return []
        raise FileFormatError(f"layer {layer.name!r} has {len(weights)} weights, the file has "
                              f"{len(values)} for it ({[w for w, _ in values]})")
    return [(w, v, where) for w, (where, v) in zip(weights, values)]
