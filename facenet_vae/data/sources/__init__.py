"""The one registry of face sources: training, evaluation and generation pick a source, a split and a batch size.

``open_source(kind, data_dir, ...)`` is the only place a ``--dataset`` name becomes a reader. Each
source is one object (``base.FaceSource``) that gives, from the same files:

    recorded_framing(image_size)  the framing a model trained on it records (decided before the build)
    training_faces(image_size)    the images training streams, with the framing the pipeline applies
    split_faces(framing)          uint8 training and held-out faces with attributes and identities
    labelled_faces(framing)       faces with CelebA-style attributes, for attribute vectors

The sources (one module each): ``folder`` (a flat folder or FaceNet tree, including a folder of
faces framed already at the model's size), ``celeba`` (a CelebA download), ``celeb_a``
(tensorflow-datasets), ``npz`` (framed faces in one file) and ``synthetic`` (drawn faces).

No TensorFlow here, so command-line tools can check flags before it loads.
"""
import importlib

from facenet_vae.data.errors import DataError
from facenet_vae.model.definitions import DEFAULT_CROP_SIZE  # noqa: F401 (re-exported; no TensorFlow)

# The one list of data sources; training, evaluation and generation name them the same way.
DATASETS = ("folder", "celeba", "celeb_a", "npz", "synthetic")
# The sources of photos, which the model's framing crops (npz and synthetic faces are at the model size already).
PHOTO_SOURCES = ("folder", "celeba", "celeb_a")

_SOURCE_CLASSES = {
    "folder": ("facenet_vae.data.sources.folder", "FolderSource"),
    "celeba": ("facenet_vae.data.sources.celeba_download", "CelebaDownloadSource"),
    "celeb_a": ("facenet_vae.data.sources.celeb_a", "TfdsCelebASource"),
    "npz": ("facenet_vae.data.sources.npz", "NpzSource"),
    "synthetic": ("facenet_vae.data.sources.synthetic", "SyntheticSource"),
}


def open_source(kind, data_dir=None, **options):
    """Return the ``FaceSource`` of ``--dataset`` ``kind`` reading ``data_dir``; the one dispatcher.

    ``options`` are the source's settings (``attributes_file``, ``partition_file``, ``tfds_download``,
    ``num_synthetic``, ``strict``, ``bad_files_log``, ``allow_missing``, ``progress``); each source
    takes them all and uses those that apply to it. ``celeb_a`` pointed at a CelebA download
    (``img_align_celeba/`` + ``list_attr_celeba.txt``) reads the download. Raises DataError for an
    unknown kind or a source that needs ``data_dir`` and has none.
    """
    if kind not in _SOURCE_CLASSES:
        raise DataError(f"unknown dataset {kind!r}; use one of {', '.join(DATASETS)}")
    if kind == "celeb_a" and data_dir:
        from facenet_vae.data.celeba import is_celeba_download  # noqa: PLC0415 (numpy only when a source opens)
        if is_celeba_download(data_dir):
            kind = "celeba"
    module, name = _SOURCE_CLASSES[kind]
    return getattr(importlib.import_module(module), name)(data_dir, **options)
