"""The argument audit: every parameter of the `__init__` of every public layer, optimizer, loss
and callback class is listed here, either as exercised (a named test shows that it changes the
result) or as refused (called with a non-default value, it raises an error naming it). A new
class or parameter that is in neither fails `test_every_argument_is_audited`: add its row.

The table is keyed by the class whose `__init__` declares the parameter (a subclass that passes
it on through **kwargs, or declares it again, uses the row of its nearest base that has one), so
each parameter is listed once. A third kind, `Kept`, is for arguments that are accepted and kept
in the config but do not change Keras' numbers either (unroll: the same loop; use_cudnn: an
implementation choice); it names the config test and says why.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from pathlib import Path

import pytest

from fnjit import callbacks, layers, losses, optimizers
from fnjit.layers.base import Layer

TESTS = Path(__file__).parent


@dataclass(frozen=True)
class Refused:
    value: object  # a non-default value: the constructor must raise an error naming the argument


@dataclass(frozen=True)
class Kept:
    test: str  # a test that shows the argument kept (in the config)
    why: str  # why it does not change the numbers in Keras either


# ---- tests, by file ------------------------------------------------------------------------
ARGS = "test_arguments.py::"
INIT = ARGS + "test_initializer_of_every_weight_role"
REG = ARGS + "test_regularizer_and_constraint_of_every_weight_role"
CONV = "test_conv.py::test_conv_family_forward_and_gradients"
CONV_CFG = "test_conv.py::test_config_round_trip"
POOL = "test_pooling.py::test_pooling_padding_cropping_upsampling_forward_and_gradients"
POOL3 = "test_pooling3d.py::test_3d_pooling_padding_cropping_upsampling_forward_and_gradients"
RNN = "test_recurrent.py::test_lstm_gru_simple_rnn_variants_forward_and_gradients"
RNN_CFG = "test_recurrent.py::test_parameter_counts_weight_shapes_and_configs"
MISC = "test_layers_misc.py::test_reshaping_and_activation_layers_forward_and_gradients"
MISC_CFG = "test_layers_misc.py::test_layer_defaults_configs_and_errors"
BN = "test_batchnorm.py::test_batchnorm_training_gradients_and_inference_forward"
MERGE = "test_merge.py::test_merge_layers_forward_and_gradients"
KERAS1_MERGE = "test_merge.py::test_keras1_merge_modes_match_todays_layers"
MASK = "test_masking.py::test_masked_recurrent_layers_forward_and_gradients"
MASKING = "test_masking.py::test_masking_layer_zeroes_masked_steps_and_feeds_the_mask"
CB = "test_callbacks.py::"
BACKUP = "test_backup_and_restore.py::"
TB = "test_tensorboard.py::"
OPT = "test_optimizers.py::"
LOSS = "test_losses_keras.py::"
ROLE_ARGS = {f"{role}_{kind}": (INIT if kind == "initializer" else REG)
             for role in ("kernel", "bias", "recurrent", "depthwise", "pointwise", "embeddings",
                          "gamma", "beta", "alpha")
             for kind in ("initializer", "regularizer", "constraint")}


def _roles(*names):
    return {n: ROLE_ARGS[n] for n in names}


AUDIT = {
    # ---- layers ---------------------------------------------------------------------------
    "Layer": {
        "name": "test_graph.py::test_layer_order_names_and_weights_follow_keras",
        "trainable": "test_batchnorm.py::test_frozen_batchnorm_runs_in_inference_mode",
        "dtype": "test_embedding.py::test_embedding_lookup_gradients_and_repeat_vector",
        "input_shape": "test_graph.py::test_sequential_forms",
        "input_dim": "test_graph.py::test_sequential_forms",
        "batch_size": Kept("test_saving.py::test_keras2_json_config_loads",
                           "the batch dimension is not part of the compiled code"),
        "batch_input_shape": "test_saving.py::test_keras2_json_config_loads",
        "activity_regularizer": "test_regularizers.py::"
                                "test_penalties_join_evaluate_and_train_on_batch_losses",
        "weights": ARGS + "test_keras2_initial_weights_and_keras1_input_length",
        "input_length": ARGS + "test_keras2_initial_weights_and_keras1_input_length",
    },
    "InputLayer": {
        "shape": "test_guides.py::test_first_example_dense_network_and_models_are_callable",
        "batch_size": Kept("test_saving.py::test_keras2_json_config_loads",
                           "the batch dimension is not part of the compiled code"),
        "dtype": "test_embedding.py::test_embedding_lookup_gradients_and_repeat_vector",
        "name": "test_call_args.py::test_model_attributes_are_the_models_own_tensors",
        "sparse": Refused(True),
        "input_shape": "test_guides.py::test_sequential_and_functional_equivalents",
        "batch_input_shape": "test_saving.py::test_keras2_json_config_loads",
    },
    "Dense": {
        "units": "test_ops.py::test_dense_on_3d_input_without_bias",
        "activation": "test_training.py::test_mlp_learns_and_history_uses_keras_names",
        "use_bias": "test_ops.py::test_dense_on_3d_input_without_bias",
        **_roles("kernel_initializer", "bias_initializer", "kernel_regularizer",
                 "bias_regularizer", "kernel_constraint", "bias_constraint"),
        "output_dim": "test_graph.py::test_keras1_dense_spelling_warns_and_works",
        "init": "test_graph.py::test_keras1_dense_spelling_warns_and_works",
    },
    "Activation": {"activation": MISC},
    "Dropout": {
        "rate": "test_call_args.py::test_dropout_called_with_training_true_stays_active_at_predict",
        "noise_shape": Refused((1, 3)),
        "seed": Refused(1),
    },
    "Flatten": {"data_format": "test_conv.py::test_data_format_none_follows_the_backend_setting"},
    "Embedding": {
        "input_dim": "test_embedding.py::test_embedding_lookup_gradients_and_repeat_vector",
        "output_dim": "test_embedding.py::test_embedding_lookup_gradients_and_repeat_vector",
        **_roles("embeddings_initializer", "embeddings_regularizer", "embeddings_constraint"),
        "mask_zero": MASK,
        "weights": "test_embedding.py::test_headline_model_trains",
        "lora_rank": Refused(4),
        "input_length": "test_embedding.py::test_input_length_is_checked_against_the_input",
    },
    "Masking": {"mask_value": MASKING},
    "Lambda": {
        "function": "test_backend_ops.py::test_lambda_output_shape_arguments_and_non_"
                    "differentiable_ops",
        "output_shape": "test_backend_ops.py::test_lambda_output_shape_arguments_and_non_"
                        "differentiable_ops",
        "mask": "test_masking.py::test_custom_layers_take_pass_and_make_masks",
        "arguments": "test_backend_ops.py::test_lambda_output_shape_arguments_and_non_"
                     "differentiable_ops",
    },
    "BatchNormalization": {
        "axis": BN, "momentum": "test_batchnorm.py::test_moving_statistics_follow_keras_formula_"
                                "after_a_train_step",
        "epsilon": BN, "center": BN, "scale": BN,
        **_roles("beta_initializer", "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                 "beta_constraint", "gamma_constraint"),
        "moving_mean_initializer": ARGS + "test_batchnorm_moving_statistics_initializers_and_"
                                          "lstm_unit_forget_bias",
        "moving_variance_initializer": ARGS + "test_batchnorm_moving_statistics_initializers_"
                                              "and_lstm_unit_forget_bias",
        "synchronized": Refused(True),
    },
    "_Recurrent": {
        "units": RNN, "activation": RNN, "use_bias": RNN,
        **_roles("kernel_initializer", "recurrent_initializer", "bias_initializer",
                 "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                 "kernel_constraint", "recurrent_constraint", "bias_constraint"),
        "activity_regularizer": "test_regularizers.py::test_keras_file_round_trip",
        "dropout": "test_recurrent.py::test_dropout_is_inactive_in_inference_and_active_in_"
                   "training",
        "recurrent_dropout": "test_recurrent.py::test_dropout_is_inactive_in_inference_and_"
                             "active_in_training",
        "seed": Refused(1),
        "return_sequences": RNN, "return_state": RNN, "go_backwards": RNN,
        "stateful": Refused(True),
        "unroll": Kept(RNN_CFG, "unrolling changes how Keras builds the loop, not its result"),
        "zero_output_for_mask": MASKING,
        "use_cudnn": Kept(RNN_CFG, "chooses Keras' GPU kernel, not the result"),
    },
    "LSTM": {"recurrent_activation": RNN,
             "unit_forget_bias": ARGS + "test_batchnorm_moving_statistics_initializers_and_"
                                        "lstm_unit_forget_bias"},
    "GRU": {"recurrent_activation": RNN, "reset_after": Refused(False)},
    "_BaseConv": {
        "kernel_size": CONV, "strides": CONV, "padding": CONV, "data_format": CONV,
        "dilation_rate": CONV, "activation": CONV, "use_bias": CONV,
        "bias_initializer": INIT, "lora_rank": Refused(4),
    },
    "_Conv": {
        "filters": CONV, "groups": Refused(2),
        **_roles("kernel_initializer", "kernel_regularizer", "bias_regularizer",
                 "kernel_constraint", "bias_constraint"),
    },
    "_DepthwiseConv": {
        "depth_multiplier": CONV,
        **_roles("depthwise_initializer", "depthwise_regularizer", "bias_regularizer",
                 "depthwise_constraint", "bias_constraint"),
    },
    "_SeparableConv": {
        "filters": CONV, "depth_multiplier": CONV,
        **_roles("depthwise_initializer", "pointwise_initializer", "depthwise_regularizer",
                 "pointwise_regularizer", "bias_regularizer", "depthwise_constraint",
                 "pointwise_constraint", "bias_constraint"),
    },
    "_Pooling": {"pool_size": POOL, "strides": POOL, "padding": POOL, "data_format": POOL},
    "_GlobalPooling": {"data_format": POOL, "keepdims": POOL},
    "_Window": {"amounts": Refused(1), "data_format": POOL},
    "ZeroPadding1D": {"padding": POOL},
    "ZeroPadding2D": {"padding": POOL},
    "Cropping1D": {"cropping": "test_pooling.py::test_configs_round_trip"},
    "Cropping2D": {"cropping": POOL},
    "ZeroPadding3D": {"padding": POOL3},
    "Cropping3D": {"cropping": POOL3},
    "UpSampling3D": {"size": POOL3, "data_format": POOL3},
    "_UpSampling": {"size": POOL, "data_format": POOL, "interpolation": Refused("bilinear")},
    "Reshape": {"target_shape": MISC},
    "Permute": {"dims": MISC},
    "RepeatVector": {"n": "test_embedding.py::test_embedding_lookup_gradients_and_repeat_vector"},
    "TimeDistributed": {
        "layer": "test_time_distributed.py::test_time_distributed_layer_and_model_share_weights"},
    "ReLU": {"max_value": MISC, "negative_slope": MISC, "threshold": MISC},
    "LeakyReLU": {"negative_slope": MISC},
    "ELU": {"alpha": MISC},
    "Softmax": {"axis": MISC},
    "PReLU": {"shared_axes": MISC,
              **_roles("alpha_initializer", "alpha_regularizer", "alpha_constraint")},
    "Concatenate": {"axis": MERGE},
    "Dot": {"axes": MERGE, "normalize": MERGE},
    "Merge": {
        "layers": KERAS1_MERGE, "mode": KERAS1_MERGE, "concat_axis": KERAS1_MERGE,
        "dot_axes": KERAS1_MERGE, "output_shape": KERAS1_MERGE,
        "output_mask": Refused(True), "arguments": "test_guides.py::test_merge_with_a_function_"
                                                   "as_mode",
        "node_indices": Refused((0,)), "tensor_indices": Refused((0,)), "name": KERAS1_MERGE,
    },
    # ---- optimizers ----------------------------------------------------------------------
    "Optimizer": {
        "learning_rate": "test_training.py::test_plain_sgd_with_keras1_lr",
        "decay": "test_training.py::test_sgd_against_keras_rule",
        "lr": "test_training.py::test_plain_sgd_with_keras1_lr",
        "clipnorm": OPT + "test_clipping_and_weight_decay_match_keras",
        "clipvalue": OPT + "test_clipping_and_weight_decay_match_keras",
        "global_clipnorm": OPT + "test_clipping_and_weight_decay_match_keras",
        "weight_decay": OPT + "test_clipping_and_weight_decay_match_keras",
        "use_ema": Refused(True), "ema_overwrite_frequency": Refused(2),
        "ema_momentum": Kept(OPT + "test_unsupported_or_misspelt_arguments_are_refused",
                             "used only by use_ema, which is refused"),
        "loss_scale_factor": Refused(2.0), "gradient_accumulation_steps": Refused(2),
        "name": Kept("test_saving.py::test_keras_file_layout_and_round_trip",
                     "a label in the saved optimizer config"),
    },
    "SGD": {"momentum": "test_training.py::test_sgd_against_keras_rule",
            "nesterov": "test_training.py::test_sgd_against_keras_rule"},
    "RMSprop": {"rho": ARGS + "test_rmsprop_rho_momentum_epsilon",
                "momentum": ARGS + "test_rmsprop_rho_momentum_epsilon",
                "epsilon": ARGS + "test_rmsprop_rho_momentum_epsilon",
                "centered": OPT + "test_rule_matches_keras"},
    "Adagrad": {
        "initial_accumulator_value": ARGS + "test_adagrad_initial_accumulator_value_and_epsilon",
        "epsilon": ARGS + "test_adagrad_initial_accumulator_value_and_epsilon"},
    "Adam": {"beta_1": ARGS + "test_adam_beta_1_beta_2_epsilon",
             "beta_2": ARGS + "test_adam_beta_1_beta_2_epsilon",
             "epsilon": ARGS + "test_adam_beta_1_beta_2_epsilon",
             "amsgrad": OPT + "test_rule_matches_keras"},
    "Adadelta": {p: OPT + "test_rule_matches_keras" for p in ("rho", "epsilon")},
    "Adamax": {p: OPT + "test_rule_matches_keras" for p in ("beta_1", "beta_2", "epsilon")},
    "Nadam": {p: OPT + "test_rule_matches_keras" for p in ("beta_1", "beta_2", "epsilon")},
    "Lion": {p: OPT + "test_rule_matches_keras" for p in ("beta_1", "beta_2")},
    "Ftrl": {p: OPT + "test_rule_matches_keras" for p in (
        "learning_rate_power", "initial_accumulator_value", "l1_regularization_strength",
        "l2_regularization_strength", "l2_shrinkage_regularization_strength", "beta")},
    # ---- losses --------------------------------------------------------------------------
    "Loss": {
        "reduction": LOSS + "test_reduction_sum_scales_loss_and_gradient_by_the_batch",
        "dtype": Refused("int8"),
        "name": "test_custom_loss.py::test_loss_resolution_keeps_builtins_and_accepts_functions",
    },
    "Huber": {"delta": LOSS + "test_loss_value_and_gradient"},
    "CosineSimilarity": {"axis": Refused(0)},
    "BinaryCrossentropy": {"from_logits": LOSS + "test_loss_value_and_gradient",
                           "label_smoothing": LOSS + "test_loss_value_and_gradient",
                           "axis": Refused(0)},
    "CategoricalCrossentropy": {"from_logits": LOSS + "test_loss_value_and_gradient",
                                "label_smoothing": LOSS + "test_loss_value_and_gradient",
                                "axis": Refused(0)},
    "SparseCategoricalCrossentropy": {"from_logits": LOSS + "test_loss_value_and_gradient",
                                      "ignore_class": Refused(0)},
    "BinaryFocalCrossentropy": {**{p: LOSS + "test_loss_value_and_gradient" for p in (
        "apply_class_balancing", "alpha", "gamma", "from_logits", "label_smoothing")},
        "axis": Refused(0)},
    "CategoricalFocalCrossentropy": {**{p: LOSS + "test_loss_value_and_gradient" for p in (
        "alpha", "gamma", "from_logits", "label_smoothing")}, "axis": Refused(0)},
    # ---- callbacks -----------------------------------------------------------------------
    "MonitorCallback": {
        "monitor": CB + "test_auto_mode_direction",
        "mode": CB + "test_auto_mode_direction",
        "baseline": CB + "test_early_stopping_patience_baseline_and_start_epoch",
        "min_delta": CB + "test_early_stopping_patience_baseline_and_start_epoch",
    },
    "EarlyStopping": {
        "patience": CB + "test_early_stopping_patience_baseline_and_start_epoch",
        "verbose": CB + "test_early_stopping_stops_fit_and_restores_best_weights",
        "restore_best_weights": CB + "test_early_stopping_stops_fit_and_restores_best_weights",
        "start_from_epoch": CB + "test_early_stopping_patience_baseline_and_start_epoch",
    },
    "ModelCheckpoint": {
        "filepath": CB + "test_checkpoint_names_files_by_epoch_and_logs",
        "verbose": CB + "test_checkpoint_names_files_by_epoch_and_logs",
        "save_best_only": CB + "test_checkpoint_save_best_only_keeps_the_best",
        "save_weights_only": CB + "test_checkpoint_names_files_by_epoch_and_logs",
        "save_freq": CB + "test_checkpoint_every_n_batches_and_period",
        "initial_value_threshold": ARGS + "test_model_checkpoint_initial_value_threshold",
        "period": CB + "test_checkpoint_every_n_batches_and_period",
    },
    "ReduceLROnPlateau": {
        "monitor": ARGS + "test_reduce_lr_on_plateau_monitor_mode_min_delta_verbose",
        "factor": CB + "test_reduce_lr_on_plateau_with_cooldown_and_floor",
        "patience": CB + "test_reduce_lr_on_plateau_with_cooldown_and_floor",
        "verbose": ARGS + "test_reduce_lr_on_plateau_monitor_mode_min_delta_verbose",
        "mode": ARGS + "test_reduce_lr_on_plateau_monitor_mode_min_delta_verbose",
        "min_delta": ARGS + "test_reduce_lr_on_plateau_monitor_mode_min_delta_verbose",
        "cooldown": CB + "test_reduce_lr_on_plateau_with_cooldown_and_floor",
        "min_lr": CB + "test_reduce_lr_on_plateau_with_cooldown_and_floor",
    },
    "LearningRateScheduler": {
        "schedule": CB + "test_learning_rate_scheduler_takes_effect_without_recompiling",
        "verbose": CB + "test_learning_rate_scheduler_takes_effect_without_recompiling",
    },
    "TerminateOnNaN": {"raise_error": CB + "test_terminate_on_nan_stops_after_the_bad_batch"},
    "CSVLogger": {"filename": CB + "test_csv_logger_writes_append_and_atomically",
                  "separator": ARGS + "test_csv_logger_separator",
                  "append": CB + "test_csv_logger_writes_append_and_atomically"},
    "LambdaCallback": {
        **{hook: CB + "test_lambda_callback_and_hook_order"
           for hook in ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
                        "on_train_batch_end")},
        "on_train_batch_begin": ARGS + "test_lambda_callback_on_train_batch_begin"},
    "ProgbarLogger": {"verbose": ARGS + "test_progbar_logger_verbose_and_stream",
                      "stream": ARGS + "test_progbar_logger_verbose_and_stream"},
    "BackupAndRestore": {
        "backup_dir": BACKUP + "test_an_interrupted_fit_resumes_and_ends_as_an_uninterrupted_one",
        "save_freq": BACKUP + "test_backup_every_n_batches_resumes_in_its_epoch",
        "double_checkpoint": BACKUP + "test_double_checkpoint_falls_back_on_a_damaged_backup",
        "delete_checkpoint": BACKUP + "test_backup_every_n_batches_resumes_in_its_epoch"},
    "TensorBoard": {
        "log_dir": TB + "test_epoch_and_batch_scalars_histograms_and_graph",
        "histogram_freq": TB + "test_epoch_and_batch_scalars_histograms_and_graph",
        "write_graph": TB + "test_epoch_and_batch_scalars_histograms_and_graph",
        "update_freq": TB + "test_epoch_and_batch_scalars_histograms_and_graph",
        "write_steps_per_second": TB + "test_epoch_update_freq_adds_no_batch_hooks_and_"
                                       "evaluate_logs_by_iteration",
        # no weight images, profiler or embedding projector
        "write_images": Refused(True), "profile_batch": Refused(2),
        "embeddings_freq": Refused(1), "embeddings_metadata": Refused({"dense": "m.tsv"})},
    # no network: the whole class is refused, naming its arguments
    "RemoteMonitor": {p: Refused(v) for p, v in (
        ("root", "http://x"), ("path", "/p"), ("field", "f"), ("headers", {}),
        ("send_as_json", True))},
}

# Layers beyond the guides (issue 12).
ATTN = "test_attention.py::test_attention_and_additive_attention_forward_and_gradients"
MHA = "test_attention.py::test_multi_head_attention_forward_and_gradients"
BIDI = "test_bidirectional.py::"
NOISE = "test_noise_layers.py::"
NORM = "test_normalization_layers.py::"
PRE = "test_preprocessing_layers.py::"
AUDIT.update({
    "_BaseAttention": {"seed": Refused(1)},
    "Attention": {"use_scale": ATTN, "score_mode": ATTN, "dropout": ATTN, "seed": Refused(1)},
    "AdditiveAttention": {"use_scale": ATTN, "dropout": ATTN},
    "MultiHeadAttention": {
        **{a: MHA for a in ("num_heads", "key_dim", "value_dim", "dropout", "use_bias",
                            "output_shape", "attention_axes", "kernel_initializer",
                            "bias_initializer")},
        **{a: Refused("l2") for a in ("kernel_regularizer", "bias_regularizer")},
        **{a: Refused("non_neg") for a in ("kernel_constraint", "bias_constraint")},
        "use_gate": Refused(True), "sliding_window": Refused(4),
        "flash_attention": Refused(True), "seed": Refused(1)},
    "Bidirectional": {
        "layer": BIDI + "test_bidirectional_simple_rnn_every_merge_mode_forward_and_gradients",
        "merge_mode": BIDI + "test_bidirectional_simple_rnn_every_merge_mode_forward_and_gradients",
        "backward_layer": BIDI + "test_bidirectional_lstm_and_gru_gradients_and_backward_layer",
        "weights": BIDI + "test_bidirectional_config_save_and_errors"},
    "_ConvTranspose": {
        "output_padding": "test_conv_transpose.py::test_conv_transpose_forward_and_gradients"},
    "GaussianNoise": {"stddev": NOISE + "test_noise_statistics_in_training",
                      "seed": Refused(1)},
    "GaussianDropout": {"rate": NOISE + "test_noise_statistics_in_training", "seed": Refused(1)},
    "AlphaDropout": {"rate": NOISE + "test_noise_statistics_in_training",
                     "noise_shape": Refused((1, 3)), "seed": Refused(1)},
    "_SpatialDropout": {"rate": NOISE + "test_spatial_dropout_drops_whole_feature_maps",
                        "data_format": NOISE + "test_spatial_dropout_drops_whole_feature_maps",
                        "seed": Refused(1)},
    "_AffineNormalization": _roles("beta_initializer", "gamma_initializer", "beta_regularizer",
                                   "gamma_regularizer", "beta_constraint", "gamma_constraint"),
    "LayerNormalization": {
        **{a: NORM + "test_layer_normalization_forward_and_gradients"
           for a in ("axis", "epsilon", "center", "scale")},
        "rms_scaling": Refused(True)},
    "GroupNormalization": {
        a: NORM + "test_group_normalization_forward_and_gradients"
        for a in ("groups", "axis", "epsilon", "center", "scale")},
    "ActivityRegularization": {
        a: "test_regularizers.py::test_activity_regularization_layer" for a in ("l1", "l2")},
    "Normalization": {a: PRE + "test_normalization_forward_and_gradients"
                      for a in ("axis", "mean", "variance", "invert")},
    "CategoryEncoding": {"num_tokens": PRE + "test_category_encoding_forward_and_gradients",
                         "output_mode": PRE + "test_category_encoding_forward_and_gradients",
                         "sparse": Refused(True)},
    "UnitNormalization": {
        "axis": NORM + "test_unit_normalization_and_identity_forward_and_gradients"},
    "Rescaling": {"scale": NORM + "test_rescaling_forward_gradients_and_errors",
                  "offset": NORM + "test_rescaling_forward_gradients_and_errors"},
})

_BIDI_LAYER = layers.SimpleRNN(2)  # Bidirectional copies it; never called

# The fewest positional arguments that construct a class, for the refusal checks.
REQUIRED = {
    "Dense": (2,), "Activation": ("relu",), "Dot": (1,), "Dropout": (0.5,), "Embedding": (5, 2),
    "Lambda": (lambda x: x,), "Conv1D": (2, 2), "Conv2D": (2, 2), "SeparableConv2D": (2, 2),
    "DepthwiseConv2D": (2,), "Conv3D": (2, 2), "SeparableConv1D": (2, 2),
    "Conv3DTranspose": (2, 2),
    "DepthwiseConv1D": (2,), "AveragePooling3D": (2,), "LSTM": (2,), "GRU": (2,),
    "SimpleRNN": (2,), "Reshape": ((2,),),
    "Permute": ((1,),), "RepeatVector": (2,), "TimeDistributed": (None,), "InputLayer": (),
    "CSVLogger": ("log.csv",), "ModelCheckpoint": ("m.keras",), "BackupAndRestore": ("b",),
    "LearningRateScheduler": (lambda epoch: 0.1,),
    "Conv1DTranspose": (2, 2), "Conv2DTranspose": (2, 2), "Rescaling": (0.5,),
    "GaussianNoise": (0.1,), "GaussianDropout": (0.1,), "AlphaDropout": (0.1,),
    "SpatialDropout1D": (0.1,), "SpatialDropout2D": (0.1,), "SpatialDropout3D": (0.1,),
    "MultiHeadAttention": (2, 4), "Bidirectional": (_BIDI_LAYER,), "CategoryEncoding": (4,),
}
CONSTRUCT_KWARGS = {"InputLayer": {"shape": (2,)}}


def _public_classes():
    """Every public class: layers, optimizers, losses, callbacks (aliases once)."""
    seen = {}
    for module, base in ((layers, Layer), (optimizers, optimizers.Optimizer),
                         (losses, losses.Loss), (callbacks, callbacks.Callback)):
        for name in sorted(dir(module)):
            cls = getattr(module, name)
            if name.startswith("_") or not inspect.isclass(cls) or not issubclass(cls, base):
                continue
            seen.setdefault(cls, None)
    return list(seen)


def _parameters(cls):
    """(declaring class, parameter) for every named parameter a call of `cls` accepts: those
    of its `__init__`, and, through **kwargs, of its bases' `__init__`s."""
    out, names = [], set()
    for klass in cls.__mro__:
        if "__init__" not in klass.__dict__ or klass is object:
            continue
        params = list(inspect.signature(klass.__dict__["__init__"]).parameters.values())[1:]
        for p in params:
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in names:
                continue
            names.add(p.name)
            out.append((klass, p.name))
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return out


