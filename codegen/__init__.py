"""fnjit's compiler: IR, automatic differentiation, rendering through templates, Numba targets
and the code cache. It knows nothing of Keras; `fnjit` lowers models into it."""

__version__ = "0.1.0"
