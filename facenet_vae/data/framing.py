"""Which framing a data source's faces need, and resizing faces that are framed already.

The ``Framing`` itself (the crop and resize a model records and applies) lives with the model, in
``facenet_vae.model.framing``; its names are re-exported here for the data side.
"""
import json

import numpy as np
import tensorflow as tf

from facenet_vae.model.framing import (  # noqa: F401 (re-exported)
    CELEBA_ALIGNED_SHAPE, CELEBA_CROP_FRACTION, CROPS, DEFAULT_CROP_SIZE, RESIZE_METHODS, Framing, FramingError,
    framed_pixels, legacy_framing)


def resize_pixels(images, framing, batch_size=512):
    """Return uint8 faces at the framing's size: framed already, so only resized (as training resizes npz faces)."""
    images = np.asarray(images)
    image_size = framing.image_size
    if images.shape[1:3] == (image_size, image_size):
        return images.astype(np.uint8, copy=False)
    out = np.empty((len(images), image_size, image_size, images.shape[-1]), np.uint8)
    for start in range(0, len(images), batch_size):
        batch = tf.image.resize(tf.cast(images[start:start + batch_size], tf.float32), (image_size, image_size),
                                method=framing.resize_method, antialias=framing.antialias)
        out[start:start + batch_size] = tf.cast(tf.round(tf.clip_by_value(batch, 0, 255)), tf.uint8).numpy()
    return out


def training_framing(dataset, image_size, *, crop_size=None, center_crop=False, stored_framing=None):
    """Return the Framing a training run on ``dataset`` records and applies.

    Folders, CelebA files and TFDS celeb_a: ``center_crop`` gives the CelebA crop, otherwise
    facenet's crop-or-pad to ``crop_size`` (default 160). ``npz`` faces are framed already;
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
    return Framing(crop="crop_or_pad", crop_size=int(crop_size or DEFAULT_CROP_SIZE), image_size=image_size)
