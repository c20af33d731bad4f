"""``LoadedVae``: the one interface the generation modes and evaluation use, whatever holds the weights.

``LoadedVae`` frames, batches and checks; a subclass only encodes and decodes one batch:
``KerasVae`` wraps a ``DfcVae`` (and can encode with batch statistics, as facenet's attribute
script did); ``SavedModelVae`` wraps an exported SavedModel's ``encode``/``decode`` signatures.
Anything else (a peer model in a benchmark) subclasses ``LoadedVae`` the same way.
"""
import abc
import json
import os

import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae.data.images import read_image_files
from facenet_vae.export.saved_model import SAVED_MODEL_CONFIG
from facenet_vae.model.framing import Framing, legacy_framing


def _check_pixels(pixels):
    pixels = np.asarray(pixels) if not isinstance(pixels, tf.Tensor) else pixels
    if len(pixels.shape) != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3) in 0..255, got shape {tuple(pixels.shape)}")
    if pixels.dtype not in (np.uint8, tf.uint8):
        pixels = tf.cast(pixels, tf.float32)
    return pixels


class LoadedVae(abc.ABC):
    """A VAE ready for generation: encodes pixels (uint8 or float in 0..255, any size: framed as in
    training) and decodes latent vectors to uint8 pixels.

    Attributes: ``latent_var_size``, ``image_size``, ``vae_def`` (None when unknown), ``source``
    (one sentence saying what was loaded), ``framing`` (the ``Framing`` of the training faces; the
    legacy resize-only one when the model records none, then ``framing_recorded`` is False) and
    ``keras_model`` (the ``DfcVae``, or None). Subclasses implement ``_encode_batch`` and
    ``_decode_batch``.
    """
    keras_model = None

    def __init__(self, latent_var_size, image_size, vae_def, source, framing=None):
        self.latent_var_size = int(latent_var_size)
        self.image_size = int(image_size)
        self.vae_def = vae_def
        self.source = source
        self.framing_recorded = framing is not None
        self.framing = framing if framing is not None else legacy_framing(self.image_size)

    @abc.abstractmethod
    def _encode_batch(self, pixels):
        """Return numpy ``(mean, log_variance)`` of one batch of checked pixels (inference batch norm)."""

    @abc.abstractmethod
    def _decode_batch(self, latent):
        """Return uint8 numpy images of one float32 batch of latent vectors."""

    def _encode_batch_training_bn(self, pixels):
        """Return ``(mean, log_variance)`` with each batch's own batch-norm statistics (Keras models only)."""
        raise ValueError(f"training-mode batch norm needs a Keras model (run folder or .keras file), "
                         f"but {self.source}")

    def __repr__(self):
        return f"{type(self).__name__}({self.source})"

    def frame_image(self, image):
        """Return the uint8 (S, S, 3) model-input face of one photo (H, W, 3), framed as in training."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"expected one RGB image (H, W, 3), got shape {image.shape}")
        return self.framing.frame_numpy(image)

    def read_faces(self, paths):
        """Return ``(faces, kept_indices)``: the framed uint8 faces of the image files at ``paths``.

        The same framing as training's pipeline, so a file gives the model input it gave there.
        Undecodable files are left out (``kept_indices`` says which were read); enlarging small
        photos is logged as a warning.
        """
        faces, kept, sizes = read_image_files(list(paths), self.framing)
        small = [f"{h}x{w}" for h, w in sizes if self.framing.upsamples(h, w)]
        if small:
            logging.warning("photos of %s pixels are enlarged to the model's %d px: expect blurrier faces than "
                            "in training", ", ".join(small[:3]), self.image_size)
        return faces, kept

    def encode_pixels(self, pixels, batch_size=None, training_batch_norm=False):
        """Return ``(mean, log_variance)`` float32 numpy arrays (N, latent) for NHWC pixels in 0..255.

        ``batch_size`` splits the work; ``training_batch_norm`` normalises with each batch's own
        statistics as facenet's attribute script did (Keras models only; the moving averages are
        left unchanged).
        """
        pixels = _check_pixels(pixels)
        count = int(pixels.shape[0])
        if count == 0:
            empty = np.zeros((0, self.latent_var_size), np.float32)
            return empty, empty.copy()
        encode = self._encode_batch_training_bn if training_batch_norm else self._encode_batch
        step = count if not batch_size else int(batch_size)
        means, log_vars = [], []
        for start in range(0, count, step):
            mean, log_var = encode(pixels[start:start + step])
            means.append(np.asarray(mean, np.float32))
            log_vars.append(np.asarray(log_var, np.float32))
        return np.concatenate(means), np.concatenate(log_vars)

    def decode_to_pixels(self, latent, batch_size=None):
        """Return uint8 numpy images (N, size, size, 3) decoded from latent vectors (N, latent)."""
        latent = np.asarray(latent, np.float32)
        if latent.ndim != 2 or latent.shape[1] != self.latent_var_size:
            raise ValueError(f"expected latent vectors of shape (N, {self.latent_var_size}), got {latent.shape}")
        if len(latent) == 0:
            return np.zeros((0, self.image_size, self.image_size, 3), np.uint8)
        step = len(latent) if not batch_size else int(batch_size)
        return np.concatenate([np.asarray(self._decode_batch(latent[i:i + step]), np.uint8)
                               for i in range(0, len(latent), step)])

    def reconstruct_pixels(self, pixels, batch_size=None):
        """Return uint8 images decoded from the posterior means of ``pixels``."""
        mean, _ = self.encode_pixels(pixels, batch_size=batch_size)
        return self.decode_to_pixels(mean, batch_size=batch_size)


class KerasVae(LoadedVae):
    """A ``LoadedVae`` around a built ``DfcVae`` (``source``: the sentence describing where it came from)."""

    def __init__(self, model, source="in-memory Keras model"):
        super().__init__(model.latent_var_size, model.image_size, model.vae_def, source, framing=model.framing)
        self.keras_model = model
        pixel_spec = tf.TensorSpec((None, None, None, 3), tf.float32)
        self._encode = tf.function(model.encode_pixels, input_signature=[pixel_spec])
        self._decode = tf.function(model.decode_to_pixels,
                                   input_signature=[tf.TensorSpec((None, model.latent_var_size), tf.float32)])
        self._encode_training_bn = tf.function(self._training_bn_graph, input_signature=[pixel_spec])

    def _training_bn_graph(self, pixels):
        encoder = self.keras_model.encoder
        # stateless_call leaves the moving averages alone, as facenet never ran its UPDATE_OPS there.
        (mean, log_var), _ = encoder.stateless_call(
            [v.value for v in encoder.trainable_variables], [v.value for v in encoder.non_trainable_variables],
            self.keras_model.converter(pixels), training=True)
        return tf.cast(mean, tf.float32), tf.cast(log_var, tf.float32)

    def _encode_batch(self, pixels):
        mean, log_var = self._encode(tf.cast(pixels, tf.float32))
        return mean.numpy(), log_var.numpy()

    def _encode_batch_training_bn(self, pixels):
        mean, log_var = self._encode_training_bn(tf.cast(pixels, tf.float32))
        return mean.numpy(), log_var.numpy()

    def _decode_batch(self, latent):
        return self._decode(tf.convert_to_tensor(latent, tf.float32)).numpy()


def from_keras_model(model, source="in-memory Keras model"):
    """Return a ``KerasVae`` around a built ``DfcVae`` (``source`` is the sentence describing it)."""
    return KerasVae(model, source)


def _saved_model_config(path):
    config_path = os.path.join(path, SAVED_MODEL_CONFIG)
    if not os.path.isfile(config_path):
        return {}
    with open(config_path, encoding="utf-8") as handle:
        return json.load(handle)


class SavedModelVae(LoadedVae):
    """A ``LoadedVae`` around an exported SavedModel folder (its ``encode``, ``encode_uint8`` and ``decode``)."""

    def __init__(self, path):
        # The signatures only hold weak references to the SavedModel's variables: keep it alive.
        self._saved_model = tf.saved_model.load(path)
        signatures = dict(self._saved_model.signatures)
        missing = [name for name in ("encode", "decode") if name not in signatures]
        if missing:
            raise ValueError(f"SavedModel {path} has no {' or '.join(missing)} signature "
                             f"(it has {sorted(signatures) or 'none'}); export it with facenet_vae.export")
        self._encode, self._decode = signatures["encode"], signatures["decode"]
        self._encode_uint8 = signatures.get("encode_uint8")
        latent_spec = next(iter(self._decode.structured_input_signature[1].values()))
        image_spec = self._decode.structured_outputs["images"]
        config = _saved_model_config(path)
        framing = Framing.from_dict(config["framing"]) if config.get("framing") else None
        super().__init__(int(config.get("latent_var_size") or latent_spec.shape[-1]),
                         int(config.get("image_size") or image_spec.shape[1]), config.get("vae_def"),
                         f"loaded SavedModel {path}", framing=framing)

    def _encode_batch(self, pixels):
        if self._encode_uint8 is not None and pixels.dtype in (np.uint8, tf.uint8):
            out = self._encode_uint8(images=tf.convert_to_tensor(pixels, tf.uint8))
        else:
            out = self._encode(images=tf.cast(pixels, tf.float32))
        return out["mean"].numpy(), out["log_variance"].numpy()

    def _decode_batch(self, latent):
        return self._decode(latent=tf.convert_to_tensor(latent, tf.float32))["images"].numpy()
