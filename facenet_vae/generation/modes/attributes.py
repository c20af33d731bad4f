"""``--mode=attributes`` (facenet's calculate_attribute_vectors.py) and ``--mode=list_attributes``."""
import os

import tensorflow as tf
from absl import logging

from facenet_vae.data import celeba
from facenet_vae.data.errors import DataError
from facenet_vae.data.images import undecodable_files_error
from facenet_vae.data.sources import open_source
from facenet_vae.data.synthetic import ATTRIBUTE_NAMES as SYNTHETIC_ATTRIBUTE_NAMES
from facenet_vae.generation import attribute_vectors
from facenet_vae.generation.attribute_directions import DEFAULT_ATTRIBUTE_VECTOR_METHOD
from facenet_vae.generation.options import SYNTHETIC_ATTRIBUTE_IMAGES
from facenet_vae.generation.paths import attribute_vectors_file_of


def calculate_attribute_vectors(vae, face_set, output_file, batch_size=128, training_batch_norm=False,
                                sample=False, seed=666, method=DEFAULT_ATTRIBUTE_VECTOR_METHOD):
    """Encode a face set, compute its attribute vectors by ``method`` and write them (facenet's HDF5 layout).

    Returns ``[output_file]``. Unreadable image files raise DataError naming them. Vectors built from
    fewer than ``attribute_vectors.MIN_FACES_PER_SIDE`` faces on a side warn and are recorded in the file.
    """
    try:
        latent_vars, vectors = attribute_vectors.compute_attribute_vectors(
            vae, face_set.images, face_set.attributes, batch_size=batch_size,
            use_training_batch_norm=training_batch_norm, sample=sample, seed=seed, names=face_set.names,
            method=method)
    except tf.errors.OpError as error:
        if face_set.paths:
            raise (undecodable_files_error(face_set.paths) or DataError(
                f"could not read the images of {face_set.description}: {error.message.splitlines()[0]}")) from None
        raise
    attribute_vectors.write_attribute_vectors_file(output_file, latent_vars, face_set.attributes, face_set.names,
                                                   vectors, face_set.filenames, method=method)
    logging.info("attributes: encoded %s with %s batch norm and the %s latent; wrote %d %s attribute vectors of "
                 "size %d to %s", face_set.description, "training-mode" if training_batch_norm else "inference-mode",
                 "sampled" if sample else "mean", len(face_set.names), method, vectors.shape[1], output_file)
    return [output_file]


def run(vae, options, output_dir):
    """Run ``--mode=attributes`` on the face set ``--dataset`` names (default: a folder with an attribute list)."""
    kind = options.dataset or "folder"
    source = open_source(kind, options.data_dir, attributes_file=options.attributes_file,
                         allow_missing=options.allow_missing_images)
    num_images = options.num_images or (SYNTHETIC_ATTRIBUTE_IMAGES if kind == "synthetic" else None)
    face_set = source.labelled_faces(vae.framing, split=options.split, num_images=num_images,
                                     batch_size=options.batch_size, seed=options.seed)
    return calculate_attribute_vectors(vae, face_set, attribute_vectors_file_of(options), options.batch_size,
                                       options.training_batch_norm, options.sample_latent, options.seed,
                                       options.attribute_vector_method)


def list_attribute_names(names):
    """Return ``"<index> <name>"`` lines for a list of attribute names."""
    return [f"{i:2d} {name}" for i, name in enumerate(names)]


def attribute_names_to_list(options):
    """Return ``(names, where they come from)``: the synthetic set's, an attribute file's or a vectors file's."""
    if options.dataset == "synthetic":
        return list(SYNTHETIC_ATTRIBUTE_NAMES), "the synthetic data set"
    if options.attributes_file:
        return list(celeba.read_attribute_file(options.attributes_file).names), options.attributes_file
    vectors_file = attribute_vectors_file_of(options)
    if os.path.isfile(vectors_file):
        return attribute_vectors.read_attribute_vectors_file(vectors_file).fields, vectors_file
    raise FileNotFoundError(f"no attribute names to list: {vectors_file} does not exist; pass "
                            f"--attribute_vectors_file, --attributes_file or --dataset=synthetic")


def run_list(vae, options, output_dir):
    """Run ``--mode=list_attributes`` (no model needed): print the names with their indices; writes nothing."""
    names, source = attribute_names_to_list(options)
    print(f"attributes in {source}:")
    print("\n".join(list_attribute_names(names)))
    return []
