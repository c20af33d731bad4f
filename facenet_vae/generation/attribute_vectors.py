"""facenet's attribute vectors file: each attribute's latent direction, with the latents it came from.

The vectors are estimated by ``attribute_directions`` (``conditional`` by default; facenet's
``difference``, mean latent with the attribute minus mean without, is one flag away); the file
records which in its HDF5 attribute ``method`` (absent in facenet's files: ``difference``).

The HDF5 file keeps facenet's ``calculate_attribute_vectors.py`` layout, so files move both ways:

================== ============== ===================================================
dataset            shape          contents
================== ============== ===================================================
latent_vars        (N, L)         float32 latent vector of each image (facenet: float64)
attributes         (N, K)         int8 attribute values in {-1, 1} (facenet: float64)
fields             (K,)           attribute names, bytes strings (CelebA spelling)
attribute_vectors  (K, L)         float32 direction per attribute (facenet: ``mean(latent | +1) - mean(latent | -1)``)
filenames          (N,)           bytes strings; absent in facenet's files (optional on read)
================== ============== ===================================================

A vector built from fewer than ``MIN_FACES_PER_SIDE`` faces with (or without) its attribute is
mostly noise: computing one warns (a ``ThinAttributeWarning``), writing the file records those
warnings in its HDF5 attribute ``warnings`` (facenet's reader ignores it), and the ``modify`` mode
warns again when it uses such a vector (``AttributeVectors.face_counts`` follows from ``attributes``).
"""
import dataclasses
import os
import warnings

import h5py
import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae.atomic_files import atomic_path
from facenet_vae.data.errors import DataWarning
from facenet_vae.generation.attribute_directions import (DEFAULT_ATTRIBUTE_VECTOR_METHOD, DIFFERENCE,
                                                         attribute_directions, check_method, defined_columns)

REQUIRED_DATASETS = ("latent_vars", "attributes", "fields", "attribute_vectors")
MIN_FACES_PER_SIDE = 20


class ThinAttributeWarning(DataWarning):
    """An attribute vector was built from fewer than MIN_FACES_PER_SIDE faces with or without the attribute."""


@dataclasses.dataclass
class AttributeVectors:
    """Contents of an attribute vectors file; ``fields`` are str, ``filenames`` str or None."""
    latent_vars: np.ndarray
    attributes: np.ndarray
    fields: list
    attribute_vectors: np.ndarray
    filenames: list = None
    path: str = None
    warnings: list = dataclasses.field(default_factory=list)
    method: str = DIFFERENCE

    @property
    def face_counts(self):
        """Return int32 (K, 2): the faces with and without each attribute that its vector was built from."""
        return face_counts(self.attributes)

    @property
    def latent_var_size(self):
        """Return the latent size L the vectors were computed with."""
        return int(self.attribute_vectors.shape[1])

    def index(self, name_or_index):
        """Return the column of attribute ``name_or_index`` (see ``attribute_index``)."""
        return attribute_index(self.fields, name_or_index)

    def vector(self, name_or_index):
        """Return the float32 (L,) vector of an attribute; ValueError when it could not be computed."""
        k = self.index(name_or_index)
        vector = np.asarray(self.attribute_vectors[k], np.float32)
        if not np.all(np.isfinite(vector)):
            raise ValueError(f"attribute {self.fields[k]!r} has no vector in {self.path or 'the file'}: "
                             f"the encoded set had no images with it or none without it")
        return vector


def attribute_index(fields, name_or_index):
    """Return the integer column of an attribute given by name (e.g. ``Smiling``) or index (int or digits).

    Unknown names and out-of-range indices raise ValueError listing the valid names with indices.
    """
    fields = _decode_strings(fields)
    listing = ", ".join(f"{i}:{name}" for i, name in enumerate(fields))
    if isinstance(name_or_index, (int, np.integer)) and not isinstance(name_or_index, bool):
        index = int(name_or_index)
    elif isinstance(name_or_index, str) and name_or_index.strip().lstrip("-").isdigit():
        index = int(name_or_index.strip())
    else:
        name = str(name_or_index).strip()
        if name in fields:
            return fields.index(name)
        folded = [f.lower() for f in fields]
        if name.lower() in folded:
            return folded.index(name.lower())
        raise ValueError(f"unknown attribute {name!r}; valid attributes are {listing}")
    if not 0 <= index < len(fields):
        raise ValueError(f"attribute index {index} is out of range 0..{len(fields) - 1}; valid attributes are "
                         f"{listing}")
    return index


def face_counts(attributes):
    """Return int32 (K, 2): per attribute column, the number of rows with it (+1) and without it (-1)."""
    attributes = np.asarray(attributes)
    return np.stack([(attributes == 1).sum(0), (attributes == -1).sum(0)], 1).astype(np.int32)


def thin_attribute_message(name, with_count, without_count):
    """Return the warning for a vector built from few faces, or None when both sides have MIN_FACES_PER_SIDE."""
    if min(with_count, without_count) >= MIN_FACES_PER_SIDE:
        return None
    return (f"attribute vector {name!r} is built from {with_count} face(s) with it and {without_count} without "
            f"(fewer than {MIN_FACES_PER_SIDE}): expect a noisy edit")


