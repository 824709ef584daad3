"""'Models as layers' from the functional API notebook (seed 002), with fnjit: the Xception
convolutional base (no top, random weights) shared by two camera inputs of 250x250 RGB images.

Calling the same model twice reuses its weights: the merged model has one Xception's
20,861,480 parameters. Then three training steps of the same construction at 71x71 (the smallest
input Xception takes), so the example runs in seconds. Run:  python examples/siamese_xception.py
"""

import numpy as np

import fnjit as keras
from fnjit import Input, applications, layers
from fnjit.models import Model

if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    # The base image-processing model is the Xception network (convolutional base only)
    xception_base = applications.Xception(weights=None, include_top=False)

    # The inputs are 250 x 250 RGB images.
    left_input = Input(shape=(250, 250, 3))
    right_input = Input(shape=(250, 250, 3))

    # We call the same vision model twice
    left_features = xception_base(left_input)
    right_input = xception_base(right_input)

    # The merged features contain information from the right and the left visual feed.
    merged_features = layers.concatenate([left_features, right_input], axis=-1)
    print("left features:", left_features.shape, " merged:", merged_features.shape)
    print(f"Xception base: {xception_base.count_params():,} parameters, used twice")

    # A few steps of a depth head on the shared base, at 71x71.
    left, right = Input(shape=(71, 71, 3)), Input(shape=(71, 71, 3))
    merged = layers.concatenate([xception_base(left), xception_base(right)])
    depth = layers.Dense(1)(layers.GlobalAveragePooling2D()(merged))
    model = Model([left, right], depth)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-4), loss='mse')
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 71, 71, 3)), rng.random((2, 71, 71, 3))
    for step in range(3):
        print(f"step {step}: loss {float(model.train_on_batch([a, b], np.ones((2, 1)))):.4f}")
