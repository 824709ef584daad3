"""LSTM, GRU, SimpleRNN: forward against numpy recurrences written here, backward against finite
differences, Keras' parameter counts and configs, variable-length sequences, dropout."""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from gradcheck import check_gradients, predict64

from fnjit import Input, Model, layers

rng = np.random.default_rng(2)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def hard_sigmoid(x):
    return np.clip(x / 6 + 0.5, 0, 1)


def steps(x, backwards):
    order = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    return [x[:, t] for t in order]


def np_lstm(x, kernel, recurrent, bias, backwards=False, act=np.tanh, ract=sigmoid, h0=None,
            c0=None, rmask=1):
    """Keras' LSTM (gates i, f, c, o). Returns (sequence in processing order, h, c). `rmask`:
    recurrent dropout, multiplying h in the recurrent product."""
    u = recurrent.shape[0]
    h = np.zeros((x.shape[0], u)) if h0 is None else h0
    c = np.zeros((x.shape[0], u)) if c0 is None else c0
    seq = []
    for xt in steps(x, backwards):
        z = xt @ kernel + (h * rmask) @ recurrent + bias
        i, f, g, o = ract(z[:, :u]), ract(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), \
            ract(z[:, 3 * u:])
        c = f * c + i * g
        h = o * act(c)
        seq.append(h)
    return np.stack(seq, axis=1), h, c


def np_gru(x, kernel, recurrent, bias, backwards=False, h0=None, rmask=1):
    """Keras 3's GRU with reset_after=True (gates z, r, h; bias rows: input, recurrent).
    `rmask`: recurrent dropout, multiplying h in the recurrent product (not in the update)."""
    u = recurrent.shape[0]
    h = np.zeros((x.shape[0], u)) if h0 is None else h0
    seq = []
    for xt in steps(x, backwards):
        xz = xt @ kernel + bias[0]
        hz = (h * rmask) @ recurrent + bias[1]
        z = sigmoid(xz[:, :u] + hz[:, :u])
        r = sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
        hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
        h = z * h + (1 - z) * hh
        seq.append(h)
    return np.stack(seq, axis=1), h


def np_simple_rnn(x, kernel, recurrent, bias, backwards=False, h0=None):
    h = np.zeros((x.shape[0], recurrent.shape[0])) if h0 is None else h0
    seq = []
    for xt in steps(x, backwards):
        h = np.tanh(xt @ kernel + h @ recurrent + bias)
        seq.append(h)
    return np.stack(seq, axis=1), h


def weights(layer):
    ws = layer.get_weights()
    if len(ws) == 3:  # a non-zero bias, so that its gradient is exercised
        ws[2] = ws[2] + rng.normal(scale=0.3, size=ws[2].shape)
        layer.set_weights(ws)
    return [w.astype(np.float64) for w in layer.get_weights()]


