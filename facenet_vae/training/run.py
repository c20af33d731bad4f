"""One training run, from a ``TrainConfig`` to a run folder with checkpoints, grids and models.

``train_vae.py`` (``cli/train.py``) only turns flags into a ``TrainConfig``; everything else happens
here so tests and benchmarks drive the same code.
"""
import dataclasses
import logging
import math

import keras
import tensorflow as tf

from facenet_vae.data.pipeline import model_inputs, training_batches
from facenet_vae.data.sources import open_source
from facenet_vae.image_grid import to_uint8_pixels
from facenet_vae.model import DfcVae, get_definition
from facenet_vae.settings import RUN_FLAGS_FILE, flag_lines
from facenet_vae.training import distribute, run_folder, warm_start
from facenet_vae.training.adversary import Adversary
from facenet_vae.training.batch_norm_calibration import recalibrate_batch_norm_on_batches
from facenet_vae.training.callbacks import TrainingMonitor, grid_png
from facenet_vae.training.feature_networks import build_feature_extractor
from facenet_vae.training.objective import Objective
from facenet_vae.training.optimisation import make_optimizer, set_precision_policy
from facenet_vae.training.path_checks import check_paths
from facenet_vae.training.progress import StepProgress
from facenet_vae.training.step import VaeTrainer

log = logging.getLogger(__name__)

RECALIBRATION_BATCHES = 32  # of --batch_size images: enough for stable statistics, seconds on a CPU


def make_feature_extractor(config, image_size):
    """Return the frozen feature network for PERCEPTUAL runs, or None for PLAIN."""
    if config.reconstruction_loss_type != "PERCEPTUAL":
        return None
    return build_feature_extractor(
        config.perceptual_model, config.feature_layers(), weights=config.perceptual_weights,
        crop_size=config.resolved_crop_size(), image_size=image_size,
        facenet_input=config.facenet_input)


def make_objective(config, image_size):
    """Return the configured ``Objective`` (with its feature network for PERCEPTUAL runs)."""
    config.resolve_objective()
    return Objective(config.alfa, config.beta, config.pixel_weight, config.loss_reduction,
                     make_feature_extractor(config, image_size), config.pixel_space, config.feature_weights())


def make_adversary(config, image_size):
    """Return the ``Adversary`` (patch discriminator and its optimizer) for ``--adversarial_weight`` > 0, else None."""
    if not config.adversarial_weight:
        return None
    return Adversary(image_size, config.adversarial_weight, config.discriminator_learning_rate,
                     config.resolve_objective().loss_reduction,
                     config.adversarial_start_step)


def open_data_source(config, run_dir):
    """Return the configured face source (``data.sources``); its bad files are listed in the run folder."""
    return open_source(config.resolved_dataset(), config.data_dir, tfds_download=config.tfds_download,
                       num_synthetic=config.num_synthetic, strict=config.strict,
                       bad_files_log=run_folder.join(run_dir, "bad_files.txt"))


def load_data(config, source, image_size, seed):
    """Return the ``data.TrainingImages`` (batches, description, count, framing) of ``source``'s training faces."""
    return training_batches(
        source, image_size=image_size, crop_size=config.crop_size, batch_size=config.batch_size,
        seed=seed, cache=config.cache, center_crop=config.center_crop, random_flip=config.random_flip,
        crop_targets=config.feature_target == "crop")


