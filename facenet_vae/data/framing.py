"""How a photo becomes a model-input face: the crop and resize a model was trained with.

A ``Framing`` is recorded by every training run (``model_config.json``, the ``.keras`` file and
the SavedModel) and applied by every consumer (training's pipeline, every generate.py mode,
evaluation, export, the explorer), so a face is framed the same way from training to editing.

Crops:
  ``crop_or_pad``  facenet's ``resize_image_with_crop_or_pad`` to ``crop_size`` (160 for its
                   182-px MTCNN-aligned faces), then a resize to the model's size;
  ``celeba``       the central square of side 138/178 of the shorter side (for CelebA's 178x218
                   ``img_align_celeba`` files, rows 40..177 and columns 20..157), then a resize;
  ``none``         the whole image, resized (faces framed beforehand).
With ``recognise_celeba`` a 178x218 image (an original CelebA file) gets the ``celeba`` crop
whatever ``crop`` says, since crop-or-pad to 160 would keep hair and background there.

Images already at the model's size are taken as framed (``LoadedVae`` and the SavedModel
signatures pass them through unchanged).
"""
import dataclasses
import json
from typing import Optional

import numpy as np
import tensorflow as tf

from facenet_vae.data.sources import FACENET_CROP_SIZE

CROPS = ("crop_or_pad", "celeba", "none")
RESIZE_METHODS = ("bilinear", "lanczos3", "area", "bicubic")
CELEBA_ALIGNED_SHAPE = (218, 178)  # (height, width) of img_align_celeba files
CELEBA_CROP_FRACTION = 138.0 / 178.0


class FramingError(ValueError):
    """A framing record that is incomplete or names an unknown crop or resize method."""


