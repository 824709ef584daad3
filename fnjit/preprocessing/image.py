"""keras.preprocessing.image: Keras 2's ImageDataGenerator (random augmentation and
normalisation of images, batched as a PyDataset that fit reads) and the image-file helpers.

Keras' numbers: the same random draws in the same order (so `random_transform(x, seed=s)` and
`get_random_transform(shape, seed=s)` give Keras' results for the same seed), the same affine map
through scipy.ndimage (fnjit/preprocessing/affine.py) and the same normalisation. Where fnjit
differs, on purpose:

- `width_shift_range` shifts the image horizontally and `height_shift_range` vertically, as
  documented; Keras 2.2.5+ and Keras 3 swap the two (keras-team/keras#17398, never fixed). The
  parameter dict is Keras' with `tx` and `ty` exchanged: `tx` is the column shift, `ty` the row
  shift, which `apply_transform` applies exactly as Keras does.
- Non-square images turn about their centre (see affine.py).
- `featurewise_*` and `zca_whitening` before `fit(x)` raise an error (Keras warns and leaves the
  images unnormalised).
- Without a seed, draws come from fnjit's random state (`keras.utils.set_random_seed`), not
  numpy's global one. `flow(seed=s)` seeds each batch from s and the batch count, as Keras does.
- `standardize` returns a new array rather than changing its argument in place.
"""

from __future__ import annotations

import math
import os
import threading
import warnings

import numpy as np

from .. import backend
from .. import random as _random
from ..data_adapters import PyDataset, whole_number
from .affine import FILL_MODES, apply_affine_transform, apply_channel_shift
from .image_files import (
    array_to_img,
    data_format_of,
    img_to_array,
    load_img,
    pil_image,
    save_img,
)

__all__ = ["ImageDataGenerator", "Iterator", "NumpyArrayIterator", "DirectoryIterator",
           "apply_affine_transform", "array_to_img", "img_to_array", "load_img", "save_img"]

IMAGE_SUFFIXES = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")
CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


def _rng(seed):
    """Keras' draws for a seed (numpy's legacy RandomState, as np.random.seed gives), else
    fnjit's generator."""
    return np.random.RandomState(seed % 2**32) if seed is not None else _random.generator()


def _shift_range(value, name):
    if isinstance(value, (bool, str)) or not np.ndim(value) <= 1:
        raise ValueError(f"ImageDataGenerator: {name} must be a float, an int or a 1-D list of "
                         f"pixel shifts; got {value!r}")
    if np.ndim(value) == 1:
        return np.asarray(value)
    return value


def _given(shift_range):
    """Whether a shift is drawn (Keras tests the range's truth: a list always draws)."""
    return shift_range.size > 0 if isinstance(shift_range, np.ndarray) else bool(shift_range)


def _draw_shift(rng, shift_range, size):
    """A shift in pixels along an axis of `size` pixels: a float range gives uniform(-r, r),
    an int or a list a choice from range(r) or the list (signed at random for an int and a
    list, as Keras); below 1 in magnitude it is a fraction of the size."""
    if isinstance(shift_range, (int, np.integer, np.ndarray)):
        shift = rng.choice(shift_range) * rng.choice([-1, 1])
    else:
        shift = rng.uniform(-shift_range, shift_range)
    if np.max(shift_range) < 1:
        shift = shift * size
    return shift