def _entry(cls, declaring, param):
    """The audit row of `param`: the declaring class's, else the nearest base's, else the
    nearest subclass's in `cls`'s MRO that lists it."""
    order = list(cls.__mro__)
    start = order.index(declaring)
    for klass in order[start:] + order[:start][::-1]:
        row = AUDIT.get(klass.__name__, {})
        if param in row:
            return row[param]
    return None


CASES = [(cls, declaring, p) for cls in _public_classes() for declaring, p in _parameters(cls)]


def test_every_argument_is_audited():
    missing = sorted({f"{d.__name__}.{p}" for cls, d, p in CASES
                      if _entry(cls, d, p) is None})
    assert not missing, ("arguments neither exercised nor refused; add them to AUDIT in "
                         f"tests/test_api_audit.py: {missing}")


def _test_sources():
    """test name -> its source (decorators included), by `file.py::name`."""
    out = {}
    for path in TESTS.glob("test_*.py"):
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                out[f"{path.name}::{node.name}"] = "\n".join(lines[first - 1:node.end_lineno])
    return out


def test_exercised_arguments_name_existing_tests():
    sources = _test_sources()
    bad = []
    for cls, declaring, param in CASES:
        entry = _entry(cls, declaring, param)
        test = entry.test if isinstance(entry, Kept) else entry
        if isinstance(entry, Refused):
            continue
        if test not in sources:
            bad.append(f"{declaring.__name__}.{param}: no test {test}")
    assert not bad, bad


