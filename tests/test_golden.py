"""Golden generated code: the dumps of the guide models, committed under tests/golden/.

Each test diffs what `generated_source()` prints for one model (the legend, the driver with
its entry points, the kernel modules) against tests/golden/<model>.txt, so that review shows
what a change did to the generated code. A refactor leaves them byte-identical.

After an intentional change, regenerate them all with ONE command, from the repository root:

    FNJIT_UPDATE_GOLDEN=1 python -m pytest -q -p no:randomly tests/test_golden.py

The dumps are deterministic: each model is built in a fresh session (layer names from
`dense` again), and the kernel modules' names, which hash the versions of numba, numpy and
Python, are numbered in order of appearance (`fnjit_generated_<1>`, ...).
"""

import difflib
import os
import re
import sys
from pathlib import Path

import pytest

from fnjit import backend as K
from fnjit import layers
from fnjit.layers import Conv2D, Dense
from fnjit.models import Sequential

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("FNJIT_UPDATE_GOLDEN") == "1"

# Builders written once, in the examples, where the guides' programs define them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import functional_api_guide as guide  # noqa: E402
import functional_api_models as guide_models  # noqa: E402
import mnist_mlp  # noqa: E402
import sequential_convnet_lstm as guide_sequential  # noqa: E402


def mlp():
    """The functional API guide's first example: 784-64-64-10, RMSprop."""
    return mnist_mlp.build()


def cnn():
    model = guide_models.convolutional_neural_network()
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


def lstm_classifier():
    model = guide_sequential.lstm_classifier_model(1024)
    model.build((None, 20))
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model


def headline():
    """The guide's headline model: two inputs, two outputs, loss weights."""
    model = guide.headline_network()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", loss_weights=[1., 0.2])
    return model


def siamese_shared_lstm():
    """The guide's shared LSTM: one layer, two calls (two nodes), one set of weights."""
    model = guide.shared_lstm_network()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def shared_layer():
    """One value read by two branches (gradients add up), as the guide's shared extraction."""
    model = guide_models.shared_feature_extraction_layer()
    model.compile("sgd", "mse")
    return model


def channels_first():
    model = Sequential([
        Conv2D(8, 3, activation="relu", data_format="channels_first", input_shape=(3, 12, 12)),
        layers.MaxPooling2D(2, data_format="channels_first"),
        layers.Flatten(),
        Dense(10, activation="softmax"),
    ])
    model.compile("sgd", "categorical_crossentropy")
    return model


MODELS = [mlp, cnn, lstm_classifier, headline, siamese_shared_lstm, shared_layer,
          channels_first]
# The parallel variants (FNJIT_NUM_THREADS > 1: the convolution and pooling kernels under
# prange, the recurrent time loops split by batch rows) of one model of each kind.
TWO_THREADS = [cnn, siamese_shared_lstm]
CASES = [(build, 1) for build in MODELS] + [(build, 2) for build in TWO_THREADS]


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """The dumps are of the one-thread code unless a case says otherwise, whatever the
    environment of the test run sets (`auto` would render for the machine's cores)."""
    monkeypatch.setenv("FNJIT_NUM_THREADS", "1")


def dump(build):
    """The normalised dump of the model `build()` returns, built in a fresh session."""
    K.clear_session()
    source = build().generated_source()
    numbers = {}
    return re.sub(r"fnjit_generated_[0-9a-f]+",
                  lambda m: f"fnjit_generated_<{numbers.setdefault(m.group(), len(numbers) + 1)}>",
                  source)


@pytest.mark.parametrize("build, threads", CASES,
                         ids=[b.__name__ + ("" if t == 1 else f"-{t}threads") for b, t in CASES])
def test_generated_code_matches_the_golden_dump(build, threads, monkeypatch):
    import numba

    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip(f"Numba runs {numba.config.NUMBA_NUM_THREADS} threads here")
    monkeypatch.setenv("FNJIT_NUM_THREADS", str(threads))
    path = GOLDEN / (build.__name__ + ("" if threads == 1 else f"_{threads}_threads") + ".txt")
    text = dump(build)
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden dump {path}: regenerate (see the top of this file)"
    want = path.read_text()
    if text != want:
        diff = "".join(list(difflib.unified_diff(
            want.splitlines(True), text.splitlines(True), str(path), "now"))[:200])
        pytest.fail(f"the generated code of {build.__name__} changed; if intended, regenerate "
                    f"the golden dumps (see the top of tests/test_golden.py):\n{diff}")


def test_golden_dumps_are_deterministic_and_readable():
    """Two builds give the same text; every driver line fits in 100 columns."""
    assert dump(mlp) == dump(mlp)
    for build in MODELS:
        driver = dump(build).split("# module fnjit_generated_")[0]
        long = [line for line in driver.splitlines() if len(line) > 100]
        assert long == [], f"{build.__name__}: lines over 100 columns: {long[:3]}"
