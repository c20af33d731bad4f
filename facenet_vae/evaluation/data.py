"""Evaluation data: uint8 faces at the model's size, split into training and held-out parts, with attributes.

Held-out means CelebA's validation and test partitions (1 and 2) when the partition is known,
otherwise a seeded random 20% of the images.
"""
import dataclasses
import os
import warnings
from typing import Optional

import numpy as np
import tensorflow as tf

from facenet_vae.data.celeba import (find_celeba_files, find_partition_file, match_attributes_to_images,
                                     read_attribute_file, read_partition_file)
from facenet_vae.data.errors import DataError
from facenet_vae.data.folders import image_paths_from_folder
from facenet_vae.data.framing import resize_pixels
from facenet_vae.data.images import read_image_files
from facenet_vae.data.npz_faces import read_npz_faces
from facenet_vae.data.synthetic import generate_synthetic_faces
from facenet_vae.data.tfds_celeb_a import open_celeb_a

HELD_OUT_FRACTION = 0.2


@dataclasses.dataclass
class EvaluationData:
    """Training and held-out uint8 images (N, size, size, 3), attributes in {-1, 1} or None, and notes."""
    train_images: np.ndarray
    held_out_images: np.ndarray
    train_attributes: Optional[np.ndarray]
    held_out_attributes: Optional[np.ndarray]
    attribute_names: Optional[list]
    description: str
    split: str
    original_sizes: list = dataclasses.field(default_factory=list)
    resized: bool = False
    notes: list = dataclasses.field(default_factory=list)
    held_out_identities: Optional[np.ndarray] = None  # each held-out face's person, where the data name one

    @property
    def has_attributes(self):
        """Return True when both splits carry attribute labels."""
        return self.train_attributes is not None and self.attribute_names is not None

    def resize_note(self, image_size):
        """Return a sentence saying whether (and from which sizes) images were resized, or ''."""
        if not self.resized:
            return ""
        sizes = ", ".join(f"{h}x{w}" for h, w in self.original_sizes[:5])
        more = " ..." if len(self.original_sizes) > 5 else ""
        return f"images of size {sizes}{more} (HxW) were framed and resized to the model's {image_size}x{image_size}"


def split_indices(count, partition=None, seed=0):
    """Return ``(train_indices, held_out_indices, description)``.

    With a CelebA ``partition`` array: 0 is training, 1 and 2 are held out. Otherwise a seeded random
    80/20 split.
    """
    if partition is not None:
        partition = np.asarray(partition)
        train = np.flatnonzero(partition == 0)
        held_out = np.flatnonzero((partition == 1) | (partition == 2))
        if len(train) and len(held_out):
            return train, held_out, ("CelebA's official partition: 0 (train) for training, 1 (validation) and "
                                     "2 (test) held out")
    order = np.random.default_rng(seed).permutation(count)
    num_held_out = max(1, int(round(HELD_OUT_FRACTION * count))) if count > 1 else 0
    held_out, train = np.sort(order[:num_held_out]), np.sort(order[num_held_out:])
    why = "no partition given" if partition is None else "the partition lacks a training or held-out part"
    return train, held_out, f"seeded random 80/20 split (seed {seed}) because {why}"


def _subsample(indices, limit, seed):
    if limit is None or len(indices) <= limit:
        return indices
    return np.sort(np.random.default_rng(seed).choice(indices, size=limit, replace=False))