def thin_attribute_messages(names, attributes):
    """Return the warnings of the attributes (columns of ``attributes``) with fewer than MIN_FACES_PER_SIDE faces
    on a side but at least one on each (without one, the vector is undefined: NaN)."""
    counts = face_counts(attributes)
    messages = [thin_attribute_message(name, int(pos), int(neg)) for name, (pos, neg) in zip(names, counts)
                if pos and neg]
    return [message for message in messages if message]


def attribute_vectors_from_latents(latent_vars, attributes, names=None, method=DEFAULT_ATTRIBUTE_VECTOR_METHOD):
    """Return float32 (K, L): each attribute's vector by ``method`` (see ``attribute_directions``).

    An attribute with no +1 rows or no -1 rows has no defined vector and gets NaN (logged, by its
    name when ``names`` are given); one with fewer than MIN_FACES_PER_SIDE on a side warns.
    """
    latent_vars = np.asarray(latent_vars, np.float64)
    attributes = np.asarray(attributes)
    if latent_vars.ndim != 2 or attributes.ndim != 2 or len(latent_vars) != len(attributes):
        raise ValueError(f"latent_vars {latent_vars.shape} and attributes {attributes.shape} must be (N, L) "
                         f"and (N, K) with the same N")
    vectors = attribute_directions(latent_vars, attributes, method).astype(np.float32)
    counts = face_counts(attributes)
    for k in np.flatnonzero(~defined_columns(attributes)):
        logging.warning("attribute %s has %d images with it and %d without; its vector is NaN (undefined)",
                        names[k] if names is not None else f"column {k}", *counts[k])
    labels = names if names is not None else [f"column {k}" for k in range(attributes.shape[1])]
    for message in thin_attribute_messages(labels, attributes):
        warnings.warn(message, ThinAttributeWarning, stacklevel=2)
    return vectors


def _check_attribute_values(attributes):
    attributes = np.asarray(attributes)
    if attributes.ndim != 2:
        raise ValueError(f"attributes must be (N, K), got shape {attributes.shape}")
    if not np.isin(attributes, (-1, 1)).all():
        raise ValueError("attribute values must be -1 or 1")
    return attributes


def _batches(images, batch_size):
    """Yield ``(pixels, attributes or None)`` batches from an array, a tf.data Dataset or an iterable of batches."""
    if isinstance(images, tf.data.Dataset):
        spec = images.element_spec
        paired = isinstance(spec, (tuple, list))
        if paired and len(spec) != 2:
            raise ValueError("the image dataset must yield pixels, or (pixels, attributes) pairs")
        if (spec[0] if paired else spec).shape.rank == 3:
            images = images.batch(batch_size)
        for element in images:
            if paired:
                yield np.asarray(element[0]), np.asarray(element[1])
            else:
                yield np.asarray(element), None
    elif not isinstance(images, (np.ndarray, list, tuple, tf.Tensor)):
        for batch in images:  # an iterable of pixel batches
            yield np.asarray(batch), None
    else:
        images = np.asarray(images)
        if images.ndim != 4:
            raise ValueError(f"expected images of shape (N, H, W, 3), got {images.shape}")
        for start in range(0, len(images), batch_size):
            yield images[start:start + batch_size], None


def compute_attribute_vectors(vae, images, attributes=None, batch_size=128, use_training_batch_norm=False,
                              sample=False, seed=666, names=None, method=DEFAULT_ATTRIBUTE_VECTOR_METHOD):
    """Return ``(latent_vars (N, L), attribute_vectors (K, L))``, both float32, for a face set.

    ``vae`` is a ``LoadedVae``; ``images`` uint8/float pixels (N, H, W, 3), an iterable of such
    batches, or a tf.data Dataset of pixels (single images or batches), in the order of
    ``attributes`` (N, K) in {-1, 1}; with ``attributes=None`` the Dataset yields
    ``(pixels, attributes)`` pairs instead.
    facenet encoded with training-mode batch norm and a sampled latent; both are options here,
    the defaults being inference-mode batch norm and the posterior mean. ``names`` only label log lines;
    ``method`` is how the vectors are estimated (``attribute_directions``).
    """
    check_method(method)
    if attributes is not None:
        _check_attribute_values(attributes)
    rng = np.random.default_rng(seed)
    latents, collected = [], []
    for pixels, batch_attributes in _batches(images, batch_size):
        mean, log_var = vae.encode_pixels(pixels, training_batch_norm=use_training_batch_norm)
        if sample:
            mean = mean + rng.standard_normal(mean.shape).astype(np.float32) * np.exp(log_var / 2)
        latents.append(mean)
        if batch_attributes is not None:
            collected.append(batch_attributes)
    if attributes is None:
        if not collected:
            raise ValueError("no attributes given: pass them, or a Dataset of (pixels, attributes) pairs")
        attributes = np.concatenate(collected)
    attributes = _check_attribute_values(attributes)
    latent_vars = np.concatenate(latents) if latents else np.zeros((0, vae.latent_var_size), np.float32)
    if len(latent_vars) != len(attributes):
        raise ValueError(f"{len(latent_vars)} images were encoded but {len(attributes)} attribute rows were given")
    if not len(latent_vars):
        raise ValueError("no images to encode")
    return latent_vars.astype(np.float32), attribute_vectors_from_latents(latent_vars, attributes, names, method)


