"""One training run, from a ``TrainConfig`` to a run folder with checkpoints, grids and models.

``train_vae.py`` only turns flags into a ``TrainConfig``; everything else happens here so tests
and benchmarks drive the same code.
"""
import dataclasses
import math
import os
from typing import Optional

import keras
import tensorflow as tf
from absl import logging

from facenet_vae import distribute, run_folder
from facenet_vae.atomic_files import save_keras_model
from facenet_vae.batch_norm_calibration import recalibrate_batch_norm_on_batches
from facenet_vae.data import DATASETS, load_training_images
from facenet_vae.callbacks import TrainingMonitor
from facenet_vae.definitions import DEFAULT_VAE_DEF, VAE_DEFINITIONS, get_definition
from facenet_vae.layers import DEFAULT_WEIGHTS_INIT, WEIGHTS_INITS
from facenet_vae.model import DfcVae

LOSS_TYPES = ("PLAIN", "PERCEPTUAL")
MIXED_PRECISION = ("none", "float16", "bfloat16")
LEARNING_RATE_SCHEDULES = ("cosine", "exponential")
COSINE_WARMUP_FRACTION = 0.02
RECALIBRATION_BATCHES = 32  # of --batch_size images: enough for stable statistics, seconds on a CPU


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run is configured with (flag names follow facenet's train_vae.py)."""
    vae_def: str = DEFAULT_VAE_DEF
    latent_var_size: int = 100
    dataset: Optional[str] = None          # None: synthetic without data_dir, else folder (or npz)
    data_dir: Optional[str] = None
    models_base_dir: str = "checkpoints"
    reconstruction_loss_type: str = "PERCEPTUAL"
    perceptual_model: str = "vgg19"
    perceptual_weights: str = "imagenet"
    loss_features: Optional[str] = None    # None: vgg123 for VGG, the three stem layers for facenet
    weights_init: str = DEFAULT_WEIGHTS_INIT  # "facenet": facenet's truncated normal(0.1)
    random_flip: bool = True               # False: facenet (no augmentation)
    recalibrate_batch_norm: bool = False   # True: re-estimate BN statistics with the final weights before saving
    alfa: float = 1.0
    beta: float = 0.5
    pixel_weight: Optional[float] = None   # None: beta in PLAIN mode (facenet), 0 in PERCEPTUAL mode
    loss_reduction: str = "sum"
    max_nrof_steps: int = 50000
    save_every_n_steps: int = 1000
    summary_every_n_steps: int = 100
    batch_size: int = 128
    input_image_size: Optional[int] = None  # crop-or-pad size before resizing (None: facenet's 160); also the facenet net's input
    center_crop: bool = False
    cache: bool = False
    strict: bool = False
    num_synthetic: int = 4000
    tfds_download: bool = False
    initial_learning_rate: float = 0.001     # the peak of the cosine schedule; facenet: 0.0005, constant
    learning_rate_schedule: str = "cosine"   # "exponential": facenet's staircase decay (decay steps/factor)
    learning_rate_decay_steps: int = 1
    learning_rate_decay_factor: float = 1.0
    seed: int = 666
    deterministic: bool = False
    mixed_precision: str = "none"
    jit_compile: bool = False
    steps_per_execution: int = 1
    resume: Optional[str] = None
    run_name: Optional[str] = None         # fixed run folder name (needed by multi-worker runs)
    strategy: str = "default"
    cpu_replicas: int = 0
    export_saved_model: bool = True
    verbose: int = 1

    def validate(self):
        """Raise ValueError with a clear message for any value the run cannot use; returns self."""
        if self.vae_def not in VAE_DEFINITIONS:
            raise ValueError(f"--vae_def={self.vae_def!r} is unknown; choose one of {sorted(VAE_DEFINITIONS)}")
        positive = ["latent_var_size", "max_nrof_steps", "save_every_n_steps", "summary_every_n_steps",
                    "batch_size", "learning_rate_decay_steps", "num_synthetic", "steps_per_execution"]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"--{name} must be a positive integer, got {value!r}")
        if self.input_image_size is not None and self.input_image_size < 8:
            raise ValueError(f"--input_image_size must be at least 8 pixels, got {self.input_image_size}")
        for name in ("alfa", "beta", "initial_learning_rate", "learning_rate_decay_factor"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"--{name} must be a finite non-negative number, got {value!r}")
        if self.pixel_weight is not None and (not math.isfinite(self.pixel_weight) or self.pixel_weight < 0):
            raise ValueError(f"--pixel_weight must be a finite non-negative number, got {self.pixel_weight!r}")
        if self.learning_rate_schedule not in LEARNING_RATE_SCHEDULES:
            raise ValueError(f"--learning_rate_schedule must be one of {LEARNING_RATE_SCHEDULES}, "
                             f"got {self.learning_rate_schedule!r}")
        if self.weights_init not in WEIGHTS_INITS:
            raise ValueError(f"--weights_init must be one of {WEIGHTS_INITS}, got {self.weights_init!r}")
        if self.reconstruction_loss_type not in LOSS_TYPES:
            raise ValueError(f"--reconstruction_loss_type must be one of {LOSS_TYPES}, "
                             f"got {self.reconstruction_loss_type!r}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"--mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}")
        if self.strategy not in distribute.STRATEGIES:
            raise ValueError(f"--strategy must be one of {distribute.STRATEGIES}, got {self.strategy!r}")
        if not isinstance(self.cpu_replicas, int) or self.cpu_replicas < 0:
            raise ValueError(f"--cpu_replicas must be a non-negative integer, got {self.cpu_replicas!r}")
        if self.strategy == "multi_worker" and not (self.run_name or self.resume):
            raise ValueError("--strategy=multi_worker needs --run_name (the same on every worker) or --resume, "
                             "so that all workers agree on the run folder")
        if self.run_name is not None and (not self.run_name or os.sep in self.run_name or
                                          self.run_name in (".", "..")):
            raise ValueError(f"--run_name must be a plain folder name, got {self.run_name!r}")
        if self.loss_reduction not in ("sum", "mean"):
            raise ValueError(f"--loss_reduction must be 'sum' (facenet) or 'mean', got {self.loss_reduction!r}")
        if self.resolved_dataset() not in DATASETS:
            raise ValueError(f"--dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.resolved_dataset() != "synthetic" and not self.data_dir:
            raise ValueError(f"--dataset={self.resolved_dataset()} needs --data_dir")
        if self.reconstruction_loss_type == "PERCEPTUAL":
            from facenet_vae.feature_networks import FEATURE_NETWORKS, resolve_layer_names
            if self.perceptual_model not in FEATURE_NETWORKS:
                raise ValueError(f"--perceptual_model must be one of {FEATURE_NETWORKS}, "
                                 f"got {self.perceptual_model!r}")
            resolve_layer_names(self.perceptual_model, self.resolved_loss_features())
        return self

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
        return "Conv2d_1a_3x3,Conv2d_2a_3x3,Conv2d_2b_3x3" if self.perceptual_model == "facenet" else "vgg123"

    def resolved_pixel_weight(self):
        """Return the pixel-term weight: the flag, else facenet's (beta in PLAIN, 0 in PERCEPTUAL)."""
        if self.pixel_weight is not None:
            return float(self.pixel_weight)
        return float(self.beta) if self.reconstruction_loss_type == "PLAIN" else 0.0


def set_precision_policy(mixed_precision):
    """Set Keras' global dtype policy for ``none|float16|bfloat16``; returns the policy name."""
    name = {"none": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}[mixed_precision]
    keras.mixed_precision.set_global_policy(name)
    return name


def make_learning_rate_schedule(config):
    """Return the learning-rate schedule: cosine (warm-up, then decay to 0 at max_nrof_steps) or facenet's exponential.

    ``cosine`` rises linearly from 0 to ``initial_learning_rate`` over the first 2% of the steps and
    falls to 0 at ``max_nrof_steps``: for a fixed budget the weights settle at the end instead of
    still moving at full speed. ``exponential`` is facenet's staircase decay by
    ``learning_rate_decay_factor`` every ``learning_rate_decay_steps`` (constant with facenet's 1.0).
    """
    if config.learning_rate_schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            config.initial_learning_rate, config.learning_rate_decay_steps, config.learning_rate_decay_factor,
            staircase=True)
    warmup = max(1, round(COSINE_WARMUP_FRACTION * config.max_nrof_steps))
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(1, config.max_nrof_steps - warmup), alpha=0.0, warmup_target=config.initial_learning_rate,
        warmup_steps=warmup)


