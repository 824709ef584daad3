"""`plot_model` and `model_to_dot`, as `keras.utils`: the model's layer graph drawn by Graphviz
through pydot and the system's `dot` program."""

from __future__ import annotations

import shutil
from pathlib import Path

_INSTALL_DOT = ("the Graphviz program `dot` was not found on PATH; plot_model needs it. "
                "Install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
                "`brew install graphviz` (macOS) or `conda install graphviz`")


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError("plot_model needs pydot (a dependency of fnjit), which could not "
                          "be imported; reinstall it with `pip install pydot`, and install "
                          "Graphviz for the `dot` program") from None
    return pydot


def _shape_text(shape):
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _label(layer, show_shapes, show_layer_names, show_dtype, show_trainable):
    from .saving.config import keras_class_name

    kind = keras_class_name(layer)
    name = f"{layer.name} ({kind})" if show_layer_names else kind
    lines = [name]
    if show_shapes and layer._inbound_nodes:
        node = layer._inbound_nodes[0]
        ins = [t.shape for t in node.input_tensors]
        outs = [t.shape for t in node.output_tensors]
        if ins:
            lines.append("input: " + _shape_text(ins[0] if len(ins) == 1 else ins))
        lines.append("output: " + _shape_text(outs[0] if len(outs) == 1 else outs))
    if show_dtype:
        lines.append(f"dtype: {layer.dtype}")
    if show_trainable:
        lines.append(f"trainable: {layer.trainable}")
    return "\\n".join(lines)


def _quote(text):
    return '"' + text.replace('"', '\\"') + '"'


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=96, subgraph=False,
                 show_layer_activations=False, show_trainable=False, **kwargs):
    """A `pydot.Dot` with one box per layer and one edge per connection between layers
    (shared layers are one box; nested models are one box, or a cluster of their own layers
    with expand_nested=True)."""
    pydot = _pydot()
    model._ensure_graph()
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name, label=_quote(model.name))
    else:
        dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=str(dpi),
                        concentrate="true")
        dot.set_node_defaults(shape="record")
    edges = set()
    # For an expanded nested model: its input boxes (entry points) and output boxes (exits).
    entries, exits = {}, {}

    def box(layer):
        return str(id(layer))

    from .models import Model

    for layer in model._layers:  # a Sequential model's InputLayer included
        if expand_nested and isinstance(layer, Model):
            inner = model_to_dot(layer, show_shapes, show_dtype, show_layer_names, rankdir,
                                 expand_nested, dpi, subgraph=True,
                                 show_trainable=show_trainable)
            dot.add_subgraph(inner)
            entries[id(layer)] = [box(t._history[0]) for t in layer.inputs]
            exits[id(layer)] = [box(t._history[0]) for t in layer.outputs]
            continue
        dot.add_node(pydot.Node(box(layer), label=_quote(_label(
            layer, show_shapes, show_layer_names, show_dtype, show_trainable))))

    own = {id(n) for n in model._ordered_nodes()}
    for layer in model._layers:  # a Sequential model's InputLayer included
        for node in layer._inbound_nodes:
            if id(node) not in own:
                continue
            for k, t in enumerate(node.input_tensors):
                src_layer, _, tensor_index = t._history
                src = exits.get(id(src_layer), [box(src_layer)])
                src = src[min(tensor_index, len(src) - 1)]
                dst = entries.get(id(layer), [box(layer)])
                dst = dst[min(k, len(dst) - 1)]
                if (src, dst) not in edges:
                    edges.add((src, dst))
                    dot.add_edge(pydot.Edge(src, dst))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=96,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's graph to `to_file`; the format follows the extension (png, svg, pdf,
    dot, ...). Returns the path written."""
    if shutil.which("dot") is None:
        raise OSError(_INSTALL_DOT)
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi, show_trainable=show_trainable)
    path = Path(to_file)
    fmt = path.suffix[1:].lower() or "png"
    from .saving.files import atomic_path

    with atomic_path(path) as tmp:
        dot.write(tmp, format=fmt)
    return path
