"""``generate.py --mode=projector``: a face set's latent means for TensorBoard's embedding projector.

``write_projector`` writes a log folder that ``tensorboard --logdir=FOLDER`` shows under
"Projector": the faces placed by their latent means (PCA, t-SNE, UMAP), each drawn as its own
thumbnail and coloured by any CelebA attribute. The files are those the projector plugin reads:

- ``embedding.ckpt-1.*`` and ``checkpoint``: a TF2 checkpoint holding the (N, L) float32 means as
  ``EMBEDDING_TENSOR`` (the plugin opens the latest checkpoint of the log folder);
- ``metadata.tsv``: one row per face. With an attribute file: a header row ``file`` + the attribute
  names, then the file name and the attribute values (-1/1). Without: the file names only, and no
  header (the plugin reads a single column without one);
- ``sprite.png``: the faces as thumbnails, row by row, on a square grid of ceil(sqrt N) thumbnails
  a side (at most ``MAX_SPRITE_SIZE`` pixels, the plugin's limit);
- ``projector_config.pbtxt``: a ``ProjectorConfig`` naming the tensor, metadata and sprite.
"""
import math
import os

import numpy as np
import tensorflow as tf
from tensorboard.plugins import projector
from tensorboard.plugins.projector.metadata import PROJECTOR_FILENAME

from facenet_vae.atomic_files import atomic_write
from facenet_vae.data import celeba, folders
from facenet_vae.data.errors import DataError
from facenet_vae.image_grid import write_png

EMBEDDING_NAME = "latent_mean"
EMBEDDING_TENSOR = f"{EMBEDDING_NAME}/.ATTRIBUTES/VARIABLE_VALUE"
METADATA_FILE = "metadata.tsv"
SPRITE_FILE = "sprite.png"
CHECKPOINT_PREFIX = "embedding.ckpt"
MAX_SPRITE_SIZE = 8192


def image_files(entries):
    """Return the image paths of ``entries`` (folders, flat or one sub-folder per identity, and image files)."""
    if not entries:
        raise DataError("--mode=projector needs --images (a face folder, or image files)")
    paths = []
    for entry in entries:
        entry = os.path.expanduser(os.fspath(entry))
        paths.extend(folders.image_paths_from_folder(entry) if os.path.isdir(entry) else [entry])
    return paths


def _tsv_field(text):
    return " ".join(str(text).split())  # no tabs or newlines inside a field


def metadata_lines(file_names, attributes_file=None):
    """Return the lines of ``metadata.tsv`` for images named ``file_names`` (see the module docstring).

    Rows of the attribute file are matched by file name (the base name); an image the file does not
    list raises DataError naming it.
    """
    names = [os.path.basename(name) for name in file_names]
    if not attributes_file:
        return [_tsv_field(name) for name in names]
    attributes = celeba.read_attribute_file(attributes_file)
    row_of = {filename: index for index, filename in enumerate(attributes.filenames)}
    missing = [name for name in names if name not in row_of]
    if missing:
        raise DataError(f"{attributes_file} has no row for {len(missing)} of the {len(names)} images "
                        f"(first: {missing[0]!r})")
    lines = ["\t".join(["file"] + [_tsv_field(name) for name in attributes.names])]
    for name in names:
        lines.append("\t".join([_tsv_field(name)] + [str(int(v)) for v in attributes.values[row_of[name]]]))
    return lines


def sprite_image(pixels, thumbnail_size=None):
    """Return ``(sprite, thumbnail_size)``: uint8 faces on a square grid, row-major, black where empty.

    ``thumbnail_size`` defaults to the image size, shrunk so that the sprite fits ``MAX_SPRITE_SIZE``.
    """
    pixels = np.asarray(pixels, np.uint8)
    count, height, width = pixels.shape[:3]
    side = math.ceil(math.sqrt(count))
    size = thumbnail_size or min(max(height, width), MAX_SPRITE_SIZE // side)
    if size < 1 or size * side > MAX_SPRITE_SIZE:
        raise ValueError(f"{count} thumbnails of {size} pixels do not fit a {MAX_SPRITE_SIZE}-pixel sprite")
    if (height, width) != (size, size):
        pixels = tf.cast(tf.round(tf.image.resize(pixels, (size, size), antialias=True)), tf.uint8).numpy()
    sprite = np.zeros((side * size, side * size, 3), np.uint8)
    for index, face in enumerate(pixels):
        row, column = divmod(index, side)
        sprite[row * size:(row + 1) * size, column * size:(column + 1) * size] = face
    return sprite, size


def write_projector(log_dir, latent_means, pixels, metadata, thumbnail_size=None):
    """Write the projector files for faces ``pixels`` (uint8 NHWC) and their ``latent_means`` (N, L).

    ``metadata`` is the list of ``metadata.tsv`` lines (``metadata_lines``). Returns the paths
    written: config, metadata, sprite, checkpoint prefix.
    """
    latent_means = np.asarray(latent_means, np.float32)
    rows = len(metadata) - (1 if metadata and "\t" in metadata[0] else 0)
    if latent_means.ndim != 2 or not len(latent_means) == len(pixels) == rows:
        raise ValueError(f"need one latent mean (N, L) and one metadata row per face; got means "
                         f"{latent_means.shape}, {len(pixels)} faces and {rows} metadata rows")
    sprite, size = sprite_image(pixels, thumbnail_size)
    os.makedirs(log_dir, exist_ok=True)
    metadata_path = atomic_write(os.path.join(log_dir, METADATA_FILE), "\n".join(metadata) + "\n")
    sprite_path = write_png(os.path.join(log_dir, SPRITE_FILE), sprite)
    checkpoint = tf.train.Checkpoint(**{EMBEDDING_NAME: tf.Variable(latent_means, name=EMBEDDING_NAME)})
    manager = tf.train.CheckpointManager(checkpoint, log_dir, max_to_keep=1, checkpoint_name=CHECKPOINT_PREFIX)
    checkpoint_path = manager.save()
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = EMBEDDING_TENSOR
    embedding.metadata_path = METADATA_FILE
    embedding.sprite.image_path = SPRITE_FILE
    embedding.sprite.single_image_dim.extend([size, size])
    projector.visualize_embeddings(log_dir, config)
    return [os.path.join(log_dir, PROJECTOR_FILENAME), metadata_path, sprite_path, checkpoint_path]


def project_faces(vae, pixels, file_names, log_dir, attributes_file=None, batch_size=64):
    """Encode faces ``pixels`` (uint8, model size) with ``vae`` (a LoadedVae) and write the projector files.

    ``file_names`` name the faces in ``metadata.tsv`` and pick their rows of ``attributes_file``
    (checked before encoding). Returns the paths written (see ``write_projector``).
    """
    metadata = metadata_lines(file_names, attributes_file)
    means, _ = vae.encode_pixels(pixels, batch_size=batch_size)
    return write_projector(log_dir, means, pixels, metadata)
