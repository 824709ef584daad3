"""Regenerates keras3_two_io.keras and keras3_two_io_expected.npz (beside this file) with real
Keras 3: the two-input two-output model of tests/test_saving.py (`two_io_model`), compiled with
Adam, trained one step on fixed data, saved by Keras; the npz holds the inputs and Keras' own
predictions for them, which test_file_written_by_keras3_loads_with_same_predictions compares
fnjit's predictions of the loaded file against.

    KERAS_BACKEND=jax python tests/data/make_keras3_two_io.py [OUTDIR]

The committed files were written by this script with Keras 3.15.1 on JAX 0.10.2 (CPU).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402


def main(out=Path(__file__).parent):
    keras.utils.set_random_seed(0)
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    h = layers.Dense(5, activation="relu", name="h")(a)
    c = layers.concatenate([h, b])
    o1 = layers.Dense(2, activation="softmax", name="o1")(c)
    o2 = layers.Dense(1, name="o2")(layers.Add()([layers.Dropout(0.5)(c, training=False), c]))
    model = keras.Model([a, b], [o1, o2])
    model.compile("adam", loss=["categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]])
    xa = np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4)
    xb = np.linspace(1, -1, 9, dtype="float32").reshape(3, 3)
    ya = np.eye(2, dtype="float32")[[0, 1, 1]]
    yb = np.array([[0.5], [-0.5], [1.0]], dtype="float32")
    model.train_on_batch([xa, xb], [ya, yb])
    model.save(out / "keras3_two_io.keras")
    o1_pred, o2_pred = model.predict([xa, xb], verbose=0)
    np.savez(out / "keras3_two_io_expected.npz", xa=xa, xb=xb, o1=o1_pred, o2=o2_pred)
    print(f"wrote {out / 'keras3_two_io.keras'} with Keras {keras.__version__} "
          f"({keras.backend.backend()})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
