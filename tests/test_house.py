"""The house: no symlinks in the tree, and every module of the compiler has one import path."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fnjit
from fnjit.codegen import ir

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout")
def test_no_symlinks_are_tracked():
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    links = [line.split("\t", 1)[1] for line in listed if line.startswith("120000")]
    assert links == []


def test_the_compiler_is_imported_under_one_name_only():
    from fnjit.codegen import render  # noqa: F401

    compiler = Path(ir.__file__).resolve().parent
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().parent == compiler:
            assert name.startswith("fnjit.codegen"), (name, path)
    assert fnjit.Model.__module__ == "fnjit.models"


@pytest.mark.skipif(not (REPO / "pyproject.toml").exists(), reason="needs the checkout")
def test_every_package_is_in_the_wheel():
    """pyproject.toml lists packages by hand (codegen/ and templates/ install under fnjit): a
    new subpackage missing there imports in a checkout and fails in every installed copy."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "fnjit").rglob("__init__.py")}
    assert found - listed == set()


def _module_imports():
    """{module: the fnjit modules it imports when it is imported} (module-level imports only:
    an import inside a function runs when called, after both modules exist)."""
    import ast

    roots = {"fnjit": REPO / "fnjit", "fnjit.codegen": REPO / "codegen"}
    modules = {}
    for package, folder in roots.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package] + parts)] = path
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        deps = set()
        for node in ast.parse(path.read_text()).body:
            inner = ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]
            for n in inner:
                if isinstance(n, ast.Import):
                    deps.update(a.name for a in n.names)
                elif isinstance(n, ast.ImportFrom):
                    if n.level:
                        base = name.split(".")[:len(name.split(".")) - n.level + is_package]
                        target = ".".join(base + ([n.module] if n.module else []))
                    else:
                        target = n.module
                    for a in n.names:
                        deps.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules
                                 else target)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


@pytest.mark.skipif(not (REPO / "codegen").exists(), reason="needs the checkout")
def test_no_import_cycles():
    """Data flows one way (user code -> graph -> IR -> templates -> source): no two modules
    import each other, directly or around a loop (a package importing its own submodules
    aside)."""
    graph = _module_imports()
    assert "fnjit.ops" in graph and "fnjit.codegen.render" in graph  # the walk found them
    cycles = []
    state = {}

    def visit(node, path):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if dep.startswith(node + "."):  # a package importing its submodules
                continue
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_compiler_imports_nothing_of_keras_layer():
    """codegen/ knows nothing of Keras: it imports no fnjit module outside fnjit.codegen."""
    graph = _module_imports()
    outside = {(m, d) for m, deps in graph.items() if m.startswith("fnjit.codegen")
               for d in deps if not d.startswith("fnjit.codegen")}
    assert outside == set()


# ---- "a new op is one template and one layer class" (DESIGN.md, "Adding an op") -------------

SCALED_CUBE_TEMPLATE = '''{#- y[r, c] = w[c] * x[r, c]^3 over rows r of channels c. Backward:
    dx = 3 w x^2 dy; dw[c] = sum over r of x^3 dy. inputs: x, w; outputs: y -#}
{% macro rows(v) -%}
{{ v }}.reshape((-1, {{ v.shape[-1] }}))
{%- endmacro %}

{% macro kernels(op) %}
@jit
def scaled_cube(x, w, y):
    """y[r, c] = w[c] * x[r, c]^3"""
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[r, c]
            y[r, c] = w[c] * v * v * v


@jit
def scaled_cube_backward_input(x, w, dy, dx):
    """dx = 3 w x^2 dy"""
    three = {{ op.f }}(3.0)
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[r, c]
            dx[r, c] = three * w[c] * v * v * dy[r, c]


@jit
def scaled_cube_backward_weight(x, dy, dw):
    """dw[c] = sum over r of x^3 dy"""
    dw[:] = 0
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[r, c]
            dw[c] += v * v * v * dy[r, c]
{% endmacro %}

{% macro forward(op) %}
scaled_cube({{ rows(op.ins[0]) }}, {{ op.ins[1] }}, {{ rows(op.outs[0]) }})
{% endmacro %}

{% macro backward(op) %}
{% set x, w, dy = rows(op.ins[0]), op.ins[1], rows(op.dy[0]) %}
{% if op.dx[0] is not none %}
scaled_cube_backward_input({{ x }}, {{ w }}, {{ dy }}, {{ rows(op.dx[0]) }})
{% endif %}
{% if op.dx[1] is not none %}
scaled_cube_backward_weight({{ x }}, {{ dy }}, {{ op.dx[1] }})
{% endif %}
{% endmacro %}

{% macro equation(op) -%}
{{ op.outs[0] }}[r, c] = {{ op.ins[1] }}[c] * {{ op.ins[0] }}[r, c]^3
{%- endmacro %}
'''