class ImageDataGenerator:
    """Keras 2's real-time image augmentation: random geometry (rotation, shifts, shear, zoom,
    flips), channel and brightness shifts, then normalisation (rescale, sample-wise and
    feature-wise centring and scaling, ZCA whitening), image by image as batches are read."""

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None,
                 shear_range=0.0, zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest",
                 cval=0.0, horizontal_flip=False, vertical_flip=False, rescale=None,
                 preprocessing_function=None, data_format=None, validation_split=0.0,
                 interpolation_order=1, dtype=None):
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = _shift_range(width_shift_range, "width_shift_range")
        self.height_shift_range = _shift_range(height_shift_range, "height_shift_range")
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        if fill_mode not in FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of {FILL_MODES}; got "
                             f"{fill_mode!r}")
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise ValueError(f"ImageDataGenerator: preprocessing_function must be callable; got "
                             f"{preprocessing_function!r}")
        self.preprocessing_function = preprocessing_function
        self.data_format = data_format_of(data_format, "ImageDataGenerator")
        self.channel_axis, self.row_axis, self.col_axis = \
            (3, 1, 2) if self.data_format == "channels_last" else (1, 2, 3)
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"ImageDataGenerator: validation_split must be strictly between 0 "
                             f"and 1; got {validation_split}")
        self._validation_split = validation_split
        if not (isinstance(interpolation_order, (int, np.integer))
                and 0 <= interpolation_order <= 5):
            raise ValueError(f"ImageDataGenerator: interpolation_order must be a spline order "
                             f"0-5; got {interpolation_order!r}")
        self.interpolation_order = int(interpolation_order)
        self.dtype = dtype or backend.floatx()
        self.mean = self.std = self.zca_whitening_matrix = None
        if isinstance(zoom_range, (float, int)) and not isinstance(zoom_range, bool):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif (isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2
              and all(isinstance(z, (float, int)) for z in zoom_range)):
            self.zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(f"ImageDataGenerator: zoom_range must be a float or a pair of "
                             f"floats; got {zoom_range!r}")
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ValueError(f"ImageDataGenerator: brightness_range must be a pair of floats; "
                             f"got {brightness_range!r}")
        if brightness_range is not None:
            pil_image("ImageDataGenerator(brightness_range=...)")  # Keras shifts it through PIL
        self.brightness_range = brightness_range
        # Keras' implied settings, each with Keras' warning.
        if zca_whitening and not featurewise_center:
            self.featurewise_center = True
            warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which overrides "
                          "setting of `featurewise_center`.", stacklevel=2)
        if zca_whitening and featurewise_std_normalization:
            self.featurewise_std_normalization = False
            warnings.warn("This ImageDataGenerator specifies `zca_whitening` which overrides "
                          "setting of `featurewise_std_normalization`.", stacklevel=2)
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn("This ImageDataGenerator specifies `featurewise_std_normalization`, "
                          "which overrides setting of `featurewise_center`.", stacklevel=2)
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn("This ImageDataGenerator specifies `samplewise_std_normalization`, "
                          "which overrides setting of `samplewise_center`.", stacklevel=2)

    # ---- batches --------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False,
             subset=None):
        """A PyDataset of augmented batches of the arrays: `x` alone, `(x, y)` or `(x, y,
        sample_weight)`; `x` may be `(images, extra)` whose extra arrays ride along unchanged
        (the batch's x is then `[images, *extra]`)."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed,
                                  data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  ignore_class_split=ignore_class_split, subset=subset,
                                  dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32, shuffle=True,
                            seed=None, save_to_dir=None, save_prefix="", save_format="png",
                            follow_links=False, subset=None, interpolation="nearest",
                            keep_aspect_ratio=False):
        """A PyDataset of augmented batches of the image files in `directory`, one
        subdirectory per class (needs Pillow)."""
        return DirectoryIterator(directory, self, target_size=target_size,
                                 color_mode=color_mode, classes=classes, class_mode=class_mode,
                                 data_format=self.data_format, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, save_to_dir=save_to_dir,
                                 save_prefix=save_prefix, save_format=save_format,
                                 follow_links=follow_links, subset=subset,
                                 interpolation=interpolation,
                                 keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    def flow_from_dataframe(self, *args, **kwargs):
        raise NotImplementedError("ImageDataGenerator.flow_from_dataframe is not supported by "
                                  "fnjit (it needs pandas): list the files in directories per "
                                  "class and use flow_from_directory, or load the images and "
                                  "use flow")

    # ---- normalisation --------------------------------------------------------------------
    def standardize(self, x):
        """`x` (an image or a batch) after preprocessing_function, rescale, the sample-wise
        and then the feature-wise normalisation and ZCA whitening, in Keras' order."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        x = np.array(x, dtype=self.dtype)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        for wanted, stat, what in ((self.featurewise_center, self.mean, "featurewise_center"),
                                   (self.featurewise_std_normalization, self.std,
                                    "featurewise_std_normalization"),
                                   (self.zca_whitening, self.zca_whitening_matrix,
                                    "zca_whitening")):
            if wanted and stat is None:
                raise ValueError(f"ImageDataGenerator: {what}=True needs the data's statistics: "
                                 "call .fit(x_train) on the generator first")
        if self.featurewise_center:
            x -= self.mean
        if self.featurewise_std_normalization:
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(-1, math.prod(x.shape[-3:]))
            x = (flat @ self.zca_whitening_matrix).reshape(x.shape).astype(self.dtype)
        return x

    def fit(self, x, augment=False, rounds=1, seed=None):
        """The feature-wise statistics (per-channel mean and std, the ZCA matrix) of images
        `x` (rank 4), after rescale, over `rounds` random augmentations of them if `augment`."""
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: x must be a batch of images of rank 4; "
                             f"got shape {x.shape}")
        rounds = whole_number(rounds, "rounds", "ImageDataGenerator.fit")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit: expected 1, 3 or 4 channels on axis "
                          f"{self.channel_axis} ({self.data_format}); got shape {x.shape}",
                          stacklevel=2)
        if self.rescale:
            x *= self.rescale
        if augment:
            rng = _rng(seed)
            x = np.stack([self.apply_transform(image, self._draw(image.shape, rng))
                          for _ in range(rounds) for image in x]).astype(self.dtype)
        spatial = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.mean(x, axis=spatial, keepdims=True)[0]
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=spatial, keepdims=True)[0]
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))) @ u.T

    # ---- augmentation ---------------------------------------------------------------------
    def get_random_transform(self, img_shape, seed=None):
        """A dict of random transform parameters for one image of shape `img_shape` (for
        apply_transform): theta and shear in degrees, tx (columns) and ty (rows) in pixels,
        zx, zy, the flips, channel_shift_intensity, brightness."""
        return self._draw(img_shape, _rng(seed))

    def _draw(self, img_shape, rng):
        rows, cols = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]
        theta = rng.uniform(-self.rotation_range, self.rotation_range) \
            if self.rotation_range else 0
        ty = _draw_shift(rng, self.height_shift_range, rows) if _given(self.height_shift_range) \
            else 0
        tx = _draw_shift(rng, self.width_shift_range, cols) if _given(self.width_shift_range) \
            else 0
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx = zy = 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = bool(rng.random() < 0.5) and bool(self.horizontal_flip)
        flip_vertical = bool(rng.random() < 0.5) and bool(self.vertical_flip)
        channel_shift = rng.uniform(-self.channel_shift_range, self.channel_shift_range) \
            if self.channel_shift_range != 0 else None
        brightness = rng.uniform(*self.brightness_range) if self.brightness_range is not None \
            else None
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    def apply_transform(self, x, transform_parameters):
        """Image `x` (rank 3) under the parameters of get_random_transform (missing ones are
        the identity): the affine map, the channel shift, the flips, the brightness."""
        p = transform_parameters
        unknown = set(p) - {"theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal",
                            "flip_vertical", "channel_shift_intensity", "brightness"}
        if unknown:
            raise ValueError(f"ImageDataGenerator.apply_transform: unknown transform parameters "
                             f"{sorted(unknown)}")
        row, col, channel = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0),
                                   p.get("shear", 0), p.get("zx", 1), p.get("zy", 1),
                                   row_axis=row, col_axis=col, channel_axis=channel,
                                   fill_mode=self.fill_mode, cval=self.cval,
                                   order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, p["channel_shift_intensity"])
        if p.get("flip_horizontal", False):
            x = np.flip(x, col)
        if p.get("flip_vertical", False):
            x = np.flip(x, row)
        if p.get("brightness") is not None:
            x = _brightness(x, p["brightness"], self.data_format)
        return x

    def random_transform(self, x, seed=None):
        """Image `x` (rank 3) under a random transform (reproducible for a given seed)."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))


def _brightness(x, brightness, data_format):
    """Keras' brightness shift: through an 8-bit PIL image and PIL's ImageEnhance, mapped
    back to the image's range when it lies outside 0-255."""
    pil_image("ImageDataGenerator(brightness_range=...)")
    from PIL import ImageEnhance

    lo, hi = np.min(x), np.max(x)
    outside = lo < 0 or hi > 255
    img = ImageEnhance.Brightness(array_to_img(x, data_format, scale=outside)).enhance(brightness)
    out = img_to_array(img, data_format)
    return out / 255 * (hi - lo) + lo if outside else out


