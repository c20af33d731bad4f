"""What the explorer's server computes with the model: the decoder as ONNX, the sliders' vectors, prior draws,
photo encodings and reference decodes.

Faces are decoded in the browser (onnxruntime-web); the server only encodes uploaded photos, with
the model's recorded framing through ``generation.load_images``, the code ``generate.py`` uses.
"""
import dataclasses
import os
import struct
import tempfile
import threading

import numpy as np
import tensorflow as tf

from facenet_vae.generation.attribute_vectors import MIN_FACES_PER_SIDE, read_attribute_vectors_file
from facenet_vae.data.errors import DataError
from facenet_vae.data.images import image_format, try_decode_image
from facenet_vae.export.onnx import export_onnx
from facenet_vae.generation import GenerateOptions, load_images
from facenet_vae.generation.latent_distribution import draw_latents, fit_latent_gaussian
from facenet_vae.generation.paths import attribute_vectors_file_of
from facenet_vae.generation.loading import load_vae

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000   # decoded size; a small file can declare a huge image
MAX_TEMPERATURE = 10.0


class RequestError(ValueError):
    """A request the explorer refuses: ``status`` is the HTTP status, the message says why in one line."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


@dataclasses.dataclass
class Upload:
    """An encoded photo: its latent mean, the framed face the model saw, and the photo's size."""
    latent: np.ndarray
    face: np.ndarray
    width: int
    height: int


def _declared_size(contents):
    """Return (width, height) as a PNG, JPEG or GIF header declares it, or None when it cannot tell."""
    kind = image_format(contents)
    if kind == "PNG" and len(contents) >= 24:
        return struct.unpack(">II", contents[16:24])
    if kind == "GIF" and len(contents) >= 10:
        return struct.unpack("<HH", contents[6:10])
    if kind == "JPEG":
        try:
            height, width, _ = tf.io.extract_jpeg_shape(contents).numpy().tolist()
            return width, height
        except tf.errors.OpError:
            return None
    return None


def attribute_sliders(vectors):
    """Return one dict per attribute of an ``AttributeVectors``: name, vector (None when undefined),
    the counts of images with and without it, and a note when the vector rests on few images."""
    sliders = []
    for index, name in enumerate(vectors.fields):
        vector = np.asarray(vectors.attribute_vectors[index], np.float32)
        with_it = int(np.sum(vectors.attributes[:, index] == 1))
        without = int(np.sum(vectors.attributes[:, index] == -1))
        defined = bool(np.all(np.isfinite(vector)))
        note = None
        if not defined:
            note = f"no vector: the encoded set had {with_it} faces with it and {without} without"
        elif min(with_it, without) < MIN_FACES_PER_SIDE:
            fewer, what = (with_it, "with") if with_it < without else (without, "without")
            note = f"built from only {fewer} face{'' if fewer == 1 else 's'} {what} it: expect other changes too"
        sliders.append({"name": name, "vector": vector.tolist() if defined else None, "with": with_it,
                        "without": without, "note": note})
    return sliders


