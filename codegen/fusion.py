"""Fusions of the inference ops (the forward pass of `predict` and `evaluate`: no backward
reads an op's output there).

A convolution whose output only a max pooling reads, with strides equal to its windows and no
padding, becomes one conv op with attrs `pool_size` and `conv_size` (templates/conv.j2,
`conv_max_pool_forward`): the pooling reads each tile of the convolution's rows while it is in
cache, and the convolution's output is never stored. Measured on the guide CNN's first layer
(61x61x32 per sample): the separate pooling read its 15 MB per batch of 32 back at memory
speed (2 ms of 14 per predict batch, CPU time). The training forward keeps both ops: the
backward reads the convolution's output.
"""

from __future__ import annotations

import dataclasses

from .ir import Graph

# Activations the fused kernel applies after the maximum: non-decreasing and NaN to NaN, so
# max(act(a + b)) == act(max(a) + b) exactly, float rounding included.
COMMUTES_WITH_MAX = ("linear", "relu", "sigmoid", "tanh")


def _fusable(graph: Graph, conv, pool, readers):
    if conv.kind != "conv" or pool.kind != "pool" or "transpose" in conv.attr or conv.saved:
        return False
    at, pt = conv.attr, pool.attr
    y = conv.outputs[0]
    pointwise = all(k == 1 for k in graph.shape(conv.inputs[1])[:-2] + tuple(at["strides"]))
    return (pool.inputs == (y,) and readers.get(y) == 1 and not pointwise
            and at.get("activation", "linear") in COMMUTES_WITH_MAX
            and pt["mode"] == "max" and pt["data_format"] == "channels_last"
            and len(graph.shape(y)) in (3, 4)  # depth 1: Conv1D and Conv2D
            and tuple(pt["strides"]) == tuple(pt["pool_size"]) and not any(pt["pad"])
            # every window whole ('same' pooling may pad after the last element only)
            and graph.shape(pool.outputs[0])[1:-1] == tuple(
                n // k for n, k in zip(graph.shape(y)[1:-1], pt["pool_size"])))


def fuse_conv_max_pool(graph: Graph, ops, kept):
    """`ops` (inference ops, in order) with each convolution fused into the max pooling that
    alone reads it, the fused op in the pooling's place (the convolution's inputs are ready
    there too). `kept`: values read outside `ops` (returned, or read by the losses and
    metrics), which stay."""
    readers = {name: 1 for name in kept}
    for op in ops:
        for name in op.inputs:
            readers[name] = readers.get(name, 0) + 1
    producer = {op.outputs[0]: op for op in ops if op.outputs}
    fused, replaced = {}, set()
    for op in ops:
        conv = producer.get(op.inputs[0]) if op.inputs else None
        if conv is not None and _fusable(graph, conv, op, readers):
            attrs = {**conv.attr, "pool_size": tuple(op.attr["pool_size"]),
                     "conv_size": tuple(graph.shape(conv.outputs[0])[1:-1])}
            fused[id(op)] = dataclasses.replace(conv, outputs=op.outputs,
                                                attrs=tuple(sorted(attrs.items())),
                                                label=f"{conv.label} + {op.label}",
                                                origin=f"{conv.origin} + {op.origin}")
            replaced.add(id(conv))
    return [fused.get(id(op), op) for op in ops if id(op) not in replaced]