def _assemble(images, attributes, names, partition, framing, description, seed, max_train, max_held_out,
              original_sizes=None, notes=None, identities=None):
    train, held_out, split = split_indices(len(images), partition, seed)
    notes = list(notes or [])
    limited_train = _subsample(train, max_train, seed + 1)
    limited_held_out = _subsample(held_out, max_held_out, seed + 2)
    if len(limited_train) < len(train) or len(limited_held_out) < len(held_out):
        notes.append(f"a seeded random subset was used: {len(limited_train)} of {len(train)} training and "
                     f"{len(limited_held_out)} of {len(held_out)} held-out images")
    if len(limited_held_out) == 0:
        raise DataError(f"no held-out images in {description}")
    sizes = original_sizes if original_sizes is not None else [tuple(int(v) for v in np.asarray(images).shape[1:3])]
    resized = any(tuple(size) != (framing.image_size, framing.image_size) for size in sizes)
    pick = lambda array, idx: None if array is None else np.asarray(array)[idx]  # noqa: E731
    return EvaluationData(
        train_images=resize_pixels(np.asarray(images)[limited_train], framing),
        held_out_images=resize_pixels(np.asarray(images)[limited_held_out], framing),
        train_attributes=pick(attributes, limited_train), held_out_attributes=pick(attributes, limited_held_out),
        attribute_names=None if names is None else [str(n) for n in names], description=description, split=split,
        original_sizes=[tuple(s) for s in sizes], resized=resized, notes=notes,
        held_out_identities=pick(identities, limited_held_out))


def load_npz(path, framing, seed=0, max_train=None, max_held_out=None):
    """Return EvaluationData from a ``.npz`` of framed faces (``data.npz_faces``), resized to the model's size."""
    faces = read_npz_faces(path)
    notes = []
    if faces.attributes is not None and faces.attribute_names and faces.attribute_names[0] == "attribute_0":
        notes.append("the npz has no attribute_names; attributes are numbered")
    return _assemble(faces.images, faces.attributes, faces.attribute_names, faces.partition, framing,
                     faces.description, seed, max_train, max_held_out, notes=notes, identities=faces.identities)


def load_image_folder(folder, framing, attributes_file=None, partition_file=None, seed=0, max_train=None,
                      max_held_out=None, kind="folder"):
    """Return EvaluationData for an image folder (flat or FaceNet tree), with attributes from ``attributes_file``.

    With an attribute file only the images it lists are used (listed but missing images are
    skipped with a note); ``partition_file`` (``list_eval_partition.txt``) gives the split. The
    split and the ``max_*`` subsets are chosen before decoding, so only the images used are read.
    Photos are framed by the model's ``framing``, as in training.
    """
    notes = [f"framing (the model's): {framing.describe()}"]
    attributes, names = None, None
    if attributes_file:
        attrs = read_attribute_file(attributes_file)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            paths, attributes = match_attributes_to_images(attrs, folder, allow_missing=True)
        if caught:
            notes.append(f"{len(attrs) - len(paths)} images listed in {attributes_file} are not in the folder "
                         f"and were skipped")
        names = list(attrs.names)
        num_in_folder = len(image_paths_from_folder(folder))
        if num_in_folder > len(paths):
            notes.append(f"{num_in_folder - len(paths)} images in the folder are not listed in the attribute "
                         f"file and were left out")
    else:
        paths = image_paths_from_folder(folder)
        notes.append("no --attributes_file: only reconstruction and latent statistics are reported")
    paths = np.asarray(paths, dtype=object)
    partition = None
    if partition_file:
        table = read_partition_file(partition_file)
        partition = np.array([table.get(os.path.basename(p), -1) for p in paths])
        if (partition < 0).any():
            notes.append(f"{int((partition < 0).sum())} images are not in {partition_file} and were left out")
            keep = partition >= 0
            paths, partition = paths[keep], partition[keep]
            attributes = None if attributes is None else attributes[keep]
    train, held_out, split = split_indices(len(paths), partition, seed)
    limited_train = _subsample(train, max_train, seed + 1)
    limited_held_out = _subsample(held_out, max_held_out, seed + 2)
    if len(limited_train) < len(train) or len(limited_held_out) < len(held_out):
        notes.append(f"a seeded random subset was used: {len(limited_train)} of {len(train)} training and "
                     f"{len(limited_held_out)} of {len(held_out)} held-out images")
    parts, all_sizes = [], set()
    for indices in (limited_train, limited_held_out):
        images, kept, sizes = read_image_files(list(paths[indices]), framing)
        if len(kept) < len(indices):
            notes.append(f"{len(indices) - len(kept)} files could not be decoded and were skipped")
        all_sizes.update(sizes)
        parts.append((images, None if attributes is None else attributes[indices][kept]))
    if not len(parts[1][0]):
        raise DataError(f"no decodable held-out images in {folder!r}")
    total = len(parts[0][0]) + len(parts[1][0])
    return EvaluationData(
        train_images=parts[0][0], held_out_images=parts[1][0], train_attributes=parts[0][1],
        held_out_attributes=parts[1][1], attribute_names=names,
        description=f"{kind} {folder} ({total} images used)", split=split, original_sizes=sorted(all_sizes),
        resized=any(tuple(s) != (framing.image_size, framing.image_size) for s in all_sizes),
        notes=notes)