def test_a_new_op_is_one_template_and_one_layer_class(tmp_path, monkeypatch):
    """DESIGN.md's worked example, for real: an op kind the compiler has never seen, given as
    one template file (its kernels, forward and backward side by side) and one Layer class
    (its weight, and the IR op it lowers to), compiles into a model whose outputs match numpy
    and whose gradients match finite differences. Nothing else is registered anywhere."""
    import jinja2
    from gradcheck import check_gradients, predict64

    from fnjit import layers
    from fnjit.codegen import render

    (tmp_path / "house_scaled_cube.j2").write_text(SCALED_CUBE_TEMPLATE)
    # The template directory, with the new file beside the others.
    monkeypatch.setattr(render._ENV, "loader", jinja2.ChoiceLoader(
        [render._ENV.loader, jinja2.FileSystemLoader(str(tmp_path))]))

    class ScaledCube(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), "ones")

        def lower(self, ctx, inputs):
            (x,) = inputs
            return ctx.op("house_scaled_cube", [x, ctx.param(self.w)], [ctx.shape(x)])

    rng = np.random.default_rng(5)
    x = fnjit.Input(shape=(3, 4))
    layer = ScaledCube()
    model = fnjit.Model(x, layer(x))
    layer.set_weights([rng.normal(size=4)])
    w = layer.get_weights()[0].astype(np.float64)  # as stored (float32)
    data = rng.normal(size=(2, 3, 4))
    (got,) = predict64(model, [data])
    np.testing.assert_allclose(got, w * data ** 3, rtol=1e-12)
    check_gradients(model, [data])  # dw and dx against central differences
    source = model.generated_source("predict")
    assert "def scaled_cube(x, w, y):" in source and "= w0_w[c] * x0[r, c]^3" in source


@pytest.mark.skipif(not (REPO / "DESIGN.md").exists(), reason="needs the checkout")
def test_design_names_files_that_exist_and_its_worked_example_is_the_code():
    """DESIGN.md stays true: every file it names exists, and the lines its worked example
    (ops.log1p) quotes are in the files it names."""
    import re

    design = (REPO / "DESIGN.md").read_text()
    named = set(re.findall(r"\b((?:fnjit|codegen|templates|tests|bench)/[\w/.]*\w\.(?:py|j2))",
                           design))
    assert len(named) > 20 and [p for p in named if not (REPO / p).exists()] == []
    for path, line in [
            ("templates/elementwise.j2", '"log1p": ("np.log1p(x)", "g / (one + x)", [])'),
            ("fnjit/ops/elementwise.py", 'return _unary("log1p", x)'),
            ("fnjit/eager.py", '"log1p": _unary(np.log1p)'),
            ("tests/test_backend_functions.py", "ops.log1p(p)")]:
        assert line in (REPO / path).read_text() and path in design, path


def test_op_templates_import_only_shared_libraries():
    """An op's maths lives in its own template: a template imports the shared macro libraries
    (`_*.j2`) and, for a target variant (`k.cuda.j2`), its own CPU file (`k.j2`), never another
    op's template."""
    import re

    bad = []
    for path in sorted((REPO / "templates").glob("*.j2")):
        own = path.name.split(".")[0] + ".j2"
        for imported in re.findall(r"{%-?\s*(?:import|from)\s+'([^']+)'", path.read_text()):
            if not imported.startswith("_") and imported != own:
                bad.append(f"{path.name} imports {imported}")
    assert bad == []


def test_datasets_preprocessing_and_callbacks_are_imported_on_first_use(tmp_path):
    """`import fnjit` and a first train step leave them unimported (start time), and every
    public name of theirs still resolves, through the package and through keras.utils."""
    from fresh_process import run_script

    out = run_script("""
import json, sys
import numpy as np
import fnjit as keras
x = keras.Input((3,))
model = keras.Model(x, keras.layers.Dense(1)(x))
model.compile("sgd", "mse")
model.train_on_batch(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32))
lazy = ("fnjit.callbacks", "fnjit.datasets", "fnjit.preprocessing")
before = [m for m in lazy if m in sys.modules]
names = [keras.callbacks.EarlyStopping.__name__, keras.datasets.mnist.__name__,
         keras.preprocessing.image.__name__, keras.utils.pad_sequences.__name__,
         keras.utils.load_img.__name__]
from fnjit.callbacks import History  # noqa: F401
try:
    keras.utils.no_such_name
    missing = None
except AttributeError as e:
    missing = str(e)
print(json.dumps({"before": before, "names": names, "after": [m for m in lazy if m in sys.modules],
                  "dir": "datasets" in dir(keras) and "pad_sequences" in dir(keras.utils),
                  "missing": missing}))
""", tmp_path, FNJIT_NATIVE_AFTER="64")
    assert out["before"] == []
    assert out["names"] == ["EarlyStopping", "fnjit.datasets.mnist", "fnjit.preprocessing.image",
                            "pad_sequences", "load_img"]
    assert out["after"] == ["fnjit.callbacks", "fnjit.datasets", "fnjit.preprocessing"]
    assert out["dir"]
    assert out["missing"] == "module 'fnjit.utils' has no attribute 'no_such_name'"
