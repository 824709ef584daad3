"""Optimizers with Keras 3's defaults and update rules. The update itself is generated code
(templates/optimizers.j2) over the flat parameter buffer; this side only computes each step's
scalars (`hyper`), so a learning-rate schedule or a changed rate never recompiles.

Around every rule, as Keras 3's base optimizer: the gradients are clipped (`clipnorm` per
weight, `global_clipnorm` over all, or `clipvalue` per element), then the weights decay
(`w -= w * weight_decay * learning_rate`, except those given to `exclude_from_weight_decay`),
then the rule runs. `hyper` is [clip threshold, weight_decay * learning_rate, the rule's
scalars...]."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np

from ..codegen.program import Update
from . import schedules
from .schedules import LearningRateSchedule

__all__ = ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam", "Ftrl",
           "Lion", "Optimizer", "get", "schedules"]


class Optimizer:
    kernel = None  # name of the update rule in templates/optimizers.j2
    # Keras 3's optimizer variables per weight, in the groups it creates them: within a group
    # they are interleaved weight by weight (Adam: k_momentum, k_velocity, b_momentum, ...),
    # groups follow one another. One row of the slot buffer each, in this order.
    slot_groups: tuple = ()
    slot_init: tuple = ()  # initial value of each row (default 0)
    follows_steps = False  # whether the rule's scalars change with the step count (Adam's)

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, lr=None, decay=0.0, **kwargs):
        what = type(self).__name__
        if kwargs:
            raise TypeError(f"{what}: unexpected arguments {sorted(kwargs)}")
        if lr is not None:
            warnings.warn(f"{what}(lr=...) is deprecated; use learning_rate=",
                          DeprecationWarning, stacklevel=3)
            learning_rate = lr
        if use_ema:
            raise ValueError(f"{what}: use_ema=True (weight moving averages) is not supported")
        if ema_overwrite_frequency is not None:
            raise ValueError(f"{what}: ema_overwrite_frequency needs use_ema, which is not "
                             "supported")
        if loss_scale_factor is not None:
            raise ValueError(f"{what}: loss_scale_factor is not supported (fnjit trains in "
                             "float32 or float64, where loss scaling is not needed)")
        if gradient_accumulation_steps is not None:
            raise ValueError(f"{what}: gradient_accumulation_steps is not supported")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{what}: only one of `clipnorm`, `clipvalue` and "
                             f"`global_clipnorm` can be set. Received: clipnorm={clipnorm}, "
                             f"clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self._learning_rate = None
        self.learning_rate = learning_rate
        self.decay = float(decay)
        self.iterations = 0
        self.name = name or type(self).__name__.lower()
        self._exclude_ids = set()
        self._exclude_pattern = None

    def __setattr__(self, name, value):
        # program_key and hyper are derived once from the settings: any setting changed (all
        # but the step count, which hyper reads afresh where it matters) derives them anew.
        if name != "iterations":
            self.__dict__.pop("_derived", None)
        object.__setattr__(self, name, value)

    def _from_settings(self, key, compute, *args):
        derived = self.__dict__.setdefault("_derived", {})
        if key not in derived:
            derived[key] = compute(*args)
        return derived[key]

    # ---- the learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        """The rate of the coming step: a schedule's value at the current step count."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self.iterations))
        if callable(lr):
            return float(lr())  # Keras calls a plain callable without arguments
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, LearningRateSchedule) and not callable(value):
            raise TypeError(f"{type(self).__name__} was created with a LearningRateSchedule as "
                            "its learning_rate, hence its learning rate is not settable; "
                            "create the optimizer with a float learning_rate instead")
        if callable(value):
            self._learning_rate = value
            return
        try:
            self._learning_rate = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a float, a "
                             "LearningRateSchedule or a callable returning the rate; got "
                             f"{value!r}") from None

    @property
    def lr(self):
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        self.learning_rate = value

    @property
    def schedule(self):
        """The learning rate's schedule or callable, or None for a constant rate."""
        return self._learning_rate if callable(self._learning_rate) else None

    def current_lr(self):
        """The rate of the coming step with Keras 2's time-based `decay`: lr / (1 + decay *
        iterations)."""
        return self.learning_rate / (1.0 + self.decay * self.iterations)

    # ---- what the generated step needs ---------------------------------------------------
    @property
    def slots(self):
        return sum(len(g) for g in self.slot_groups)

    def slot_rows(self):
        """The initial value of each row of the slot buffer."""
        return [self.slot_init[r] if r < len(self.slot_init) else 0.0
                for r in range(self.slots)]

    def clip_mode(self):
        """Keras applies the first of clipnorm, global_clipnorm, clipvalue that is > 0."""
        for mode, value in (("norm", self.clipnorm), ("global_norm", self.global_clipnorm),
                            ("value", self.clipvalue)):
            if value and value > 0:
                return mode, float(value)
        return None, 0.0

    def update(self, variables):
        """The update the generated step performs, for the trainable `variables` {param name:
        fnjit Variable}: part of the compiled program's identity."""
        decayed = ()
        if self.weight_decay:
            decayed = tuple(name for name, var in variables.items() if self._decays(var))
        return Update(self.kernel, self.clip_mode()[0], decayed)

    def program_key(self):
        """What of this optimizer the generated step depends on (not its scalars)."""
        return self._from_settings("program key", self._program_key)

    def _program_key(self):
        pattern = self._exclude_pattern.pattern if self._exclude_pattern else None
        return (self.kernel, self.clip_mode()[0], bool(self.weight_decay),
                tuple(sorted(self._exclude_ids)), pattern)

    def hyper(self, dtype):
        """This step's scalars: [clip threshold, weight_decay * lr, the rule's...]; the same
        array from step to step while no setting changes and neither the rate (a schedule,
        `decay`) nor the rule follows the step count."""
        if self.schedule is not None or self.decay or self.follows_steps:
            return self._hyper(dtype)
        return self._from_settings(("hyper", np.dtype(dtype)), self._hyper, dtype)

    def _hyper(self, dtype):
        lr = self.current_lr()
        decay = lr * self.weight_decay if self.weight_decay else 0.0
        return np.array([self.clip_mode()[1], decay] + list(self._rule(lr)), dtype)

    def _rule(self, lr):
        raise NotImplementedError

    # ---- weight decay --------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude these variables, or those whose name contains one of `var_names` (regular
        expressions, searched), from weight decay (Keras 3)."""
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _decays(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None and
                    self._exclude_pattern.search(variable.name))

    # ---- state beyond the slots (saved after them in .keras files) ------------------------
    def extra_variables(self):
        """Scalars (floats) that Keras 3 keeps as optimizer variables after the slots."""
        return []

    def set_extra_variables(self, values):
        pass

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = self.learning_rate
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                  "clipvalue": self.clipvalue, "use_ema": False,
                  "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None,
                  "decay": self.decay}  # Keras 2's; not written into .keras files when 0
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects)
        return cls(**config)


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        # As Keras: without momentum there is no momentum variable, Nesterov or not.
        self.kernel = ("sgd_nesterov" if nesterov else "sgd_momentum") if momentum else "sgd"
        self.slot_groups = (("momentum",),) if momentum else ()

    def _rule(self, lr):
        return [lr, self.momentum]

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)
        self.kernel = "rmsprop" + ("_centered" if centered else "") + \
            ("_momentum" if momentum > 0 else "")
        self.slot_groups = (("velocity",),) + ((("momentum",),) if momentum > 0 else ()) + \
            ((("average_gradient",),) if centered else ())

    def _rule(self, lr):
        return [lr, self.rho, 1.0 - self.rho, self.epsilon, self.momentum]

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    kernel = "adagrad"
    slot_groups = (("accumulator",),)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.slot_init = (self.initial_accumulator_value,)
        self.epsilon = float(epsilon)

    def _rule(self, lr):
        return [lr, self.epsilon]

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    kernel = "adadelta"
    slot_groups = (("accumulated_grad", "accumulated_delta_var"),)

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _rule(self, lr):
        return [lr, self.rho, 1.0 - self.rho, self.epsilon]

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    follows_steps = True  # bias corrections

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)
        self.kernel = "adam_amsgrad" if amsgrad else "adam"
        self.slot_groups = (("momentum", "velocity"),) + ((("velocity_hat",),) if amsgrad
                                                          else ())

    def _rule(self, lr):
        t = self.iterations + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        return [alpha, 1 - self.beta_1, 1 - self.beta_2, self.epsilon]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: Keras 3's AdamW is Adam with weight_decay=0.004."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


class Adamax(Optimizer):
    kernel = "adamax"
    slot_groups = (("momentum", "norm"),)
    follows_steps = True  # bias correction

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _rule(self, lr):
        t = self.iterations + 1
        return [lr, 1 - self.beta_1, self.beta_2, 1 - self.beta_1 ** t, self.epsilon]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Nadam(Optimizer):
    kernel = "nadam"
    slot_groups = (("momentum", "velocity"),)
    follows_steps = True  # bias corrections

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        # Keras' u_product: the product of the momentum schedule u_k over the steps so far.
        self._u_product, self._u_steps = 1.0, 0

    def _u(self, step):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** step)

    def _rule(self, lr):
        t = self.iterations + 1
        while self._u_steps < t:  # Keras multiplies u_product by u_t at the start of step t
            self._u_steps += 1
            self._u_product *= self._u(self._u_steps)
        u_t, u_next = self._u(t), self._u(t + 1)
        return [lr, 1 - self.beta_1, 1 - self.beta_2, 1 - u_t, u_next,
                1 - self._u_product, 1 - self._u_product * u_next, 1 - self.beta_2 ** t,
                self.epsilon]

    def extra_variables(self):
        return [self._u_product]

    def set_extra_variables(self, values):
        self._u_product, self._u_steps = float(values[0]), self.iterations

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Ftrl(Optimizer):
    kernel = "ftrl"
    slot_groups = (("accumulator", "linear"),)

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        for name, value in (("initial_accumulator_value", initial_accumulator_value),
                            ("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength",
                             l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"Ftrl: `{name}` needs to be positive or zero. Received: "
                                 f"{name}={value}.")
        if learning_rate_power > 0:
            raise ValueError("Ftrl: `learning_rate_power` needs to be negative or zero. "
                             f"Received: learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.slot_init = (self.initial_accumulator_value, 0.0)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)

    def _rule(self, lr):
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        return [lr, -self.learning_rate_power, self.l1_regularization_strength, 2 * l2,
                2 * self.l2_shrinkage_regularization_strength]

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lion(Optimizer):
    kernel = "lion"
    slot_groups = (("momentum",),)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Lion: argument `beta_1` must be in the [0, 1] range. Otherwise, "
                             f"the optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)

    def _rule(self, lr):
        return [lr, self.beta_1, 1.0 - self.beta_1, self.beta_2, 1.0 - self.beta_2]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


CLASSES = {cls.__name__: cls for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax,
                                         Nadam, Ftrl, Lion)}
_BY_NAME = {name.lower(): cls for name, cls in CLASSES.items()}


def get(identifier) -> Optimizer:
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; choose one of {sorted(_BY_NAME)} or "
                     "pass an optimizer instance")


def deserialize(config, custom_objects=None):
    """An optimizer from Keras 3's {"class_name", "config"} form."""
    from ..saving.config import clean_config

    if isinstance(config, str):
        return get(config)
    table = {**CLASSES, **(custom_objects or {})}
    name = config.get("class_name", "")
    if name not in table:
        raise ValueError(f"optimizer {name!r} is not available in fnjit")
    return table[name].from_config(clean_config(config.get("config") or {}), custom_objects)