def test_lstm_gru_simple_rnn_variants_forward_and_gradients():
    """One model (one compile): each layer with return_sequences, return_state and
    go_backwards, stacked on a sequence, and LSTM with relu / hard_sigmoid without bias."""
    x = Input(shape=(4, 3))
    lstm_seq = layers.LSTM(3, return_sequences=True)
    lstm_back = layers.LSTM(2, return_state=True, go_backwards=True)
    lstm_top = layers.LSTM(2, go_backwards=True, return_sequences=True)
    lstm_odd = layers.LSTM(2, activation="relu", recurrent_activation="hard_sigmoid",
                           use_bias=False)
    gru_seq = layers.GRU(3, return_sequences=True, go_backwards=True)
    gru_state = layers.GRU(2, return_state=True)
    rnn_seq = layers.SimpleRNN(3, return_sequences=True)
    rnn_state = layers.SimpleRNN(2, return_state=True, go_backwards=True)
    seq = lstm_seq(x)
    last, h, c = lstm_back(x)
    gs = gru_seq(x)
    rs = rnn_seq(x)
    outputs = [seq, last, h, c, lstm_top(seq), lstm_odd(x), gs, *gru_state(gs), rs,
               *rnn_state(rs)]
    model = Model(x, outputs)
    data = rng.normal(size=(3, 4, 3))
    w_seq, w_back, w_top, w_odd = [weights(lyr) for lyr in
                                   (lstm_seq, lstm_back, lstm_top, lstm_odd)]
    w_gs, w_gh, w_rs, w_rh = [weights(lyr) for lyr in (gru_seq, gru_state, rnn_seq, rnn_state)]

    got = predict64(model, [data])
    want_seq = np_lstm(data, *w_seq)[0]
    want_back = np_lstm(data, *w_back, backwards=True)
    want_top = np_lstm(want_seq, *w_top, backwards=True)[0]
    want_odd = np_lstm(data, *w_odd, 0, act=lambda v: np.maximum(v, 0), ract=hard_sigmoid)[1]
    want_gs = np_gru(data, *w_gs, backwards=True)[0]
    want_gh = np_gru(want_gs, *w_gh)[1]
    want_rs = np_simple_rnn(data, *w_rs)[0]
    want_rh = np_simple_rnn(want_rs, *w_rh, backwards=True)[1]
    wants = [want_seq, want_back[1], want_back[1], want_back[2], want_top, want_odd,
             want_gs, want_gh, want_gh, want_rs, want_rh, want_rh]
    for g, w in zip(got, wants, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-9)
    check_gradients(model, [data], max_checks=150)


def test_initial_state_forward_and_gradients_into_the_states():
    """initial_state= (and Keras 2's list form) against the numpy recurrences started from the
    given states; finite differences check the gradients of the weights and of the states."""
    x, h0, c0 = Input(shape=(4, 3)), Input(shape=(2,)), Input(shape=(2,))
    lstm = layers.LSTM(2, return_sequences=True)
    lstm_list = layers.LSTM(2, go_backwards=True)
    gru = layers.GRU(2, return_state=True)
    rnn = layers.SimpleRNN(2, go_backwards=True)
    outputs = [lstm(x, initial_state=[h0, c0]), lstm_list([x, h0, c0]),
               *gru(x, initial_state=h0), rnn(x, initial_state=[c0])]
    model = Model([x, h0, c0], outputs)
    data = [rng.normal(size=(3, 4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))]
    w_l, w_ll, w_g, w_r = [weights(lyr) for lyr in (lstm, lstm_list, gru, rnn)]
    got = predict64(model, data)
    xs, hs, cs = data
    gru_want = np_gru(xs, *w_g, h0=hs)
    wants = [np_lstm(xs, *w_l, h0=hs, c0=cs)[0], np_lstm(xs, *w_ll, backwards=True, h0=hs,
                                                           c0=cs)[1],
             gru_want[1], gru_want[1], np_simple_rnn(xs, *w_r, backwards=True, h0=cs)[1]]
    for g, w in zip(got, wants, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-9)
    assert not np.allclose(got[1], np_lstm(xs, *w_ll, backwards=True)[1])  # the states count
    check_gradients(model, data, max_checks=100)


def test_initial_state_with_recurrent_dropout_trains_and_bad_states_are_refused():
    x, h0 = Input(shape=(5, 3)), Input(shape=(4,))
    for layer in (layers.LSTM(4, recurrent_dropout=0.3), layers.GRU(4, recurrent_dropout=0.3),
                  layers.SimpleRNN(4, recurrent_dropout=0.3)):
        states = [h0, h0] if isinstance(layer, layers.LSTM) else [h0]
        model = Model([x, h0], layer(x, initial_state=states))
        model.compile("sgd", "mse")
        before = model.get_weights()
        loss = model.train_on_batch([rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4))],
                                    np.zeros((2, 4)))
        assert np.isfinite(loss)
        assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match=r"initial state must have shape \(batch, 3\)"):
        layers.GRU(3)(x, initial_state=h0)
    with pytest.raises(ValueError, match="takes a sequence and 2 initial state"):
        layers.LSTM(4)(x, initial_state=[h0])


