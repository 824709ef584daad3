"""plot_model / model_to_dot: one box per layer, one edge per connection, real image files."""

import re
import shutil

import pytest

import fnjit
from fnjit import Input, Model, layers

pytest.importorskip("pydot", reason="pydot is not installed (the `plot` extra)")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's `dot` is missing: apt-get install graphviz")


def graph():
    """Two inputs, a shared layer, a nested model, two outputs."""
    i = Input((3,), name="i")
    inner = Model(i, layers.Dense(2, name="d_in")(layers.Dense(4, name="d0")(i)), name="inner")
    a, b = Input((3,), name="a"), Input((3,), name="b")
    shared = layers.Dense(3, name="shared")
    y = inner(shared(a))
    z = layers.Add(name="s")([y, layers.Dense(2, name="d2")(shared(b))])
    return Model([a, b], [y, z])


def _counts(dot):
    text = dot.to_string()
    nodes = re.findall(r"^(\d+) \[label=\"([^\"]*)\"\];$", text, re.M)
    edges = re.findall(r"^(\d+) -> (\d+);$", text, re.M)
    return text, dict(nodes), edges


def test_model_to_dot_boxes_and_edges():
    text, nodes, edges = _counts(fnjit.utils.model_to_dot(graph(), show_shapes=True))
    assert sorted(label.split("\\n")[0] for label in nodes.values()) == [
        "a (InputLayer)", "b (InputLayer)", "d2 (Dense)", "inner (Functional)", "s (Add)",
        "shared (Dense)"]
    name = {label.split(" ")[0]: key for key, label in nodes.items()}
    assert sorted(edges) == sorted([(name["a"], name["shared"]), (name["b"], name["shared"]),
                                    (name["shared"], name["inner"]),
                                    (name["shared"], name["d2"]), (name["inner"], name["s"]),
                                    (name["d2"], name["s"])])
    assert "input: [(None, 2), (None, 2)]\\noutput: (None, 2)" in nodes[name["s"]]

    text, nodes, edges = _counts(fnjit.utils.model_to_dot(graph(), expand_nested=True,
                                                          show_layer_names=False))
    assert "subgraph cluster_inner" in text and len(nodes) == 8 and len(edges) == 8
    assert "Dense" in nodes.values() and not any("(" in v for v in nodes.values())


@needs_dot
def test_plot_model_writes_png_svg_pdf(tmp_path):
    model = graph()
    png = fnjit.utils.plot_model(model, to_file=tmp_path / "m.png", show_shapes=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert b"<svg" in fnjit.utils.plot_model(model, tmp_path / "m.svg", rankdir="LR",
                                             expand_nested=True).read_bytes()
    assert (tmp_path / "m.svg").read_text().count("class=\"node\"") == 8
    assert fnjit.utils.plot_model(model, tmp_path / "m.pdf").read_bytes()[:5] == b"%PDF-"


def test_missing_dot_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OSError, match="apt-get install graphviz"):
        fnjit.utils.plot_model(graph(), to_file=tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()
