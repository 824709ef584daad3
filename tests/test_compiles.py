"""What a cold first step compiles (Numba's compiles counted in a fresh process): only the
kernels the train step calls, each once; nothing more for predict and evaluate afterwards; and a
second model sharing the disk cache compiles only the kernels the first did not call (each
kernel is its own module, named by content, codegen/render.py)."""

import re

from fresh_process import COUNT_COMPILES, run_script

SCRIPT = COUNT_COMPILES + """
import json
import numpy as np
import fnjit as keras
from fnjit import layers

x = keras.Input((6,))
h = layers.Dense(5, activation="relu")(x)
if {tanh}:
    h = layers.Dense(5, activation="tanh")(h)
y = layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(x, y)
model.compile("rmsprop", "binary_crossentropy")
rng = np.random.default_rng(0)
xs = rng.normal(size=(8, 6)).astype(np.float32)
ys = (rng.random((8, 1)) > 0.5).astype(np.float32)
model.train_on_batch(xs, ys)
step = list(compiled)
compiled.clear()
model.predict(xs, verbose=0)
model.evaluate(xs, ys, verbose=0)
print(json.dumps({{"step": step, "after": compiled, "source": model.generated_source()}}))
"""


def _entry(source, name):
    """The text of the driver's entry point `name`."""
    return re.search(rf"^def {name}\(.*?(?=^@|^# =====|\Z)", source, re.M | re.S).group(0)


def test_a_cold_step_compiles_what_it_calls_once_and_a_new_model_only_its_new_kernels(tmp_path):
    first = run_script(SCRIPT.format(tanh=False), tmp_path, FNJIT_NATIVE_AFTER="64",
                       FNJIT_COMPILE_WORKERS="0")
    names = [name for name, _ in first["step"]]
    calls = set(re.findall(r"\b(\w+)\(", _entry(first["source"], "train_step")))
    # Each kernel once (one signature each here), only those the train step calls; the entry
    # points themselves run as Python on the first call (codegen/program.py, tiered).
    assert len(names) == len(set(names)), names
    # The whole list, deliberately: each kernel costs 0.1-0.3 s of a cold step. A Dense with a
    # bias is one kernel forward (product and bias) and one for its parameters' gradients.
    assert sorted(names) == [
        "binary_crossentropy_backward", "binary_crossentropy_forward", "dense_backward_input",
        "dense_backward_params", "dense_bias_forward", "relu_backward", "relu_forward",
        "rmsprop_update", "seed_rows", "sigmoid_backward", "sigmoid_forward", "weighted_sum"]
    assert set(names) <= calls, set(names) - calls
    assert not {"train_step", "predict", "evaluate", "forward"} & set(names)
    # predict and evaluate call kernels the train step compiled already
    assert first["after"] == []

    # Another architecture in the same cache: one Dense layer more, with tanh. Only tanh's
    # kernels are new; relu's, sigmoid's, dense's, the loss's and RMSprop's load from disk.
    second = run_script(SCRIPT.format(tanh=True), tmp_path, FNJIT_NATIVE_AFTER="64",
                        FNJIT_COMPILE_WORKERS="0")
    new = sorted(name for name, _ in second["step"])
    assert new == ["tanh_backward", "tanh_forward"], new
    assert second["after"] == []