def test_parameter_counts_weight_shapes_and_configs():
    # The guide's RNN: 480 + 110 + 11 = 601 parameters.
    visible = Input(shape=(100, 1))
    lstm = layers.LSTM(10)
    hidden = layers.Dense(10, activation="relu")(lstm(visible))
    model = Model(visible, layers.Dense(1, activation="sigmoid")(hidden))
    assert model.count_params() == 601
    assert [w.shape for w in lstm.get_weights()] == [(1, 40), (10, 40), (40,)]
    bias = lstm.get_weights()[2]
    assert np.array_equal(bias, np.r_[np.zeros(10), np.ones(10), np.zeros(20)])  # forget = 1
    assert layers.LSTM(10)(layers.LSTM(10, return_sequences=True)(visible)).shape == (None, 10)

    # The headline model's encoder: Embedding(10000 -> 512) then LSTM(32).
    headline = Input(shape=(100,), dtype="int32")
    emb = layers.Embedding(output_dim=512, input_dim=10000, input_length=100)
    enc = layers.LSTM(32)
    out = enc(emb(headline))
    assert out.shape == (None, 32)
    assert emb.count_params() == 5_120_000 and enc.count_params() == 69_760

    gru = layers.GRU(3)
    gru(Input(shape=(None, 4)))
    assert [w.shape for w in gru.get_weights()] == [(4, 9), (3, 9), (2, 9)]
    rnn = layers.SimpleRNN(3)
    rnn(Input(shape=(7, 4)))
    assert [w.shape for w in rnn.get_weights()] == [(4, 3), (3, 3), (3,)]

    for layer in (lstm, gru, rnn):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config
    assert lstm.get_config()["recurrent_activation"] == "sigmoid"
    assert gru.get_config()["reset_after"] is True
    with pytest.raises(ValueError, match="stateful"):
        layers.LSTM(4, stateful=True)
    with pytest.raises(ValueError, match="recurrent_activation"):
        layers.GRU(4, recurrent_activation="softmax")


def test_variable_length_sequences_build_one_program_per_length():
    x = Input(shape=(None, 3))
    lstm = layers.LSTM(4)
    model = Model(x, layers.Dense(1)(lstm(x)))
    assert lstm.output.shape == (None, 4)
    model.compile("rmsprop", "mse")
    short, long = rng.normal(size=(6, 5, 3)), rng.normal(size=(6, 9, 3))
    k, r, b = [w.astype(np.float64) for w in lstm.get_weights()]
    dk, db = model.layers[-1].get_weights()
    for data in (short, long, short):
        want = np_lstm(data, k, r, b)[1] @ dk + db
        np.testing.assert_allclose(model.predict(data, verbose=0), want, rtol=1e-4, atol=1e-5)
    model.fit(long, np.zeros((6, 1)), epochs=1, verbose=0)
    train_lengths = sorted(key[-1][0][0] for key in model._programs if key[0] == "train")
    assert train_lengths == [5, 9]
    assert "(n, 9, 16)" in model.generated_source()  # the last program built: length 9
    check_gradients(model, [rng.normal(size=(2, 3, 3))])  # a third length, in float64


