"""keras.preprocessing.sequence: padding integer sequences to one length."""

from __future__ import annotations

import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """An array (len(sequences), maxlen) + item shape: each sequence truncated to its last
    (`truncating="pre"`) or first ("post") `maxlen` items, padded with `value` before ("pre")
    or after ("post"). `maxlen` defaults to the longest sequence (Keras' pad_sequences)."""
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding type "{padding}" not understood; use "pre" '
                         'or "post"')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating type "{truncating}" not understood; use '
                         '"pre" or "post"')
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of sequences")
    lengths, item_shape = [], None
    for k, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables; item "
                             f"{k} is {s!r}") from None
        if item_shape is None and len(s):
            item_shape = np.asarray(s).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    if maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0, got {maxlen}")
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype),
                                                                       np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(f"pad_sequences: dtype {dtype} cannot hold the padding value "
                         f"{value!r}; use dtype=object for strings")
    out = np.full((len(lengths), maxlen) + tuple(item_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for k, s in enumerate(sequences):
        if not len(s):
            continue
        kept = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(f"pad_sequences: item shape {kept.shape[1:]} of sequence {k} "
                             f"differs from the first sequence's {tuple(item_shape)}")
        if padding == "post":
            out[k, :len(kept)] = kept
        else:
            out[k, maxlen - len(kept):] = kept
    return out
