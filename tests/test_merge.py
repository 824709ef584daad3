"""Merge layers (today's and Keras 1's merge / Merge): forward against numpy written here,
backward against finite differences."""

import warnings

import numpy as np
import pytest
from gradcheck import check_gradients, outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(3)


def _l2n(v, axis):
    return v / np.sqrt(np.sum(v * v, axis=axis, keepdims=True))


def test_merge_layers_forward_and_gradients():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    c, d = keras.Input(shape=(2, 3)), keras.Input(shape=(4, 3))
    outs = [
        layers.subtract([a, b]),
        layers.multiply([a, b, a]),
        layers.average([a, b]),
        layers.maximum([a, b]),
        layers.minimum([a, b, b]),
        layers.dot([a, b], axes=1),
        layers.Dot(axes=1, normalize=True)([a, b]),
        layers.Dot(axes=(2, 2))([c, d]),  # (None, 2, 4)
        layers.Dot(axes=(1, 1), normalize=True)([c, layers.Reshape((2, 6))(d)]),  # (None, 3, 6)
        layers.dot([a, c], axes=(1, 2)),  # (None, 2)
    ]
    model = keras.Model([a, b, c, d], outs)
    assert [o.shape for o in outs[5:]] == [(None, 1), (None, 1), (None, 2, 4), (None, 3, 6),
                                          (None, 2)]
    xa, xb = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    xc, xd = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 4, 3))
    got = outputs_checking_gradients(model, [xa, xb, xc, xd], training=True)
    xd6 = xd.reshape(5, 2, 6)
    want = [xa - xb, xa * xb * xa, (xa + xb) / 2, np.maximum(xa, xb), np.minimum(xa, xb),
            np.sum(xa * xb, axis=1, keepdims=True),
            np.sum(_l2n(xa, 1) * _l2n(xb, 1), axis=1, keepdims=True),
            np.einsum("nik,njk->nij", xc, xd),
            np.einsum("nki,nkj->nij", _l2n(xc, 1), _l2n(xd6, 1)),
            np.einsum("nk,nik->ni", xa, xc)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12)


def test_dot_with_one_operand_that_takes_no_gradient():
    """Integer data cast to float takes no gradient: Dot's backward computes only the other
    operand's (the Dense weights behind it), which must still be right."""
    i, d = keras.Input(shape=(2, 3), dtype="int32"), keras.Input(shape=(4, 3))
    f = layers.Lambda(lambda t: keras.ops.cast(t, "float32"))(i)
    model = keras.Model([i, d], layers.Dot(axes=(2, 2))([f, layers.Dense(3)(d)]))
    check_gradients(model, [rng.integers(-3, 4, size=(5, 2, 3)), rng.normal(size=(5, 4, 3))])


def test_merge_layers_validate_their_inputs():
    a, b, c = keras.Input(shape=(3,)), keras.Input(shape=(3,)), keras.Input(shape=(4,))
    with pytest.raises(ValueError, match="exactly 2"):
        layers.subtract([a, b, a])
    with pytest.raises(ValueError, match="equal shapes"):
        layers.multiply([a, c])
    with pytest.raises(ValueError, match="incompatible input shapes"):
        layers.dot([a, c], axes=1)
    with pytest.raises(ValueError, match="non-batch"):
        layers.dot([a, b], axes=0)
    with pytest.raises(ValueError, match="axes must be"):
        layers.Dot(axes=(1, 2, 3))


def test_concatenate_and_add_forward_and_gradients():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    c, d = keras.Input(shape=(2, 3)), keras.Input(shape=(4, 3))
    e = keras.Input(shape=(2, 2))
    outs = [
        layers.concatenate([c, d], axis=1),  # (None, 6, 3): slabs at offsets 0 and 2
        layers.concatenate([a, b, a]),  # (None, 9)
        layers.Concatenate(axis=-1)([c, e]),  # (None, 2, 5)
        layers.add([a, b, a]),
    ]
    model = keras.Model([a, b, c, d, e], outs)
    xa, xb = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    xc, xd, xe = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 2, 2))
    got = outputs_checking_gradients(model, [xa, xb, xc, xd, xe], training=True)
    want = [np.concatenate([xc, xd], axis=1), np.concatenate([xa, xb, xa], axis=1),
            np.concatenate([xc, xe], axis=2), 2 * xa + xb]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12)


def test_keras1_merge_modes_match_todays_layers():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    modes = {"sum": layers.add([a, b]), "mul": layers.multiply([a, b]),
             "ave": layers.average([a, b]), "max": layers.maximum([a, b]),
             "concat": layers.concatenate([a, b], axis=-1),
             "dot": layers.dot([a, b], axes=1),
             "cos": layers.dot([a, b], axes=1, normalize=True)}
    old = []
    for mode in modes:
        with pytest.warns(DeprecationWarning, match="Keras 1"):
            old.append(layers.merge([a, b], mode=mode, concat_axis=-1, dot_axes=1))
    with pytest.warns(DeprecationWarning, match="Lambda"):
        fn = layers.merge([a, b], mode=lambda x: x[0] - x[1], output_shape=(3,), name="diff")
    with pytest.warns(DeprecationWarning, match="Keras 1"):
        merged = layers.Merge([a, b], mode=lambda x: x[0] * 2 - x[1])
    with pytest.warns(DeprecationWarning):
        layer = layers.Merge(mode="concat", concat_axis=1)
    concat = layer([a, b])
    assert fn._history[0].name == "diff"
    model = keras.Model([a, b], list(modes.values()) + old + [fn, merged.output, concat])
    xa, xb = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    got = model.predict([xa, xb], verbose=0)
    k = len(modes)
    for new, legacy in zip(got[:k], got[k:2 * k]):
        np.testing.assert_allclose(legacy, new, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2 * k], xa - xb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2 * k + 1], 2 * xa - xb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2 * k + 2], np.concatenate([xa, xb], axis=1), rtol=1e-5,
                               atol=1e-6)


def test_keras1_merge_errors_are_clear():
    a = keras.Input(shape=(3,))
    conv = layers.Dense(3)  # never called: Keras 1 code passing a layer by mistake
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError, match="not been called"):
            layers.merge([a, conv], mode="sum")
        with pytest.raises(ValueError, match="unknown mode"):
            layers.merge([a, a], mode="bogus")
