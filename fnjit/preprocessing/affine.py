"""The geometry of Keras 2's image augmentation: one affine map (rotation, shift, shear, zoom)
applied to each channel of an image by scipy.ndimage.affine_transform, as Keras 2 did.

Keras composes the map in (x, y) = (column, row) coordinates, M = rotation . shift . shear .
zoom, moves its origin to the image centre, and hands ndimage the matrix in (row, column)
order: the output pixel at o reads the input at M o + offset. fnjit builds the same M and takes
the centre as (rows / 2 - 0.5, cols / 2 - 0.5) in (row, column) order: Keras takes the row
count as the column centre, which turns non-square images about the wrong point (the same
numbers on square images).
"""

from __future__ import annotations

import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def transform_matrix(theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0):
    """The 3x3 map in (x, y) = (column, row) coordinates: `theta` and `shear` in degrees, `tx`
    a shift along the columns and `ty` along the rows (in pixels), `zx`/`zy` the zoom of the
    column/row coordinate (over 1 shrinks the image)."""
    t, s = np.deg2rad(theta), np.deg2rad(shear)
    rotation = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=float)
    shearing = np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]])
    zoom = np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]], dtype=float)
    return rotation @ shift @ shearing @ zoom


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2,
                           channel_axis=0, fill_mode="nearest", cval=0.0, order=1):
    """Image `x` (3-D: rows, columns and channels on the given axes) under the map
    `transform_matrix(theta, tx, ty, shear, zx, zy)` about its centre; points that fall outside
    are filled per `fill_mode` ('constant' uses `cval`); `order` is the spline order (0-5)."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"apply_affine_transform: x must be one image of rank 3 (rows, "
                         f"columns, channels); got shape {x.shape}")
    if sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2] or channel_axis not in (0, 2):
        raise ValueError(f"apply_affine_transform: row_axis, col_axis and channel_axis must be "
                         f"0, 1, 2 in some order with the channels first or last; got "
                         f"{row_axis}, {col_axis}, {channel_axis}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"apply_affine_transform: fill_mode must be one of {FILL_MODES}; got "
                         f"{fill_mode!r}")
    if theta == 0 and tx == 0 and ty == 0 and shear == 0 and zx == 1 and zy == 1:
        return x
    m = transform_matrix(theta, tx, ty, shear, zx, zy)
    swap = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=float)
    m = swap @ m @ swap  # (row, column) order, as ndimage indexes
    if row_axis > col_axis:  # a transposed image: its first spatial axis is the columns
        m = swap @ m @ swap
    rows_cols = [x.shape[a] for a in sorted((row_axis, col_axis))]
    centre = np.array([n / 2 - 0.5 for n in rows_cols])
    offset = centre - m[:2, :2] @ centre + m[:2, 2]
    images = np.moveaxis(x, channel_axis, 0)
    from scipy import ndimage  # here, not at import: `import fnjit` pays ~0.1 s less

    out = np.stack([ndimage.affine_transform(image, m[:2, :2], offset, order=order,
                                             mode=fill_mode, cval=cval) for image in images])
    return np.moveaxis(out, 0, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Each channel of `x` plus `intensity`, clipped to the image's own range."""
    lo, hi = np.min(x), np.max(x)
    return np.clip(np.asarray(x) + intensity, lo, hi)


def flip_axis(x, axis):
    return np.flip(x, axis)
