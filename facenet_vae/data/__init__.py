"""facenet's data side: image folders, CelebA attribute files, decoding, synthetic faces and tf.data pipelines.

Public API (see each module):
    folders:   ImageClass, get_dataset, get_image_paths_and_labels, list_image_files, image_paths_from_folder
    celeba:    CelebAAttributes, read_attribute_file, write_attribute_file, match_attributes_to_images,
               find_celeba_files, find_partition_file, read_partition_file, load_celeba
    images:    decode_image, read_image, read_image_files, try_decode_image, diagnose_image_file, scan_images
    framing:   Framing (the crop + resize a model records and every consumer applies), training_framing
    synthetic: SyntheticFaces, generate_synthetic_faces, write_synthetic_dataset
    pipeline:  make_image_dataset, load_training_images (-> TrainingImages), checked_image_paths
    sources:   DATASETS (no TensorFlow)

Names are imported from their module on first use (PEP 562 ``__getattr__``), so that tools can read
``DATASETS`` and check their flags before TensorFlow loads.
"""
import importlib

_MODULE_OF = {
    "celeba": ("CelebAAttributes", "find_celeba_files", "find_partition_file", "load_celeba",
               "match_attributes_to_images", "read_attribute_file", "read_partition_file", "write_attribute_file"),
    "errors": ("DataError", "DataWarning"),
    "folders": ("ImageClass", "get_dataset", "get_image_paths_and_labels", "image_paths_from_folder",
                "list_image_files"),
    "framing": ("Framing", "training_framing"),
    "images": ("decode_image", "diagnose_image_file", "read_image", "read_image_files", "scan_images",
               "try_decode_image"),
    "pipeline": ("checked_image_paths", "load_training_images", "make_image_dataset"),
    "sources": ("DATASETS",),
    "synthetic": ("SyntheticFaces", "generate_synthetic_faces", "write_synthetic_dataset"),
}
_EXPORTS = {name: module for module, names in _MODULE_OF.items() for name in names}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    """Return a public name of the data package, importing its module on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'facenet_vae.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"facenet_vae.data.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