def _open_run(config, chief=True):
    """Return ``(run folder, created)``: the folder to resume, or a new one (``created``: made by this call)."""
    if config.resume:
        run_dir = run_folder.expand(config.resume)
        if not run_folder.is_run_folder(run_dir) and tf.io.gfile.exists(run_folder.join(run_dir, RUN_FLAGS_FILE)):
            return run_dir, False   # stopped during start-up, before its model was built: _start begins it afresh
        stored = run_folder.read_model_config(run_dir)
        requested = {"vae_def": config.vae_def, "latent_var_size": config.latent_var_size}
        if {key: stored[key] for key in requested} != requested:
            raise run_folder.RunFolderError(
                f"--resume={run_dir} holds a {stored['vae_def']} model with latent size "
                f"{stored['latent_var_size']}, but this run asks for {config.vae_def} with latent size "
                f"{config.latent_var_size}")
        return run_dir, False
    if config.run_name:
        run_dir = run_folder.join(run_folder.expand(config.models_base_dir), config.run_name)
        if chief and run_folder.is_run_folder(run_dir):
            raise run_folder.RunFolderError(f"{run_dir} already holds a run; continue it with --resume={run_dir}")
        created = not tf.io.gfile.exists(run_dir)
        tf.io.gfile.makedirs(run_dir)
        return run_dir, created
    return run_folder.create_run_folder(config.models_base_dir), True


def train(config):
    """Run training as configured; returns the run folder path.

    A start that fails (bad data, missing weights, ...) removes the run folder it created.
    """
    check_paths(config.validate())   # a wrong path is named before the feature network or the data loads
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

    run_dir, created = _open_run(config, chief)
    try:
        session = _start(config, strategy, run_dir, chief)
    except BaseException:
        if created and chief:
            run_folder.remove_run_folder(run_dir)
        raise
    trainer, start_step, dataset, callbacks = session
    if start_step >= config.max_nrof_steps:
        log.info("already at step %d >= max_nrof_steps %d", start_step, config.max_nrof_steps)
    else:
        epochs = math.ceil(config.max_nrof_steps / config.save_every_n_steps)
        trainer.fit(dataset, epochs=epochs, steps_per_epoch=config.save_every_n_steps,
                    initial_epoch=start_step // config.save_every_n_steps, callbacks=callbacks, verbose=0,
                    shuffle=False)
    if chief:
        finish_run(run_dir, trainer.vae, config, dataset)
    else:
        distribute.remove_worker_folder(distribute.worker_folder(run_dir, strategy), run_dir)
    return run_dir