def _as_bytes(strings):
    # Fixed-length bytes, as h5py wrote facenet's Python 2 ``str`` lists.
    encoded = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in strings]
    return np.array(encoded, dtype=f"S{max([len(e) for e in encoded] + [1])}")


def write_attribute_vectors_file(path, latent_vars, attributes, fields, attribute_vectors, filenames=None, *,
                                 method):
    """Write facenet's attribute vectors HDF5 (plus ``filenames``) atomically; returns ``path``.

    ``method`` names how ``attribute_vectors`` were estimated; it is kept in the HDF5 attribute ``method``.

    Shapes are checked first: latent_vars (N, L), attributes (N, K), fields (K,),
    attribute_vectors (K, L), filenames (N,).
    """
    path = os.path.expanduser(os.fspath(path))
    latent_vars = np.asarray(latent_vars, np.float32)
    attributes = np.asarray(attributes)
    attribute_vectors = np.asarray(attribute_vectors, np.float32)
    fields = _decode_strings(fields)
    n, latent = latent_vars.shape if latent_vars.ndim == 2 else (None, None)
    problems = []
    if latent_vars.ndim != 2:
        problems.append(f"latent_vars has shape {latent_vars.shape}, expected (N, L)")
    elif attributes.shape != (n, len(fields)):
        problems.append(f"attributes has shape {attributes.shape}, expected ({n}, {len(fields)})")
    elif attribute_vectors.shape != (len(fields), latent):
        problems.append(f"attribute_vectors has shape {attribute_vectors.shape}, expected ({len(fields)}, {latent})")
    if filenames is not None and n is not None and len(filenames) != n:
        problems.append(f"{len(filenames)} filenames for {n} latent vectors")
    if problems:
        raise ValueError(f"cannot write {path}: " + "; ".join(problems))
    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as handle:
            handle.create_dataset("latent_vars", data=latent_vars)
            handle.create_dataset("attributes", data=attributes.astype(np.int8))
            handle.create_dataset("fields", data=_as_bytes(fields))
            handle.create_dataset("attribute_vectors", data=attribute_vectors)
            if filenames is not None:
                handle.create_dataset("filenames", data=_as_bytes(filenames))
            handle.attrs["warnings"] = thin_attribute_messages(fields, attributes)
            handle.attrs["method"] = check_method(method)
    return path


def _decode_strings(values):
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).tolist()]


def read_attribute_vectors_file(path):
    """Return the ``AttributeVectors`` of an HDF5 file written here or by facenet, checked.

    Raises FileNotFoundError for a missing file and ValueError naming the file and dataset for a
    file that is not HDF5, lacks a dataset or has inconsistent shapes.
    """
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"attribute vectors file {path} does not exist (write it with --mode=attributes)")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path} is not an HDF5 attribute vectors file: {error}") from error
    with handle:
        missing = [name for name in REQUIRED_DATASETS if name not in handle]
        if missing:
            raise ValueError(f"attribute vectors file {path} has no dataset {', '.join(missing)} "
                             f"(expected {', '.join(REQUIRED_DATASETS)})")
        latent_vars = np.asarray(handle["latent_vars"][()], np.float32)
        attributes = np.asarray(handle["attributes"][()])
        fields = _decode_strings(handle["fields"][()])
        attribute_vectors = np.asarray(handle["attribute_vectors"][()], np.float32)
        filenames = _decode_strings(handle["filenames"][()]) if "filenames" in handle else None
        recorded_warnings = _decode_strings(handle.attrs["warnings"]) if "warnings" in handle.attrs else []
        method = handle.attrs.get("method", DIFFERENCE)
        method = method.decode("utf-8") if isinstance(method, bytes) else str(method)

    def bad(dataset, message):
        return ValueError(f"attribute vectors file {path}: dataset {dataset} {message}")

    if attribute_vectors.ndim != 2:
        raise bad("attribute_vectors", f"has shape {attribute_vectors.shape}, expected (K, L)")
    k, latent = attribute_vectors.shape
    if len(fields) != k:
        raise bad("fields", f"has {len(fields)} names but attribute_vectors has {k} rows")
    if latent_vars.ndim != 2 or latent_vars.shape[1] != latent:
        raise bad("latent_vars", f"has shape {latent_vars.shape}, expected (N, {latent}) like attribute_vectors")
    if attributes.shape != (len(latent_vars), k):
        raise bad("attributes", f"has shape {attributes.shape}, expected ({len(latent_vars)}, {k})")
    if filenames is not None and len(filenames) != len(latent_vars):
        raise bad("filenames", f"has {len(filenames)} entries, expected {len(latent_vars)}")
    return AttributeVectors(latent_vars, attributes.astype(np.int8), fields, attribute_vectors, filenames, path,
                            recorded_warnings, method)