class Iterator(PyDataset):
    """Keras 2's base of the generator's batch readers: `n` samples in batches of
    `batch_size`, in an order drawn anew each epoch when `shuffle`. Read by index (fit) or
    endlessly with next() (Keras 2's loops, which break themselves)."""

    white_list_formats = IMAGE_SUFFIXES

    def __init__(self, n, batch_size, shuffle, seed):
        super().__init__()
        self.n = n
        self.batch_size = whole_number(batch_size, "batch_size", type(self).__name__)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array = None
        self._lock = threading.Lock()

    def _next_rng(self):
        """The random source of one batch: seeded from seed + the batches read so far (Keras'
        rule), else fnjit's generator."""
        with self._lock:
            seen = self.total_batches_seen
            self.total_batches_seen += 1
        return _rng(self.seed + seen if self.seed is not None else None)

    def _set_index_array(self, rng):
        self.index_array = rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def __getitem__(self, idx):
        if not 0 <= idx < len(self):
            raise IndexError(f"{type(self).__name__}: batch {idx} asked of {len(self)}")
        rng = self._next_rng()
        with self._lock:
            if self.index_array is None:
                self._set_index_array(rng)
            rows = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._batch(rows, rng)

    def on_epoch_end(self):
        self._set_index_array(self._next_rng())

    def reset(self):
        self.batch_index = 0

    def __iter__(self):
        return self

    def __next__(self):
        rng = self._next_rng()
        with self._lock:
            if self.batch_index == 0:
                self._set_index_array(rng)
            start = self.batch_index * self.batch_size
            rows = self.index_array[start:start + self.batch_size]
            self.batch_index = (self.batch_index + 1) % len(self)
        return self._batch(rows, rng)

    next = __next__  # Keras 2's spelling

    def _transformed(self, images, rows, rng):
        """The augmented, standardised images of `rows`, saved to save_to_dir if asked."""
        gen = self.image_data_generator
        batch = np.zeros((len(rows),) + self.image_shape, dtype=self.dtype)
        for i, image in enumerate(images):
            image = np.asarray(image, dtype=self.dtype)
            image = gen.apply_transform(image, gen._draw(image.shape, rng))
            batch[i] = gen.standardize(image)
        if self.save_to_dir:
            for i, j in enumerate(rows):
                name = f"{self.save_prefix}_{j}_{int(rng.uniform(0, 10**4))}.{self.save_format}"
                save_img(os.path.join(self.save_to_dir, name), batch[i],
                         data_format=self.data_format, scale=True)
        return batch

    def _batch(self, rows, rng):
        raise NotImplementedError


