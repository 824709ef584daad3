"""Every fnjit layer against Keras 3 (JAX backend): predictions, three SGD and three RMSprop
steps from identical weights (tox -e parity). A layer is one table entry; a layer fnjit does
not have yet is skipped, and `test_every_layer_is_covered` fails when fnjit has a layer that
no entry uses."""

import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.parity

from parity_harness import Case, case, compare  # noqa: E402

import fnjit  # noqa: E402

X2 = (5, 2)  # (steps, channels)
X3 = (5, 5, 2)  # (rows, cols, channels)
X4 = (3, 4, 3, 2)  # (depth, rows, cols, channels)
SEQ = (4, 2)  # (timesteps, features)

LAYERS = [
    # core
    case("Dense", dict(units=4), (3,)),
    case("Dense", dict(units=4, use_bias=False, activation="relu"), (2, 3)),
    case("Activation", dict(activation="tanh"), (4,)),
    case("Dropout", dict(rate=0.5), (4,), train=False),  # training draws random masks
    case("Flatten", {}, (2, 3, 2)),
    # training-only noise: the identity in predict (training draws random noise)
    case("GaussianNoise", dict(stddev=0.3), (4,), train=False),
    case("GaussianDropout", dict(rate=0.3), (4,), train=False),
    case("AlphaDropout", dict(rate=0.3), (4,), train=False),
    case("SpatialDropout1D", dict(rate=0.3), X2, train=False),
    case("SpatialDropout2D", dict(rate=0.3), X3, train=False),
    case("SpatialDropout3D", dict(rate=0.3), (2, 3, 2, 2), train=False),
    # merging
    case("Add", {}, [(4,), (4,), (4,)]),
    case("Concatenate", {}, [(3,), (2,)]),
    case("Concatenate", dict(axis=1), [(2, 3), (4, 3)]),
    case("Subtract", {}, [(4,), (4,)]),
    case("Multiply", {}, [(4,), (4,), (4,)]),
    case("Average", {}, [(4,), (4,), (4,)]),
    case("Maximum", {}, [(4,), (4,), (4,)]),
    case("Minimum", {}, [(4,), (4,), (4,)]),
    case("Dot", dict(axes=1), [(4,), (4,)]),
    case("Dot", dict(axes=(2, 2)), [(3, 4), (2, 4)]),
    case("Dot", dict(axes=1, normalize=True), [(4,), (4,)]),
    # reshaping
    case("Reshape", dict(target_shape=(3, 4)), (2, 6)),
    case("Reshape", dict(target_shape=(-1, 2)), (6,)),
    case("Permute", dict(dims=(2, 1)), (3, 4)),
    case("Permute", dict(dims=(3, 1, 2)), (2, 3, 4)),
    case("RepeatVector", dict(n=3), (4,)),
    # normalisation and activation layers
    case("BatchNormalization", {}, (4,), pre_bias=False),
    case("BatchNormalization", dict(momentum=0.9, epsilon=1e-2), X3, pre_bias=False),
    case("LayerNormalization", {}, (3, 4), pre_bias=False),
    case("LayerNormalization", dict(axis=[1, 2], epsilon=0.1, center=False), (3, 4),
         pre_bias=False),
    case("LayerNormalization", dict(axis=1, scale=False), (3, 4), pre_bias=False),
    case("GroupNormalization", dict(groups=2), (3, 4), pre_bias=False),
    case("GroupNormalization", dict(groups=-1, axis=1, epsilon=0.1, center=False), (2, 3),
         pre_bias=False),
    case("UnitNormalization", {}, (3, 4)),
    case("UnitNormalization", dict(axis=[1, 2]), (3, 4)),
    case("Identity", {}, (4,)),
    # (adapted Normalization: test_normalization_adapt_and_files_match_keras)
    case("Normalization", dict(mean=[0.5, -1.0, 0.0, 2.0], variance=[1.0, 4.0, 0.25, 2.0]),
         (4,)),
    case("CategoryEncoding", dict(num_tokens=5, output_mode="count"), (3,), int_inputs=5),
    case("CategoryEncoding", dict(num_tokens=5, output_mode="one_hot"), (3,), int_inputs=5),
    case("ActivityRegularization", dict(l1=0.01, l2=0.02), (4,)),
    case("Rescaling", dict(scale=1 / 255, offset=-0.5), (4,)),
    case("ReLU", {}, (4,)),
    case("ReLU", dict(max_value=1.0, negative_slope=0.1, threshold=0.2), (4,)),
    case("LeakyReLU", dict(negative_slope=0.2), (4,)),
    case("Softmax", {}, (4,)),
    case("PReLU", {}, (2, 3)),
    case("ELU", dict(alpha=0.5), (4,)),
    # convolution
    case("Conv1D", dict(filters=3, kernel_size=2), X2),
    case("Conv1D", dict(filters=3, kernel_size=3, strides=2, padding="same"), X2),
    case("Conv1D", dict(filters=2, kernel_size=2, dilation_rate=2, padding="causal"), X2),
    case("Conv2D", dict(filters=3, kernel_size=2, strides=2, padding="same"), X3),
    # channels_first: (channels, rows, cols) inputs, the channel axis moved around the kernels.
    case("Conv2D", dict(filters=3, kernel_size=2, data_format="channels_first"), (2, 5, 4)),
    case("SeparableConv2D", dict(filters=2, kernel_size=2, padding="same",
                                 data_format="channels_first"), (3, 4, 4)),
    case("Conv2D", dict(filters=2, kernel_size=(3, 2), dilation_rate=(2, 1), use_bias=False), X3),
    case("Conv2D", dict(filters=2, kernel_size=3, strides=(1, 2), padding="same",
                        activation="relu"), X3),
    case("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2), X3),
    case("Conv2DTranspose", dict(filters=3, kernel_size=(2, 3), strides=(2, 1), padding="same"),
         X3),
    case("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same",
                                 output_padding=1, data_format="channels_first"), (2, 4, 3)),
    case("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), X2),
    case("Conv1DTranspose", dict(filters=3, kernel_size=2, strides=3, output_padding=1), X2),
    case("DepthwiseConv2D", dict(kernel_size=2, depth_multiplier=2), X3),
    case("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same"), X3),
    case("SeparableConv2D", dict(filters=3, kernel_size=2, padding="same", depth_multiplier=2),
         X3),
    case("SeparableConv2D", dict(filters=2, kernel_size=3, strides=2), X3),
    case("Conv3D", dict(filters=2, kernel_size=2), X4),
    case("Conv3D", dict(filters=2, kernel_size=(2, 3, 2), strides=(1, 2, 1), padding="same",
                        activation="tanh"), X4),
    case("Conv3D", dict(filters=3, kernel_size=2, dilation_rate=(1, 2, 1), use_bias=False,
                        data_format="channels_first"), (2, 3, 4, 3)),
    case("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2), X4),
    case("Conv3DTranspose", dict(filters=2, kernel_size=(2, 3, 2), strides=(1, 2, 1),
                                 padding="same", output_padding=(0, 1, 0)), X4),
    case("DepthwiseConv1D", dict(kernel_size=2, depth_multiplier=2), X2),
    case("DepthwiseConv1D", dict(kernel_size=3, strides=2, padding="same"), X2),
    case("SeparableConv1D", dict(filters=3, kernel_size=2, padding="same", depth_multiplier=2),
         X2),
    case("SeparableConv1D", dict(filters=2, kernel_size=3, strides=2,
                                 data_format="channels_first"), (2, 5)),
    # pooling
    case("MaxPooling1D", {}, X2),
    case("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), X2),
    case("AveragePooling1D", dict(pool_size=2), X2),  # Keras 3: pool_size has no default
    case("AveragePooling1D", dict(pool_size=3, strides=2, padding="same"), X2),
    case("MaxPooling2D", {}, X3),
    case("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), X3),
    case("AveragePooling2D", dict(pool_size=(2, 3), strides=1), X3),
    case("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), X3),
    case("GlobalMaxPooling1D", {}, X2),
    case("GlobalAveragePooling1D", dict(keepdims=True), X2),
    case("GlobalMaxPooling2D", dict(keepdims=True), X3),
    case("GlobalAveragePooling2D", {}, X3),
    case("MaxPooling3D", {}, X4),
    case("MaxPooling3D", dict(pool_size=2, strides=1, padding="same"), X4),
    case("AveragePooling3D", dict(pool_size=(1, 2, 2)), X4),
    case("AveragePooling3D", dict(pool_size=2, strides=2, padding="same",
                                  data_format="channels_first"), (2, 3, 4, 3)),
    case("GlobalMaxPooling3D", dict(keepdims=True), X4),
    case("GlobalAveragePooling3D", {}, X4),
    # padding, cropping, upsampling
    case("ZeroPadding1D", dict(padding=(1, 2)), X2),
    case("ZeroPadding2D", dict(padding=((1, 0), (2, 1))), X3),
    case("Cropping1D", dict(cropping=(1, 2)), X2),
    case("Cropping2D", dict(cropping=((1, 0), (0, 2))), X3),
    case("UpSampling1D", dict(size=3), X2),
    case("UpSampling2D", dict(size=(2, 3)), X3),
    case("ZeroPadding3D", dict(padding=((1, 0), (0, 1), (1, 1))), X4),
    case("Cropping3D", dict(cropping=((1, 0), (1, 1), (0, 1))), X4),
    case("UpSampling3D", dict(size=(1, 2, 2)), X4),
    case("UpSampling3D", dict(size=2, data_format="channels_first"), (2, 2, 1, 2)),
    # embedding and recurrent
    case("Embedding", dict(input_dim=7, output_dim=3), (4,), int_inputs=7),
    # Masking here masks nothing (no step of the Dense's output is all zeros); masked steps,
    # mask_zero and what the masks do downstream: tests/parity/test_masking.py
    case("Masking", dict(mask_value=0.0), X2),
    case("SimpleRNN", dict(units=3), SEQ),
    case("SimpleRNN", dict(units=3, activation="relu", return_sequences=True,
                           go_backwards=True), SEQ),
    case("SimpleRNN", dict(units=2, return_sequences=True, return_state=True), SEQ),
    case("LSTM", dict(units=3), SEQ),
    case("LSTM", dict(units=3, return_sequences=True, go_backwards=True), SEQ),
    case("LSTM", dict(units=2, return_state=True), SEQ),
    case("LSTM", dict(units=2, return_sequences=True, return_state=True, use_bias=False), SEQ),
    case("LSTM", dict(units=2, unit_forget_bias=False, recurrent_activation="hard_sigmoid",
                      activation="relu"), SEQ),
    case("GRU", dict(units=3), SEQ),
    case("GRU", dict(units=3, reset_after=True, return_sequences=True, go_backwards=True), SEQ),
    case("GRU", dict(units=2, return_sequences=True, return_state=True), SEQ),
    case("GRU", dict(units=2, recurrent_activation="hard_sigmoid", use_bias=False), SEQ),
    case("TimeDistributed", dict(layer=("Dense", dict(units=2))), (3, 4)),
    case("TimeDistributed", dict(layer=("Conv1D", dict(filters=2, kernel_size=2))), (3, 5, 2)),
    case("Bidirectional", dict(layer=("LSTM", dict(units=2, return_sequences=True))), SEQ),
    case("Bidirectional", dict(layer=("GRU", dict(units=2, return_state=True)),
                               merge_mode="sum"), SEQ),
    case("Bidirectional", dict(layer=("SimpleRNN", dict(units=2, return_sequences=True)),
                               merge_mode=None), SEQ),
    case("Bidirectional", dict(layer=("LSTM", dict(units=2)), merge_mode="mul",
                               backward_layer=("LSTM", dict(units=2, go_backwards=True,
                                                            activation="relu"))), SEQ,
         id="Bidirectional-mul-backward_layer"),
    case("Bidirectional", dict(layer=("GRU", dict(units=2, return_sequences=True)),
                               merge_mode="ave"), SEQ),
    # attention
    case("Attention", {}, [(3, 4), (5, 4)]),
    # (a key bias adds a constant to each query's scores: no gradient)
    case("Attention", dict(use_scale=True), [(3, 4), (5, 2), (5, 4)], pre_bias=False),
    case("Attention", dict(use_scale=True, score_mode="concat"), [(3, 4), (5, 4)]),
    case("AdditiveAttention", {}, [(3, 4), (5, 2), (5, 4)]),
    case("AdditiveAttention", dict(use_scale=False), [(3, 4), (5, 4)]),
]


def attention_case(id, name, kwargs, shapes, call, mask=False, **options):
    """A Case calling an attention layer with call arguments: inputs query, value[, key], and
    with `mask` a last input turned into an attention mask by ReLU (half the positions masked;
    Keras casts the mask to bool, nonzero = attend). A fully masked row is the softmax of
    scores - 1e9 in both when Keras takes its explicit-scores path (return_attention_scores or
    dropout); its fused dot_product_attention (JAX) passes no gradient to such a row."""
    def build(lib, inputs):
        xs = [lib.layers.Dense(s[-1], name=f"pre_{i}")(x)
              for i, (x, s) in enumerate(zip(inputs, shapes))]
        layer = getattr(lib.layers, name)(**kwargs)
        extra = dict(call)
        if mask:
            extra["attention_mask"] = lib.layers.ReLU()(inputs[-1])
            xs = xs[:-1]
        if name == "MultiHeadAttention":
            query, value = xs[0], xs[1] if len(xs) > 1 else xs[0]
            return layer(query, value, **({"key": xs[2]} if len(xs) > 2 else {}), **extra)
        return layer(xs, **extra)
    if name == "MultiHeadAttention" and kwargs.get("use_bias", True):
        options.setdefault("no_gradient", ("key/bias",))
    return Case(id, build, shapes, needs=(name,), **options)


ATTENTION = [
    attention_case("MHA-self", "MultiHeadAttention", dict(num_heads=2, key_dim=3), [(4, 6)],
                   {}),
    # Keras-JAX's fused attention needs value_dim == key_dim: returning the scores avoids it.
    # Keras 3.15 declares the scores' shape (batch, heads, T, T) where they are (batch, heads,
    # T, S): cases returning them have T == S.
    attention_case("MHA-cross-key-value_dim-output_shape", "MultiHeadAttention",
                   dict(num_heads=2, key_dim=2, value_dim=3, output_shape=5),
                   [(5, 4), (5, 2), (5, 3)], dict(return_attention_scores=True),
                   no_gradient=("key/bias", "pre_2/bias")),  # pre_2 feeds only the key
    attention_case("MHA-mask-scores", "MultiHeadAttention",
                   dict(num_heads=3, key_dim=2, use_bias=False), [(5, 4), (5, 2), (5, 5)],
                   dict(return_attention_scores=True), mask=True),
    attention_case("MHA-causal", "MultiHeadAttention", dict(num_heads=2, key_dim=2), [(4, 3)],
                   dict(use_causal_mask=True)),
    attention_case("Attention-causal-scores", "Attention", dict(use_scale=True),
                   [(4, 3), (4, 3)], dict(use_causal_mask=True, return_attention_scores=True)),
    attention_case("AdditiveAttention-causal", "AdditiveAttention", {}, [(4, 3), (4, 3)],
                   dict(use_causal_mask=True)),
]
LAYERS += ATTENTION


@pytest.mark.parametrize("c", LAYERS, ids=[c.id for c in LAYERS])
def test_layer_matches_keras(c):
    compare(c)


def test_normalization_adapt_and_files_match_keras(tmp_path):
    """adapt() on the same batches gives the same statistics and predictions in both
    libraries, and each loads the other's `.keras` file. (Not a table entry: Keras 3's
    Normalization ignores set_weights until its next adapt or load, see its finalize_state,
    so the weights the table sets would reach fnjit only.)"""
    import keras
    import numpy as np

    rng = np.random.default_rng(3)
    data = (rng.normal(size=(40, 3, 4)) * np.array([[1.0], [2.0], [5.0]]) + 1).astype("float32")
    for k, (axis, invert) in enumerate(((-1, False), (1, True), (None, False))):
        models = {}
        for lib in (keras, fnjit):
            layer = lib.layers.Normalization(axis=axis, invert=invert)
            # fnjit from two batches, Keras from the whole array (its adapt of an iterable
            # needs TensorFlow): the statistics combined from batches must be the same.
            layer.adapt(data if lib is keras else [data[:15], data[15:]])
            x = lib.Input((3, 4))
            models[lib] = lib.Model(x, layer(x))
        kmodel, fmodel = models[keras], models[fnjit]
        for kw, fw in zip(kmodel.get_weights(), fmodel.get_weights()):
            np.testing.assert_allclose(fw, kw, rtol=1e-5, atol=1e-6)
        want = kmodel.predict(data, verbose=0)
        np.testing.assert_allclose(fmodel.predict(data, verbose=0), want, rtol=1e-5, atol=1e-5)
        kmodel.save(tmp_path / f"k{k}.keras")
        fmodel.save(tmp_path / f"f{k}.keras")
        np.testing.assert_allclose(
            fnjit.models.load_model(tmp_path / f"k{k}.keras").predict(data, verbose=0), want,
            rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            keras.models.load_model(tmp_path / f"f{k}.keras").predict(data, verbose=0), want,
            rtol=1e-5, atol=1e-5)


def test_every_layer_is_covered():
    """Every layer class fnjit exports (aliases included) appears in some table entry."""
    base = (fnjit.layers.Layer, fnjit.layers.InputLayer)
    classes = {getattr(fnjit.layers, n) for n in fnjit.layers.__all__}
    classes = {k for k in classes if isinstance(k, type) and issubclass(k, fnjit.layers.Layer)
               and k not in base and not issubclass(k, fnjit.Model)}
    covered = {getattr(fnjit.layers, n) for c in LAYERS for n in c.needs
               if hasattr(fnjit.layers, n)}
    missing = sorted(k.__name__ for k in classes - covered - set(NOT_IN_KERAS_3_FORM))
    assert not missing, f"layers without a parity entry: {missing}"


# Layers with no like-for-like Keras 3 counterpart to run: Keras 3 has no Merge class (Keras 1
# only), and a Lambda's function would have to be written for both libraries' ops; both are
# checked against numpy in tests/test_merge.py and tests/test_backend_ops.py.
NOT_IN_KERAS_3_FORM = (fnjit.layers.Merge, fnjit.layers.Lambda)


# Keras variants fnjit does not implement: they must refuse at construction, never compute
# something else. (Dropout inside recurrent layers is not compared either: fnjit draws one mask
# per sequence where Keras draws one per gate; see fnjit/layers/recurrent.py.)
UNSUPPORTED = {  # the argument the error must name: the case
    "reset_after": case("GRU", dict(units=2, reset_after=False), SEQ),
    "interpolation": case("UpSampling2D", dict(size=2, interpolation="bilinear"), X3),
}


@pytest.mark.parametrize("argument", list(UNSUPPORTED))
def test_unsupported_variant_refuses(argument):
    import keras
    from parity_harness import build_model

    c = UNSUPPORTED[argument]
    build_model(keras, c)  # a real Keras variant
    with pytest.raises(ValueError, match=argument):
        build_model(fnjit, c)
