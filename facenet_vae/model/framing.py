"""How a photo becomes a model-input face: the crop and resize a model was trained with, as a Keras layer.

A ``Framing`` is decided before a model is built (from the training source, see
``facenet_vae.data.framing.training_framing``) and stored in it: ``DfcVae`` holds a
``FaceConverter`` layer (framing plus facenet's normalisation, as keras-hub's ``ImageConverter``)
whose config is saved with the model, so every consumer (training's pipeline, generation,
evaluation, export, the explorer) frames a photo the same way.

Crops:
  ``crop_or_pad``  facenet's ``resize_image_with_crop_or_pad`` to ``crop_size`` (160 for its
                   182-px MTCNN-aligned faces), then a resize to the model's size;
  ``celeba``       the central square of side 138/178 of the shorter side (for CelebA's 178x218
                   ``img_align_celeba`` files, rows 40..177 and columns 20..157), then a resize;
  ``none``         the whole image, resized (faces framed beforehand).
With ``recognise_celeba`` a 178x218 image (an original CelebA file) gets the ``celeba`` crop
whatever ``crop`` says, since crop-or-pad to 160 would keep hair and background there.

Images already at the model's size are taken as framed (``FaceConverter`` passes them through).
"""
import dataclasses
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from facenet_vae.model.definitions import DEFAULT_CROP_SIZE
from facenet_vae.model.normalization import normalized_to_pixels, pixels_to_normalized

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
    crop_size: Optional[int] = DEFAULT_CROP_SIZE
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

    def frame(self, image, crop_size=None):
        """Return the uint8 (S, S, 3) face for one image (H, W, 3) in 0..255 (tf, eager or in tf.data).

        S is ``image_size``; with ``crop_size``, S is that: the same crop at facenet's crop size
        (training's ``--feature_target=crop``, where the resize leaves a crop-or-pad unchanged).
        The result is rounded to whole grey levels, so training's pipeline and the generation
        loaders, which both call this, give bit-identical model inputs.
        """
        image = tf.convert_to_tensor(image)
        if image.dtype != tf.uint8:
            image = tf.cast(tf.round(tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 255.0)), tf.uint8)
        shape = tf.shape(image)
        height, width = shape[0], shape[1]
        side = self.image_size if crop_size is None else crop_size
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
                image = tf.cond(is_celeba, lambda: _resized(_celeba_crop(image), side, self),
                                lambda: _resized(cropped, side, self))
                return _to_uint8(image, side)
            image = cropped
        return _to_uint8(_resized(image, side, self), side)

    def frame_numpy(self, image):
        """Return ``frame(image)`` as a numpy uint8 array."""
        return self.frame(np.asarray(image)).numpy()


def _celeba_crop(image):
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.cast(tf.round(tf.cast(tf.minimum(height, width), tf.float32) * CELEBA_CROP_FRACTION), tf.int32)
    side = tf.maximum(side, 1)
    return tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2, side, side)


def _resized(image, side, framing):
    return tf.image.resize(tf.cast(image, tf.float32), [side, side], method=framing.resize_method,
                           antialias=framing.antialias)


def _to_uint8(image, side):
    image = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)
    return tf.ensure_shape(image, [side, side, 3])


def legacy_framing(image_size):
    """Return the framing assumed for models saved before framings were recorded (resize only)."""
    return Framing(crop="none", crop_size=None, image_size=image_size, recognise_celeba=True)


def framed_pixels(pixels, framing):
    """Return uint8/float NHWC pixels as the model's faces: passed through at the model's size, else framed.

    Images already at ``framing.image_size`` are taken as framed (faces from an npz or from an
    earlier framing); any other size goes through ``framing.frame``, the crop and resize of
    training. Used eagerly and inside the exported SavedModel graph, so both give the same numbers.
    """
    pixels = tf.convert_to_tensor(pixels)
    image_size = framing.image_size
    shape = tf.shape(pixels)
    same_size = tf.logical_and(tf.equal(shape[1], image_size), tf.equal(shape[2], image_size))

    def frame_each():
        return tf.map_fn(framing.frame, pixels, fn_output_signature=tf.TensorSpec((image_size, image_size, 3), tf.uint8))

    as_is = tf.cast(tf.round(tf.clip_by_value(tf.cast(pixels, tf.float32), 0.0, 255.0)), tf.uint8) \
        if pixels.dtype != tf.uint8 else pixels
    framed = tf.cond(same_size, lambda: tf.ensure_shape(as_is, (None, image_size, image_size, 3)), frame_each)
    return tf.ensure_shape(framed, (None, image_size, image_size, 3))


@keras.saving.register_keras_serializable(package="facenet_vae")
class FaceConverter(keras.layers.Layer):
    """Photos (NHWC, 0..255, any size) to the model's normalised faces, and decoded faces back to pixels.

    Holds the ``Framing`` a model was trained with; ``recorded`` is False for models saved before
    framings were recorded, which get ``legacy_framing`` (resize only). No weights.
    """

    def __init__(self, framing=None, image_size=None, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.recorded = framing is not None
        if framing is None:
            if image_size is None:
                raise ValueError("a FaceConverter needs a framing or, for a legacy model, its image_size")
            framing = legacy_framing(int(image_size))
        self.framing = Framing.from_dict(framing)
        if image_size is not None and self.framing.image_size != int(image_size):
            raise ValueError(f"the framing gives {self.framing.image_size}-px faces but the model takes "
                             f"{image_size}-px images")
        self.image_size = self.framing.image_size
        self.built = True

    def frame(self, pixels):
        """Return the uint8 faces (N, S, S, 3) of NHWC pixels in 0..255 (see ``framed_pixels``)."""
        return framed_pixels(pixels, self.framing)

    def call(self, pixels):
        """Return the float32 normalised faces of NHWC pixels in 0..255 of any size."""
        return pixels_to_normalized(tf.cast(self.frame(pixels), tf.float32))

    def to_pixels(self, normalized):
        """Return uint8 pixels of normalised images (clipped and rounded)."""
        return normalized_to_pixels(normalized, tf.uint8)

    def compute_output_spec(self, pixels):
        return keras.KerasTensor((pixels.shape[0], self.image_size, self.image_size, 3), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(framing=self.framing.to_dict() if self.recorded else None, image_size=self.image_size)
        return config