def _keep_saving(it, save_to_dir, save_prefix, save_format):
    if save_to_dir is not None:
        pil_image(f"{type(it).__name__}(save_to_dir=...)")
    it.save_to_dir, it.save_prefix, it.save_format = save_to_dir, save_prefix, save_format


class NumpyArrayIterator(Iterator):
    """Augmented batches of arrays: x, (x, y) or (x, y, sample_weight) per batch."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix="", save_format="png", subset=None, ignore_class_split=False,
                 dtype=None):
        self.dtype = dtype or backend.floatx()
        self.data_format = data_format_of(data_format, "NumpyArrayIterator")
        extra = []
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                raise ValueError("flow: x as a tuple must be (images, extra array or list of "
                                 f"arrays); got {len(x)} items")
            x, extra = x
            extra = [np.asarray(e) for e in (extra if isinstance(extra, list) else [extra])]
        x = np.asarray(x)
        for name, other in [("the extra arrays of x", e) for e in extra] + \
                [("y", y), ("sample_weight", sample_weight)]:
            if other is not None and len(other) != len(x):
                raise ValueError(f"flow: {name} must have one entry per image: x has "
                                 f"{len(x)} (shape {x.shape}), {name} has {len(other)}")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"flow: subset must be 'training' or 'validation'; got "
                                 f"{subset!r}")
            if not image_data_generator._validation_split:
                raise ValueError("flow: subset= needs ImageDataGenerator(validation_split=...)")
            split = int(len(x) * image_data_generator._validation_split)
            if (y is not None and not ignore_class_split
                    and not np.array_equal(np.unique(y[:split]), np.unique(y[split:]))):
                raise ValueError("flow: the training and validation subsets hold different "
                                 "classes after the split (if the arrays are sorted by label, "
                                 "shuffle them, or pass ignore_class_split=True)")
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x, extra = x[part], [e[part] for e in extra]
            y = None if y is None else np.asarray(y)[part]
            sample_weight = None if sample_weight is None else np.asarray(sample_weight)[part]
        self.x = np.asarray(x, dtype=self.dtype)
        if self.x.ndim != 4:
            raise ValueError(f"flow: x must be a batch of images of rank 4; got shape "
                             f"{self.x.shape}")
        channel_axis = 3 if self.data_format == "channels_last" else 1
        if self.x.shape[channel_axis] not in (1, 3, 4):
            warnings.warn(f"flow: expected 1, 3 or 4 channels on axis {channel_axis} "
                          f"({self.data_format}); got shape {self.x.shape}", stacklevel=3)
        self.x_misc = extra
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.image_shape = self.x.shape[1:]
        _keep_saving(self, save_to_dir, save_prefix, save_format)
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _batch(self, rows, rng):
        batch_x = self._transformed(self.x[rows], rows, rng)
        if self.x_misc:
            batch_x = [batch_x] + [e[rows] for e in self.x_misc]
        if self.y is None:
            return batch_x
        out = (batch_x, self.y[rows])
        return out if self.sample_weight is None else out + (self.sample_weight[rows],)


def _image_files(directory, follow_links):
    """The image files under `directory` (recursively), sorted, relative to it."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().rsplit(".", 1)[-1] in IMAGE_SUFFIXES and "." in name:
                found.append(os.path.relpath(os.path.join(root, name), directory))
    return found


