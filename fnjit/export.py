"""`fnjit export` / `model.export_source(DIR)`: a model's generated code as a directory that runs
without fnjit (numpy, numba and the BLAS numba calls, scipy's).

The directory holds the kernel modules under the names the entry points import them by, the
entry points as `entry_points.py`, the flat weight buffers in `weights.npz`, and `run.py`
(rendered from templates/export_run.py.j2) defining `predict(*inputs)` and, for a compiled
model, `evaluate(inputs, targets)`. No name from the model reaches the code except as a Python
string literal written with repr().
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .codegen import __version__
from .codegen.atomic import atomic_path, write_atomic
from .codegen.render import render_template


def export_source(model, directory):
    """Write `model`'s generated code and weights into `directory` (created if needed);
    returns its Path. Files are written atomically; existing files of an earlier export are
    replaced."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"export: {str(directory)!r} exists and is not a directory")
    model._ensure_graph()
    kind = "train" if model.compiled else "predict"
    program = model._program(kind)
    store = model._store
    store.bind()
    directory.mkdir(parents=True, exist_ok=True)
    rendered = program.rendered
    for name, source in rendered.kernels.items():
        write_atomic(directory / f"{name}.py", source.encode())
    write_atomic(directory / "entry_points.py", rendered.driver.encode())
    with atomic_path(directory / "weights.npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, params=store.params, state=store.state)
    graph = program.graph
    inputs = [(tuple(graph.shape(v)[1:]), graph.dtype(v)) for v in program.model_inputs]
    positions = {v: k for k, v in enumerate(program.model_inputs)}
    index_inputs = [(positions[b.input], b.size) for b in graph.index_inputs]
    targets, log_names = [], []
    if kind == "train":
        targets = [tuple(graph.shape(t)[1:]) for t in program.targets]
        # logs[0] is the total loss, then Keras' per-output losses and metrics (None: an entry
        # only used to divide weighted metrics, which run.py evaluates with unit weights).
        log_names = [repr("loss")] + [repr(str(name)) if name is not None else "None"
                                      for name, *_ in model._log_layout()]
    run = render_template("export_run.py.j2", version=__version__, inputs=inputs,
                          sample_weights=len(program.sample_weights),
                          index_inputs=index_inputs, targets=targets, log_names=log_names,
                          title=f"A model exported by fnjit: {len(inputs)} input(s), "
                                f"{len(graph.outputs)} output(s).")
    write_atomic(directory / "run.py", run.encode())
    return directory
