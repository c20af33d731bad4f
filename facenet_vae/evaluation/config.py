"""What an evaluation run is configured with: each setting declared once (default, help, allowed values, group).

``facenet-vae-evaluate``'s flags are generated from these fields (``settings.define_flags``).
This module imports neither TensorFlow nor scikit-learn, so flags are checked before they load.
"""
import dataclasses
import math
from typing import Optional

from facenet_vae.data.sources import DATASETS
from facenet_vae.evaluation.editing import DEFAULT_EDIT_STRENGTH
from facenet_vae.generation.attribute_directions import (ATTRIBUTE_VECTOR_METHOD_HELP, ATTRIBUTE_VECTOR_METHODS,
                                                         DEFAULT_ATTRIBUTE_VECTOR_METHOD)
from facenet_vae.settings import check_choices, setting

DEFAULT_PCA_COMPONENTS = 100


@dataclasses.dataclass
class EvaluationConfig:
    """What to evaluate and how; the field names are the flags of ``facenet-vae-evaluate``."""
    model: Optional[str] = setting(
        None, "Training run folder (latest checkpoint), .keras file or SavedModel folder (default: the trained "
        "CelebA model shipped in checkpoints/celeba64).", group="model")
    data_dir: Optional[str] = setting(None, "The .npz file, image folder, CelebA download or TFDS data_dir.",
                                      group="data")
    dataset: Optional[str] = setting(
        None, "npz: a .npz with images (+ attributes, attribute_names, celeba_partition); folder: an image folder "
        "(flat or one sub-folder per identity); celeba: a CelebA download (img_align_celeba/ + "
        "list_attr_celeba.txt [+ list_eval_partition.txt]); celeb_a: tensorflow-datasets' prepared celeb_a in "
        "--data_dir (or a CelebA download); synthetic: the built-in synthetic faces. Default: npz for a .npz "
        "path, else folder.", choices=DATASETS, group="data")
    attributes_file: Optional[str] = setting(
        None, "list_attr_celeba.txt-format attributes for --dataset=folder (and to override the one found by "
        "--dataset=celeb_a).", group="data")
    partition_file: Optional[str] = setting(None, "list_eval_partition.txt giving the split of a folder's images.",
                                            group="data")
    max_train_images: Optional[int] = setting(
        None, "Use a seeded random subset of at most this many training images.", group="data", minimum=1)
    max_held_out_images: Optional[int] = setting(
        None, "Use a seeded random subset of at most this many held-out images.", group="data", minimum=1)
    edit_attributes: list = setting(["Smiling"], "Attributes whose editing success is measured.",
                                    group="evaluation")
    edit_strength: float = setting(DEFAULT_EDIT_STRENGTH, "k in z + k * attribute_vector (1.0: one class-mean gap).",
                                   group="evaluation", finite=True)
    edit_sweep: list = setting(
        ["0.5", "2.0"], "Further strengths k reported beside --edit_strength (k = 0, a plain decode/re-encode "
        "round trip, is always reported).", group="evaluation")
    attribute_vector_method: str = setting(DEFAULT_ATTRIBUTE_VECTOR_METHOD, "Editing: " + ATTRIBUTE_VECTOR_METHOD_HELP
                                           + " Estimated on the training split's latent means.",
                                           choices=ATTRIBUTE_VECTOR_METHODS, group="evaluation")
    color_attribute: str = setting("Smiling", "Attribute colouring the latent PCA figure.", group="evaluation")
    pca_components: int = setting(DEFAULT_PCA_COMPONENTS, "Principal components of the pixel baseline.",
                                  group="evaluation", minimum=1)
    num_figure_images: int = setting(32, "Held-out faces shown in the reconstruction figure.", group="evaluation",
                                     minimum=1)
    identity_metrics: bool = setting(
        True, "Judge identity (facenet-casia: cosine to the original, verification AUC, rank-1, identity kept by "
        "edits) and realism (Fréchet distances on FaceNet and pooled VGG16 features, LPIPS) of the model, "
        "PCA of the pixels and real photos. Fetches the networks on first use (facenet-vae-fetch all); "
        "not measured on synthetic faces.", group="evaluation")
    recalibrate_batch_norm: bool = setting(
        False, "Re-estimate batch-norm moving statistics on (up to 2000) training images before evaluating, for "
        "models holding facenet's moving averages, which lag the weights (a run still training, or trained with "
        "--norecalibrate_batch_norm); the reconstruction with the stored statistics is reported too. Keras models "
        "only.", group="evaluation")
    output_dir: str = setting("evaluation", "Where report.json, report.md and the figures are written.",
                              group="output")
    batch_size: int = setting(100, "Images per encoder/decoder batch.", group="run", minimum=1)
    seed: int = setting(0, "Seed for splits, subsets, prior samples and classifiers.", group="run")
    verbose: bool = setting(False, "Show TensorFlow's start-up and info logging.", group="run")

    def __post_init__(self):
        self.edit_attributes = [str(name) for name in self.edit_attributes]
        try:
            self.edit_sweep = [float(k) for k in self.edit_sweep]
        except (TypeError, ValueError):
            raise ValueError(f"--edit_sweep must be a comma-separated list of numbers, got {self.edit_sweep!r}") \
                from None

    def resolved_dataset(self):
        """Return the data set kind, inferred from ``data_dir`` when ``dataset`` is unset."""
        if self.dataset:
            return self.dataset
        return "npz" if str(self.data_dir).endswith(".npz") else "folder"

    def validate(self):
        """Raise ValueError naming the flag for values the run cannot use; returns self."""
        check_choices(self)
        if self.resolved_dataset() not in DATASETS:
            raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}; got {self.dataset!r}")
        if not self.data_dir and self.resolved_dataset() != "synthetic":
            raise ValueError("--data_dir is required (or --dataset=synthetic)")
        if not all(math.isfinite(k) for k in self.edit_sweep):
            raise ValueError(f"--edit_sweep must be finite numbers, got {self.edit_sweep}")
        return self