class DirectoryIterator(Iterator):
    """Augmented batches of the image files in `directory`: one subdirectory per class
    (sorted names, or `classes`), labels per `class_mode`: 'categorical' (one-hot), 'binary'
    and 'sparse' (class indices), 'input' (the images themselves) or None (images only)."""

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False, subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype=None):
        pil_image("flow_from_directory")
        if color_mode not in ("grayscale", "rgb", "rgba"):
            raise ValueError(f"flow_from_directory: color_mode must be 'grayscale', 'rgb' or "
                             f"'rgba'; got {color_mode!r}")
        if class_mode not in CLASS_MODES:
            raise ValueError(f"flow_from_directory: class_mode must be one of {CLASS_MODES}; "
                             f"got {class_mode!r}")
        if not os.path.isdir(directory):
            raise ValueError(f"flow_from_directory: {directory!r} is not a directory")
        self.directory = directory
        self.dtype = dtype or backend.floatx()
        self.data_format = data_format_of(data_format, "flow_from_directory")
        self.target_size = tuple(int(n) for n in target_size)
        self.color_mode, self.class_mode = color_mode, class_mode
        self.interpolation, self.keep_aspect_ratio = interpolation, keep_aspect_ratio
        self.image_data_generator = image_data_generator
        channels = {"rgba": 4, "rgb": 3, "grayscale": 1}[color_mode]
        self.image_shape = self.target_size + (channels,) \
            if self.data_format == "channels_last" else (channels,) + self.target_size
        split = image_data_generator._validation_split
        if subset is not None and subset not in ("training", "validation"):
            raise ValueError(f"flow_from_directory: subset must be 'training' or 'validation'; "
                             f"got {subset!r}")
        if subset is not None and not split:
            raise ValueError("flow_from_directory: subset= needs "
                             "ImageDataGenerator(validation_split=...)")
        if classes is None:
            classes = sorted(d for d in os.listdir(directory)
                             if os.path.isdir(os.path.join(directory, d)))
        self.class_indices = {c: i for i, c in enumerate(classes)}
        self.filenames, labels = [], []
        for c in classes:
            files = _image_files(os.path.join(directory, c), follow_links)
            if subset is not None:
                cut = int(split * len(files))
                files = files[:cut] if subset == "validation" else files[cut:]
            self.filenames += [os.path.join(c, f) for f in files]
            labels += [self.class_indices[c]] * len(files)
        self.classes = np.array(labels, dtype="int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {len(classes)} classes.")
        _keep_saving(self, save_to_dir, save_prefix, save_format)
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self):
        return [os.path.join(self.directory, f) for f in self.filenames]

    @property
    def labels(self):
        return self.classes

    def _batch(self, rows, rng):
        images = []
        for j in rows:
            img = load_img(self.filepaths[j], color_mode=self.color_mode,
                           target_size=self.target_size, interpolation=self.interpolation,
                           keep_aspect_ratio=self.keep_aspect_ratio)
            images.append(img_to_array(img, data_format=self.data_format, dtype=self.dtype))
            img.close()
        batch_x = self._transformed(images, rows, rng)
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode is None:
            return batch_x
        if self.class_mode == "categorical":
            batch_y = np.zeros((len(rows), len(self.class_indices)), dtype=self.dtype)
            batch_y[np.arange(len(rows)), self.classes[rows]] = 1
        else:
            batch_y = self.classes[rows].astype(self.dtype)
        return batch_x, batch_y