_REFUSALS = [(cls, p, e.value) for cls, d, p in CASES
             if isinstance(e := _entry(cls, d, p), Refused)]


@pytest.mark.parametrize("cls,param,value", _REFUSALS,
                         ids=[f"{c.__name__}.{p}" for c, p, _ in _REFUSALS])
def test_refused_arguments_raise_naming_them(cls, param, value):
    args = REQUIRED.get(cls.__name__, ())
    kwargs = {**CONSTRUCT_KWARGS.get(cls.__name__, {}), param: value}
    with pytest.raises((ValueError, TypeError)) as e:
        cls(*args, **kwargs)
    assert param in str(e.value), f"{cls.__name__}({param}={value!r}): {e.value}"


_CLASSES = [c for c in _public_classes()
            if c.__name__ not in ("TimeDistributed",)]  # needs a layer: checked below


@pytest.mark.parametrize("cls", _CLASSES, ids=[c.__name__ for c in _CLASSES])
def test_unknown_arguments_are_refused(cls):
    """No **kwargs swallowed: an argument no class in the chain declares is an error naming
    it."""
    with pytest.raises(TypeError, match="no_such_argument"):
        cls(*REQUIRED.get(cls.__name__, ()), **CONSTRUCT_KWARGS.get(cls.__name__, {}),
            no_such_argument=1)
    if cls is layers.Dense:
        with pytest.raises(TypeError, match="no_such_argument"):
            layers.TimeDistributed(layers.Dense(2), no_such_argument=1)
