"""The optimizer's state in Keras 3's layout, `optimizer/vars/<k>`: 0 the step count, then the
learning rate when it is a number (not a schedule), then one array per (slot, trainable weight)
in the order Keras 3 creates them (Optimizer.slot_groups: interleaved weight by weight within a
group, Adam's momentum and velocity; groups one after another), then the optimizer's extra
scalars (Nadam's momentum product). fnjit keeps the slots as rows over the flat parameter
buffer; templates/optimizers.j2 follows Keras 3's update rules, so the values carry over."""

from __future__ import annotations

import numpy as np

from ..codegen.program import pull_to_host


def _order(optimizer, n_weights):
    """[(slot row, weight index)] in the order Keras 3 creates the optimizer's variables."""
    order, first_row = [], 0
    for group in optimizer.slot_groups:
        rows = range(first_row, first_row + len(group))
        order += [(r, i) for i in range(n_weights) for r in rows]
        first_row += len(group)
    return order


def _head(optimizer):
    """The scalars before the slots: the step count, and the rate unless it is a schedule."""
    head = [np.int64(optimizer.iterations)]
    if optimizer.schedule is None:
        head.append(np.float32(optimizer.learning_rate))
    return head


def _views(model):
    """For each trainable weight (Keras order), its slice of the flat buffers, or None."""
    store = model._store
    where = {id(var): s for var, s in store.entries if s.trainable} if store else {}
    return [where.get(id(w)) for w in model.trainable_weights]


def write(h5file, model):
    opt = model.optimizer
    group = h5file.require_group("optimizer/vars")
    group.attrs["name"] = opt.name
    values = _head(opt)
    slots = getattr(model, "_slots", None)
    if slots is not None and model._store is not None:
        pull_to_host(slots)  # the cuda target keeps them on the device between steps
        views = _views(model)
        weights = model.trainable_weights
        for row, i in _order(opt, len(weights)):
            s = views[i]
            values.append(slots[row, s.start:s.stop].reshape(s.shape) if s is not None else
                          np.zeros(weights[i].shape, slots.dtype))
        values += [np.asarray(v, slots.dtype) for v in opt.extra_variables()]
    # (never trained: Keras too writes only the scalars before its first step)
    for k, value in enumerate(values):
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
    first = len(_head(opt))
    n_extra = len(opt.extra_variables())
    if not order or len(group.keys()) != first + len(order) + n_extra:
        return  # a different optimizer or model: start with fresh moments, as Keras does
    values = [(row, i, np.asarray(group[str(k)][()])) for k, (row, i) in
              enumerate(order, start=first)]
    if any(v.shape != weights[i].shape for _, i, v in values):
        return
    if n_extra:
        start = first + len(order)
        opt.set_extra_variables([np.asarray(group[str(k)][()]) for k in
                                 range(start, start + n_extra)])

    def restore(store, slots):
        where = {id(var): s for var, s in store.entries if s.trainable}
        for row, i, v in values:
            s = where.get(id(weights[i]))
            if s is not None:
                slots[row, s.start:s.stop] = v.ravel()

    model._pending_slots = restore
