"""MultiHeadAttention, Attention, AdditiveAttention: forward against numpy written here,
backward against finite differences, weights in Keras 3's layout, configs, saving, errors."""

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(3)


def _softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _mha(q, v, k, weights, heads, key_dim, mask=None, causal=False):
    qk, qb, kk, kb, vk, vb, ok, ob = weights
    qp = np.einsum("btd,dhk->bthk", q, qk) + qb
    kp = np.einsum("bsd,dhk->bshk", k, kk) + kb
    vp = np.einsum("bsd,dhk->bshk", v, vk) + vb
    scores = np.einsum("bshk,bthk->bhts", kp, qp / np.sqrt(key_dim))
    allowed = np.ones(scores.shape[-2:], bool)[None, None]
    if mask is not None:
        allowed = allowed & (mask[:, None] != 0)
    if causal:
        allowed = allowed & np.tril(np.ones(scores.shape[-2:], bool))
    p = _softmax(np.where(allowed, scores, scores - 1e9))
    ctx = np.einsum("bhts,bshk->bthk", p, vp)
    return np.einsum("bthk,hkd->btd", ctx, ok) + ob, p


def test_multi_head_attention_forward_and_gradients():
    q = keras.Input(shape=(4, 6))
    v = keras.Input(shape=(5, 3))
    k = keras.Input(shape=(5, 2))
    m = keras.Input(shape=(4, 5))
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2)
    self_attention = layers.MultiHeadAttention(num_heads=3, key_dim=2, output_shape=4)
    y, scores = mha(q, v, key=k, attention_mask=m, return_attention_scores=True)
    z = self_attention(q, q, use_causal_mask=True)
    model = keras.Model([q, v, k, m], [y, scores, z])
    assert [(w.path, w.shape) for w in mha.weights] == [
        ("multi_head_attention/query/kernel", (6, 2, 3)),
        ("multi_head_attention/query/bias", (2, 3)),
        ("multi_head_attention/key/kernel", (2, 2, 3)),
        ("multi_head_attention/key/bias", (2, 3)),
        ("multi_head_attention/value/kernel", (3, 2, 2)),
        ("multi_head_attention/value/bias", (2, 2)),
        ("multi_head_attention/attention_output/kernel", (2, 2, 6)),
        ("multi_head_attention/attention_output/bias", (6,))]
    assert self_attention.weights[-2].shape == (3, 2, 4)
    for layer in (mha, self_attention):
        layer.set_weights([rng.normal(size=w.shape) for w in layer.weights])
    data = [rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 2)),
            (rng.random(size=(2, 4, 5)) > 0.3).astype(float)]
    data[3][:, :, 0] = 1  # every query sees at least one key
    got = outputs_checking_gradients(model, data)
    want_y, want_p = _mha(data[0], data[1], data[2], mha.get_weights(), 2, 3, mask=data[3])
    want_z, _ = _mha(data[0], data[0], data[0], self_attention.get_weights(), 3, 2,
                     causal=True)
    for g, w in zip(got, [want_y, want_p, want_z]):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-10)


def _attention(q, v, k, scores_fn, causal=False):
    s = scores_fn(q, k)
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, s - 1e9)
    p = _softmax(s)
    return p @ v, p


def test_attention_and_additive_attention_forward_and_gradients():
    q = keras.Input(shape=(3, 4))
    v = keras.Input(shape=(5, 2))
    k = keras.Input(shape=(5, 4))
    dot = layers.Attention(use_scale=True)
    concat = layers.Attention(use_scale=True, score_mode="concat")
    plain_concat = layers.Attention(score_mode="concat")
    additive = layers.AdditiveAttention()
    unscaled = layers.AdditiveAttention(use_scale=False)
    y1, p1 = dot([q, v, k], return_attention_scores=True)
    outs = [y1, p1, concat([q, v, k]), plain_concat([q, q], use_causal_mask=True),
            additive([q, v, k]), unscaled([q, q, q])]
    model = keras.Model([q, v, k], outs)
    assert [(w.path, w.shape) for w in concat.weights] == [
        ("attention_1/scale", ()), ("attention_1/concat_score_weight", ())]
    assert [(w.path, w.shape) for w in additive.weights] == [("additive_attention/scale", (4,))]
    dot.set_weights([np.array(0.7)])
    concat.set_weights([np.array(0.6), np.array(1.3)])
    plain_concat.set_weights([np.array(0.8)])
    additive.set_weights([rng.normal(size=4)])
    data = [rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 2)), rng.normal(size=(2, 5, 4))]
    got = outputs_checking_gradients(model, data)
    qd, vd, kd = data
    pair = qd[:, :, None, :] + kd[:, None, :, :]
    self_pair = qd[:, :, None, :] + qd[:, None, :, :]
    scale = additive.get_weights()[0]
    want = [*_attention(qd, vd, kd, lambda a, b: 0.7 * a @ b.transpose(0, 2, 1)),
            _attention(qd, vd, kd, lambda a, b: 1.3 * np.tanh(0.6 * pair).sum(-1))[0],
            _attention(qd, qd, qd, lambda a, b: 0.8 * np.tanh(self_pair).sum(-1), True)[0],
            _attention(qd, vd, kd, lambda a, b: (scale * np.tanh(pair)).sum(-1))[0],
            _attention(qd, qd, qd, lambda a, b: np.tanh(self_pair).sum(-1))[0]]
    for g, w in zip(got, want):  # tanh is computed through exp, which loses relative
        # precision near 0 (1 - e^-2x): up to ~1e-8 absolute from numpy's on these weights
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