def test_dropout_is_inactive_in_inference_and_active_in_training():
    x = Input(shape=(6, 4))
    lstm = layers.LSTM(3, dropout=0.5, recurrent_dropout=0.5)
    gru = layers.GRU(3, dropout=0.5, recurrent_dropout=0.5)
    rnn = layers.SimpleRNN(3, dropout=0.5, recurrent_dropout=0.5)
    model = Model(x, [lstm(x), gru(x), rnn(x)])
    data = rng.normal(size=(5, 6, 4)).astype(np.float32)
    want = [np_lstm(data, *lstm.get_weights())[1], np_gru(data, *gru.get_weights())[1],
            np_simple_rnn(data, *rnn.get_weights())[1]]
    model.compile("sgd", "mse")
    targets = [w.astype(np.float32) for w in want]
    # Against targets computed by numpy without dropout, the inference loss is 0 (the
    # outputs agree) and the training loss (masks active) is not.
    assert model.test_on_batch(data, targets, return_dict=True)["loss"] == \
        pytest.approx(0, abs=1e-9)
    assert model.train_on_batch(data, targets, return_dict=True)["loss"] > 1e-4


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_dropout_and_recurrent_dropout_masks_exactly(float64, kind):
    """Each training step draws, per sequence, an input mask (kept with probability 1 - dropout,
    scaled by 1 / (1 - dropout), the same at every step) and a recurrent one multiplying h in
    the recurrent product. The masks of a step are recovered from its loss (the one candidate
    pair among all 2^12 whose numpy loss matches), then the step's gradient must be that of the
    numpy recurrence with those masks (finite differences), for the layer's weights and, through
    the input gradient, for a Dense before it (identity at the start, so the masks are found
    from the data as given)."""
    from fnjit import optimizers, utils

    # u != n: a recurrent mask read transposed would not be one of the candidates.
    n, t, d, u, rate, rrate, lr = 2, 3, 3, 3, 0.3, 0.2, 0.1
    layer = (layers.LSTM if kind == "lstm" else layers.GRU)(u, dropout=rate,
                                                           recurrent_dropout=rrate)
    x = Input(shape=(t, d))
    before = layers.Dense(d, use_bias=False)  # set to the identity below
    model = Model(x, layer(before(x)))
    model.compile(optimizers.SGD(learning_rate=lr), "mse")
    data_rng = np.random.default_rng(5)
    data, target = data_rng.normal(size=(n, t, d)), data_rng.normal(size=(n, u))
    w0 = weights(layer) + [np.eye(d)]
    reference = np_lstm if kind == "lstm" else np_gru

    def loss_of(ws, mask, rmask):
        h = reference((data @ ws[-1]) * mask[:, None, :], *ws[:-1], rmask=rmask)[1]
        return np.mean((h - target) ** 2)

    scale, rscale = 1 / (1 - rate), 1 / (1 - rrate)
    candidates = [(np.array(bits[:n * d]).reshape(n, d) * scale,
                   np.array(bits[n * d:]).reshape(n, u) * rscale)
                  for bits in itertools.product([0.0, 1.0], repeat=n * (d + u))]
    kept, rkept = [], []
    for seed in range(10):
        layer.set_weights(w0[:-1])
        before.set_weights(w0[-1:])
        utils.set_random_seed(seed)
        loss = model.fit(data, target, batch_size=n, shuffle=False, verbose=0).history["loss"][0]
        matches = [c for c in candidates if abs(loss_of(w0, *c) - loss) <= 1e-10 * loss]
        assert len(matches) == 1, (seed, loss, len(matches))
        mask, rmask = matches[0]
        kept.append(mask != 0)
        rkept.append(rmask != 0)
        if seed:
            continue
        eps = 1e-6
        for i, (w, after) in enumerate(zip(w0, layer.get_weights() + before.get_weights())):
            num = np.zeros_like(w)
            for j in range(w.size):
                for sign in (1, -1):
                    ws = [a.copy() for a in w0]
                    ws[i].flat[j] += sign * eps
                    num.flat[j] += sign * loss_of(ws, mask, rmask) / (2 * eps)
            np.testing.assert_allclose((w - after) / lr, num, rtol=1e-6, atol=1e-9)
    # 60 input and 60 recurrent draws: kept about 1 - rate of the time (not rate).
    assert abs(np.mean(kept) - (1 - rate)) < 0.25
    assert abs(np.mean(rkept) - (1 - rrate)) < 0.25
    layer.set_weights(w0[:-1])  # and inference draws no mask
    before.set_weights(w0[-1:])
    assert model.test_on_batch(data, target) == pytest.approx(
        loss_of(w0, np.ones((n, d)), 1.0), rel=1e-12)


def sparse_sequences(n, t, d, one_hot):
    """(n, t, d) with one nonzero per step (1, or a random value), some steps all zero."""
    x = np.zeros((n, t, d))
    b, s = np.meshgrid(np.arange(n), np.arange(t), indexing="ij")
    x[b, s, rng.integers(0, d, (n, t))] = 1.0 if one_hot else rng.normal(size=(n, t))
    x[0, 1] = 0.0
    return x


