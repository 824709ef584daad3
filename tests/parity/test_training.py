"""Each loss, each optimizer (with its variants) and each activation by name against Keras 3
(JAX backend): predictions, losses and weights after three steps from identical weights."""

import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.parity

from parity_harness import Case, case, compare  # noqa: E402

import fnjit  # noqa: E402

HEADS = {"mean_squared_error": None, "mean_absolute_error": None,
         "binary_crossentropy": "sigmoid", "categorical_crossentropy": "softmax",
         "sparse_categorical_crossentropy": "softmax"}


@pytest.mark.parametrize("loss", list(HEADS))
def test_loss_matches_keras(loss):
    c = case("Dense", dict(units=4, activation="tanh"), (3,), id=loss, loss=loss,
             head_activation=HEADS[loss])
    compare(c, optimizers={"SGD": dict(learning_rate=0.5)})


@pytest.mark.parametrize("loss", ["binary_crossentropy", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy"])
def test_saturated_probabilities_clip_as_in_keras(loss):
    """Inputs so large that the sigmoid / softmax head gives exact 0s and 1s in float32: the
    losses clip to [epsilon, 1 - epsilon] (no gradient through a clipped value)."""
    c = case("Dense", dict(units=4), (3,), id=f"{loss}-saturated", loss=loss,
             head_activation=HEADS[loss], x_scale=300.0)
    compare(c, optimizers={"SGD": dict(learning_rate=0.5)})


LOSS_CLASSES = {  # id: (class, kwargs, head activation, targets)
    "huber": ("Huber", dict(delta=0.3), None, "normal"),
    "log_cosh": ("LogCosh", {}, None, "normal"),
    "poisson": ("Poisson", {}, "softplus", "positive"),
    "kl_divergence": ("KLDivergence", {}, "softmax", "onehot"),
    "cosine_similarity": ("CosineSimilarity", {}, None, "normal"),
    "hinge": ("Hinge", {}, "tanh", "binary"),
    "squared_hinge": ("SquaredHinge", {}, None, "binary"),
    "categorical_hinge": ("CategoricalHinge", {}, None, "onehot"),
    "mape": ("MeanAbsolutePercentageError", {}, None, "normal"),
    "msle": ("MeanSquaredLogarithmicError", {}, "softplus", "positive"),
    "bce_logits_smoothing": ("BinaryCrossentropy", dict(from_logits=True, label_smoothing=0.2),
                             None, "binary"),
    "cce_logits_smoothing": ("CategoricalCrossentropy",
                             dict(from_logits=True, label_smoothing=0.2), None, "onehot"),
    "cce_smoothing": ("CategoricalCrossentropy", dict(label_smoothing=0.2), "softmax",
                      "onehot"),
    "scce_logits": ("SparseCategoricalCrossentropy", dict(from_logits=True), None, "sparse"),
    "binary_focal": ("BinaryFocalCrossentropy", dict(apply_class_balancing=True, gamma=1.5),
                     "sigmoid", "binary"),
    "binary_focal_logits": ("BinaryFocalCrossentropy", dict(from_logits=True,
                                                            label_smoothing=0.1),
                            None, "binary"),
    "categorical_focal": ("CategoricalFocalCrossentropy", dict(alpha=0.4, gamma=2.5), "softmax",
                          "onehot"),
    "categorical_focal_logits": ("CategoricalFocalCrossentropy", dict(from_logits=True),
                                 None, "onehot"),
    "huber_sum": ("Huber", dict(reduction="sum"), None, "normal"),
}


@pytest.mark.parametrize("which", list(LOSS_CLASSES))
def test_loss_class_matches_keras(which):
    name, kwargs, head, targets = LOSS_CLASSES[which]
    c = case("Dense", dict(units=4, activation="tanh"), (3,), id=which,
             loss=(name, kwargs), head_activation=head, targets=targets)
    compare(c, optimizers={"SGD": dict(learning_rate=0.1)})


OPTIMIZERS = {
    "sgd_momentum": ("SGD", dict(learning_rate=0.1, momentum=0.9)),
    "sgd_nesterov": ("SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    "rmsprop_momentum": ("RMSprop", dict(learning_rate=0.01, rho=0.8, momentum=0.5)),
    "adagrad": ("Adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.2)),
    "adam": ("Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9)),
    "adam_amsgrad": ("Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9, amsgrad=True)),
    "adamw": ("AdamW", dict(learning_rate=0.01, weight_decay=0.5)),
    "adamax": ("Adamax", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9)),
    "nadam": ("Nadam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9)),
    "adadelta": ("Adadelta", dict(learning_rate=1.0, rho=0.8)),
    "ftrl": ("Ftrl", dict(learning_rate=0.1, l1_regularization_strength=0.01,
                          l2_regularization_strength=0.1,
                          l2_shrinkage_regularization_strength=0.05, beta=0.1)),
    "lion": ("Lion", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9)),
    "rmsprop_centered": ("RMSprop", dict(learning_rate=0.01, rho=0.8, centered=True)),
    "rmsprop_centered_momentum": ("RMSprop", dict(learning_rate=0.01, centered=True,
                                                  momentum=0.5)),
    "clipnorm": ("SGD", dict(learning_rate=0.5, clipnorm=0.05)),
    "global_clipnorm": ("Adam", dict(learning_rate=0.01, global_clipnorm=0.05)),
    "clipvalue": ("SGD", dict(learning_rate=0.5, clipvalue=0.01)),
    "weight_decay": ("SGD", dict(learning_rate=0.1, momentum=0.5, weight_decay=0.3)),
    "ftrl_weight_decay": ("Ftrl", dict(learning_rate=0.1, weight_decay=0.3)),
    "exponential_decay": ("Adam", dict(learning_rate=("ExponentialDecay", dict(
        initial_learning_rate=0.05, decay_steps=1, decay_rate=0.5)), weight_decay=0.2)),
    "piecewise_constant": ("SGD", dict(learning_rate=("PiecewiseConstantDecay", dict(
        boundaries=[0, 1], values=[0.5, 0.1, 0.01])))),
    "polynomial_decay": ("SGD", dict(learning_rate=("PolynomialDecay", dict(
        initial_learning_rate=0.5, decay_steps=2, power=2.0, cycle=True)))),
    "inverse_time_decay": ("RMSprop", dict(learning_rate=("InverseTimeDecay", dict(
        initial_learning_rate=0.05, decay_steps=1, decay_rate=2.0, staircase=True)))),
    "cosine_decay_warmup": ("SGD", dict(learning_rate=("CosineDecay", dict(
        initial_learning_rate=0.1, decay_steps=2, alpha=0.1, warmup_target=0.5,
        warmup_steps=1)))),
    "cosine_decay_restarts": ("SGD", dict(learning_rate=("CosineDecayRestarts", dict(
        initial_learning_rate=0.5, first_decay_steps=1, t_mul=2.0, m_mul=0.5, alpha=0.1)))),
}


@pytest.mark.parametrize("variant", list(OPTIMIZERS))
def test_optimizer_matches_keras(variant):
    name, kwargs = OPTIMIZERS[variant]
    c = case("Conv1D", dict(filters=2, kernel_size=2, activation="tanh"), (4, 2), id=variant)
    compare(c, optimizers={name: kwargs})


def test_every_activation_by_name_matches_keras():
    """One Dense branch per activation name fnjit knows, all feeding the head: a mismatch shows
    in the weights of the branch named after the activation."""
    names = [n for n in fnjit.activations.NAMES if n is not None]

    def build(lib, inputs):
        return [lib.layers.Dense(2, activation=n, name=f"act_{n}")(inputs[0]) for n in names]

    compare(Case("activations", build, [(3,)]))


def test_shared_layer_and_nested_model_match_keras():
    """A layer used twice (its gradients summed) and a model used as a layer, directly and
    inside TimeDistributed: the weight order of the whole model and the summed gradients."""
    def build(lib, inputs):
        L = lib.layers
        shared = L.Dense(3, activation="tanh")
        i = lib.Input((3,))
        inner = lib.Model(i, L.Dense(2, activation="sigmoid")(L.Dense(4)(i)))
        a, b = shared(inputs[0]), shared(inputs[1])
        return [inner(a), L.TimeDistributed(inner)(L.RepeatVector(2)(b)), L.Add()([a, b])]

    compare(Case("shared-nested", build, [(3,), (3,)]))


REGULARIZED = [
    case("Dense", dict(units=3, kernel_regularizer="l2", bias_regularizer="l1",
                       activity_regularizer="l1", kernel_constraint="unit_norm",
                       bias_constraint="non_neg"), (3,), id="dense-regularized"),
    case("Dense", dict(units=4, kernel_regularizer="orthogonal_regularizer",
                       kernel_constraint="max_norm"), (3,), id="dense-orthogonal"),
    case("Conv1D", dict(filters=2, kernel_size=2, kernel_regularizer="l1",
                        kernel_constraint="min_max_norm"), (4, 2), id="conv1d-regularized"),
    case("LSTM", dict(units=3, recurrent_regularizer="l2", kernel_regularizer="l1",
                      recurrent_constraint="unit_norm", activity_regularizer="l2"), (4, 2),
         id="lstm-regularized"),
    case("BatchNormalization", dict(gamma_regularizer="l2", beta_regularizer="l1",
                                    gamma_constraint="non_neg"), (3,), id="bn-regularized",
         pre_bias=False),
]


@pytest.mark.parametrize("c", REGULARIZED, ids=[c.id for c in REGULARIZED])
def test_regularizers_and_constraints_match_keras(c):
    """Penalties in the reported loss of each step (activity ones divided by the batch size)
    and in the gradients; constraints applied after each update."""
    compare(c, optimizers={"SGD": dict(learning_rate=0.3)})


def test_initial_state_matches_keras():
    """initial_state= of LSTM, GRU and SimpleRNN, computed from model inputs: the outputs,
    and the weights of the Dense layers that make the states (their gradients flow through
    the states)."""
    def build(lib, inputs):
        L = lib.layers
        x, s = inputs
        h, c = L.Dense(3, name="make_h")(s), L.Dense(3, name="make_c")(s)
        return [L.LSTM(3, return_sequences=True)(x, initial_state=[h, c]),
                L.GRU(3, go_backwards=True)(x, initial_state=[h]),
                L.SimpleRNN(3)(x, initial_state=c)]

    compare(Case("rnn-initial-state", build, [(4, 2), (2,)]), optimizers={"SGD": dict(
        learning_rate=0.3)})
