"""Load a trained VAE for generation, from a run folder, a ``.keras`` file or an exported SavedModel.

Whatever the source, ``load_vae`` returns a ``LoadedVae`` that encodes pixels (uint8 or float in
0..255, any size: resized to the model's size) and decodes latent vectors to uint8 pixels, so
the generation modes never care where the weights came from.
"""
import json
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae import run_folder
from facenet_vae.data.framing import Framing, legacy_framing
from facenet_vae.data.images import read_image_files
from facenet_vae.export.saved_model import SAVED_MODEL_CONFIG, is_saved_model_dir
from facenet_vae.inference import decode_model_latent, encode_model_pixels, framed_pixels
from facenet_vae.model import DfcVae  # also registers the serializable classes for keras.models.load_model
from facenet_vae.normalization import pixels_to_normalized

SHIPPED_MODEL = ("checkpoints", "celeba64", "model.keras")


def _check_pixels(pixels):
    pixels = np.asarray(pixels) if not isinstance(pixels, tf.Tensor) else pixels
    if len(pixels.shape) != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3) in 0..255, got shape {tuple(pixels.shape)}")
    if pixels.dtype not in (np.uint8, tf.uint8):
        pixels = tf.cast(pixels, tf.float32)
    return pixels


def _check_latent(latent, latent_var_size):
    latent = np.asarray(latent, np.float32)
    if latent.ndim != 2 or latent.shape[1] != latent_var_size:
        raise ValueError(f"expected latent vectors of shape (N, {latent_var_size}), got {latent.shape}")
    return latent


class LoadedVae:
    """A VAE ready for generation; see ``load_vae``.

    Attributes: ``latent_var_size``, ``image_size``, ``vae_def`` (None when a SavedModel does not
    record it), ``source`` (one sentence saying what was loaded), ``framing`` (the ``Framing`` the
    model was trained with; photos of any size are framed with it) and ``keras_model`` (the
    ``DfcVae``, or None for a SavedModel).
    """

    def __init__(self, encode_fn, decode_fn, latent_var_size, image_size, vae_def, source, keras_model=None,
                 framing=None, saved_model=None):
        self._encode_fn = encode_fn
        self._decode_fn = decode_fn
        self.latent_var_size = int(latent_var_size)
        self.image_size = int(image_size)
        self.vae_def = vae_def
        self.source = source
        self.keras_model = keras_model
        self.framing_recorded = framing is not None
        self.framing = framing if framing is not None else legacy_framing(self.image_size)
        # The SavedModel's signatures only hold weak references to its variables: keep it alive.
        self._saved_model = saved_model
        self._training_bn_fn = None

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

    def __repr__(self):
        return f"LoadedVae({self.source})"

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
        if training_batch_norm and self.keras_model is None:
            raise ValueError(f"training-mode batch norm needs a Keras model (run folder or .keras file), "
                             f"but {self.source}")
        step = count if not batch_size else int(batch_size)
        means, log_vars = [], []
        for start in range(0, count, step):
            batch = pixels[start:start + step]
            if training_batch_norm:
                mean, log_var = self._encode_training_bn(batch)
            else:
                mean, log_var = self._encode_fn(batch)
            means.append(np.asarray(mean, np.float32))
            log_vars.append(np.asarray(log_var, np.float32))
        return np.concatenate(means), np.concatenate(log_vars)

    def _encode_training_bn(self, pixels):
        if self._training_bn_fn is None:
            encoder, framing = self.keras_model.encoder, self.framing

            @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])
            def encode(batch):
                # stateless_call leaves the moving averages alone, as facenet never ran its UPDATE_OPS there.
                (mean, log_var), _ = encoder.stateless_call(
                    [v.value for v in encoder.trainable_variables],
                    [v.value for v in encoder.non_trainable_variables],
                    pixels_to_normalized(tf.cast(framed_pixels(batch, framing), tf.float32)), training=True)
                return tf.cast(mean, tf.float32), tf.cast(log_var, tf.float32)

            self._training_bn_fn = encode
        mean, log_var = self._training_bn_fn(tf.cast(pixels, tf.float32))
        return mean.numpy(), log_var.numpy()

    def decode_to_pixels(self, latent, batch_size=None):
        """Return uint8 numpy images (N, size, size, 3) decoded from latent vectors (N, latent)."""
        latent = _check_latent(latent, self.latent_var_size)
        if len(latent) == 0:
            return np.zeros((0, self.image_size, self.image_size, 3), np.uint8)
        step = len(latent) if not batch_size else int(batch_size)
        return np.concatenate([np.asarray(self._decode_fn(latent[i:i + step]), np.uint8)
                               for i in range(0, len(latent), step)])

    def reconstruct_pixels(self, pixels, batch_size=None):
        """Return uint8 images decoded from the posterior means of ``pixels``."""
        mean, _ = self.encode_pixels(pixels, batch_size=batch_size)
        return self.decode_to_pixels(mean, batch_size=batch_size)


