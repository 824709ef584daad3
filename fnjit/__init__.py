"""fnjit: the Keras functional API, compiled.

`import fnjit as keras`: models are built with Keras' API; each one becomes generated source
(see `model.generated_source()` or `fnjit dump`) that Numba compiles to native code and caches.
"""


def _mount_compiler():
    """In a checkout the compiler lives at the top (codegen/, templates/), as the design asks;
    installed, it is the package fnjit.codegen. Mount the checkout's folder under that one name
    (no symlink, no second import path), as an editable install's finder would."""
    import importlib.util
    import sys
    from pathlib import Path

    if "fnjit.codegen" in sys.modules:
        return
    here = Path(__file__).resolve().parent
    if (here / "codegen").is_dir():  # installed: an ordinary subpackage
        return
    top = here.parent / "codegen"
    spec = importlib.util.spec_from_file_location(
        "fnjit.codegen", top / "__init__.py", submodule_search_locations=[str(top)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["fnjit.codegen"] = module
    spec.loader.exec_module(module)


_mount_compiler()

from . import (  # noqa: E402
               activations,
               backend,
               constraints,
               initializers,
               layers,
               losses,
               metrics,
               ops,
               optimizers,
               random,
               regularizers,
               saving,
               utils,
)
from .codegen import __version__  # noqa: E402
from .layers import Input  # noqa: E402
from .models import Model, Sequential  # noqa: E402

__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks",
           "constraints", "datasets", "initializers", "layers", "losses", "metrics", "ops",
           "optimizers", "preprocessing", "random", "regularizers", "saving", "utils",
           "__version__"]

# Imported on first use (`keras.datasets.mnist`, `from fnjit.callbacks import ...`): a program
# that builds and trains a model does not pay for them at start (DESIGN.md, "Tiered entry
# points": every millisecond of a cold or warm start is the user's).
_ON_FIRST_USE = ("callbacks", "datasets", "preprocessing")


def __getattr__(name):
    if name in _ON_FIRST_USE:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