def make_optimizer(config):
    """Return facenet's Adam (TF1 epsilon) on ``make_learning_rate_schedule``, loss-scaled under float16."""
    schedule = make_learning_rate_schedule(config)
    # TF1's AdamOptimizer epsilon, which facenet trained with.
    optimizer = keras.optimizers.Adam(learning_rate=schedule, epsilon=1e-8)
    if config.mixed_precision == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_feature_extractor(config, image_size):
    """Return the frozen feature network for PERCEPTUAL runs, or None for PLAIN."""
    if config.reconstruction_loss_type != "PERCEPTUAL":
        return None
    from facenet_vae.feature_networks import build_feature_extractor
    return build_feature_extractor(
        config.perceptual_model, config.resolved_loss_features(), weights=config.perceptual_weights,
        input_image_size=config.input_image_size or 160, image_size=image_size)


def load_data(config, image_size, run_dir, seed):
    """Return the ``data.TrainingImages`` (batches, description, count, framing) of the configured source."""
    return load_training_images(
        config.resolved_dataset(), config.data_dir, image_size=image_size,
        input_image_size=config.input_image_size, batch_size=config.batch_size,
        seed=seed, cache=config.cache, center_crop=config.center_crop, strict=config.strict,
        bad_files_log=os.path.join(run_dir, "bad_files.txt"), tfds_download=config.tfds_download,
        num_synthetic=config.num_synthetic, random_flip=config.random_flip)


