"""Keras masking: Embedding(mask_zero=True) and Masking make a mask that LSTM, GRU and
SimpleRNN honour (forward against numpy recurrences written here with Keras 3's rule: a
masked step carries the states and outputs the previous output, or zeros with
zero_output_for_mask; backward against finite differences), that merges and
GlobalAveragePooling1D propagate or use, and that weights the losses and metrics of a masked
output. Keras 3 itself is the reference in tests/parity/test_masking.py."""

import warnings

import numpy as np
import pytest
from gradcheck import check_gradients, predict64

import fnjit
from fnjit import Input, Model, layers

rng = np.random.default_rng(5)

IDS = np.array([[3, 1, 4, 0, 0, 0],  # trailing padding
                [0, 0, 2, 7, 1, 8],  # leading padding
                [5, 0, 9, 0, 2, 6],  # holes
                [0, 0, 0, 0, 0, 0]])  # all masked
MASK = IDS != 0


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step(w):
    kernel, recurrent, bias = w
    u = recurrent.shape[0]

    def step(xt, states):
        h, c = states
        z = xt @ kernel + h @ recurrent + bias
        i, f, g, o = sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), \
            sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        return h, [h, c]
    return step, 2


def gru_step(w):
    kernel, recurrent, bias = w
    u = recurrent.shape[0]

    def step(xt, states):
        (h,) = states
        xz = xt @ kernel + bias[0]
        hz = h @ recurrent + bias[1]
        z = sigmoid(xz[:, :u] + hz[:, :u])
        r = sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
        h = z * h + (1 - z) * np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        return h, [h]
    return step, 1


def simple_step(w):
    kernel, recurrent, bias = w

    def step(xt, states):
        h = np.tanh(xt @ kernel + states[0] @ recurrent + bias)
        return h, [h]
    return step, 1


def np_masked_rnn(step_and_count, x, mask, backwards=False, zero_output=False, states=None):
    """Keras 3's rnn with a mask (keras/src/backend/jax/rnn.py, the scan path): returns
    (outputs in processing order, final states)."""
    step, _ = step_and_count
    order = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    outs = []
    for t in order:
        out, new = step(x[:, t], states)
        keep = mask[:, t][:, None]
        prev = np.zeros_like(out) if zero_output else states[0]
        outs.append(np.where(keep, out, prev))
        states = [np.where(keep, s_new, s) for s_new, s in zip(new, states)]
    return np.stack(outs, axis=1), states


def zero_states(n, units, count):
    return [np.zeros((n, units)) for _ in range(count)]


def with_bias(layer):
    ws = layer.get_weights()
    ws[-1] = ws[-1] + rng.normal(scale=0.3, size=ws[-1].shape)
    layer.set_weights(ws)
    return [w.astype(np.float64) for w in layer.get_weights()]


def test_masked_recurrent_layers_forward_and_gradients():
    """One model: each recurrent layer on an Embedding(mask_zero=True) sequence with leading,
    trailing and inner padding and an all-padded row, forwards and go_backwards, with
    return_sequences and return_state; gradients through the masked steps by finite
    differences (the embeddings and every recurrent weight)."""
    ids = Input((6,), dtype="int32")
    emb = layers.Embedding(10, 3, mask_zero=True)
    lstm_seq = layers.LSTM(3, return_sequences=True)
    lstm_back = layers.LSTM(2, return_state=True, go_backwards=True)
    gru_seq = layers.GRU(3, return_sequences=True, go_backwards=True)
    gru_last = layers.GRU(2)
    rnn_seq = layers.SimpleRNN(2, return_sequences=True, go_backwards=True)
    rnn_last = layers.SimpleRNN(2, return_state=True)
    e = emb(ids)
    seq = lstm_seq(e)
    back, h, c = lstm_back(e)
    gs = gru_seq(seq)  # the mask passes through the LSTM's output sequence
    rs = rnn_seq(e)
    outputs = [seq, back, h, c, gs, gru_last(gs), rs, *rnn_last(rs)]
    model = Model(ids, outputs)
    table = emb.get_weights()[0].astype(np.float64)
    w = {lyr: with_bias(lyr) for lyr in (lstm_seq, lstm_back, gru_seq, gru_last, rnn_seq,
                                         rnn_last)}
    x = table[IDS]
    n = len(IDS)
    want_seq, _ = np_masked_rnn(lstm_step(w[lstm_seq]), x, MASK, states=zero_states(n, 3, 2))
    want_back, (wh, wc) = np_masked_rnn(lstm_step(w[lstm_back]), x, MASK, backwards=True,
                                        states=zero_states(n, 2, 2))
    want_gs, _ = np_masked_rnn(gru_step(w[gru_seq]), want_seq, MASK, backwards=True,
                               states=zero_states(n, 3, 1))
    want_gl, _ = np_masked_rnn(gru_step(w[gru_last]), want_gs, MASK,
                               states=zero_states(n, 2, 1))
    want_rs, _ = np_masked_rnn(simple_step(w[rnn_seq]), x, MASK, backwards=True,
                               states=zero_states(n, 2, 1))
    want_rl, (rh,) = np_masked_rnn(simple_step(w[rnn_last]), want_rs, MASK,
                                   states=zero_states(n, 2, 1))
    wants = [want_seq, want_back[:, -1], wh, wc, want_gs, want_gl[:, -1], want_rs,
             want_rl[:, -1], rh]
    got = predict64(model, [IDS])
    for g, want in zip(got, wants, strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-9)
    # the masked steps really carried the state: the all-padded row stays at zero
    assert np.all(got[0][3] == 0) and np.all(got[2][3] == 0)
    check_gradients(model, [IDS], max_checks=120)