def from_keras_model(model, source="in-memory Keras model"):
    """Return a LoadedVae around a built ``DfcVae`` (``source`` is the sentence describing it)."""
    image_size = model.image_size

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])
    def encode(pixels):
        return encode_model_pixels(model, pixels)

    @tf.function(input_signature=[tf.TensorSpec((None, model.latent_var_size), tf.float32)])
    def decode(latent):
        return decode_model_latent(model, latent)

    def encode_numpy(pixels):
        mean, log_var = encode(tf.cast(pixels, tf.float32))
        return mean.numpy(), log_var.numpy()

    def decode_numpy(latent):
        return decode(tf.convert_to_tensor(latent, tf.float32)).numpy()

    return LoadedVae(encode_numpy, decode_numpy, model.latent_var_size, image_size, model.vae_def, source,
                     keras_model=model, framing=model.framing)


def _saved_model_config(path):
    config_path = os.path.join(path, SAVED_MODEL_CONFIG)
    if not os.path.isfile(config_path):
        return {}
    with open(config_path, encoding="utf-8") as handle:
        return json.load(handle)


def _from_saved_model(path):
    loaded = tf.saved_model.load(path)
    signatures = dict(loaded.signatures)
    missing = [name for name in ("encode", "decode") if name not in signatures]
    if missing:
        raise ValueError(f"SavedModel {path} has no {' or '.join(missing)} signature "
                         f"(it has {sorted(signatures) or 'none'}); export it with facenet_vae.export")
    encode_sig, decode_sig = signatures["encode"], signatures["decode"]
    encode_uint8 = signatures.get("encode_uint8")
    latent_spec = next(iter(decode_sig.structured_input_signature[1].values()))
    image_spec = decode_sig.structured_outputs["images"]
    config = _saved_model_config(path)
    latent_var_size = int(config.get("latent_var_size") or latent_spec.shape[-1])
    image_size = int(config.get("image_size") or image_spec.shape[1])

    def encode_numpy(pixels):
        if encode_uint8 is not None and pixels.dtype in (np.uint8, tf.uint8):
            out = encode_uint8(images=tf.convert_to_tensor(pixels, tf.uint8))
        else:
            out = encode_sig(images=tf.cast(pixels, tf.float32))
        return out["mean"].numpy(), out["log_variance"].numpy()

    def decode_numpy(latent):
        return decode_sig(latent=tf.convert_to_tensor(latent, tf.float32))["images"].numpy()

    framing = Framing.from_dict(config["framing"]) if config.get("framing") else None
    return LoadedVae(encode_numpy, decode_numpy, latent_var_size, image_size, config.get("vae_def"),
                     f"loaded SavedModel {path}", framing=framing, saved_model=loaded)


def _check_requested(found_vae_def, found_latent_var_size, vae_def, latent_var_size, what):
    if latent_var_size is not None and int(latent_var_size) != int(found_latent_var_size):
        raise ValueError(f"{what} has latent size {found_latent_var_size}, but --latent_var_size={latent_var_size} "
                         f"was given")
    if vae_def is not None and found_vae_def is not None and vae_def != found_vae_def:
        raise ValueError(f"{what} holds a {found_vae_def} model, but --vae_def={vae_def} was given")