@dataclasses.dataclass(frozen=True)
class Framing:
    """The crop, crop size and resize that turn a photo into a model-input face (see module doc)."""
    crop: str = "crop_or_pad"
    crop_size: Optional[int] = FACENET_CROP_SIZE
    image_size: int = 64
    resize_method: str = "bilinear"
    antialias: bool = False
    recognise_celeba: bool = True

    def __post_init__(self):
        if self.crop not in CROPS:
            raise FramingError(f"unknown framing crop {self.crop!r}; choose one of {CROPS}")
        if self.crop == "crop_or_pad" and (not isinstance(self.crop_size, int) or self.crop_size < 8):
            raise FramingError(f"crop_or_pad framing needs a crop_size of at least 8 pixels, got {self.crop_size!r}")
        if self.resize_method not in RESIZE_METHODS:
            raise FramingError(f"unknown resize method {self.resize_method!r}; choose one of {RESIZE_METHODS}")
        if not isinstance(self.image_size, int) or self.image_size < 8:
            raise FramingError(f"framing image_size must be an integer >= 8, got {self.image_size!r}")

    def to_dict(self):
        """Return the framing as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record):
        """Return the Framing stored as ``record`` (from ``to_dict``); FramingError when it is not one."""
        if isinstance(record, Framing):
            return record
        if not isinstance(record, dict):
            raise FramingError(f"a framing record must be a dict, got {type(record).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise FramingError(f"unknown framing fields {unknown}")
        return cls(**record)

    def describe(self):
        """Return one line saying what the framing does."""
        crop = {"crop_or_pad": f"centre crop-or-pad to {self.crop_size}x{self.crop_size}",
                "celeba": "CelebA centre crop (138/178 of the shorter side)",
                "none": "whole image"}[self.crop]
        celeba = ", 178x218 CelebA files get the CelebA crop" if self.recognise_celeba and self.crop != "celeba" else ""
        filtering = f"{self.resize_method}{' antialiased' if self.antialias else ''}"
        return f"{crop}{celeba}, then {filtering} resize to {self.image_size}x{self.image_size}"

    def crop_side(self, height, width):
        """Return the side (pixels) of the region the framing resizes, for an image of ``height`` x ``width``."""
        if self._uses_celeba_crop(height, width):
            return max(1, int(round(min(height, width) * CELEBA_CROP_FRACTION)))
        if self.crop == "crop_or_pad":
            return self.crop_size
        return min(height, width)

    def upsamples(self, height, width):
        """Return True when framing a ``height`` x ``width`` image enlarges it (blurrier than the training faces)."""
        return self.crop_side(height, width) < self.image_size

    def _uses_celeba_crop(self, height, width):
        return self.crop == "celeba" or (self.recognise_celeba and (height, width) == CELEBA_ALIGNED_SHAPE)

    def frame(self, image, size=None):
        """Return the uint8 (S, S, 3) face for one image (H, W, 3) in 0..255 (tf, eager or in tf.data).

        S is ``image_size``, or ``size``: the same crop resized to another side (training's
        ``--feature_target=crop`` takes it at the crop size, where the resize leaves it unchanged).
        The result is rounded to whole grey levels, so training's pipeline and the generation
        loaders, which both call this, give bit-identical model inputs.
        """
        image = tf.convert_to_tensor(image)
        if image.dtype != tf.uint8:
            image = tf.cast(tf.round(tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 255.0)), tf.uint8)
        shape = tf.shape(image)
        height, width = shape[0], shape[1]
        size = self.image_size if size is None else size
        if self.crop == "celeba":
            image = _celeba_crop(image)
        else:
            if self.crop == "crop_or_pad":
                cropped = tf.image.resize_with_crop_or_pad(image, self.crop_size, self.crop_size)
            else:
                cropped = image
            if self.recognise_celeba:
                is_celeba = tf.logical_and(tf.equal(height, CELEBA_ALIGNED_SHAPE[0]),
                                           tf.equal(width, CELEBA_ALIGNED_SHAPE[1]))
                image = tf.cond(is_celeba, lambda: _resized(_celeba_crop(image), size, self),
                                lambda: _resized(cropped, size, self))
                return _to_uint8(image, size)
            image = cropped
        return _to_uint8(_resized(image, size, self), size)

    def frame_numpy(self, image):
        """Return ``frame(image)`` as a numpy uint8 array."""
        return self.frame(np.asarray(image)).numpy()


def _celeba_crop(image):
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.cast(tf.round(tf.cast(tf.minimum(height, width), tf.float32) * CELEBA_CROP_FRACTION), tf.int32)
    side = tf.maximum(side, 1)
    return tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2, side, side)


def _resized(image, size, framing):
    return tf.image.resize(tf.cast(image, tf.float32), [size, size], method=framing.resize_method,
                           antialias=framing.antialias)


def _to_uint8(image, size):
    image = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)
    return tf.ensure_shape(image, [size, size, 3])


def resize_pixels(images, framing, batch_size=512):
    """Return uint8 faces at the framing's size: framed already, so only resized (as training resizes npz faces)."""
    images = np.asarray(images)
    size = framing.image_size
    if images.shape[1:3] == (size, size):
        return images.astype(np.uint8, copy=False)
    out = np.empty((len(images), size, size, images.shape[-1]), np.uint8)
    for start in range(0, len(images), batch_size):
        batch = tf.image.resize(tf.cast(images[start:start + batch_size], tf.float32), (size, size),
                                method=framing.resize_method, antialias=framing.antialias)
        out[start:start + batch_size] = tf.cast(tf.round(tf.clip_by_value(batch, 0, 255)), tf.uint8).numpy()
    return out


def training_framing(dataset, image_size, *, input_image_size=None, center_crop=False, stored_framing=None):
    """Return the Framing a training run on ``dataset`` records and applies.

    Folders, CelebA files and TFDS celeb_a: ``center_crop`` gives the CelebA crop, otherwise
    facenet's crop-or-pad to ``input_image_size`` (default 160). ``npz`` faces are framed already;
    ``stored_framing`` (the npz's own ``framing`` record) says how, and without one they are taken
    to be CelebA's 138-px centre crop resized with Lanczos (the shared CelebA subset's recipe).
    Synthetic faces are drawn at model size (``none``).
    """
    if dataset == "synthetic":
        return Framing(crop="none", crop_size=None, image_size=image_size, recognise_celeba=False)
    if dataset == "npz":
        if stored_framing is not None:
            record = dict(json.loads(stored_framing) if isinstance(stored_framing, str) else stored_framing)
            record["image_size"] = image_size
            return Framing.from_dict(record)
        return Framing(crop="celeba", crop_size=None, image_size=image_size, resize_method="lanczos3",
                       antialias=True)
    if center_crop:
        return Framing(crop="celeba", crop_size=None, image_size=image_size)
    return Framing(crop="crop_or_pad", crop_size=int(input_image_size or FACENET_CROP_SIZE), image_size=image_size)


def legacy_framing(image_size):
    """Return the framing assumed for models saved before framings were recorded (resize only)."""
    return Framing(crop="none", crop_size=None, image_size=image_size, recognise_celeba=True)
