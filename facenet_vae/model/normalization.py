"""facenet's CelebA pixel normalisation, and its inverse.

facenet's ``train_vae.py`` feeds ``(pixels - IMG_MEAN) / IMG_STDDEV`` to the encoder and
un-normalises the decoder output the same way; every model in this package works in that
normalised space.
"""
import numpy as np
import tensorflow as tf

IMG_MEAN = np.array([134.10714722, 102.52040863, 87.15436554], dtype=np.float32)
IMG_STDDEV = np.sqrt(np.array([3941.30175781, 2856.94287109, 2519.35791016], dtype=np.float64)).astype(np.float32)


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