def _load_keras_file(path):
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"could not load the Keras model file {path}: {error}") from error
    if not isinstance(model, DfcVae):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a facenet_vae DfcVae")
    return model


def _final_model_of_run(run_dir):
    """Return the run's ``model.keras`` when it was written after its latest checkpoint (a finished run), else None.

    The final file holds the batch-norm statistics re-estimated at the end of training, which the
    checkpoints do not; a run still going (or stopped early) is loaded from its latest checkpoint.
    """
    final = os.path.join(run_dir, "model.keras")
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, run_folder.CHECKPOINT_SUBDIR))
    if not os.path.isfile(final):
        return None
    if latest is None or os.path.getmtime(final) >= os.path.getmtime(latest + ".index"):
        return final
    return None


def shipped_model_path():
    """Return the path of the trained model that ships with the project (``checkpoints/celeba64/model.keras``)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), *SHIPPED_MODEL)


def load_vae(path=None, vae_def=None, latent_var_size=None):
    """Return a ``LoadedVae`` for a training run folder (latest checkpoint), a ``.keras`` file or a SavedModel.

    ``path`` None loads the model that ships in ``checkpoints/celeba64/`` (and says so in the log).
    ``vae_def``/``latent_var_size``, when given, must match what the model holds (ValueError
    naming both otherwise). The sentence in ``.source`` is logged.
    """
    if path is None or str(path) == "":
        path = shipped_model_path()
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no --model given and the shipped model {path} is missing (it is part of a "
                                    f"source checkout); pass --model=<run folder | model.keras | SavedModel folder>")
        logging.info("no --model given: using the shipped model %s", path)
    path = os.path.expanduser(os.fspath(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"model {path!r} does not exist (expected a training run folder, "
                                f"a .keras file or an exported SavedModel folder)")
    if os.path.isdir(path) and run_folder.is_run_folder(path):
        config = run_folder.read_model_config(path)
        # Checked before restoring so a mismatch is reported as such, not as a failed restore.
        _check_requested(config["vae_def"], config["latent_var_size"], vae_def, latent_var_size,
                         f"checkpoint in run folder {path}")
        final = _final_model_of_run(path)
        if final:
            vae = from_keras_model(_load_keras_file(final), f"loaded run folder {path}, final model.keras")
        else:
            model, prefix = run_folder.load_model_from_run(path)
            vae = from_keras_model(model, f"loaded run folder {path}, checkpoint {os.path.basename(prefix)}")
    elif os.path.isdir(path) and is_saved_model_dir(path):
        vae = _from_saved_model(path)
        _check_requested(vae.vae_def, vae.latent_var_size, vae_def, latent_var_size, f"SavedModel {path}")
    elif os.path.isfile(path) and path.endswith(".keras"):
        vae = from_keras_model(_load_keras_file(path), f"loaded .keras file {path}")
        _check_requested(vae.vae_def, vae.latent_var_size, vae_def, latent_var_size, f".keras file {path}")
    elif os.path.isdir(path):
        raise ValueError(f"{path} is neither a training run folder (no {run_folder.MODEL_CONFIG_FILE}) "
                         f"nor a SavedModel folder (no saved_model.pb)")
    else:
        raise ValueError(f"{path} is not a model: expected a training run folder, a .keras file or a "
                         f"SavedModel folder")
    logging.info("%s (%s, latent size %d, %dx%d images); photos are framed as in training: %s", vae.source,
                 vae.vae_def or "unknown definition", vae.latent_var_size, vae.image_size, vae.image_size,
                 vae.framing.describe())
    if not vae.framing_recorded:
        logging.warning("%s records no framing (saved before framings were recorded): photos are only resized; "
                        "retrain, or expect faces framed unlike its training faces", vae.source)
    return vae
