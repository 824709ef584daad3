"""Memory of a process that builds, compiles and fits many different models (not a test).

    python bench/bench_memory.py [N]        # N distinct architectures (default 40)

Each model differs in one layer's width, so each needs its own driver. Numba never frees
compiled code, so the first FNJIT_NATIVE_DRIVERS (default 32) drivers cost a few MB each for
good; later ones run Python entry points over the shared kernels and RSS stays flat. Prints RSS,
elapsed time and the generated modules still loaded every 4 models. Use a fresh FNJIT_CACHE_DIR
to include compile time.
"""

import gc
import os
import sys
import time
import warnings

import numpy as np

import fnjit as keras
from fnjit import layers


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(n):
    warnings.simplefilter("ignore", RuntimeWarning)
    x = np.random.default_rng(0).random((16, 8)).astype("float32")
    y = np.eye(3, dtype="float32")[np.arange(16) % 3]
    t0 = time.time()
    for i in range(n):
        inp = keras.Input((8,))
        m = keras.Model(inp, layers.Dense(3, activation="softmax")(layers.Dense(4 + i)(inp)))
        m.compile("sgd", "categorical_crossentropy")
        m.fit(x, y, verbose=0)
        m.predict(x, verbose=0)
        del m, inp
        gc.collect()
        if i % 4 == 3:
            loaded = sum(1 for k in sys.modules if k.startswith("fnjit_generated"))
            print(f"{i + 1:4d} models  RSS {rss_mb():7.1f} MB  {time.time() - t0:6.1f} s  "
                  f"{loaded} generated modules loaded", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
