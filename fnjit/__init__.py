"""fnjit: the Keras functional API, compiled.

`import fnjit as keras`: models are built with Keras' API; each one becomes generated source
(see `model.generated_source()` or `fnjit dump`) that Numba compiles to native code and caches.
"""

from . import (
               activations,
               backend,
               callbacks,
               datasets,
               initializers,
               layers,
               losses,
               metrics,
               ops,
               optimizers,
               saving,
               utils,
)
from .codegen import __version__
from .layers import Input
from .models import Model, Sequential

__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks",
           "datasets", "initializers", "layers", "losses", "metrics", "ops", "optimizers",
           "saving", "utils", "__version__"]
