"""A model's float type is fixed by its layers when they are made (Keras 3's dtype policies):
`set_floatx` afterwards changes new layers only, a layer's `dtype=` is its compute type, and
layers of two float types in one model (one compiled program) are refused by name."""

import numpy as np
import pytest

import fnjit as keras
from fnjit import backend


def _dense_model(**dense_kw):
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, name="d", **dense_kw)(inp))
    model.compile("sgd", "mse")
    return model


def _reference(model, x):
    w, b = model.get_weights()
    return x.astype(w.dtype) @ w + b


def test_set_floatx_after_a_model_leaves_it_in_float32():
    model = _dense_model()
    x = np.random.default_rng(0).normal(size=(4, 3))
    before = model.predict(x, verbose=0)
    backend.set_floatx("float64")
    after = model.predict(x, verbose=0)
    model.fit(x, np.ones((4, 2)), verbose=0)
    assert before.dtype == after.dtype == np.float32
    assert {w.dtype for w in model.get_weights()} == {np.dtype("float32")}
    np.testing.assert_array_equal(before, after)
    # A model made now computes in float64.
    fresh = _dense_model()
    got = fresh.predict(x, verbose=0)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _reference(fresh, x), rtol=1e-13)


def test_a_layer_dtype_is_its_compute_type():
    model = _dense_model(dtype="float64")
    x = np.random.default_rng(1).normal(size=(5, 3))
    got = model.predict(x, verbose=0)
    assert got.dtype == np.float64
    assert model.get_weights()[0].dtype == np.float64
    # float64 exactly: a float32 computation misses this tolerance by far.
    np.testing.assert_allclose(got, _reference(model, x), rtol=1e-13)


def test_layers_of_two_float_types_are_refused_by_name():
    inp = keras.Input((3,))
    h = keras.layers.Dense(4, name="wide", dtype="float64")(inp)
    model = keras.Model(inp, keras.layers.Dense(2, name="narrow")(h))
    with pytest.raises(ValueError, match=r"mixes float types.*float64: \['wide'\].*"
                                         r"float32: \['narrow'\]"):
        model.predict(np.ones((2, 3)), verbose=0)


@pytest.mark.parametrize("dtype", ["float16", "mixed_float16", "bfloat16"])
def test_float_types_fnjit_cannot_compute_are_refused(dtype):
    model = _dense_model(dtype=dtype)
    with pytest.raises(ValueError, match=f"layer 'd' has dtype '{dtype}'"):
        model.predict(np.ones((2, 3)), verbose=0)
