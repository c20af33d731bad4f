"""The one reader of ``.npz`` face files (training, evaluation and generation all use it).

An npz holds uint8 ``images`` (N, H, W, 3) framed already, and optionally ``attributes`` (N, A)
in {-1, 1}, ``attribute_names`` (A), ``celeba_partition`` (N; 0 train, 1 validation, 2 test),
``source_split`` (N; "train"/"test"), ``filenames`` (N), ``identities`` (N) and ``framing`` (a
JSON string: the ``Framing`` that made the faces from the original photos).
"""
import dataclasses
import os
from typing import Optional

import numpy as np

from facenet_vae.data.celeba import SPLITS
from facenet_vae.data.errors import DataError


@dataclasses.dataclass
class NpzFaces:
    """The arrays of one npz file (rows of a split when one was asked for)."""
    images: np.ndarray
    attributes: Optional[np.ndarray]
    attribute_names: Optional[list]
    partition: Optional[np.ndarray]
    filenames: Optional[np.ndarray]
    identities: Optional[np.ndarray]
    stored_framing: Optional[str]
    description: str

    def __len__(self):
        return len(self.images)


def as_rgb_uint8(images, where="images"):
    """Return ``images`` as uint8 (N, H, W, 3) RGB (grey repeated); DataError naming ``where`` otherwise."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(f"{where} must be uint8 pixels, got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape:
        raise DataError(f"{where} must have shape (N, H, W, 3), got {images.shape}")
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def read_npz_faces(path, split=None):
    """Return the ``NpzFaces`` of the npz file at ``path``; ``split`` (train | validation | test) keeps its rows.

    The split uses ``celeba_partition`` (else ``source_split``; else all rows, said in the
    description). Raises DataError naming the file for a missing, unreadable or malformed file.
    """
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise DataError(f"npz file {path!r} does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read npz file {path!r}: {error}") from error
    with archive:
        if "images" not in archive.files:
            raise DataError(f"{path!r} has no 'images' array (it has: {', '.join(archive.files) or 'nothing'})")
        images = as_rgb_uint8(archive["images"], f"'images' in {path!r}")
        optional = {key: archive[key] if key in archive.files else None
                    for key in ("attributes", "attribute_names", "celeba_partition", "source_split", "filenames",
                                "identities", "framing")}
    for key in ("attributes", "celeba_partition", "source_split", "filenames", "identities"):
        if optional[key] is not None and len(optional[key]) != len(images):
            raise DataError(f"{path!r}: '{key}' has {len(optional[key])} rows but there are {len(images)} images")
    attributes, names = optional["attributes"], optional["attribute_names"]
    if attributes is not None and not np.isin(attributes, (-1, 1)).all():
        raise DataError(f"{path!r}: 'attributes' must hold -1/1 values")
    if attributes is not None and names is None:
        names = np.array([f"attribute_{i}" for i in range(attributes.shape[1])])
    note = "all images"
    rows = None
    if split not in (None, "all"):
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use all, train, validation or test")
        if optional["celeba_partition"] is not None:
            rows, note = optional["celeba_partition"] == SPLITS[split], f"split {split} (celeba_partition)"
        elif optional["source_split"] is not None:
            wanted = "validation" if split == "val" else split
            rows, note = optional["source_split"].astype(str) == wanted, f"split {split} (source_split)"
        else:
            note = f"all images (no partition array for split {split})"
        if rows is not None and not rows.any():
            raise DataError(f"{path!r} has no images in split {split!r}")
    pick = (lambda array: array) if rows is None else (lambda array: None if array is None else array[rows])
    images = pick(images)
    return NpzFaces(
        images=images, attributes=pick(attributes), attribute_names=None if names is None else [str(n) for n in names],
        partition=pick(optional["celeba_partition"]), filenames=pick(optional["filenames"]),
        identities=pick(optional["identities"]),
        stored_framing=None if optional["framing"] is None else str(optional["framing"]),
        description=f"npz {path}, {note}: {len(images)} images")
