"""How many samples `predict` runs per native block when the user gave no batch size.

Keras' predict takes 32 samples at a time unless told otherwise. That number only bounds memory
and sets the speed when no sample's outputs depend on another sample's: then any block gives
the same numbers (up to the order of float sums inside BLAS), and larger blocks run the GEMMs
on larger matrices: the guide MLP's predict went from 350k to 430-600k samples/s (CPU time,
busy machine, 2026-12-02) with all 640 samples in one block. So an inference graph whose ops
keep samples apart runs blocks of up to PREDICT_BLOCK_BYTES of per-sample values; one that
mixes samples (a reduction over the batch axis, an op that draws random numbers at inference)
keeps Keras' batches, whose groups of 32 its numbers depend on, and so do the recurrent layers
(measured slower on larger blocks, below).
"""

from __future__ import annotations

import math

import numpy as np

from .ir import Graph
from .render import needed_ops

PREDICT_BLOCK_BYTES = 16 << 20  # the values of one block, summed over every op's outputs
# Time loops read each step's rows strided by the whole sequence: larger blocks were slower
# (guide LSTM(10) predict 170k samples/s at 32 rows, 100-130k at 173-695 rows; CPU time).
KEEPS_KERAS_BATCH = frozenset({"lstm", "gru", "simple_rnn"})


def mixes_samples(graph: Graph, ops) -> bool:
    """Whether an output of `ops` can depend on more than one sample: an op reads a batched
    value and writes one without a batch axis (the IR keeps the batch axis whole in every
    other op: reshapes, transposes, slices and concatenations along it are refused), or runs
    its training maths at inference (training=True: batch statistics, random draws)."""
    for op in ops:
        if op.force_training:
            return True
        if any(graph.values[i].batched for i in op.inputs if i in graph.values) and any(
                not graph.values[o].batched for o in op.outputs + op.saved):
            return True
    return False


def predict_block(graph: Graph, batch: int) -> int:
    """Samples per block for `predict` without a batch size (Keras' default `batch`)."""
    ops = needed_ops(graph, list(graph.outputs), False)
    if mixes_samples(graph, ops) or any(op.kind in KEEPS_KERAS_BATCH for op in ops):
        return batch
    per_sample = sum(
        math.prod(v.shape[1:]) * v.batch_factor * np.dtype(v.dtype).itemsize
        for v in (graph.values[o] for op in ops for o in op.outputs + op.saved) if v.batched)
    return max(batch, PREDICT_BLOCK_BYTES // max(per_sample, 1))