def _open_run(config, chief=True):
    if config.resume:
        run_dir = os.path.expanduser(config.resume)
        stored = run_folder.read_model_config(run_dir)
        requested = {"vae_def": config.vae_def, "latent_var_size": config.latent_var_size}
        if {key: stored[key] for key in requested} != requested:
            raise run_folder.RunFolderError(
                f"--resume={run_dir} holds a {stored['vae_def']} model with latent size "
                f"{stored['latent_var_size']}, but this run asks for {config.vae_def} with latent size "
                f"{config.latent_var_size}")
        return run_dir
    if config.run_name:
        run_dir = os.path.join(os.path.expanduser(config.models_base_dir), config.run_name)
        if chief and run_folder.is_run_folder(run_dir):
            raise run_folder.RunFolderError(f"{run_dir} already holds a run; continue it with --resume={run_dir}")
        os.makedirs(run_dir, exist_ok=True)
        return run_dir
    return run_folder.create_run_folder(config.models_base_dir)


def train(config):
    """Run training as configured; returns the run folder path."""
    config.validate()
    # The strategy comes first: logical CPU devices must be set up before TensorFlow starts.
    strategy = distribute.make_strategy(config.strategy, config.cpu_replicas)
    replicas = strategy.num_replicas_in_sync
    if config.batch_size % replicas:
        raise ValueError(f"--batch_size={config.batch_size} (the global batch) must be divisible by the "
                         f"{replicas} replicas in sync")
    chief = distribute.is_chief(strategy)
    set_precision_policy(config.mixed_precision)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()

    run_dir = _open_run(config, chief)
    write_dir = distribute.worker_folder(run_dir, strategy)
    os.makedirs(write_dir, exist_ok=True)
    if chief:
        run_folder.write_arguments(run_dir, dataclasses.asdict(config), append=bool(config.resume))
    logging.info("run folder: %s; strategy: %s", run_dir, distribute.describe(strategy))

    definition = get_definition(config.vae_def)
    with strategy.scope():
        model = DfcVae(config.vae_def, config.latent_var_size, synchronized_batch_norm=replicas > 1,
                       weights_init=config.weights_init)
        model.build()
        feature_extractor = make_feature_extractor(config, definition.image_size)
        optimizer = make_optimizer(config)
        model.compile(optimizer, alfa=config.alfa, beta=config.beta,
                      pixel_weight=config.resolved_pixel_weight(), feature_extractor=feature_extractor,
                      reduction=config.loss_reduction, sampling_seed=config.seed, jit_compile=config.jit_compile,
                      steps_per_execution=config.steps_per_execution)
        optimizer.build(model.trainable_variables)

    restore_from = run_folder.TrainingCheckpoints(run_dir, model, optimizer)
    checkpoints = restore_from if chief else run_folder.TrainingCheckpoints(write_dir, model, optimizer)
    start_step = 0
    if config.resume:
        prefix = restore_from.restore_latest(require=False)
        start_step = int(keras.ops.convert_to_numpy(optimizer.iterations)) if prefix else 0
        logging.info("resumed from %s at step %d", prefix or "(no checkpoint yet)", start_step)

    # A resumed run reshuffles with a different seed so it does not replay the first batches.
    training_images = load_data(config, definition.image_size, write_dir, config.seed + start_step)
    dataset = training_images.dataset
    model.framing = training_images.framing
    if chief:
        run_folder.write_model_config(run_dir, model)
    logging.info("data: %s; framing: %s; objective: %s", training_images.description,
                 training_images.framing.describe(), describe_objective(config))
    sample_images = next(iter(dataset))[:8]

    if start_step >= config.max_nrof_steps:
        logging.info("already at step %d >= max_nrof_steps %d", start_step, config.max_nrof_steps)
    else:
        monitor = TrainingMonitor(write_dir, checkpoints, config.save_every_n_steps, config.max_nrof_steps,
                                  sample_images, config.summary_every_n_steps,
                                  skip_nonfinite=config.mixed_precision == "float16", chief=chief)
        epochs = math.ceil(config.max_nrof_steps / config.save_every_n_steps)
        model.fit(dataset, epochs=epochs, steps_per_epoch=config.save_every_n_steps,
                  initial_epoch=start_step // config.save_every_n_steps, callbacks=[monitor],
                  verbose=config.verbose if chief else 0, shuffle=False)
    if chief:
        finish_run(run_dir, model, config, dataset)
    else:
        distribute.remove_worker_folder(write_dir, run_dir)
    return run_dir


