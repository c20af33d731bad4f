"""``TrainConfig``: every setting of a training run, declared once (default, help, allowed values, group).

Flag names follow facenet's ``train_vae.py``. This module imports no TensorFlow: the command line is
checked (``settings.check_choices`` and ``TrainConfig.validate``) before TensorFlow loads.
"""
import dataclasses
import math
import os
from typing import Optional

from facenet_vae.data.sources import DATASETS, DEFAULT_CROP_SIZE, PHOTO_SOURCES
from facenet_vae.model.definitions import (DEFAULT_LATENT_VAR_SIZE, DEFAULT_VAE_DEF, DEFAULT_WEIGHTS_INIT, VAE_DEFINITIONS,
                                           WEIGHTS_INITS)
from facenet_vae.settings import check_choices, setting
from facenet_vae.training.feature_layers import resolve_layer_names
from facenet_vae.training.choices import (DEFAULT_VGG_LAYERS, FACENET_BETA, FACENET_EMBEDDING, FACENET_LOSS_REDUCTION,
                                          FACENET_INPUTS, FACENET_STEM_LAYERS, FEATURE_NETWORKS, FEATURE_TARGETS,
                                          LEARNING_RATE_SCHEDULES, LOSS_TYPES, MIXED_PRECISION, PIXEL_SPACES,
                                          RECIPE_BETA, RECIPE_LOSS_REDUCTION, RECIPE_PIXEL_WEIGHT, REDUCTIONS,
                                          STRATEGIES, VERBOSITY)


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run is configured with; ``train_vae.py``'s flags are generated from these fields."""
    # -- data
    dataset: Optional[str] = setting(
        None, "Data source; default: synthetic without --data_dir, npz for a .npz file, else a face folder.",
        choices=DATASETS, group="data")
    data_dir: Optional[str] = setting(
        None, "Aligned face folder (one sub-folder per identity), flat image folder, CelebA folder "
        "(img_align_celeba + list_attr_celeba.txt), TFDS data_dir or .npz file.", group="data")
    crop_size: Optional[int] = setting(
        None, "Centre crop-or-pad size of photos before the resize to the model size (default 160, facenet's; "
        "178x218 CelebA files get CelebA's face crop instead); also the facenet feature network's input size. "
        "Recorded with the model. facenet's name for it, --input_image_size, is accepted too.", group="data",
        minimum=8, alias="input_image_size")
    center_crop: bool = setting(False, "Take the usual CelebA 138x138 centre crop first.", group="data")
    random_flip: bool = setting(True, "Mirror half the training images left-right (facenet: off).", group="data")
    cache: bool = setting(False, "Cache decoded images in memory.", group="data")
    strict: bool = setting(False, "Refuse to train when the data has unreadable images.", group="data")
    num_synthetic: int = setting(4000, "Number of faces of the built-in synthetic set.", group="data", minimum=1)
    tfds_download: bool = setting(False, "Let tensorflow-datasets download celeb_a.", group="data")
    # -- model
    vae_def: str = setting(DEFAULT_VAE_DEF, "VAE definition (facenet's graphs).", choices=VAE_DEFINITIONS,
                           group="model")
    latent_var_size: int = setting(DEFAULT_LATENT_VAR_SIZE, "Dimensionality of the latent variable.", group="model", minimum=1)
    weights_init: str = setting(
        DEFAULT_WEIGHTS_INIT, "Initial kernels: fan_in (scaled to each layer's fan-in, PyTorch's default) or "
        "facenet (truncated normal, stddev 0.1).", choices=WEIGHTS_INITS, group="model")
    pretrained_model: Optional[str] = setting(
        None, "Start a new run from the weights of a trained model of the same --vae_def and --latent_var_size "
        "(a .keras file or a run folder), e.g. to fine-tune the shipped model with another objective; once the run has a "
        "checkpoint, --resume continues from it instead.", group="model")
    recalibrate_batch_norm: bool = setting(
        True, "Re-estimate batch-norm statistics with the final weights before saving model.keras (checkpoints keep "
        "the moving averages). --norecalibrate_batch_norm: facenet's 0.995 moving averages, which lag the weights: "
        "after 800 steps at a constant rate their faces were colour-shifted and less recognisable (docs/training.md).",
        group="model")
    # -- objective
    reconstruction_loss_type: str = setting(
        "PERCEPTUAL", "PLAIN: pixel loss; PERCEPTUAL: deep-feature loss (facenet's default).", choices=LOSS_TYPES,
        group="objective")
    facenet_objective: bool = setting(
        False, "facenet train_vae.py's objective: features alone (beta 0.5), summed over the batch (PLAIN: beta x "
        "pixel error), instead of the recipe's FaceNet-stem features (beta 0.06) + 1.67e-4 x pixel error per "
        "face. Explicit --beta, --pixel_weight, --loss_reduction still win.", group="objective")
    perceptual_model: str = setting("facenet", "Feature network of the PERCEPTUAL loss (facenet: its Inception-ResNet-v1 "
                                    "stem, facenet's choice).", choices=FEATURE_NETWORKS, group="objective")
    perceptual_weights: str = setting(
        "imagenet", "imagenet: the pretrained default (VGG: Keras' download/cache, for vgg16 else the registry's "
        "torchvision VGG16; facenet: the registry's facenet-msceleb, fetched on first use); a local weights file "
        "(.h5; facenet_keras.h5 or its stem for facenet); or random (tests only).", group="objective")
    loss_features: Optional[str] = setting(
        None, f"Comma-separated feature layers, or vgg123 / vgg345; default {DEFAULT_VGG_LAYERS} for VGG, "
        f"{','.join(FACENET_STEM_LAYERS)} for facenet.", group="objective")
    identity_weight: float = setting(
        0.0, "Weight of an identity term, 1 - cosine of the facenet-msceleb embeddings of each face and its "
        "reconstruction (identity consistency; facenet has none). Needs --perceptual_model=facenet and the "
        "full facenet-msceleb weights; the embedding joins the feature layers with this weight instead of "
        "--beta.", group="objective", minimum=0.0, finite=True)
    feature_layer_weights: Optional[str] = setting(
        None, "Comma-separated LAYER=WEIGHT pairs, e.g. Mixed_6a=10: feature layers weighted by their own factor "
        "instead of --beta; they join --loss_features (facenet has none). Deeper facenet-msceleb layers compare "
        "the parts of a face (eyes, nose, mouth) where the stem compares edges.", group="objective")
    adversarial_weight: float = setting(
        0.0, "Weight of an adversarial term: a spectrally normalised patch discriminator, trained alongside on the "
        "hinge loss, judges real faces against reconstructions (facenet has none; 0 leaves it out). It pays the "
        "decoder for detail that pixel and feature terms average away (docs/training.md).", group="objective",
        minimum=0.0, finite=True)
    adversarial_start_step: int = setting(
        500, "Step from which the VAE sees the adversarial term; before it the discriminator trains alone.",
        group="objective", minimum=0)
    discriminator_learning_rate: float = setting(
        0.0002, "Constant Adam learning rate of the discriminator (with --adversarial_weight).", group="objective",
        minimum=0.0, finite=True)
    feature_target: str = setting(
        "model_input", "What the feature loss compares the reconstruction with: model_input, the model-size input "
        "face resized to the feature network's input size (any source); crop, the photo's crop at "
        "--crop_size before the resize to the model size, as facenet's train_vae.py (facenet network, "
        "photo sources only).", choices=FEATURE_TARGETS, group="objective")
    facenet_input: str = setting(
        "normalized", "What the FaceNet feature network is fed: normalized, facenet train_vae.py's normalised images "
        "(each channel over its CelebA mean and stddev); fixed_standardization, (pixels - 127.5) / 128, the input "
        "of facenet's 2018 models (as the PyTorch quality peer feeds it).", choices=FACENET_INPUTS, group="objective")
    alfa: float = setting(1.0, "Kullback-Leibler divergence loss factor.", group="objective", minimum=0.0,
                          finite=True)
    beta: Optional[float] = setting(
        None, "Feature (PERCEPTUAL) loss factor; default 0.06 (the shipped model: 0.006), with --facenet_objective 0.5 (then also PLAIN's "
        "pixel weight).", group="objective", minimum=0.0, finite=True)
    pixel_weight: Optional[float] = setting(
        None, "Pixel loss factor; default 1.67e-4, with --facenet_objective beta in PLAIN mode and 0 in "
        "PERCEPTUAL mode.", group="objective", minimum=0.0, finite=True)
    pixel_space: str = setting(
        "pixels", "What the pixel term measures: pixels, facenet's squared error of 0..255 pixels (every channel "
        "alike); normalized, the squared error of facenet's normalised images (each channel over its stddev, as "
        "the PyTorch quality peer; a weight of 0.5 there is about 1.67e-4 in pixels).", choices=PIXEL_SPACES,
        group="objective")
    loss_reduction: Optional[str] = setting(
        None, "sum: facenet's sum over the batch; mean: per-sample mean. Default mean, with --facenet_objective "
        "sum.", choices=REDUCTIONS, group="objective")
    # -- optimisation
    batch_size: int = setting(128, "Images per batch (global batch under a strategy).", group="optimisation",
                              minimum=1)
    max_nrof_steps: int = setting(50000, "Number of training steps.", group="optimisation", minimum=1)
    initial_learning_rate: float = setting(
        0.0005, "Initial learning rate of the exponential schedule (facenet's), or the peak of the cosine "
        "schedule.", group="optimisation", minimum=0.0, finite=True)
    learning_rate_schedule: str = setting(
        "exponential", "exponential: facenet's staircase decay (--learning_rate_decay_steps, "
        "--learning_rate_decay_factor; constant by default); cosine: 2% warm-up, then cosine decay to 0 at "
        "--max_nrof_steps.",
        choices=LEARNING_RATE_SCHEDULES, group="optimisation")
    learning_rate_decay_steps: int = setting(1, "Steps between decays.", group="optimisation", minimum=1)
    learning_rate_decay_factor: float = setting(1.0, "Learning rate decay factor.", group="optimisation",
                                                minimum=0.0, finite=True)
    mixed_precision: str = setting("none", "float16 (with loss scaling) or bfloat16 compute on GPU; variables "
                                   "stay float32.", choices=MIXED_PRECISION, group="optimisation")
    jit_compile: bool = setting(False, "Compile the train step with XLA.", group="optimisation")
    steps_per_execution: int = setting(1, "Train steps per tf.function call.", group="optimisation", minimum=1)
    # -- run
    models_base_dir: str = setting("checkpoints", "Where run folders <YYYYmmdd-HHMMSS> are written.", group="run")
    run_name: Optional[str] = setting(
        None, "Fixed run folder name under models_base_dir (default: a timestamp; required, and the same on "
        "every worker, with --strategy=multi_worker).", group="run")
    resume: Optional[str] = setting(None, "Run folder to continue from its latest checkpoint.", group="run")
    save_every_n_steps: int = setting(1000, "Steps between checkpoints, image grids and prior samples.",
                                      group="run", minimum=1)
    summary_every_n_steps: int = setting(100, "Steps between TensorBoard scalars.", group="run", minimum=1)
    keep_optimizer: bool = setting(
        True, "Keep the optimizer state in checkpoints (needed to resume exactly); false: model only, about a "
        "third of the size (a resume then restarts Adam's moments).", group="run")
    export_saved_model: bool = setting(True, "Write <run>/saved_model at the end.", group="run")
    seed: int = setting(666, "Random seed.", group="run")
    deterministic: bool = setting(False, "Turn on TF op determinism (same seed -> same losses).", group="run")
    verbose: int = setting(1, "0 silent, 1 progress bar, 2 one line per save, 3 as 2 plus TensorFlow's own log.",
                           choices=VERBOSITY, group="run")
    # -- distribution
    strategy: str = setting("default", "tf.distribute strategy; --batch_size is the global batch.",
                            choices=STRATEGIES, group="distribution")
    cpu_replicas: int = setting(0, "Split the CPU into N logical devices (multi-replica runs without GPUs).",
                                group="distribution", minimum=0)

    def validate(self):
        """Raise ValueError naming the flag for any value the run cannot use; returns self. No TensorFlow."""
        check_choices(self)
        self.resolve_objective()
        if self.strategy == "multi_worker" and not (self.run_name or self.resume):
            raise ValueError("--strategy=multi_worker needs --run_name (the same on every worker) or --resume, "
                             "so that all workers agree on the run folder")
        if self.run_name is not None and (not self.run_name or os.sep in self.run_name or
                                          self.run_name in (".", "..")):
            raise ValueError(f"--run_name must be a plain folder name, got {self.run_name!r}")
        if self.resolved_dataset() != "synthetic" and not self.data_dir:
            raise ValueError(f"--dataset={self.resolved_dataset()} needs --data_dir")
        if self.reconstruction_loss_type == "PERCEPTUAL":
            self.feature_layers()
        elif self.feature_layer_weights:
            raise ValueError("--feature_layer_weights needs --reconstruction_loss_type=PERCEPTUAL")
        if self.identity_weight and (self.reconstruction_loss_type != "PERCEPTUAL"
                                     or self.perceptual_model != "facenet"):
            raise ValueError("--identity_weight needs --reconstruction_loss_type=PERCEPTUAL with "
                             "--perceptual_model=facenet (the embedding is facenet-msceleb's)")
        if self.feature_target == "crop":
            if self.reconstruction_loss_type != "PERCEPTUAL" or self.perceptual_model != "facenet":
                raise ValueError("--feature_target=crop needs --reconstruction_loss_type=PERCEPTUAL with "
                                 "--perceptual_model=facenet (the VGG networks take model-size images)")
            if self.resolved_dataset() not in PHOTO_SOURCES:
                raise ValueError(f"--feature_target=crop needs photos (folder, celeba, celeb_a); "
                                 f"--dataset={self.resolved_dataset()} holds faces at the model size already")
        return self

    def resolved_crop_size(self):
        """Return the side the facenet feature network's input is resized to (and the crop target's size)."""
        return self.crop_size or DEFAULT_CROP_SIZE

    def resolved_dataset(self):
        """Return the data set kind, inferring it from ``data_dir`` when ``dataset`` is unset."""
        if self.dataset:
            return self.dataset
        if not self.data_dir:
            return "synthetic"
        return "npz" if str(self.data_dir).endswith(".npz") else "folder"

    def resolved_loss_features(self):
        """Return the feature layer spec: the flag, or the default preset of the perceptual model."""
        if self.loss_features:
            return self.loss_features
        return ",".join(FACENET_STEM_LAYERS) if self.perceptual_model == "facenet" else DEFAULT_VGG_LAYERS

    def feature_layers(self):
        """Return the feature network's layer names: the loss features, plus those ``feature_weights`` weighs."""
        names = resolve_layer_names(self.perceptual_model, self.resolved_loss_features())
        return names + [name for name in self.feature_weights() if name not in names]

    def feature_weights(self):
        """Return ``{layer name: weight}`` for layers weighted other than by ``beta``: ``--feature_layer_weights``'
        layers and the identity term's embedding. Raises ValueError naming the flag for a bad pair."""
        weights = {}
        for pair in (self.feature_layer_weights or "").split(","):
            if not pair.strip():
                continue
            name, equals, value = pair.partition("=")
            try:
                weight = float(value) if equals else None
            except ValueError:
                weight = None
            if weight is None or not (math.isfinite(weight) and weight >= 0):
                raise ValueError(f"--feature_layer_weights: {pair.strip()!r} is not LAYER=WEIGHT with a weight >= 0")
            weights[resolve_layer_names(self.perceptual_model, [name])[0]] = weight
        if self.identity_weight:
            if FACENET_EMBEDDING in weights:
                raise ValueError("--feature_layer_weights: weigh the embedding with --identity_weight instead")
            weights[FACENET_EMBEDDING] = float(self.identity_weight)
        return weights

    def resolved_pixel_weight(self):
        """Return the pixel-term weight: the flag, else the recipe's, else (--facenet_objective) facenet's."""
        return float(self.resolve_objective().pixel_weight)

    def resolve_objective(self):
        """Fill the unset ``beta``, ``pixel_weight`` and ``loss_reduction`` from the recipe (or, with
        ``facenet_objective``, facenet's), so a run's flags.txt records them; returns self."""
        if self.beta is None:
            self.beta = FACENET_BETA if self.facenet_objective else RECIPE_BETA
        if self.loss_reduction is None:
            self.loss_reduction = FACENET_LOSS_REDUCTION if self.facenet_objective else RECIPE_LOSS_REDUCTION
        if self.pixel_weight is None:
            if not self.facenet_objective:
                self.pixel_weight = RECIPE_PIXEL_WEIGHT
            else:
                self.pixel_weight = self.beta if self.reconstruction_loss_type == "PLAIN" else 0.0
        return self
