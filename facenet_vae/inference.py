"""A ``DfcVae`` on pixels, in inference: frame, normalise, encode; decode, un-normalise.

Shared by the model reader (``load_vae``) and the SavedModel writer (``facenet_vae.export``), so
the writer does not depend on the reader and both give the same numbers, eagerly and in graphs.
"""
import tensorflow as tf

from facenet_vae.data.framing import legacy_framing
from facenet_vae.model.normalization import normalized_to_pixels, pixels_to_normalized


def framed_pixels(pixels, framing):
    """Return uint8/float NHWC pixels as the model's faces: passed through at the model's size, else framed.

    Images already at ``framing.image_size`` are taken as framed (faces from an npz or from an
    earlier framing); any other size goes through ``framing.frame``, the crop and resize of
    training. Used eagerly and inside the exported SavedModel graph, so both give the same numbers.
    """
    pixels = tf.convert_to_tensor(pixels)
    size = framing.image_size
    shape = tf.shape(pixels)
    same_size = tf.logical_and(tf.equal(shape[1], size), tf.equal(shape[2], size))

    def frame_each():
        return tf.map_fn(framing.frame, pixels, fn_output_signature=tf.TensorSpec((size, size, 3), tf.uint8))

    as_is = tf.cast(tf.round(tf.clip_by_value(tf.cast(pixels, tf.float32), 0.0, 255.0)), tf.uint8) \
        if pixels.dtype != tf.uint8 else pixels
    framed = tf.cond(same_size, lambda: tf.ensure_shape(as_is, (None, size, size, 3)), frame_each)
    return tf.ensure_shape(framed, (None, size, size, 3))


def model_framing(model):
    """Return the ``Framing`` a DfcVae records, or the legacy one (resize only) for models saved without."""
    return model.framing if model.framing is not None else legacy_framing(model.image_size)


def encode_model_pixels(model, pixels):
    """Return a DfcVae's float32 ``(mean, log_variance)`` in inference for NHWC pixels in 0..255.

    Pixels not at the model's size are framed as the model's training faces were. The Keras path
    of ``load_vae`` and the exported SavedModel's signatures both encode through this.
    """
    faces = framed_pixels(pixels, model_framing(model))
    return model.encode(pixels_to_normalized(tf.cast(faces, tf.float32)), training=False)


def decode_model_latent(model, latent):
    """Return a DfcVae's uint8 images decoded (inference) from latent vectors."""
    return normalized_to_pixels(model.decode(latent, training=False), tf.uint8)