def _start(config, strategy, run_dir, chief):
    """Build model, objective and optimizer, restore a checkpoint, load the data; return what ``fit`` needs."""
    write_dir = distribute.worker_folder(run_dir, strategy)
    tf.io.gfile.makedirs(write_dir)
    if chief:   # first: a run stopped during start-up is continued (--resume) with these settings
        run_folder.write_arguments(run_dir, dataclasses.asdict(config), flag_lines(config, leave_out=("resume",)),
                                   append=bool(config.resume))
    log.info("run folder: %s; strategy: %s", run_dir, distribute.describe(strategy))
    definition = get_definition(config.vae_def)
    # The framing is the model's input contract: decided from the source before the model is built.
    source = open_data_source(config, write_dir)
    framing = source.recorded_framing(definition.image_size, crop_size=config.crop_size,
                                      center_crop=config.center_crop)
    with strategy.scope():
        vae = DfcVae(config.vae_def, config.latent_var_size, synchronized_batch_norm=strategy.num_replicas_in_sync > 1,
                     weights_init=config.weights_init, framing=framing)
        if chief:   # before the feature network, the data and the first save, which take a while
            run_folder.write_model_config(run_dir, vae)
        objective = make_objective(config, definition.image_size)
        optimizer = make_optimizer(config)
        adversary = make_adversary(config, definition.image_size)
        trainer = VaeTrainer(vae, objective, sampling_seed=config.seed, adversary=adversary)
        trainer.compile(optimizer, jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
        optimizer.build(vae.trainable_variables)

    if config.pretrained_model:   # a checkpoint of this run, restored below, replaces these weights
        warm_start.load_pretrained_weights(vae, config.pretrained_model)
    start_step = 0
    extras = adversary.checkpoint_items() if adversary is not None else None
    if config.resume:
        prefix = run_folder.TrainingCheckpoints(run_dir, vae, optimizer, extras=extras).restore_latest(require=False)
        start_step = int(keras.ops.convert_to_numpy(optimizer.iterations)) if prefix else 0
        if prefix:
            log.info("resumed from %s at step %d", prefix, start_step)
        else:
            log.warning("--resume=%s has no checkpoint yet (the run stopped before its first save): starting it "
                        "at step 0", run_dir)
    saved_optimizer = optimizer if config.keep_optimizer else None
    checkpoints = run_folder.TrainingCheckpoints(write_dir, vae, saved_optimizer, extras=extras)

    # A resumed run reshuffles with a different seed so it does not replay the first batches.
    training_images = load_data(config, source, definition.image_size, config.seed + start_step)
    dataset = training_images.dataset
    if training_images.framing != vae.framing:
        raise RuntimeError(f"the data was framed by {training_images.framing.describe()}, but the model was built "
                           f"for {vae.framing.describe()}")
    log.info("data: %s; framing: %s; objective: %s", training_images.description,
                 training_images.framing.describe(), describe_objective(config, objective))
    sample_images = next(iter(model_inputs(dataset)))[:8]
    hparams = {name: value for name, value in dataclasses.asdict(config).items()
               if isinstance(value, (bool, int, float, str))}
    callbacks = [TrainingMonitor(write_dir, vae, checkpoints, config.save_every_n_steps, config.max_nrof_steps,
                                 sample_images, config.summary_every_n_steps,
                                 skip_nonfinite=config.mixed_precision == "float16", chief=chief, hparams=hparams,
                                 seed=config.seed)]
    if chief and config.verbose:
        callbacks.append(StepProgress(objective, config.batch_size, config.max_nrof_steps, start_step,
                                      config.verbose, line_every=config.save_every_n_steps))
    return trainer, start_step, dataset, callbacks


def describe_objective(config, objective):
    """Return a one-line description of the configured loss, for the log."""
    text = f"{config.reconstruction_loss_type}: {objective.describe()}"
    if config.adversarial_weight:
        text += f" + {config.adversarial_weight} * adversarial (patch discriminator, hinge)"
    if objective.feature_network is not None:
        fed = f", fed {config.facenet_input}" if config.perceptual_model == "facenet" else ""
        text += f" [{config.perceptual_model}, weights={config.perceptual_weights}{fed}]"
    return text


def write_prior_samples(model, path, count=64, seed=0):
    """Decode ``count`` latents drawn from N(0, I) and write them as a grid PNG; returns ``path``."""
    latent = tf.random.stateless_normal((count, model.latent_var_size), seed=(seed, 0))
    png, _ = grid_png(to_uint8_pixels(model.decode(latent)), (8, count // 8))
    return run_folder.write_file(path, png)


def finish_run(run_dir, model, config, dataset=None):
    """Write the final ``model.keras`` (and the SavedModel when asked); returns the run folder.

    With ``config.recalibrate_batch_norm`` the saved model's batch-norm statistics are first
    re-estimated on ``RECALIBRATION_BATCHES`` batches of ``dataset`` with the final weights.
    """
    # The files users load hold a float32 model whatever precision training ran in.
    keras.mixed_precision.set_global_policy("float32")
    inference_model = DfcVae(model.vae_def, model.latent_var_size, framing=model.framing)
    inference_model.set_weights(model.get_weights())
    if config.recalibrate_batch_norm and dataset is not None:
        used = recalibrate_batch_norm_on_batches(inference_model, model_inputs(dataset).take(RECALIBRATION_BATCHES),
                                                  config.seed)
        log.info("batch-norm statistics re-estimated on %d training images with the final weights", used)
    run_folder.save_model_file(inference_model, run_folder.join(run_dir, "model.keras"))
    write_prior_samples(inference_model, run_folder.join(run_dir, "samples.png"), seed=config.seed)
    if config.export_saved_model:
        # Imported only when asked for: the export package (and its converters) is not needed to train.
        from facenet_vae.export import export_saved_model  # noqa: PLC0415
        export_saved_model(inference_model, run_folder.join(run_dir, "saved_model"))
    return run_dir
