"""facenet's data side: image folders, CelebA attribute files, decoding, synthetic faces and tf.data pipelines.

Public API (see each module):
    sources:   DATASETS, open_source (the one registry of face sources; one module per source)
    folders:   ImageClass, get_dataset, get_image_paths_and_labels, list_image_files, image_paths_from_folder
    celeba:    CelebAAttributes, read_attribute_file, write_attribute_file, match_attributes_to_images,
               find_celeba_files, find_partition_file, read_partition_file, load_celeba
    images:    decode_image, read_image, read_image_files, try_decode_image, diagnose_image_file, scan_images,
               checked_image_paths
    framing:   Framing (the crop + resize a model records and every consumer applies), training_framing
    synthetic: SyntheticFaces, generate_synthetic_faces, write_synthetic_dataset
    pipeline:  make_image_dataset, load_training_images (-> TrainingImages)

The names are imported from their modules on first use (PEP 562), so importing
``facenet_vae.data.sources`` for flag checking does not load TensorFlow.
"""
from facenet_vae.lazy import lazy_names

_MODULE_OF = {
    "DATASETS": "sources", "open_source": "sources",
    "CelebAAttributes": "celeba", "find_celeba_files": "celeba", "find_partition_file": "celeba",
    "load_celeba": "celeba", "match_attributes_to_images": "celeba", "read_attribute_file": "celeba",
    "read_partition_file": "celeba", "write_attribute_file": "celeba",
    "DataError": "errors", "DataWarning": "errors",
    "ImageClass": "folders", "get_dataset": "folders", "get_image_paths_and_labels": "folders",
    "image_paths_from_folder": "folders", "list_image_files": "folders",
    "Framing": "framing", "training_framing": "framing",
    "decode_image": "images", "diagnose_image_file": "images", "read_image": "images", "read_image_files": "images",
    "scan_images": "images", "try_decode_image": "images",
    "checked_image_paths": "images", "load_training_images": "pipeline", "make_image_dataset": "pipeline",
    "SyntheticFaces": "synthetic", "generate_synthetic_faces": "synthetic", "write_synthetic_dataset": "synthetic",
}

__all__ = sorted(_MODULE_OF)
__getattr__, __dir__ = lazy_names(__name__, {name: f"facenet_vae.data.{module}" for name, module in _MODULE_OF.items()})
