"""``GenerateOptions``: every setting of ``generate.py``, declared once (``facenet_vae.settings``).

Each field carries its default, help, allowed values and ``--help`` group; the flags are generated
from it (``settings.define_flags``) and ``settings.check_choices`` validates it. This module imports
no TensorFlow, so the command line is checked before TensorFlow loads.
"""
import dataclasses
from typing import Optional

from facenet_vae.data.sources import DATASETS
from facenet_vae.generation.attribute_directions import (ATTRIBUTE_VECTOR_METHOD_HELP, ATTRIBUTE_VECTOR_METHODS,
                                                         DEFAULT_ATTRIBUTE_VECTOR_METHOD)
from facenet_vae.generation.latent_distribution import SAMPLE_SOURCES
from facenet_vae.generation.latent_maths import INTERPOLATIONS
from facenet_vae.settings import setting

MODES = ("sample", "reconstruct", "interpolate", "attributes", "modify", "augment", "list_attributes", "projector")
AUGMENT_SAMPLINGS = ("identity", "posterior")
# Faces per mode when --num_images is not given (None: all); augment counts per identity.
DEFAULT_NUM_IMAGES = {"sample": 64, "reconstruct": 16, "modify": 8, "augment": 10, "attributes": None,
                      "projector": None}
SYNTHETIC_ATTRIBUTE_IMAGES = 2000   # --mode=attributes --dataset=synthetic without --num_images
VECTORS_FILE_NAME = "attribute_vectors.h5"


class OptionError(ValueError):
    """The options (the command line) ask for something impossible; generate.py exits with EXIT_USAGE."""


def _num_images_help():
    defaults = ", ".join(f"{mode} {count if count is not None else 'all'}" for mode, count in DEFAULT_NUM_IMAGES.items())
    return f"Number of faces; default per mode: {defaults} (synthetic attributes: {SYNTHETIC_ATTRIBUTE_IMAGES}). For augment: per identity."


@dataclasses.dataclass
class GenerateOptions:
    """Everything one ``generate.py`` run is configured with (the flags, by the same names)."""
    mode: str = setting("sample", "What to generate.", choices=MODES, group="generation")
    model: Optional[str] = setting(None, "Training run folder, model.keras file or exported SavedModel folder; "
                                   "unset: the trained CelebA model shipped with the package (preset celeba64).", group="model")
    output_dir: Optional[str] = setting(None, "Where files are written; unset: <run folder>/generated or "
                                        "./generated.", group="output")
    num_images: Optional[int] = setting(None, _num_images_help(), group="generation", minimum=1)
    seed: int = setting(0, "Random seed.", group="run")
    batch_size: int = setting(64, "Images per encoder/decoder batch.", group="run", minimum=1)
    temperature: float = setting(1.0, "Scale of the latent noise (sample, augment).", group="generation",
                                 minimum=0.0, finite=True)
    sample_from: str = setting("auto", "sample: fitted (a Gaussian fitted to the training faces' latents in the "
                               "model's attribute_vectors.h5), prior (facenet's N(0, I)) or auto (fitted when that file "
                               "exists, else prior).", choices=SAMPLE_SOURCES, group="generation")
    save_individual: bool = setting(False, "sample: also write each face as its own PNG.", group="output")
    data_dir: Optional[str] = setting(None, "Face folder (flat, or one sub-folder per identity); CelebA folder; "
                                      "the .npz with --dataset=npz; TFDS data_dir with --dataset=celeb_a.",
                                      group="data")
    attributes_file: Optional[str] = setting(None, "CelebA list_attr_celeba.txt-format attribute file.",
                                             group="data")
    dataset: Optional[str] = setting(None, "attributes: the face set, a data source as in train_vae.py; unset: "
                                     "folder (--data_dir + --attributes_file).", choices=DATASETS, group="data")
    split: str = setting("train", "attributes with --dataset=celeb_a or npz: the split (train, validation, test).",
                         group="data")
    allow_missing_images: bool = setting(False, "attributes: skip attribute rows whose image is not in --data_dir "
                                         "instead of failing.", group="data")
    image_a: Optional[str] = setting(None, "interpolate: first image file.", group="generation")
    image_b: Optional[str] = setting(None, "interpolate: second image file.", group="generation")
    latent_a: Optional[str] = setting(None, "interpolate: first latent vector (.npy).", group="generation")
    latent_b: Optional[str] = setting(None, "interpolate: second latent vector (.npy).", group="generation")
    num_steps: int = setting(10, "interpolate: decoded faces per strip, both ends included (the two input photos "
                             "are added at the ends).", group="generation", minimum=2)
    interpolation: str = setting("both", "interpolate: which strips to write.", choices=INTERPOLATIONS,
                                 group="generation")
    attribute_vectors_file: Optional[str] = setting(None, "HDF5 attribute vectors; unset: <output_dir>/"
                                                    f"{VECTORS_FILE_NAME} (or the one beside the model).", group="output")
    training_batch_norm: bool = setting(False, "attributes: encode with batch statistics, as facenet did "
                                        "(off: the moving averages).", group="generation")
    sample_latent: bool = setting(False, "attributes: store sampled latents mean + eps * std, as facenet did "
                                  "(off: the mean).", group="generation")
    attribute_vector_method: str = setting(DEFAULT_ATTRIBUTE_VECTOR_METHOD, "attributes: "
                                           + ATTRIBUTE_VECTOR_METHOD_HELP, choices=ATTRIBUTE_VECTOR_METHODS,
                                           group="generation")
    attribute: str = setting("Smiling", "modify: attribute name (e.g. Smiling) or index.", group="generation")
    image_indices: Optional[list] = setting(None, "modify: rows (numbers, or file names in its filenames) of the "
                                            "attribute vectors file to edit; unset: the first --num_images rows "
                                            "without the attribute, as facenet.", group="generation")
    images: Optional[list] = setting(None, "modify: your own image files to edit (encoded first). projector: face "
                                     "folders (flat or one sub-folder per identity) and/or image files.",
                                     group="data")
    k_min: float = setting(0.0, "modify: first amount of the attribute vector added (negative removes).",
                           group="generation", finite=True)
    k_max: float = setting(5.0, "modify: last amount of the attribute vector added (included).",
                           group="generation", finite=True)
    k_steps: int = setting(11, "modify: number of amounts from --k_min to --k_max, both included (k=0 is added "
                           "when the range spans it).", group="generation", minimum=1)
    facenet_k_sweep: bool = setting(False, "modify: facenet's sweep instead, k_min + (k_max - k_min) * i / k_steps "
                                    "for i < k_steps (k_max excluded, e.g. 0, 0.5, ..., 4.5).", group="generation")
    verbose: bool = setting(False, "Show TensorFlow's start-up and info logging.", group="run")
    augment_sampling: str = setting("identity", "augment: around the identity's mean code with its spread, or "
                                    "each image's posterior.", choices=AUGMENT_SAMPLINGS, group="generation")

    def resolved_num_images(self):
        """Return ``num_images`` or the mode's default (None: all images)."""
        return self.num_images if self.num_images is not None else DEFAULT_NUM_IMAGES.get(self.mode)