def test_masked_initial_state_and_bidirectional_zero_output_gradients():
    """A masked LSTM and GRU started from given states (a masked first step outputs the
    initial h), and Bidirectional(return_sequences=True), whose masked steps output zeros
    (Keras 3 sets zero_output_for_mask); forward and finite-difference gradients, the initial
    states' included."""
    ids = Input((6,), dtype="int32")
    h0, c0 = Input((2,)), Input((2,))
    emb = layers.Embedding(10, 2, mask_zero=True)
    lstm = layers.LSTM(2, return_sequences=True)
    gru = layers.GRU(2, return_sequences=True, go_backwards=True)
    bi = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True), merge_mode="concat")
    e = emb(ids)
    outputs = [lstm(e, initial_state=[h0, c0]), gru(e, initial_state=h0), bi(e)]
    model = Model([ids, h0, c0], outputs)
    table = emb.get_weights()[0].astype(np.float64)
    wl, wg = with_bias(lstm), with_bias(gru)
    wf, wb = with_bias(bi.forward_layer), with_bias(bi.backward_layer)
    x = table[IDS]
    s_h, s_c = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    want_l, _ = np_masked_rnn(lstm_step(wl), x, MASK, states=[s_h, s_c])
    want_g, _ = np_masked_rnn(gru_step(wg), x, MASK, backwards=True, states=[s_h])
    f, _ = np_masked_rnn(simple_step(wf), x, MASK, zero_output=True,
                         states=zero_states(4, 2, 1))
    b, _ = np_masked_rnn(simple_step(wb), x, MASK, backwards=True, zero_output=True,
                         states=zero_states(4, 2, 1))
    want_bi = np.concatenate([f, b[:, ::-1]], axis=-1)
    got = predict64(model, [IDS, s_h, s_c])
    for g, want in zip(got, [want_l, want_g, want_bi], strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-9)
    assert np.all(got[2][~MASK] == 0)
    np.testing.assert_allclose(got[0][1, 0], s_h[1])  # masked first step: the initial h
    check_gradients(model, [IDS, s_h, s_c], max_checks=80)


def test_masking_layer_zeroes_masked_steps_and_feeds_the_mask():
    """Masking(mask_value): steps whose features all equal it are zeroed and masked; a NaN
    step is kept (NaN != mask_value, as Keras); its gradient is dy where kept, 0 where
    masked."""
    x = rng.normal(size=(3, 5, 2))
    x[0, 3:] = -1.0
    x[1, 1] = -1.0
    x[2, 0] = [-1.0, 0.5]  # only one feature equal: kept
    mask = ~np.all(x == -1.0, axis=-1)
    inp = Input((5, 2))
    masked = layers.Masking(mask_value=-1.0)(inp)
    rnn = layers.SimpleRNN(2, return_sequences=True)
    zeroed = layers.SimpleRNN(2, return_sequences=True, zero_output_for_mask=True)
    model = Model(inp, [masked, rnn(masked), zeroed(masked)])
    w, wz = with_bias(rnn), with_bias(zeroed)
    got = predict64(model, [x])
    np.testing.assert_array_equal(got[0], x * mask[..., None])
    for g, weights, zero in ((got[1], w, False), (got[2], wz, True)):
        want, _ = np_masked_rnn(simple_step(weights), x * mask[..., None], mask,
                                zero_output=zero, states=zero_states(3, 2, 1))
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-9)
    assert np.all(got[2][~mask] == 0) and not np.all(got[1][~mask] == 0)
    # the gradient of Masking's output (finite differences away from the mask_value steps)
    grads, (dx,) = check_gradients(Model(inp, layers.Masking(mask_value=-1.0)(inp)), [x],
                                   max_checks=0)
    assert np.all(dx[~mask] == 0) and np.all(dx[mask] != 0)


