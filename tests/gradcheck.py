"""Finite-difference checks of generated backward code, shared by the op and layer tests.

`check_gradients(model, xs)` compiles `model` in float64 with the loss
L = sum_k mean((y_k - t_k)^2) against fixed random targets (plus the model's regularization
penalties, as training minimises them), then compares every weight
gradient and every float input gradient of the generated code with central differences of L,
computed by the generated inference code; with `training=True`, by the generated training
forward instead (for layers whose training maths differs, such as batch normalization: the
state it updates is restored before every evaluation).
"""

from __future__ import annotations

import numpy as np

from fnjit import backend
from fnjit.codegen.program import Program
from fnjit.lowering import lower_model, lower_penalties


def lower_with_mse(model, input_shapes=None):
    """`model` lowered in float64 with one MSE loss per output against a target input: returns
    (context, input values, target values, (loss, weight) pairs)."""
    ctx, xs, ys = lower_model(model, "float64", input_shapes)
    targets, losses = [], []
    for k, y in enumerate(ys):
        t = ctx.builder.input(f"target_{k}", ctx.shape(y))
        targets.append(t)
        (loss,) = ctx.op("loss", [y, t], [ctx.shape(y)[:-1]],
                         attrs={"fn": "mean_squared_error"})
        losses.append((loss, 1.0))
    return ctx, xs, targets, losses


def compile_for_check(model, wrt_inputs=True, input_shapes=None):
    old = backend.floatx()
    backend.set_floatx("float64")
    try:
        ctx, xs, targets, losses = lower_with_mse(model, input_shapes)
        losses += lower_penalties(ctx)  # regularization, as training minimises it
        float_inputs = [x for x in xs if ctx.graph.values[x].is_float] if wrt_inputs else []
        program = Program(ctx.graph, model_inputs=xs, targets=targets, losses=losses,
                          wrt_inputs=float_inputs)
    finally:
        backend.set_floatx(old)
    variables = [ctx.variables[s.name] for s in program.slots]
    return program, variables, float_inputs, xs


def _flat(program, variables):
    params = np.concatenate([np.asarray(v.value, np.float64).ravel()
                             for v, s in zip(variables, program.slots) if s.trainable] or
                            [np.zeros(0)])
    state = np.concatenate([np.asarray(v.value, np.float64).ravel()
                            for v, s in zip(variables, program.slots) if not s.trainable] or
                           [np.zeros(0)])
    return params, state


def check_gradients(model, xs, **kw):
    """Assert generated gradients match central finite differences. Returns the gradients."""
    _, grads, input_grads = _check(model, xs, **kw)
    return grads, input_grads


def outputs_checking_gradients(model, xs, **kw):
    """check_gradients, returning the model's float64 inference outputs (a list) computed by
    the same compiled program: one compilation for a forward and a backward test."""
    return _check(model, xs, **kw)[0]


def _check(model, xs, *, seed=0, eps=1e-6, rtol=1e-5, atol=1e-7, max_checks=60,
           training=False):
    program, variables, float_inputs, in_names = compile_for_check(
        model, input_shapes=[np.shape(x)[1:] for x in xs])
    rng = np.random.default_rng(seed)
    xs = [np.ascontiguousarray(x, dtype=np.float64 if np.issubdtype(np.asarray(x).dtype,
                                                                        np.floating)
                               else np.asarray(x).dtype) for x in xs]
    n = len(xs[0])
    params, state = _flat(program, variables)
    outs = program.predict(params, state, xs)
    ts = [rng.normal(size=o.shape) for o in outs]

    def loss(p, inputs):
        logs = np.zeros(program.n_logs)
        if training:  # the training forward, on a copy of the state it may update
            program.gradients(p, state.copy(), np.zeros_like(p), inputs, ts, logs)
        else:
            program.evaluate(p, state, inputs, ts, logs)
        return logs[0] / n

    grads = np.zeros_like(params)
    logs = np.zeros(program.n_logs)
    input_grads = program.gradients(params, state.copy(), grads, xs, ts, logs)
    assert np.isclose(logs[0] / n, loss(params, xs), rtol=1e-9, atol=1e-12), \
        "training-mode and inference-mode losses differ (dropout or batch norm in the model? " \
        "then pass training=True)"

    def numeric(f, x, i):
        old = x.flat[i]
        x.flat[i] = old + eps
        up = f()
        x.flat[i] = old - eps
        down = f()
        x.flat[i] = old
        return (up - down) / (2 * eps)

    idx = rng.permutation(params.size)[:max_checks]
    for i in idx:
        num = numeric(lambda: loss(params, xs), params, i)
        assert np.isclose(grads[i], num, rtol=rtol, atol=atol), \
            f"param gradient {i}: generated {grads[i]!r}, finite differences {num!r}"
    float_xs = [x for x, name in zip(xs, in_names) if name in float_inputs]
    for x, g in zip(float_xs, input_grads):
        for i in rng.permutation(x.size)[:max_checks]:
            num = numeric(lambda: loss(params, xs), x, i)
            assert np.isclose(g.flat[i], num, rtol=rtol, atol=atol), \
                f"input gradient {i}: generated {g.flat[i]!r}, finite differences {num!r}"
    return list(outs), grads, input_grads


def predict64(model, xs):
    """The model's float64 inference outputs (a list), through generated code."""
    # The very program check_gradients compiles (input gradients included), so that a test
    # checking forward and backward of one model pays for one compilation.
    program, variables, _, _ = compile_for_check(model,
                                                 input_shapes=[np.shape(x)[1:] for x in xs])
    params, state = _flat(program, variables)
    xs = [np.ascontiguousarray(x, dtype=np.float64 if np.issubdtype(np.asarray(x).dtype,
                                                                        np.floating)
                               else np.asarray(x).dtype) for x in xs]
    return list(program.predict(params, state, xs))


def check_cases(inputs, xs, cases, max_checks=200):
    """One model of every case (input, layer, numpy reference of the input's array): each
    layer's float64 output equals its reference on `xs` (the arrays of `inputs`), then the
    model's gradients match finite differences."""
    from fnjit import Model

    model = Model(inputs, [layer(t) for t, layer, _ in cases])
    array_of = {id(t): x for t, x in zip(inputs, xs)}
    for (t, layer, ref), got in zip(cases, predict64(model, xs)):
        want = ref(array_of[id(t)])
        assert got.shape == want.shape, layer.name
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=layer.name)
    check_gradients(model, xs, max_checks=max_checks)
