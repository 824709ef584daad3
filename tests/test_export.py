"""`fnjit export` writes a directory that runs without fnjit: checked in a fresh virtual
environment whose only packages are numpy, numba and scipy (whose BLAS numba's np.dot calls),
linked from this one: never fnjit."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fnjit as keras
from fnjit import layers


def _venv_without_fnjit(root: Path) -> Path:
    """A venv of the base interpreter that sees numpy, numba, llvmlite, scipy, nothing else."""
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv",
                    "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    shelf = root / "deps"
    shelf.mkdir()
    import llvmlite
    import numba
    import scipy

    for mod in (np, numba, llvmlite, scipy):
        pkg = Path(mod.__file__).parent
        for p in pkg.parent.iterdir():
            if p.name == pkg.name or p.name.startswith(pkg.name + ".libs") or (
                    p.name.startswith(pkg.name + "-") and p.name.endswith(".dist-info")):
                (shelf / p.name).symlink_to(p)
    (Path(site) / "deps.pth").write_text(str(shelf) + "\n")
    return python


def _model():
    keras.utils.set_random_seed(3)
    tokens = keras.Input((5,), dtype="int32")
    dense = keras.Input((4,))
    e = layers.Flatten()(layers.Embedding(7, 3)(tokens))
    h = layers.concatenate([e, layers.Dense(6, activation="relu")(dense)])
    model = keras.Model([tokens, dense], layers.Dense(3, activation="softmax")(h))
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def test_exported_directory_predicts_and_evaluates_without_fnjit(tmp_path):
    model = _model()
    rng = np.random.default_rng(0)
    tok = rng.integers(0, 7, (40, 5)).astype("int32")
    x = rng.normal(size=(40, 4)).astype("float32")
    y = np.eye(3)[rng.integers(0, 3, 40)].astype("float32")
    model.fit([tok, x], y, epochs=2, batch_size=8, verbose=0)  # exported weights are trained
    out = model.export_source(tmp_path / "exported")
    assert sorted(p.name for p in out.glob("*.py") if not p.name.startswith("fnjit_")) == [
        "entry_points.py", "run.py"]
    np.save(tmp_path / "tok.npy", tok)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)

    python = _venv_without_fnjit(tmp_path / "venv")
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        sys.path.insert(0, {str(out)!r})
        import run
        assert not any(m == "fnjit" or m.startswith("fnjit.") for m in sys.modules)
        tok, x, y = (np.load({str(tmp_path)!r} + f"/{{n}}.npy") for n in ("tok", "x", "y"))
        p = run.predict(tok, x, batch_size=16)
        np.save({str(tmp_path / "p.npy")!r}, p)
        print(json.dumps(run.evaluate([tok, x], [y])))
        print(json.dumps(run.evaluate([tok[:1], x[:1]], [y[:1]])))  # one sample is a batch
        try:
            run.predict(np.full_like(tok, 7), x)  # the first index past the table
        except ValueError as e:
            print("refused", e)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([str(python), "-I", "-c", script], capture_output=True, text=True,
                          timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    logs, one = json.loads(lines[0]), json.loads(lines[1])
    assert "refused input 0: indices must be in [0, 7)" in lines[2]
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), model.predict([tok, x], verbose=0),
                               rtol=1e-6, atol=1e-7)
    expect = model.evaluate([tok, x], y, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(expect["accuracy"])
    assert logs["loss"] == pytest.approx(expect["loss"], rel=1e-5)
    first = model.evaluate([tok[:1], x[:1]], y[:1], verbose=0, return_dict=True)
    assert one["loss"] == pytest.approx(first["loss"], rel=1e-5)


def test_export_refuses_a_file_as_directory(tmp_path):
    model = _model()
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        model.export_source(f)


def test_exported_one_input_model_predicts_in_batches(tmp_path):
    """A one-input model's run.predict takes one array, batches it (10 samples at batch 4:
    a short last batch) and refuses no samples (run here by this interpreter: the venv test
    above shows that nothing but numpy and numba is needed)."""
    keras.utils.set_random_seed(4)
    x_in = keras.Input((3,))
    model = keras.Model(x_in, layers.Dense(2, activation="tanh")(x_in))
    model.compile("sgd", "mse")  # so that run.py has evaluate too
    x = np.random.default_rng(1).normal(size=(10, 3)).astype("float32")
    y = np.random.default_rng(2).normal(size=(10, 2)).astype("float32")
    out = model.export_source(tmp_path / "one")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        sys.path.insert(0, {str(out)!r})
        import run
        x, y = np.load({str(tmp_path / "x.npy")!r}), np.load({str(tmp_path / "y.npy")!r})
        p = run.predict(x, batch_size=4)
        np.save({str(tmp_path / "p.npy")!r}, p)
        print(json.dumps(run.evaluate(x, y, batch_size=4)))
        try:
            run.predict(np.zeros((0, 3), np.float32))
        except ValueError as e:
            print("refused", e)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "refused predict: no samples" in proc.stdout
    logs = json.loads(proc.stdout.splitlines()[0])
    assert logs["loss"] == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
