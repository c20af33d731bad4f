"""facenet's CelebA pixel normalisation, and its inverse.

facenet's ``train_vae.py`` feeds ``(pixels - IMG_MEAN) / IMG_STDDEV`` to the encoder and
un-normalises the decoder output the same way; every model in this package works in that
normalised space.
"""
import tensorflow as tf

from facenet_vae.model.celeba_statistics import IMG_MEAN, IMG_STDDEV  # noqa: F401 (re-exported)


def pixels_to_normalized(pixels):
    """Return float32 ``(pixels - IMG_MEAN) / IMG_STDDEV`` for uint8 or float pixels in 0..255 (NHWC)."""
    pixels = tf.cast(pixels, tf.float32)
    return (pixels - IMG_MEAN) / IMG_STDDEV


def normalized_to_pixels(normalized, dtype=tf.float32):
    """Return pixels in 0..255 (clipped) from normalised images; rounded when ``dtype`` is uint8."""
    pixels = tf.cast(normalized, tf.float32) * IMG_STDDEV + IMG_MEAN
    pixels = tf.clip_by_value(pixels, 0.0, 255.0)
    if tf.as_dtype(dtype) == tf.uint8:
        return tf.cast(tf.round(pixels), tf.uint8)
    return tf.cast(pixels, dtype)
