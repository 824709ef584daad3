"""The optimizer's state in Keras 3's layout: `optimizer/vars/0` the step count, `1` the
learning rate, then one array per (slot, trainable weight). fnjit keeps the slots as rows over
the flat parameter buffer (templates/optimizers.j2 follows Keras 3's update rules, so the
values carry over unchanged); only the order differs: Keras' Adam interleaves momentum and
velocity per weight, the others list each slot for all weights in turn."""

from __future__ import annotations

import numpy as np


def _order(optimizer, n_weights):
    """[(slot row, weight index)] in the order Keras 3 creates the optimizer's variables."""
    rows = range(optimizer.slots)
    if optimizer.kernel == "adam":
        return [(r, i) for i in range(n_weights) for r in rows]
    if optimizer.kernel in ("sgd", None):
        return []
    return [(r, i) for r in rows for i in range(n_weights)]


def _views(model):
    """For each trainable weight (Keras order), its slice of the flat buffers, or None."""
    store = model._store
    where = {id(var): s for var, s in store.entries if s.trainable} if store else {}
    return [where.get(id(w)) for w in model.trainable_weights]


def write(h5file, model):
    opt = model.optimizer
    group = h5file.require_group("optimizer/vars")
    group.attrs["name"] = opt.name
    group.create_dataset("0", data=np.int64(opt.iterations))
    group.create_dataset("1", data=np.float32(opt.learning_rate))
    slots = getattr(model, "_slots", None)
    if slots is None or model._store is None:
        return  # never trained: Keras too writes only the two scalars before its first step
    views = _views(model)
    weights = model.trainable_weights
    for k, (row, i) in enumerate(_order(opt, len(weights)), start=2):
        s = views[i]
        value = slots[row, s.start:s.stop].reshape(s.shape) if s is not None else \
            np.zeros(weights[i].shape, slots.dtype)
        group.create_dataset(str(k), data=value)


def read(h5file, model):
    """Set the step count now and queue the slots for the first training step (the flat
    buffers they go into exist only once the training program is built)."""
    if "optimizer/vars" not in h5file:
        return
    group = h5file["optimizer/vars"]
    opt = model.optimizer
    if "0" in group:
        opt.iterations = int(group["0"][()])
    weights = model.trainable_weights
    order = _order(opt, len(weights))
    if not order or len(group.keys()) != 2 + len(order):
        return  # a different optimizer or model: start with fresh moments, as Keras does
    values = [(row, i, np.asarray(group[str(k)][()])) for k, (row, i) in
              enumerate(order, start=2)]
    if any(v.shape != weights[i].shape for _, i, v in values):
        return

    def restore(store, slots):
        where = {id(var): s for var, s in store.entries if s.trainable}
        for row, i, v in values:
            s = where.get(id(weights[i]))
            if s is not None:
                slots[row, s.start:s.stop] = v.ravel()

    model._pending_slots = restore