def test_attention_models_round_trip_in_keras_layout(tmp_path):
    import json
    import zipfile

    h5py = pytest.importorskip("h5py")
    q = keras.Input(shape=(4, 6))
    v = keras.Input(shape=(5, 3))
    m = keras.Input(shape=(4, 5))
    y, scores = layers.MultiHeadAttention(2, 3, dropout=0.1)(
        q, v, attention_mask=m, return_attention_scores=True)
    z = layers.Attention(score_mode="concat")([q, q], use_causal_mask=True)
    w = layers.AdditiveAttention()([q, v, layers.Dense(6)(v)])
    y = layers.LayerNormalization(axis=[1, 2])(y)
    model = keras.Model([q, v, m], [y, scores, z, w])
    data = [rng.normal(size=(3, 4, 6)), rng.normal(size=(3, 5, 3)),
            np.ones((3, 4, 5))]
    data[2][:, :, 1:] = rng.random((3, 4, 4)) > 0.5
    before = model.predict(data, verbose=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        config = json.loads(zf.read("config.json"))
        zf.extract("model.weights.h5", tmp_path)
    by_class = {e["class_name"]: e for e in config["config"]["layers"]}
    node = by_class["MultiHeadAttention"]["inbound_nodes"][0]
    assert [a["config"]["keras_history"][0] for a in node["args"]] == ["input_layer",
                                                                       "input_layer_1"]
    assert node["kwargs"]["attention_mask"]["config"]["keras_history"][0] == "input_layer_2"
    assert node["kwargs"]["return_attention_scores"] is True
    assert by_class["Attention"]["inbound_nodes"][0]["kwargs"] == {"use_causal_mask": True}
    with h5py.File(tmp_path / "model.weights.h5") as f:
        group = f["layers/multi_head_attention"]
        assert sorted(group) == ["_dropout_layer", "_softmax", "key_dense", "output_dense",
                                 "query_dense", "value_dense", "vars"]
        assert group["query_dense/vars/0"].shape == (6, 2, 3)
        assert f["layers/attention/vars/0"].shape == ()
    loaded = keras.models.load_model(tmp_path / "m.keras")
    after = loaded.predict(data, verbose=0)
    for a, b in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_attention_arguments_and_errors():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    assert (mha.value_dim, mha.dropout, mha.use_bias, mha.output_shape_arg) == (4, 0.0, True,
                                                                                 None)
    config = mha.get_config()
    again = layers.MultiHeadAttention.from_config(config)
    assert (again.num_heads, again.key_dim, again.value_dim) == (2, 4, 4)
    att = layers.Attention()
    assert (att.use_scale, att.score_mode, att.dropout) == (False, "dot", 0.0)
    assert layers.AdditiveAttention().use_scale is True
    q = keras.Input(shape=(4, 6))
    v = keras.Input(shape=(5, 6))
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes=(2,))
    with pytest.raises(ValueError, match="value_mask"):
        layers.MultiHeadAttention(2, 3)(q, v, value_mask=v)
    with pytest.raises(ValueError, match=r"attention_mask must have shape \(batch, 4, 5\)"):
        layers.MultiHeadAttention(2, 3)(q, v, attention_mask=keras.Input(shape=(5, 4)))
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="general")
    with pytest.raises(ValueError, match="mask= is not supported"):
        layers.Attention()([q, v], mask=[None, None])
    with pytest.raises(ValueError, match="kernel_regularizer"):
        layers.MultiHeadAttention(2, 3, kernel_regularizer="l2")
