"""What every face source gives (``FaceSource``) and the containers it gives it in.

``TrainingFaces``: the images training streams. ``SplitFaces``: uint8 training and held-out faces
(CelebA's partition when known, else a seeded 80/20 split). ``LabelledFaces``: faces with
attributes for attribute vectors.
"""
import dataclasses
import warnings
from typing import Optional

import numpy as np

from facenet_vae.data.errors import DataError, DataWarning
from facenet_vae.data.framing import Framing, resize_pixels, training_framing

HELD_OUT_FRACTION = 0.2


@dataclasses.dataclass
class TrainingFaces:
    """The images a training run streams: ``images`` (file paths, a uint8 (N, H, W, 3) array or a tf.data
    of uint8 images), what they are, how many, the framing the model records and the one the pipeline applies."""
    images: object
    description: str
    count: int
    recorded_framing: Framing
    applied_framing: Framing


@dataclasses.dataclass
class SplitFaces:
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


@dataclasses.dataclass
class LabelledFaces:
    """Faces with attributes to encode: ``images`` (uint8 array, tf.data of pixel batches, or an iterable of
    uint8 batches), ``attributes`` (N, K) in {-1, 1}, ``names`` (K), ``filenames`` (N), ``description``,
    and the image ``paths`` when read from files (to name unreadable ones)."""
    images: object
    attributes: np.ndarray
    names: list
    filenames: list
    description: str
    paths: list = None


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


def limited_split(count, partition, seed, max_train, max_held_out, notes):
    """Return ``(train, held_out, split description)`` indices, each part cut to a seeded subset of its limit.

    A note is appended to ``notes`` when a part was cut.
    """
    train, held_out, split = split_indices(count, partition, seed)
    limited_train = _subsample(train, max_train, seed + 1)
    limited_held_out = _subsample(held_out, max_held_out, seed + 2)
    if len(limited_train) < len(train) or len(limited_held_out) < len(held_out):
        notes.append(f"a seeded random subset was used: {len(limited_train)} of {len(train)} training and "
                     f"{len(limited_held_out)} of {len(held_out)} held-out images")
    return limited_train, limited_held_out, split


def _subsample(indices, limit, seed):
    if limit is None or len(indices) <= limit:
        return indices
    return np.sort(np.random.default_rng(seed).choice(indices, size=limit, replace=False))


def split_framed_faces(images, attributes, names, partition, framing, description, seed, max_train, max_held_out,
                       notes=None, identities=None):
    """Return the ``SplitFaces`` of faces held in memory and framed already (only resized to ``framing``)."""
    notes = list(notes or [])
    train, held_out, split = limited_split(len(images), partition, seed, max_train, max_held_out, notes)
    if len(held_out) == 0:
        raise DataError(f"no held-out images in {description}")
    sizes = [tuple(int(v) for v in np.asarray(images).shape[1:3])]
    pick = lambda array, idx: None if array is None else np.asarray(array)[idx]  # noqa: E731
    return SplitFaces(
        train_images=resize_pixels(np.asarray(images)[train], framing),
        held_out_images=resize_pixels(np.asarray(images)[held_out], framing),
        train_attributes=pick(attributes, train), held_out_attributes=pick(attributes, held_out),
        attribute_names=None if names is None else [str(n) for n in names], description=description, split=split,
        original_sizes=sizes, resized=any(size != (framing.image_size, framing.image_size) for size in sizes),
        notes=notes, held_out_identities=pick(identities, held_out))


def warn_if_upsampled(framing, height, width, what):
    """Warn (DataWarning) when framing a ``height`` x ``width`` image enlarges it to the model's size."""
    if framing.upsamples(height, width):
        warnings.warn(f"{what} are {framing.crop_side(height, width)} px across, smaller than the model's "
                      f"{framing.image_size} px: they are upsampled, so the model learns blurry faces; use a "
                      f"model definition of their size", DataWarning, stacklevel=3)


class FaceSource:
    """A source of faces; ``open_source`` makes one. Subclasses override what they can give.

    Every source takes the same settings and uses those that apply to it: ``data_dir``,
    ``attributes_file`` and ``partition_file`` (CelebA lists), ``tfds_download``, ``num_synthetic``,
    ``strict`` / ``bad_files_log`` / ``progress`` (the up-front scan of image files) and
    ``allow_missing`` (attribute rows whose image is missing).
    """
    kind = None

    def __init__(self, data_dir=None, *, attributes_file=None, partition_file=None, tfds_download=False,
                 num_synthetic=4000, strict=False, bad_files_log=None, allow_missing=False, progress=True):
        if not data_dir and self.kind != "synthetic":
            raise DataError(f"dataset {self.kind!r} needs --data_dir, {self.needs}")
        self.data_dir = data_dir
        self.attributes_file, self.partition_file = attributes_file, partition_file
        self.tfds_download, self.num_synthetic = tfds_download, num_synthetic
        self.strict, self.bad_files_log, self.allow_missing, self.progress = strict, bad_files_log, allow_missing, progress

    needs = "the data"

    def recorded_framing(self, image_size, *, crop_size=None, center_crop=False):
        """Return the ``Framing`` a model trained on these faces records (decided before the model is built)."""
        return training_framing(self.kind, image_size, crop_size=crop_size, center_crop=center_crop)

    def training_faces(self, image_size, *, split="train", crop_size=None, center_crop=False, seed=None):
        """Return the ``TrainingFaces`` of ``split`` for a model of ``image_size``."""
        raise DataError(f"dataset {self.kind!r} cannot be trained on")

    def split_faces(self, framing, *, seed=0, max_train=None, max_held_out=None):
        """Return the ``SplitFaces`` (training and held-out parts) framed as ``framing`` says."""
        raise DataError(f"dataset {self.kind!r} has no training and held-out faces to evaluate on")

    def labelled_faces(self, framing, *, split="train", num_images=None, batch_size=128, seed=0):
        """Return the ``LabelledFaces`` of ``split`` (faces with attributes), framed as ``framing`` says."""
        raise DataError(f"dataset {self.kind!r} has no attributes")
