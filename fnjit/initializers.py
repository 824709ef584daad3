"""Weight initialisers with Keras' names and defaults. They draw from fnjit's random generator
(`fnjit.utils.set_random_seed` makes them reproducible)."""

from __future__ import annotations

import inspect
import math

import numpy as np

from . import random as _random


def _fans(shape):
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])  # conv kernels: (*spatial, in, out)
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype="float32"):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype="float32"):
        return np.ones(shape, dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype="float32"):
        return np.full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """`gain` times the identity matrix (rectangular shapes: ones on the main diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype="float32"):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer: only 2-D weights have an identity; got "
                             f"shape {tuple(shape)} of rank {len(shape)}")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype="float32"):
        return _random.generator(self.seed).normal(self.mean, self.stddev, shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype="float32"):
        g = _random.generator(self.seed)
        return g.uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype="float32"):
        g = _random.generator(self.seed)
        out = g.normal(0.0, 1.0, shape)
        bad = np.abs(out) > 2
        while bad.any():  # redraw beyond two standard deviations, as Keras does
            out[bad] = g.normal(0.0, 1.0, int(bad.sum()))
            bad = np.abs(out) > 2
        return (self.mean + self.stddev * out).astype(dtype)


class VarianceScaling(Initializer):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype="float32"):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        g = _random.generator(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return g.uniform(-limit, limit, shape).astype(dtype)
        if self.distribution == "untruncated_normal":
            return g.normal(0.0, math.sqrt(scale), shape).astype(dtype)
        stddev = math.sqrt(scale) / 0.87962566103423978  # std of a unit normal cut at 2 sigma
        return TruncatedNormal(0.0, stddev, self.seed)(shape, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def GlorotUniform(seed=None):
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def GlorotNormal(seed=None):
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed)


def HeUniform(seed=None):
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def HeNormal(seed=None):
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def LecunUniform(seed=None):
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def LecunNormal(seed=None):
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def _qr_one_thread(a):
    """np.linalg.qr on one BLAS thread: numpy's OpenBLAS defaults to one thread per core, and
    on a busy 2-core machine a (1024, 256) QR (an LSTM(256) recurrent kernel) took 2.7-9.8 s
    instead of 0.06 s (a worker thread that is not scheduled stalls every blocked step)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return np.linalg.qr(a)
    with threadpool_limits(1, user_api="blas"):
        return np.linalg.qr(a)


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype="float32"):
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        a = _random.generator(self.seed).normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = _qr_one_thread(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


_BY_NAME = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal, "random_uniform": RandomUniform,
    "uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
    "identity": Identity,
}


def get(identifier):
    """An initializer from a name, a class name, an instance or a callable(shape, dtype)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):  # a serialised initializer, {"class_name", "config"}
        return _from_dict(identifier)
    if isinstance(identifier, str):
        key = identifier if identifier in _BY_NAME else snake(identifier)
        if key not in _BY_NAME:
            raise ValueError(f"unknown initializer {identifier!r}; choose one of "
                             f"{sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as an initializer")


def _from_dict(data):
    name = data.get("class_name", "")
    key = name if name in _BY_NAME else snake(name)
    if key not in _BY_NAME:
        raise ValueError(f"unknown initializer {name!r}; choose one of {sorted(_BY_NAME)}")
    factory = _BY_NAME[key]
    accepted = inspect.signature(factory).parameters
    # Keras writes arguments fnjit does not have (input_axes, ...): keep the ones it takes.
    return factory(**{k: v for k, v in (data.get("config") or {}).items() if k in accepted})


def serialize(init):
    for factory in _BY_NAME.values():
        if isinstance(factory, type) and type(init) is factory:
            return {"class_name": factory.__name__, "config": init.get_config()}
    return {"class_name": type(init).__name__, "config": init.get_config()}


def snake(name):
    from .backend import snake_case

    return snake_case(name)
