"""fit / evaluate / predict on generators, iterators and PyDataset (Keras 2's Sequence), against
the same batches given as arrays, with Keras 3's rules for steps, shuffling and running dry."""

import warnings

import numpy as np
import pytest

import fnjit as keras
from fnjit import layers

data = np.random.default_rng(5)
X = data.normal(size=(20, 3)).astype("float32")
Y = data.normal(size=(20, 1)).astype("float32")
W = data.uniform(0.5, 2, size=20).astype("float32")


def _model(seed=0, metrics=None):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=metrics)
    return model


def _batches(n_batches=5, size=4, weights=False, repeat=1):
    for _ in range(repeat):
        for i in range(n_batches):
            rows = slice(i * size, (i + 1) * size)
            yield (X[rows], Y[rows], W[rows]) if weights else (X[rows], Y[rows])


class Batches(keras.utils.PyDataset):
    """Five batches of four rows; records the indices asked for and the epoch hooks."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.asked, self.begins, self.ends = [], 0, 0

    def __len__(self):
        return 5

    def __getitem__(self, i):
        self.asked.append(i)
        return X[i * 4:(i + 1) * 4], Y[i * 4:(i + 1) * 4]

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


def _ran_out(record):
    return sum("ran out of data" in str(w.message) for w in record)


def test_generator_trains_as_the_same_batches_from_arrays():
    a, b = _model(), _model()
    ha = a.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    hb = b.fit(_batches(repeat=3), steps_per_epoch=5, epochs=3, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    # sample weights in the batches weigh as fit(sample_weight=...) does
    a, b = _model(), _model()
    a.fit(X, Y, sample_weight=W, batch_size=4, shuffle=False, verbose=0)
    b.fit(_batches(weights=True), shuffle=False, verbose=0)
    np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], rtol=1e-6)
    assert not np.allclose(a.get_weights()[0], _unweighted())  # the weights did matter
    # an iterator (Keras 2 took any; Keras 3 only generators) and list batches
    c = _model()
    c.fit(iter([list(batch) for batch in _batches(weights=True)]), shuffle=False, verbose=0)
    np.testing.assert_allclose(a.get_weights()[0], c.get_weights()[0], rtol=1e-6)


def _unweighted():
    m = _model()
    m.fit(X, Y, batch_size=4, shuffle=False, verbose=0)
    return m.get_weights()[0]


def test_dict_batches_for_two_inputs_and_class_weight():
    keras.utils.set_random_seed(1)
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    out = layers.Dense(1, activation="sigmoid", name="out")(layers.Concatenate()([a, b]))
    model = keras.Model([a, b], out)
    model.compile(keras.optimizers.SGD(0.1), "binary_crossentropy")
    start = model.get_weights()
    labels = (Y > 0).astype("float32")
    model.fit({"a": X, "b": X[:, :2]}, {"out": labels}, batch_size=4, shuffle=False,
              class_weight={0: 1.0, 1: 3.0}, verbose=0)
    want = model.get_weights()
    model.set_weights(start)
    gen = (({"a": X[i:i + 4], "b": X[i:i + 4, :2]}, {"out": labels[i:i + 4]})
           for i in range(0, 20, 4))
    model.fit(gen, shuffle=False, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    for w, v in zip(want, model.get_weights()):
        np.testing.assert_allclose(w, v, rtol=1e-6)


def test_evaluate_and_predict_on_generators():
    model = _model()
    want = model.evaluate(X, Y, batch_size=4, verbose=0, return_dict=True)
    assert model.evaluate(_batches(), verbose=0, return_dict=True) == \
        pytest.approx(want, rel=1e-6)
    weighted = model.evaluate(X, Y, sample_weight=W, batch_size=4, verbose=0)
    assert model.evaluate(_batches(weights=True), verbose=0) == pytest.approx(weighted, rel=1e-6)
    pred = model.predict(X, verbose=0)
    # (x, y) batches: x is used; (x,) and a bare array are x; outputs are concatenated
    for gen in (_batches(), ((X[i:i + 4],) for i in range(0, 20, 4)),
                (X[i:i + 7] for i in range(0, 20, 7))):
        np.testing.assert_allclose(model.predict(gen, verbose=0), pred, atol=1e-6)
    assert model.predict(_batches(), steps=2, verbose=0).shape == (8, 1)
    with pytest.warns(UserWarning, match="ran out of data"):
        out = model.predict(_batches(), steps=7, verbose=0)
    assert out.shape == (20, 1)
    with pytest.warns(UserWarning, match="ran out of data"):
        assert model.evaluate(_batches(), steps=7, verbose=0) == pytest.approx(want["loss"])


def test_a_generator_that_runs_dry_warns_and_ends_training():
    model = _model()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        hist = model.fit(_batches(), steps_per_epoch=3, epochs=4, shuffle=False, verbose=0)
    # 3 batches, then 2 and the warning; an exhausted generator ends training
    assert hist.epoch == [0, 1] and _ran_out(record) == 1
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        hist = model.fit(_batches(), epochs=1, shuffle=False, verbose=0)
    assert hist.epoch == [0] and _ran_out(record) == 0  # its end is the epoch's end
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        hist = model.fit(_batches(), epochs=3, shuffle=False, verbose=0)
    assert hist.epoch == [0] and _ran_out(record) == 1
    # shuffle=True (fit's default) cannot shuffle a generator: Keras 3 says so
    with pytest.warns(UserWarning, match="shuffle=True"):
        model.fit(_batches(), verbose=0)


def test_pydataset_hooks_shuffling_and_steps():
    model = _model()
    data = Batches()
    model.fit(data, epochs=2, shuffle=False, verbose=0)
    assert data.asked == [0, 1, 2, 3, 4] * 2 and (data.begins, data.ends) == (2, 2)
    keras.utils.set_random_seed(3)
    data = Batches()
    model.fit(data, epochs=3, verbose=0)  # shuffle=True: a permutation per epoch
    epochs = [data.asked[i:i + 5] for i in range(0, 15, 5)]
    assert all(sorted(e) == [0, 1, 2, 3, 4] for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1 and epochs[0] != [0, 1, 2, 3, 4]
    # steps_per_epoch below the length goes on through the pass (Keras 3: 3, then 2 and the
    # warning); above it, the pass ends the epoch with the warning
    data = Batches()
    with pytest.warns(UserWarning, match="ran out of data"):
        hist = model.fit(data, steps_per_epoch=3, epochs=3, shuffle=False, verbose=0)
    assert data.asked == [0, 1, 2, 3, 4, 0, 1, 2] and hist.epoch == [0, 1, 2]
    data = Batches()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(data, steps_per_epoch=7, epochs=2, shuffle=False, verbose=0)
    assert data.asked == [0, 1, 2, 3, 4] * 2
    # the same weights as from arrays
    a, b = _model(), _model()
    a.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    b.fit(Batches(workers=3, max_queue_size=2), epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], rtol=1e-6)
    assert keras.utils.Sequence is keras.utils.PyDataset


def test_validation_from_generators_and_pydatasets():
    model = _model()
    val = Batches()
    hist = model.fit(X, Y, epochs=2, validation_data=val, validation_steps=2, verbose=0)
    assert val.asked == [0, 1, 0, 1] and val.ends == 2  # every validation starts at batch 0
    hist = model.fit(X, Y, epochs=1, validation_data=_batches(), verbose=0)
    model_loss = model.evaluate(X, Y, batch_size=4, verbose=0)
    assert hist.history["val_loss"][0] == pytest.approx(model_loss, rel=1e-6)
    # a generator is read once: two validations of 3 batches each from 6
    hist = model.fit(X, Y, epochs=2, validation_data=_batches(repeat=2), validation_steps=3,
                     verbose=0)
    assert len(hist.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="no batches"):
        model.fit(X, Y, epochs=2, validation_data=_batches(), verbose=0)


def test_arguments_a_generator_cannot_take_are_refused_by_name():
    model = _model()
    for kwargs, name in ((dict(y=Y), "y"), (dict(sample_weight=W), "sample_weight"),
                         (dict(batch_size=4), "batch_size")):
        with pytest.raises(ValueError, match=name):
            model.fit(_batches(), verbose=0, **kwargs)
    with pytest.raises(ValueError, match="batch_size"):
        model.evaluate(Batches(), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(_batches(), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="validation_batch_size"):
        model.fit(X, Y, validation_data=_batches(), validation_batch_size=4, verbose=0)
    for name in ("workers", "use_multiprocessing", "max_queue_size"):  # Keras 3's fit too
        with pytest.raises(TypeError, match=name):
            model.fit(_batches(), verbose=0, **{name: 2})
    with pytest.raises(ValueError, match="use_multiprocessing"):
        Batches(use_multiprocessing=True)
    with pytest.raises(ValueError, match="workers"):
        Batches(workers=0)
    with pytest.raises(ValueError, match="a tuple"):
        model.fit(iter([(X, Y, W, W)]), shuffle=False, verbose=0)


def test_unknown_steps_show_the_batches_counted(capsys):
    model = _model()
    model.fit(_batches(), shuffle=False, verbose=2)
    assert "5/5" in capsys.readouterr().out


def test_keras2_generator_methods_warn_and_delegate():
    a, b = _model(), _model()
    a.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    data = Batches()
    with pytest.warns(DeprecationWarning, match="fit_generator is Keras 2"):
        hist = b.fit_generator(data, epochs=2, shuffle=False, verbose=0, workers=0,
                               max_queue_size=3)
    assert data.asked == [0, 1, 2, 3, 4] * 2 and hist.epoch == [0, 1]
    np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], rtol=1e-6)
    with warnings.catch_warnings():  # shuffle=True is for PyDatasets: no warning for generators
        warnings.simplefilter("error", UserWarning)
        with pytest.warns(DeprecationWarning):
            b.fit_generator(_batches(), steps_per_epoch=5, verbose=0)
    with pytest.warns(DeprecationWarning, match="evaluate_generator"):
        loss = b.evaluate_generator(_batches(), steps=5)
    assert loss == pytest.approx(b.evaluate(X, Y, batch_size=4, verbose=0), rel=1e-6)
    with pytest.warns(DeprecationWarning, match="predict_generator"):
        pred = b.predict_generator(Batches())
    np.testing.assert_allclose(pred, b.predict(X, verbose=0), atol=1e-6)
    for kwargs, name in ((dict(workers=4), "workers"),
                         (dict(use_multiprocessing=True), "use_multiprocessing"),
                         (dict(max_queue_size=0), "max_queue_size")):
        with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=name):
            b.fit_generator(_batches(), verbose=0, **kwargs)
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="generator"):
        b.predict_generator(X)


def test_keras2_predict_classes_and_proba():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="softmax")])
    probs = model.predict(X, verbose=0)
    with pytest.warns(DeprecationWarning, match="predict_classes is Keras 2"):
        classes = model.predict_classes(X)
    np.testing.assert_array_equal(classes, probs.argmax(-1))
    with pytest.warns(DeprecationWarning, match="predict_proba"):
        np.testing.assert_allclose(model.predict_proba(X), probs)
    binary = keras.Sequential([keras.Input((3,)), layers.Dense(1, activation="sigmoid")])
    p = binary.predict(X, verbose=0)
    assert ((p > 0.5).any() and (p < 0.5).any())
    with pytest.warns(DeprecationWarning):
        got = binary.predict_classes(X)
    assert got.dtype == np.int32 and got.shape == (20, 1)
    np.testing.assert_array_equal(got[:, 0], (p[:, 0] > 0.5).astype(int))
    linear = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    with pytest.warns(DeprecationWarning), \
            pytest.warns(UserWarning, match="invalid probability values"):
        linear.predict_proba(X * 10)
