"""The library's defaults and the README's settings, in fresh processes that no conftest has
touched: float32, channels_last and epsilon 1e-7 without any set_* call; FNJIT_NATIVE_AFTER;
FNJIT_BLAS_THREADS (by default following the load) setting the thread count of the BLAS that
generated code calls (read back by threadpoolctl).
The cache settings (FNJIT_CACHE_DIR, its default, `fnjit cache clear`) are in test_cache.py."""

import pytest
from fresh_process import run_script

SCRIPT = """
import json, os
import numpy as np
from threadpoolctl import threadpool_info
import fnjit as keras
from fnjit import backend, layers
from fnjit.codegen import threads
x = keras.Input(shape=(6, 6, 3))
conv = layers.Conv2D(4, 3)
model = keras.Model(x, layers.Dense(2)(layers.Flatten()(conv(x))))
out = model.predict(np.ones((2, 6, 6, 3)), verbose=0)
(program,) = model._programs.values()
tiers = [program.native]  # predict's entry point, run once: Python
for _ in range(63):
    model.predict(np.ones((2, 6, 6, 3)), verbose=0)
tiers.append(program.native)  # 64 calls: Python still
model.predict(np.ones((2, 6, 6, 3)), verbose=0)
tiers.append(program.native)  # the 65th: native
blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"
        and "scipy" in os.path.basename(os.path.dirname(p["filepath"]))]
print(json.dumps({"floatx": backend.floatx(), "format": backend.image_data_format(),
                  "epsilon": backend.epsilon(), "conv": list(conv.output_shape[1:]),
                  "kernel": list(conv.get_weights()[0].shape), "out": str(out.dtype),
                  "weights": sorted({str(w.dtype) for w in model.get_weights()}),
                  "blas": blas, "blas_follows": len(threads._BLAS), "tiers": tiers}))
"""


def fresh_process(cache_dir, **env):
    return run_script(SCRIPT, cache_dir, unset=("FNJIT_BLAS_THREADS", "FNJIT_NATIVE_AFTER"),
                      **env)


def test_defaults_without_any_setting(tmp_path):
    got = fresh_process(tmp_path)
    assert (got["floatx"], got["format"], got["epsilon"]) == ("float32", "channels_last", 1e-7)
    # channels_last: (6, 6, 3) is 6x6 with 3 channels (channels_first would read 6 channels).
    assert got["conv"] == [4, 4, 4] and got["kernel"] == [3, 3, 3, 4]
    assert got["out"] == "float32" and got["weights"] == ["float32"]
    # The BLAS threads follow the load (FNJIT_BLAS_THREADS=auto), and a convolution's
    # program runs one.
    assert got["blas"] == [1] and got["blas_follows"] == 1
    assert got["tiers"] == [False, False, True]  # native on the 65th call (FNJIT_NATIVE_AFTER)


@pytest.mark.parametrize("threads", [2, 3])
def test_fnjit_blas_threads_sets_the_blas_thread_count(threads, tmp_path):
    assert fresh_process(tmp_path, FNJIT_BLAS_THREADS=str(threads))["blas"] == [threads]


def test_fnjit_native_after_sets_the_tier_up_call(tmp_path):
    assert fresh_process(tmp_path, FNJIT_NATIVE_AFTER="0")["tiers"] == [True, True, True]
