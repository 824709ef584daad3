"""The differentiable operations: `fnjit.ops` (Keras 3's keras.ops names) and `fnjit.backend`
(Keras 2's K names), one set of functions.

On symbolic tensors (fnjit/tracing.py: inside a Lambda, a custom layer's `call`, a custom loss
or metric) each function appends IR ops through the LoweringContext and returns a new
SymbolicTensor, so that whatever user code computes is compiled and differentiated like any
layer; a weight (Variable) or a numpy array used there becomes an IR param (a constant is a
non-trainable one). On numpy arrays, outside a model, the same names compute eagerly with numpy
(fnjit/eager.py), as keras.ops do. The maths lives in the templates: elementwise, broadcast,
reduce, transpose, batch_matmul, slice, select, random, and the existing activation, softmax,
reshape, concatenate, dense and embedding ops.

This package holds one module per kind of op (elementwise, reductions, shapes, products,
random_tensors, crossentropy, creation), the helpers they share (emit) and the dispatch between
IR ops and numpy (dispatch); `fnjit.ops.X` is the one public name of each.

Shapes follow the IR: `None` first for the batch axis; a value reduced over the batch axis has
no batch axis any more (K.mean(x) is a scalar of shape ()).
"""

from __future__ import annotations

__all__ = [
    "SymbolicTensor", "abs", "add", "all", "any", "argmax", "argmin", "batch_dot",
    "batch_flatten", "binary_crossentropy", "cast", "categorical_crossentropy", "clip",
    "concatenate", "constant", "divide", "dot", "dtype", "einsum", "elu", "equal", "exp",
    "expand_dims", "flatten", "gather", "getitem", "greater", "greater_equal", "hard_sigmoid",
    "int_shape", "l2_normalize", "leaky_relu", "less", "less_equal", "log", "log1p", "matmul",
    "max", "maximum", "mean", "min", "minimum", "multiply", "ndim", "negative", "not_equal",
    "one_hot", "ones", "ones_like", "permute_dimensions", "pow", "power", "prod", "prod_shape",
    "random_binomial", "random_normal", "random_uniform", "relu", "repeat", "repeat_elements",
    "reshape", "shape", "sigmoid", "sign", "softmax", "softplus", "softsign", "sqrt", "square",
    "squeeze", "stack", "std", "subtract", "sum", "switch", "take", "tanh", "tile",
    "transpose", "var", "where", "zeros", "zeros_like",
]

from ..tracing import (  # noqa: F401  (re-exported: ops.SymbolicTensor, ops.trace)
    SymbolicTensor,
    UnsupportedOperation,
    add_traced_loss,
    current_context,
    losses_ignored,
    per_sample,
    trace,
    trace_shapes,
)
from .creation import constant, ones, zeros
from .crossentropy import binary_crossentropy, categorical_crossentropy
from .dispatch import _install_dispatch
from .elementwise import (
    abs,
    add,
    cast,
    clip,
    divide,
    elu,
    equal,
    exp,
    greater,
    greater_equal,
    hard_sigmoid,
    leaky_relu,
    less,
    less_equal,
    log,
    log1p,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    one_hot,
    ones_like,
    pow,
    power,
    relu,
    sigmoid,
    sign,
    softmax,
    softplus,
    softsign,
    sqrt,
    square,
    subtract,
    switch,
    tanh,
    where,
    zeros_like,
)
from .emit import (  # noqa: F401  (used by layers: ops.reshape_to, ops._constant, ...)
    _check,
    _constant,
    broadcast_to,
    permute_value,
    prod_shape,
    reshape_to,
)
from .products import batch_dot, dot, einsum, matmul
from .random_tensors import random_binomial, random_normal, random_uniform
from .reductions import (
    all,
    any,
    argmax,
    argmin,
    l2_normalize,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from .shapes import (  # noqa: F401  (_resolve_shape: used by layers.Reshape)
    _resolve_shape,
    batch_flatten,
    concatenate,
    dtype,
    expand_dims,
    flatten,
    gather,
    getitem,
    int_shape,
    ndim,
    permute_dimensions,
    repeat,
    repeat_elements,
    reshape,
    shape,
    squeeze,
    stack,
    take,
    tile,
    transpose,
)

_install_dispatch(globals())