def test_mostly_zero_inputs_forward_and_gradients():
    """One-hot and sparse sequences (one entry in 32 nonzero, gates 64 or more wide: the input
    products run over the nonzero entries) give the numpy recurrences' outputs and finite
    differences' gradients."""
    x = Input(shape=(4, 32))
    lstm, gru, rnn = layers.LSTM(16, go_backwards=True), layers.GRU(22), layers.SimpleRNN(64)
    model = Model(x, [lstm(x), gru(x), rnn(x)])
    w_l, w_g, w_r = [weights(lyr) for lyr in (lstm, gru, rnn)]
    for one_hot in (True, False):
        data = sparse_sequences(3, 4, 32, one_hot)
        got = predict64(model, [data])
        wants = [np_lstm(data, *w_l, backwards=True)[1], np_gru(data, *w_g)[1],
                 np_simple_rnn(data, *w_r)[1]]
        for g, w in zip(got, wants, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-9)
        check_gradients(model, [data], max_checks=80)


def test_input_products_over_nonzero_entries_match_numpy_and_keep_nans():
    """The kernels behind the input projection and its kernel gradient: the walk over nonzero
    entries is taken for one-hot and sparse rows only, and never where the other factor holds
    an inf or NaN (0 * inf is NaN: no shortcut there; the driver runs np.dot); it gives exactly
    numpy's product for one-hot rows, numpy's up to rounding for sparse ones."""
    x = Input(shape=(2, 3))
    model = Model(x, layers.SimpleRNN(64)(x))  # 64 columns: narrower products are np.dot
    model.compile("sgd", "mse")
    program = model._program("train", [np.zeros((1, 2, 3), np.float32)])
    # each kernel is in its own module (the modules of its callers import it)
    kernels = SimpleNamespace(**{name: getattr(m, name) for m in program.kernel_modules
                                 for name in ("rnn_sparse_input", "rnn_input_product",
                                              "rnn_input_kernel_grad") if hasattr(m, name)})
    rows, d, w = 40, 32, 64  # one-hot: 1 in 32 nonzero; gates 64 wide
    one_hot = np.eye(d, dtype=np.float32)[rng.integers(0, d, rows)]
    one_hot[3] = 0
    sparse = one_hot * rng.normal(size=(rows, 1)).astype(np.float32)
    dense = rng.normal(size=(rows, d)).astype(np.float32)
    kernel = rng.normal(size=(d, w)).astype(np.float32)
    dz = rng.normal(size=(rows, w)).astype(np.float32)
    # which inputs take the walk over nonzero entries (the rest np.dot)
    assert kernels.rnn_sparse_input(one_hot, kernel) and kernels.rnn_sparse_input(sparse, dz)
    assert not kernels.rnn_sparse_input(dense, kernel)
    edge = np.zeros((rows, d), np.float32)
    edge.flat[:rows * d // 16] = 1  # 80 of 1280 nonzero: one in 16, still sparse
    assert kernels.rnn_sparse_input(edge, kernel)
    edge.flat[-1] = np.nan  # 81: a NaN counts as nonzero
    assert not kernels.rnn_sparse_input(edge, kernel)
    for xs, exact in ((one_hot, True), (sparse, False)):
        out = np.empty((rows, w), np.float32)
        kernels.rnn_input_product(xs, kernel, out)
        dk = np.empty((d, w), np.float32)
        kernels.rnn_input_kernel_grad(xs, dz, dk)
        if exact:
            assert np.array_equal(out, xs @ kernel)
        np.testing.assert_allclose(out, xs @ kernel, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dk, xs.T @ dz, rtol=1e-5, atol=1e-5)
    for bad in (np.inf, -np.inf, np.nan):
        bad_kernel, bad_dz = kernel.copy(), dz.copy()
        bad_kernel[2, 1] = bad
        bad_dz[3, 0] = bad
        assert not kernels.rnn_sparse_input(one_hot, bad_kernel)
        assert not kernels.rnn_sparse_input(one_hot, bad_dz)
