"""Optimizers with Keras 3's defaults and update rules. The update itself is generated code
(templates/optimizers.j2) over the flat parameter buffer; this side only computes each step's
scalars (`hyper`), so changing the learning rate never recompiles."""

from __future__ import annotations

import math
import warnings

import numpy as np


class Optimizer:
    kernel = None  # name of the update kernel in templates/optimizers.j2
    slots = 0  # optimizer variables per weight
    slot_init = 0.0

    def __init__(self, learning_rate=0.001, decay=0.0, lr=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if lr is not None:
            warnings.warn(f"{type(self).__name__}(lr=...) is deprecated; use learning_rate=",
                          DeprecationWarning, stacklevel=3)
            learning_rate = lr
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm)):
            if value:
                raise ValueError(f"{type(self).__name__}: {arg} (gradient clipping) is not "
                                 "supported yet")
        if kwargs.pop("weight_decay", None):
            raise ValueError(f"{type(self).__name__}: weight_decay is not supported yet")
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {sorted(kwargs)}")
        self.learning_rate = float(learning_rate)
        self.decay = float(decay)
        self.iterations = 0
        self.name = name or type(self).__name__.lower()

    @property
    def lr(self):
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = float(value)

    def current_lr(self):
        """Keras 2's time-based decay: lr / (1 + decay * iterations)."""
        return self.learning_rate / (1.0 + self.decay * self.iterations)

    def hyper(self, dtype):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, "decay": self.decay}


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        # As Keras: without momentum there is no momentum variable, Nesterov or not.
        self.kernel = ("sgd_nesterov" if nesterov else "sgd_momentum") if momentum else "sgd"
        self.slots = 1 if momentum else 0

    def hyper(self, dtype):
        return np.array([self.current_lr(), self.momentum], dtype)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if centered:
            raise ValueError("RMSprop: centered=True is not supported yet")
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.kernel = "rmsprop_momentum" if momentum else "rmsprop"
        self.slots = 2 if momentum else 1

    def hyper(self, dtype):
        return np.array([self.current_lr(), self.rho, 1.0 - self.rho, self.epsilon,
                         self.momentum], dtype)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon}


class Adagrad(Optimizer):
    kernel = "adagrad"
    slots = 1

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.slot_init = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def hyper(self, dtype):
        return np.array([self.current_lr(), self.epsilon], dtype)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.slot_init,
                "epsilon": self.epsilon}


class Adam(Optimizer):
    kernel = "adam"
    slots = 2

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if amsgrad:
            raise ValueError("Adam: amsgrad=True is not supported yet")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def hyper(self, dtype):
        t = self.iterations + 1
        alpha = self.current_lr() * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        return np.array([alpha, 1 - self.beta_1, 1 - self.beta_2, self.epsilon], dtype)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adam": Adam}


def get(identifier) -> Optimizer:
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; choose one of {sorted(_BY_NAME)} or "
                     "pass an optimizer instance")