def test_global_average_pooling_merges_and_dropped_masks():
    """GlobalAveragePooling1D averages the unmasked steps (NaN for a row with none, as Keras'
    0 / 0); Add ORs the masks of masked inputs; Concatenate on the time axis joins them; a
    layer that does not support masking (Flatten) drops the mask with Keras' warning, and
    GlobalMaxPooling1D ignores it as Keras 3 does."""
    ids_a, ids_b = Input((6,), dtype="int32"), Input((6,), dtype="int32")
    emb = layers.Embedding(10, 3, mask_zero=True)
    a, b = emb(ids_a), emb(ids_b)
    other = IDS[::-1].copy()
    added = layers.Add()([a, b])
    joined = layers.Concatenate(axis=1)([a, b])
    rnn = layers.SimpleRNN(2, return_sequences=True)
    outputs = [layers.GlobalAveragePooling1D()(a), layers.GlobalMaxPooling1D()(a),
               rnn(added), layers.GlobalAveragePooling1D()(joined)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs.append(layers.Dense(2)(layers.Flatten()(a)))
        model = Model([ids_a, ids_b], outputs)
        got = predict64(model, [IDS, other])
    assert any("does not support masking" in str(c.message) for c in caught)
    table = emb.get_weights()[0].astype(np.float64)
    ea, eb = table[IDS], table[other]
    with np.errstate(invalid="ignore", divide="ignore"):
        want_avg = (ea * MASK[..., None]).sum(1) / MASK.sum(1)[:, None]
        both = np.concatenate([MASK, other != 0], axis=1)
        want_join = (np.concatenate([ea, eb], 1) * both[..., None]).sum(1) / both.sum(1)[:, None]
    np.testing.assert_allclose(got[0], want_avg, rtol=1e-12)
    assert np.all(np.isnan(got[0][3]))
    np.testing.assert_allclose(got[1], ea.max(axis=1), rtol=1e-12)
    want_add, _ = np_masked_rnn(simple_step([w.astype(np.float64) for w in rnn.get_weights()]),
                                ea + eb, MASK | (other != 0), states=zero_states(4, 2, 1))
    np.testing.assert_allclose(got[2], want_add, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got[3], want_join, rtol=1e-12)


def test_loss_and_metrics_of_a_masked_output_are_means_over_unmasked_steps():
    """Keras 3 (losses/loss.py apply_mask): the per-step losses and metric values of an
    output with a mask count only the unmasked steps. A loss is normalised by their number
    in the batch, its epoch value the batch values' mean weighted by batch size; a metric is
    a mean over every unmasked step of the epoch (Keras' Mean weighted by the mask), weighted
    metrics by mask * sample weight."""
    fnjit.utils.set_random_seed(11)  # fixed weights and targets, whatever ran before
    local = np.random.default_rng(11)
    ids = Input((6,), dtype="int32")
    e = layers.Embedding(10, 3, mask_zero=True, embeddings_initializer="uniform")(ids)
    dense = layers.Dense(2, activation="softmax", kernel_initializer="ones")
    y = dense(layers.LSTM(3, return_sequences=True)(e))
    model = Model(ids, y)
    dense.set_weights([local.normal(size=(3, 2)) * 3, np.zeros(2)])  # outputs far from 1/2
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    ids_data = IDS[:3]
    targets = local.integers(0, 2, size=(3, 6))
    p = model.predict(ids_data, verbose=0).astype(np.float64)
    per_step = -np.log(np.take_along_axis(p, targets[..., None], -1)[..., 0])
    acc = p.argmax(-1) == targets

    def batch_means(rows):
        m = MASK[rows]
        return (per_step[rows] * m).sum() / m.sum(), (acc[rows] * m).sum() / m.sum()
    loss, accuracy, _ = model.evaluate(ids_data, targets, verbose=0)
    want = batch_means(slice(0, 3))
    assert abs(per_step.mean() - want[0]) > 1e-4  # the mask changes the value
    np.testing.assert_allclose([loss, accuracy], want, rtol=1e-5)
    sw = np.array([1.0, 3.0, 0.5])
    loss2, acc2, wacc2 = model.evaluate(ids_data, targets, batch_size=2, sample_weight=sw,
                                        verbose=0)
    first = (per_step[:2] * MASK[:2] * sw[:2, None]).sum() / MASK[:2].sum()
    second = (per_step[2:] * MASK[2:3] * sw[2:, None]).sum() / MASK[2:3].sum()
    m, w = MASK[:3], MASK[:3] * sw[:, None]
    np.testing.assert_allclose([loss2, acc2, wacc2],
                               [(2 * first + second) / 3, (acc * m).sum() / m.sum(),
                                (acc * w).sum() / w.sum()], rtol=1e-5)


def test_a_mean_metric_object_on_a_masked_output_is_refused():
    from fnjit import metrics

    ids = Input((6,), dtype="int32")
    e = layers.Embedding(10, 3, mask_zero=True)(ids)
    s = layers.LSTM(3, return_sequences=True)(e)
    model = Model(ids, layers.Dense(2, activation="softmax")(s))
    model.compile("sgd", "sparse_categorical_crossentropy",
                  metrics=[metrics.SparseCategoricalAccuracy()])
    with pytest.raises(ValueError, match="carries a mask"):
        model.evaluate(IDS, np.zeros((4, 6)), verbose=0)


def test_a_custom_loss_with_one_value_per_sample_on_a_masked_output_is_refused():
    ids = Input((6,), dtype="int32")
    s = layers.LSTM(3, return_sequences=True)(layers.Embedding(10, 3, mask_zero=True)(ids))
    model = Model(ids, layers.Dense(2)(s))
    model.compile("sgd", lambda y, p: fnjit.ops.mean(fnjit.ops.square(y - p), axis=(1, 2)))
    with pytest.raises(ValueError, match=r"carries a mask of shape \(None, 6\).*its loss has "
                                         r"shape \(None,\)"):
        model.evaluate(IDS, np.zeros((4, 6, 2)), verbose=0)


def test_zero_output_for_mask_without_return_sequences_is_refused():
    ids = Input((6,), dtype="int32")
    e = layers.Embedding(10, 3, mask_zero=True)(ids)
    model = Model(ids, layers.LSTM(2, zero_output_for_mask=True)(e))
    with pytest.raises(ValueError, match="zero_output_for_mask"):
        model.predict(IDS, verbose=0)


def test_softmax_refuses_a_mask():
    ids = Input((6,), dtype="int32")
    e = layers.Embedding(10, 4, mask_zero=True)(ids)
    with pytest.raises(ValueError, match="carries a mask"):
        Model(ids, layers.Softmax()(e)).predict(IDS, verbose=0)


def test_attention_with_keras_masks_hides_padding_and_has_gradients():
    """MultiHeadAttention and Attention build their attention mask from the inputs' masks
    (Keras 3; the values against Keras are in tests/parity/test_masking.py): the output at an
    unmasked query does not change when a masked value step's embedding changes, an
    Attention's masked query rows are zero; finite-difference gradients through both."""
    ids = Input((6,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)
    e = emb(ids)
    model = Model(ids, [layers.MultiHeadAttention(2, 3)(e, e), layers.Attention()([e, e])])
    a, b = predict64(model, [IDS])
    assert np.all(b[~MASK] == 0) and np.all(b[MASK] != 0)
    table = emb.get_weights()[0]
    emb.set_weights([np.concatenate([table[:1] + 5.0, table[1:]])])  # the padding's vector
    a2, b2 = predict64(model, [IDS])
    keep = MASK[:3]  # the rows with some kept step (row 3 is all padding)
    np.testing.assert_allclose(a2[:3][keep], a[:3][keep], rtol=1e-12)
    np.testing.assert_allclose(b2[:3][keep], b[:3][keep], rtol=1e-12)
    # Gradients with unmasked queries and without the all-padding row: a row of scores with
    # every step masked is x - 1e9 (as Keras computes it), where float64 keeps too few digits
    # of x for finite differences.
    x = Input((6, 4))
    grad_model = Model([x, ids], [layers.MultiHeadAttention(2, 3)(x, e),
                                  layers.Attention()([x, e])])
    check_gradients(grad_model, [rng.normal(size=(3, 6, 4)), IDS[:3]], max_checks=60)


def test_a_masked_model_on_target_cuda_is_refused_naming_masking(monkeypatch):
    from numba import cuda

    monkeypatch.setattr(cuda, "is_available", lambda: True)
    ids = Input((6,), dtype="int32")
    model = Model(ids, layers.LSTM(2)(layers.Embedding(10, 3, mask_zero=True)(ids)))
    model.compile("sgd", "mse", target="cuda")
    with pytest.raises(ValueError, match="masking .* not supported on target 'cuda'"):
        model.predict(IDS, verbose=0)


def test_custom_layers_take_pass_and_make_masks():
    """Custom layers as Keras 3: `call(x, mask=None)` receives the mask (as a float tensor,
    1 where kept), `supports_masking = True` passes it on, a `compute_mask` of its own makes
    or ends one, a Lambda's `mask` function makes one, and `mask=` works for a layer called
    inside a traced call."""
    from fnjit import ops

    class MaskedSum(layers.Layer):  # uses the mask, ends it
        def call(self, x, mask=None):
            return ops.sum(x * ops.expand_dims(ops.cast(mask, "float32"), -1), axis=1)

        def compute_mask(self, inputs, mask=None):
            return None

    class Double(layers.Layer):  # passes the mask on
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x):
            return x * 2.0

    class MaskNegativeFirst(layers.Layer):  # makes a mask: steps whose first feature is > 0
        def call(self, x):
            return x

        def compute_mask(self, inputs, mask=None):
            return ops.greater(inputs[:, :, 0], 0.0)

    class RunRNN(layers.Layer):  # a sublayer given mask= inside call
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.rnn = layers.SimpleRNN(2, return_sequences=True)

        def call(self, x, mask=None):
            return self.rnn(x, mask=mask)

        def compute_mask(self, inputs, mask=None):
            return mask

    ids = Input((6,), dtype="int32")
    emb = layers.Embedding(10, 3, mask_zero=True)
    e = emb(ids)
    after_double = layers.SimpleRNN(2, return_sequences=True)
    after_made = layers.SimpleRNN(2, return_sequences=True)
    inner = RunRNN()
    after_lambda = layers.SimpleRNN(2, return_sequences=True)
    lam = layers.Lambda(lambda x: x * 3.0, mask=lambda x, mask: ops.greater(x[:, :, 0], 0.0))
    outputs = [MaskedSum()(e), after_double(Double()(e)), after_made(MaskNegativeFirst()(e)),
               inner(e), after_lambda(lam(e))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layer here drops a mask
        model = Model(ids, outputs)
        got = predict64(model, [IDS])
    table = emb.get_weights()[0].astype(np.float64)
    x = table[IDS]
    np.testing.assert_allclose(got[0], (x * MASK[..., None]).sum(1), rtol=1e-12)
    w_double = [w.astype(np.float64) for w in after_double.get_weights()]
    want, _ = np_masked_rnn(simple_step(w_double), 2 * x, MASK, states=zero_states(4, 2, 1))
    np.testing.assert_allclose(got[1], want, rtol=1e-6, atol=1e-9)
    made = x[:, :, 0] > 0
    assert made.any() and not made.all()
    w_made = [w.astype(np.float64) for w in after_made.get_weights()]
    want, _ = np_masked_rnn(simple_step(w_made), x, made, states=zero_states(4, 2, 1))
    np.testing.assert_allclose(got[2], want, rtol=1e-6, atol=1e-9)
    w_inner = [w.astype(np.float64) for w in inner.rnn.get_weights()]
    want, _ = np_masked_rnn(simple_step(w_inner), x, MASK, states=zero_states(4, 2, 1))
    np.testing.assert_allclose(got[3], want, rtol=1e-6, atol=1e-9)
    w_lambda = [w.astype(np.float64) for w in after_lambda.get_weights()]
    want, _ = np_masked_rnn(simple_step(w_lambda), 3 * x, made, states=zero_states(4, 2, 1))
    np.testing.assert_allclose(got[4], want, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="mask= must be a function"):
        layers.Lambda(lambda x: x, mask=e)
    with pytest.raises(ValueError, match="mask= at a call on model tensors"):
        layers.Dense(2)(e, mask=e)


def test_a_multi_output_model_reports_each_output_loss_with_its_own_mask():
    """One masked per-step output and one unmasked output: each output's loss in the logs is
    its own (the masked one over unmasked steps), the masked metric's denominator is not
    applied to the other output or to the losses."""
    ids = Input((6,), dtype="int32")
    e = layers.Embedding(10, 3, mask_zero=True)(ids)
    seq = layers.LSTM(3, return_sequences=True)(e)
    tags = layers.Dense(2, activation="softmax", name="tags")(seq)
    total = layers.Dense(1, name="total")(layers.GlobalMaxPooling1D()(seq))
    model = Model(ids, [tags, total])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]])
    data, t_tags, t_total = IDS[:3], rng.integers(0, 2, size=(3, 6)), rng.normal(size=(3, 1))
    with pytest.warns(UserWarning, match="GlobalMaxPooling1D.*does not support masking"):
        p_tags, p_total = [a.astype(np.float64) for a in model.predict(data, verbose=0)]
    per_step = -np.log(np.take_along_axis(p_tags, t_tags[..., None], -1)[..., 0])
    m = MASK[:3]
    want_tags = (per_step * m).sum() / m.sum()
    want_total = ((p_total - t_total) ** 2).mean()
    want_acc = ((p_tags.argmax(-1) == t_tags) * m).sum() / m.sum()
    logs = model.evaluate(data, [t_tags, t_total], verbose=0, return_dict=True)
    np.testing.assert_allclose([logs["loss"], logs["tags_loss"], logs["total_loss"],
                                logs["tags_accuracy"], logs["total_mae"]],
                               [want_tags + want_total, want_tags, want_total, want_acc,
                                np.abs(p_total - t_total).mean()], rtol=1e-5)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_masks_with_dropout_carry_the_previous_output_in_training(cls):
    """With dropout and recurrent_dropout active (training=True in every phase), a masked
    step still outputs the previous output (zeros before the first kept step) and the
    training step with masks runs (its kernels compile) and changes the weights."""
    ids = Input((6,), dtype="int32")
    e = layers.Embedding(10, 3, mask_zero=True)(ids)
    rnn = cls(3, return_sequences=True, dropout=0.3, recurrent_dropout=0.3)
    model = Model(ids, rnn(e, training=True))
    out = model.predict(IDS, verbose=0)
    assert np.all(np.isfinite(out))
    for b in range(len(IDS)):
        prev = np.zeros(3, out.dtype)
        for t in range(IDS.shape[1]):
            if not MASK[b, t]:
                np.testing.assert_array_equal(out[b, t], prev)
            prev = out[b, t]
    # Not all zeros: a row whose dropout mask drops all three input features stays at zero
    # (zero biases, h0 = 0: p = 0.3**3 per row, seen once in CI), so look at every row.
    assert np.any(out != 0)
    before = [w.copy() for w in rnn.get_weights()]
    model.compile("sgd", "mse")
    model.fit(IDS, rng.normal(size=(4, 6, 3)), verbose=0)
    assert all(np.any(a != b) for a, b in zip(before, rnn.get_weights()))


def test_masked_model_saves_and_loads(tmp_path):
    """mask_zero and Masking(mask_value) survive a .keras file: the reloaded model masks the
    same steps (its predictions are equal)."""
    from fnjit import models

    inp = Input((5, 2))
    ids = Input((6,), dtype="int32")
    a = layers.GRU(2)(layers.Masking(mask_value=-1.0)(inp))
    b = layers.LSTM(2)(layers.Embedding(10, 3, mask_zero=True)(ids))
    model = Model([inp, ids], layers.Concatenate()([a, b]))
    x = rng.normal(size=(4, 5, 2)).astype("float32")
    x[0, 2:] = -1.0
    want = model.predict([x, IDS], verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    masking = next(lyr for lyr in loaded.layers if isinstance(lyr, layers.Masking))
    assert masking.get_config()["mask_value"] == -1.0
    np.testing.assert_array_equal(loaded.predict([x, IDS], verbose=0), want)