class Explorer:
    """A loaded model ready to serve: ``vae`` (a LoadedVae), ``decoder_onnx`` (bytes), ``sliders``
    (see ``attribute_sliders``) and ``attribute_vectors_file`` (None when there is none)."""

    def __init__(self, vae, decoder_onnx, sliders, attribute_vectors_file, gaussian=None):
        self.vae = vae
        self.gaussian = gaussian  # random faces come from it (fitted to the training latents), else N(0, I)
        self.decoder_onnx = decoder_onnx
        self.sliders = sliders
        self.attribute_vectors_file = attribute_vectors_file
        self._lock = threading.Lock()  # one TensorFlow call at a time: requests come from several threads

    def description(self):
        """Return the JSON-ready facts the page needs about the model (no weights but the sliders')."""
        return {"source": self.vae.source, "vae_def": self.vae.vae_def, "latent_var_size": self.vae.latent_var_size,
                "image_size": self.vae.image_size, "framing": self.vae.framing.describe(),
                "attribute_vectors_file": self.attribute_vectors_file, "attributes": self.sliders,
                "max_upload_bytes": MAX_UPLOAD_BYTES, "few_images": MIN_FACES_PER_SIDE,
                "sample_from": "prior" if self.gaussian is None else "fitted"}

    def sample(self, seed, temperature):
        """Return the float32 latent generate.py's ``--mode=sample --seed=seed`` draws first for this model.

        That is the Gaussian fitted to the training latents of the model's attribute vectors file
        (``--sample_from=auto`` finds the same file), else N(0, I); the spread scaled by ``temperature``.
        """
        if not 0 <= seed < 2 ** 63:
            raise RequestError(f"the seed must be a whole number from 0 to 2**63 - 1, got {seed}")
        if not (np.isfinite(temperature) and 0 <= temperature <= MAX_TEMPERATURE):
            raise RequestError(f"the temperature must be from 0 to {MAX_TEMPERATURE:g}, got {temperature}")
        return draw_latents(1, self.vae.latent_var_size, temperature, seed, self.gaussian)[0]

    def decode(self, latent):
        """Return the uint8 (S, S, 3) face of one latent, decoded by the Keras model (the page's reference)."""
        with self._lock:
            return self.vae.decode_to_pixels(np.asarray(latent, np.float32)[None])[0]

    def encode_upload(self, contents, filename="photo"):
        """Return the ``Upload`` of a photo's bytes; RequestError (one line naming the file) for bad ones.

        The photo is framed and encoded exactly as ``generate.py --images=...`` does it (written to a
        temporary file, read by ``generation.load_images``, encoded to the posterior mean).
        """
        if len(contents) > MAX_UPLOAD_BYTES:
            raise RequestError(f"{filename}: {len(contents) / 2 ** 20:.1f} MB is over the "
                               f"{MAX_UPLOAD_BYTES // 2 ** 20} MB limit for a photo", 413)
        declared = _declared_size(contents)
        if declared and declared[0] * declared[1] > MAX_UPLOAD_PIXELS:
            raise RequestError(f"{filename}: a {declared[0]}x{declared[1]} image is too large to encode "
                               f"(at most {MAX_UPLOAD_PIXELS // 10 ** 6} megapixels)", 413)
        with self._lock:
            image, reason = try_decode_image(contents)
            if reason:
                raise RequestError(f"{filename}: {reason}; upload a JPEG or PNG photo of one face")
            extension = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "WebP": ".webp"}
            with tempfile.TemporaryDirectory(prefix="facenet-vae-explore-") as folder:
                path = os.path.join(folder, "upload" + extension.get(image_format(contents), ""))
                with open(path, "wb") as handle:
                    handle.write(contents)
                try:
                    faces = load_images([path], self.vae)
                except DataError as error:
                    raise RequestError(f"{filename}: {str(error).replace(path, 'the photo')}") from None
            mean, _ = self.vae.encode_pixels(faces)
        return Upload(mean[0], faces[0], int(image.shape[1]), int(image.shape[0]))


def default_attribute_vectors_file(model_path):
    """Return the attribute vectors file ``generate.py`` would use for ``model_path`` (None: the shipped model)."""
    return attribute_vectors_file_of(GenerateOptions(model=model_path))


def load_explorer(model_path=None, attribute_vectors_file=None):
    """Return an ``Explorer`` for a run folder or ``.keras`` file (None: the shipped model).

    The decoder is exported to ONNX (``export_onnx``) in a temporary folder. Without an
    attribute vectors file the page has no sliders (and says how to make them); a file for another
    latent size is an error.
    """
    vae = load_vae(model_path)
    if vae.keras_model is None:
        raise ValueError(f"{vae.source}: the explorer needs a training run folder or a .keras file (it exports "
                         f"the decoder to ONNX), not an exported SavedModel")
    with tempfile.TemporaryDirectory(prefix="facenet-vae-onnx-") as folder:
        with open(export_onnx(vae.keras_model, folder)["decoder"], "rb") as handle:
            decoder_onnx = handle.read()
    explicit = attribute_vectors_file is not None
    path = os.path.expanduser(attribute_vectors_file) if explicit else default_attribute_vectors_file(model_path)
    sliders, gaussian = [], None
    if explicit or os.path.isfile(path):
        vectors = read_attribute_vectors_file(path)
        if vectors.latent_var_size != vae.latent_var_size:
            raise ValueError(f"attribute vectors file {path} has vectors of size {vectors.latent_var_size}, but the "
                             f"model's latent has {vae.latent_var_size}")
        sliders = attribute_sliders(vectors)
        gaussian = fit_latent_gaussian(vectors.latent_vars)
    else:
        path = None
    return Explorer(vae, decoder_onnx, sliders, path, gaussian)
