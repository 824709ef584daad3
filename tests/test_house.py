"""The house: no symlinks in the tree, and every module of the compiler has one import path."""

import subprocess
import sys
from pathlib import Path

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
