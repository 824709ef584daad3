"""A small transformer encoder block trained on real data: each 8x8 handwritten digit that
scikit-learn ships (1,797 scans) is a sequence of 8 tokens (its rows) of 8 features.

    tokens (8, 8) -> Dense(32) embedding + learned positions
    -> MultiHeadAttention(4 heads, key_dim 8) -> Dropout -> residual Add -> LayerNormalization
    -> Dense(64, relu) -> Dense(32) -> residual Add -> LayerNormalization
    -> GlobalAveragePooling1D -> Dense(10, softmax), Adam.

Run:  python examples/transformer_block.py   (prints the test accuracy and the step time);
the generated code:  fnjit dump examples/transformer_block.py:model
"""

import time

import numpy as np

import fnjit as keras
from fnjit import layers


def load_digit_rows():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return (digits.images / 16.0).astype("float32"), digits.target


def encoder_block(x, heads=4, key_dim=8, ff=64, dropout=0.1):
    width = x.shape[-1]
    attended = layers.MultiHeadAttention(num_heads=heads, key_dim=key_dim)(x, x)
    attended = layers.Dropout(dropout)(attended)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attended]))
    h = layers.Dense(ff, activation="relu")(x)
    h = layers.Dense(width)(h)
    return layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, h]))


def build(steps=8, features=8, width=32):
    tokens = keras.Input(shape=(steps, features))
    x = layers.Dense(width)(tokens)
    # Learned positions: a Dense on the token's position one-hot, i.e. one vector per row.
    positions = keras.Input(shape=(steps, steps))
    x = layers.Add()([x, layers.Dense(width, use_bias=False)(positions)])
    x = encoder_block(x)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model([tokens, positions], outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


model = build()

if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    x, y = load_digit_rows()
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order].astype("float32")
    pos = np.broadcast_to(np.eye(8, dtype="float32"), (len(x), 8, 8)).copy()
    n = 1400
    model.summary()
    start = time.perf_counter()
    model.fit([x[:n], pos[:n]], y[:n], epochs=12, batch_size=32, verbose=2)
    elapsed = time.perf_counter() - start
    loss, acc = model.evaluate([x[n:], pos[n:]], y[n:], verbose=0)
    print(f"\nfit (12 epochs, compile included): {elapsed:.1f} s")
    print(f"test accuracy on {len(x) - n} held-out digits: {acc:.3f} (loss {loss:.3f})")
    print("generated code:  fnjit dump examples/transformer_block.py:model")
