"""The faces a generation mode works on, read only through ``facenet_vae.data``'s readers.

Image files (``load_images``, ``image_paths``, ``spread_over_identities``) and the face sets with
attributes of ``--mode=attributes`` (``AttributeFaceSet``: a folder with a CelebA attribute list,
the synthetic faces, an npz file, TFDS celeb_a).
"""
import collections
import dataclasses
import itertools
import os

import numpy as np
import tensorflow as tf

from facenet_vae.data import celeba, folders, images as image_io
from facenet_vae.data.errors import DataError
from facenet_vae.data.npz_faces import read_npz_faces
from facenet_vae.data.synthetic import generate_synthetic_faces
from facenet_vae.data.tfds_celeb_a import open_celeb_a
from facenet_vae.data.framing import resize_pixels
from facenet_vae.generation.options import SYNTHETIC_ATTRIBUTE_IMAGES


def bad_file_error(paths, what="image"):
    """Return a DataError naming the undecodable files among ``paths`` (up to 5), or None when all decode."""
    _, bad = image_io.scan_images(paths, progress=False)
    if not bad:
        return None
    listing = "; ".join(f"{path}: {reason}" for path, reason in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    return DataError(f"{len(bad)} unreadable {what} file(s): {listing}{more}")


def load_images(paths, vae):
    """Return uint8 faces (N, S, S, 3) of image files, framed as ``vae``'s training faces were (``vae.read_faces``).

    Raises DataError naming the missing files, or every file that cannot be decoded.
    """
    paths = [os.path.expanduser(os.fspath(p)) for p in paths]
    if not paths:
        raise DataError("no images given")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise DataError(f"image file(s) not found: {', '.join(missing[:5])}"
                        f"{' ...' if len(missing) > 5 else ''}")
    pixels, kept = vae.read_faces(paths)
    if len(kept) < len(paths):
        first_undecoded = paths[min(set(range(len(paths))) - set(kept.tolist()))]
        raise bad_file_error(paths) or DataError(f"cannot decode image {first_undecoded}")
    return pixels


def image_paths(data_dir, attributes_file=None):
    """Return the image paths of a folder tree or flat folder (sorted), or of the rows of a CelebA list.

    With ``attributes_file`` the images are the file's rows found in ``data_dir``, in file order.
    """
    if not data_dir:
        raise DataError("no images: pass --data_dir (a face folder, flat or one sub-folder per identity)")
    if attributes_file:
        attrs = celeba.read_attribute_file(attributes_file)
        paths, _ = celeba.match_attributes_to_images(attrs, data_dir, allow_missing=True)
        return paths
    return folders.image_paths_from_folder(data_dir)


def spread_over_identities(paths, count):
    """Return up to ``count`` of ``paths`` taken in turn from each identity (the file's folder): the first
    image of every identity, then the second of every identity, and so on. A flat folder keeps its order."""
    by_identity = collections.OrderedDict()
    for path in paths:
        by_identity.setdefault(os.path.dirname(path), []).append(path)
    turns = itertools.zip_longest(*by_identity.values())
    return [path for turn in turns for path in turn if path is not None][:count]


@dataclasses.dataclass
class AttributeFaceSet:
    """Faces with attributes to encode: ``images`` (uint8 array, tf.data of pixel batches, or an iterable of
    uint8 batches), ``attributes`` (N, K) in {-1, 1}, ``names`` (K), ``filenames`` (N), ``description``,
    and the image ``paths`` when read from files (to name unreadable ones)."""
    images: object
    attributes: np.ndarray
    names: list
    filenames: list
    description: str
    paths: list = None


class _FramedBatches:
    """The framed uint8 faces of image files in batches (``vae.read_faces``); a file that cannot be decoded
    raises DataError naming it (and every other bad file of its batch)."""

    def __init__(self, paths, vae, batch_size):
        self.paths, self.vae, self.batch_size = list(paths), vae, int(batch_size)

    def __iter__(self):
        for start in range(0, len(self.paths), self.batch_size):
            chunk = self.paths[start:start + self.batch_size]
            yield load_images(chunk, self.vae)


def _check_unlisted(image_folder, attrs):
    listed = set(attrs.filenames)
    unlisted = [p for p in folders.image_paths_from_folder(image_folder) if os.path.basename(p) not in listed]
    if unlisted:
        names = ", ".join(os.path.basename(p) for p in unlisted[:5])
        raise DataError(f"{len(unlisted)} image(s) in {image_folder} are not listed in attribute file "
                        f"{attrs.source}: {names}{' ...' if len(unlisted) > 5 else ''}")


def folder_face_set(data_dir, attributes_file, vae, batch_size=128, num_images=None, allow_missing=False):
    """Return an AttributeFaceSet of the images in ``data_dir`` with their rows of a CelebA attribute file.

    Every image in the folder must have a row, and every row an image (unless ``allow_missing``);
    otherwise DataError names the first offenders. ``attributes_file`` None looks for a CelebA download
    (``img_align_celeba/`` + ``list_attr_celeba.txt``) in ``data_dir``. Faces are framed as ``vae``'s.
    """
    if not data_dir:
        raise DataError("--mode=attributes needs --data_dir with --attributes_file, or --dataset=synthetic|celeb_a")
    if attributes_file:
        image_folder = data_dir
    else:
        image_folder, attributes_file = celeba.find_celeba_files(data_dir)
    attrs = celeba.read_attribute_file(attributes_file)
    try:
        paths, values = celeba.match_attributes_to_images(attrs, image_folder, allow_missing=allow_missing)
    except DataError as error:
        if "listed images are missing" in str(error):
            raise DataError(f"{error}; pass --allow_missing_images to use only the listed images that "
                            f"exist") from None
        raise
    _check_unlisted(image_folder, attrs)
    if num_images:
        paths, values = paths[:num_images], values[:num_images]
    return AttributeFaceSet(_FramedBatches(paths, vae, batch_size), values, list(attrs.names),
                            [os.path.basename(p) for p in paths],
                            f"{len(paths)} images of {image_folder} with attributes from {attributes_file}", paths)


def synthetic_face_set(num_images=SYNTHETIC_ATTRIBUTE_IMAGES, seed=0, image_size=64):
    """Return an AttributeFaceSet of the built-in synthetic faces (attributes known by construction)."""
    faces = generate_synthetic_faces(num_images, seed=seed, image_size=image_size)
    return AttributeFaceSet(faces.images, faces.attributes, list(faces.attribute_names), list(faces.filenames),
                            f"{num_images} synthetic faces (seed {seed})")


def npz_face_set(path, framing, split="train", num_images=None):
    """Return an AttributeFaceSet of the (already framed) faces of an npz file (data.npz_faces), resized if needed."""
    faces = read_npz_faces(path, split)
    if faces.attributes is None:
        raise DataError(f"{path} has no 'attributes' array to compute attribute vectors from")
    count = len(faces) if not num_images else min(int(num_images), len(faces))
    names = [str(n) for n in faces.filenames[:count]] if faces.filenames is not None else \
        [f"{i:06d}" for i in range(count)]
    return AttributeFaceSet(resize_pixels(faces.images[:count], framing), faces.attributes[:count],
                            list(faces.attribute_names), names, f"{count} faces of {faces.description}")


def tfds_celeb_a_face_set(data_dir, framing, batch_size=128, split="train", num_images=None):
    """Return an AttributeFaceSet of TFDS ``celeb_a`` prepared in ``data_dir`` (data.tfds_celeb_a; never downloads).

    Attributes come in CelebA's official order; the faces are framed by ``framing`` and streamed.
    """
    celeb_a = open_celeb_a(data_dir, split, limit=num_images)
    attributes = np.concatenate([labels for labels in celeb_a.faces.map(lambda image, labels: labels)
                                 .batch(1024).as_numpy_iterator()] or [np.zeros((0, 40), np.int8)])
    if not len(attributes):
        raise DataError(f"TFDS celeb_a split {split!r} in {data_dir!r} is empty")
    images = celeb_a.faces.map(lambda image, labels: framing.frame(image), num_parallel_calls=tf.data.AUTOTUNE)
    filenames = [f"{split}_{i:06d}" for i in range(len(attributes))]
    return AttributeFaceSet(images.batch(batch_size).prefetch(2), attributes, celeb_a.attribute_names, filenames,
                            f"{len(attributes)} TFDS celeb_a {split} images from {celeb_a.location}")


def attribute_face_set(kind, vae, data_dir=None, attributes_file=None, split="train", num_images=None,
                       batch_size=128, seed=0, allow_missing=False):
    """Return the AttributeFaceSet of ``--dataset`` ``kind`` (folder or celeba, synthetic, npz, celeb_a)."""
    if kind == "synthetic":
        return synthetic_face_set(num_images or SYNTHETIC_ATTRIBUTE_IMAGES, seed=seed, image_size=vae.image_size)
    if kind == "npz":
        if not data_dir:
            raise DataError("--dataset=npz needs --data_dir, the .npz file")
        return npz_face_set(data_dir, vae.framing, split, num_images)
    if kind == "celeb_a":
        if not data_dir:
            raise DataError("--dataset=celeb_a needs --data_dir, the TFDS data_dir holding a prepared celeb_a")
        return tfds_celeb_a_face_set(data_dir, vae.framing, batch_size, split, num_images)
    return folder_face_set(data_dir, attributes_file, vae, batch_size, num_images, allow_missing)