def describe_objective(config):
    """Return a one-line description of the configured loss, for the log."""
    pixel = config.resolved_pixel_weight()
    if config.reconstruction_loss_type == "PLAIN":
        return f"PLAIN: {config.alfa} * KL + {pixel} * pixel ({config.loss_reduction} over batch)"
    text = (f"PERCEPTUAL: {config.alfa} * KL + {config.beta} * features[{config.perceptual_model}: "
            f"{config.resolved_loss_features()}, weights={config.perceptual_weights}]")
    if pixel:
        text += f" + {pixel} * pixel"
    return text + f" ({config.loss_reduction} over batch)"


def write_prior_samples(model, path, count=64, seed=0):
    """Decode ``count`` latents drawn from N(0, I) and write them as a grid PNG; returns ``path``."""
    from facenet_vae.generation.image_grid import put_images_on_grid, to_uint8_pixels, write_png
    latent = tf.random.stateless_normal((count, model.latent_var_size), seed=(seed, 0))
    return write_png(path, put_images_on_grid(to_uint8_pixels(model.decode(latent)), shape=(8, count // 8)))


def finish_run(run_dir, model, config, dataset=None):
    """Write the final ``model.keras`` (and the SavedModel when asked); returns the run folder.

    With ``config.recalibrate_batch_norm`` the saved model's batch-norm statistics are first
    re-estimated on ``RECALIBRATION_BATCHES`` batches of ``dataset`` with the final weights.
    """
    # The files users load hold a float32 model whatever precision training ran in.
    keras.mixed_precision.set_global_policy("float32")
    inference_model = DfcVae(model.vae_def, model.latent_var_size, framing=model.framing)
    inference_model.build()
    inference_model.set_weights(model.get_weights())
    if config.recalibrate_batch_norm and dataset is not None:
        used = recalibrate_batch_norm_on_batches(inference_model, dataset.take(RECALIBRATION_BATCHES), config.seed)
        logging.info("batch-norm statistics re-estimated on %d training images with the final weights", used)
    save_keras_model(inference_model, os.path.join(run_dir, "model.keras"))
    write_prior_samples(inference_model, os.path.join(run_dir, "samples.png"), seed=config.seed)
    if config.export_saved_model:
        from facenet_vae.export import export_saved_model
        export_saved_model(inference_model, os.path.join(run_dir, "saved_model"))
    return run_dir
