"""facenet's data side: image folders, CelebA attribute files, decoding, synthetic faces and tf.data pipelines.

Public API (see each module):
    folders:   ImageClass, get_dataset, get_image_paths_and_labels, list_image_files, image_paths_from_folder
    celeba:    CelebAAttributes, read_attribute_file, write_attribute_file, match_attributes_to_images,
               find_celeba_files, find_partition_file, read_partition_file, load_celeba
    images:    decode_image, read_image, read_image_files, try_decode_image, diagnose_image_file, scan_images
    framing:   Framing (the crop + resize a model records and every consumer applies), training_framing
    synthetic: SyntheticFaces, generate_synthetic_faces, write_synthetic_dataset
    pipeline:  make_image_dataset, load_training_images (-> TrainingImages), checked_image_paths
"""
from facenet_vae.data.celeba import (CelebAAttributes, find_celeba_files, find_partition_file, load_celeba,
                                     match_attributes_to_images, read_attribute_file, read_partition_file,
                                     write_attribute_file)
from facenet_vae.data.errors import DataError, DataWarning
from facenet_vae.data.folders import (ImageClass, get_dataset, get_image_paths_and_labels, image_paths_from_folder,
                                      list_image_files)
from facenet_vae.data.framing import Framing, training_framing
from facenet_vae.data.images import (decode_image, diagnose_image_file, read_image, read_image_files, scan_images,
                                     try_decode_image)
from facenet_vae.data.pipeline import (DATASETS, checked_image_paths, load_training_images, make_image_dataset)
from facenet_vae.data.synthetic import SyntheticFaces, generate_synthetic_faces, write_synthetic_dataset

__all__ = [
    "CelebAAttributes", "find_celeba_files", "find_partition_file", "read_partition_file", "load_celeba",
    "match_attributes_to_images", "read_attribute_file", "write_attribute_file", "DataError", "DataWarning",
    "ImageClass", "get_dataset", "get_image_paths_and_labels", "image_paths_from_folder", "list_image_files",
    "Framing", "training_framing", "decode_image", "diagnose_image_file", "read_image", "read_image_files",
    "scan_images",
    "try_decode_image", "DATASETS", "checked_image_paths", "load_training_images", "make_image_dataset",
    "SyntheticFaces", "generate_synthetic_faces", "write_synthetic_dataset",
]