def load_celeba_download(data_dir, framing, attributes_file=None, partition_file=None, seed=0, max_train=None,
                         max_held_out=None):
    """Return EvaluationData for a CelebA download (``img_align_celeba/`` + ``list_attr_celeba.txt``).

    The partition comes from ``partition_file`` or a ``list_eval_partition.txt`` found beside the
    attribute file or in ``data_dir``; without one the split is a seeded 80/20.
    """
    folder, attributes_file = find_celeba_files(data_dir, attributes_file)
    if partition_file is None:
        partition_file = find_partition_file(data_dir, attributes_file)
    return load_image_folder(folder, framing, attributes_file, partition_file, seed, max_train, max_held_out,
                             kind="CelebA folder")


def is_celeba_download(data_dir):
    """Return True when ``data_dir`` holds a CelebA download (img_align_celeba/ and list_attr_celeba.txt)."""
    try:
        find_celeba_files(data_dir)
    except DataError:
        return False
    return True


def load_tfds_celeb_a(data_dir, framing, max_train=None, max_held_out=None):
    """Return EvaluationData from tensorflow-datasets' prepared ``celeb_a`` in ``data_dir`` (never downloads).

    Training: the ``train`` split; held out: ``validation+test``. ``max_*`` keep the first images of
    each split (read in file order). Photos are framed by the model's ``framing``.
    """
    def load(split, limit):
        celeb_a = open_celeb_a(data_dir, split, limit=limit)
        framed = celeb_a.faces.map(lambda image, labels: (framing.frame(image), labels),
                                   num_parallel_calls=tf.data.AUTOTUNE)
        images, labels = [], []
        for pixels, values in framed.batch(512).as_numpy_iterator():
            images.append(pixels)
            labels.append(values)
        size, count = framing.image_size, len(celeb_a.attribute_names)
        if not images:
            return np.zeros((0, size, size, 3), np.uint8), np.zeros((0, count), np.int8), celeb_a
        return np.concatenate(images), np.concatenate(labels), celeb_a

    train_images, train_labels, _ = load("train", max_train)
    held_images, held_labels, celeb_a = load("held_out", max_held_out)
    notes = [f"framing (the model's): {framing.describe()}"]
    if max_train or max_held_out:
        notes.append("the first images of each split were used (--max_train_images / --max_held_out_images)")
    return EvaluationData(
        train_images=train_images, held_out_images=held_images, train_attributes=train_labels,
        held_out_attributes=held_labels, attribute_names=celeb_a.attribute_names,
        description=f"tensorflow-datasets celeb_a in {celeb_a.location}",
        split="CelebA's official partition: train for training, validation and test held out",
        original_sizes=[(218, 178)], resized=True, notes=notes)


def load_synthetic(framing, seed=0, max_train=None, max_held_out=None, num_images=2000):
    """Return EvaluationData of the built-in synthetic faces (attributes known by construction), split 80/20."""
    faces = generate_synthetic_faces(num_images, seed=seed, image_size=framing.image_size)
    return _assemble(faces.images, faces.attributes, list(faces.attribute_names), None, framing,
                     f"{num_images} synthetic faces (seed {seed})", seed, max_train, max_held_out)
