"""Keras callbacks of a training run: step checkpoints, grids, TensorBoard summaries, a NaN stop.

Why not Keras' own: ``ModelCheckpoint`` and ``BackupAndRestore`` write ``.keras``/``.weights.h5``
files without the optimizer's slot mapping tf.train checkpoints keep, do not refuse to save
non-finite state, and ``BackupAndRestore`` deletes its backup when training ends; Keras'
``TensorBoard`` callback counts batches from 0 in every ``fit`` call, so a resumed run would write
its scalars at the wrong steps; ``TerminateOnNaN`` stops without naming the last good checkpoint.
``TrainingMonitor`` does these with the optimizer's step; the progress line is ``progress.StepProgress``.
"""
import logging
import math

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from facenet_vae.image_grid import put_images_on_grid, to_uint8_pixels
from facenet_vae.training import run_folder
from facenet_vae.training.optimisation import current_learning_rate, loss_scale_of
from facenet_vae.training.run_folder import NonFiniteStateError

log = logging.getLogger(__name__)

PRIOR_SAMPLES = 16


def grid_png(pixels, shape):
    """Return PNG bytes of uint8 images put on a grid of ``shape`` (columns, rows), and the grid."""
    grid = put_images_on_grid(pixels, shape=shape)
    return tf.io.encode_png(np.asarray(grid, np.uint8)).numpy(), grid


class TrainingMonitor(keras.callbacks.Callback):
    """Every step: stop on a non-finite loss. Every ``save_every_n_steps``: checkpoint, grid, prior samples.

    ``vae`` is the ``DfcVae`` being trained (the callback's ``model`` is the trainer that wraps it).
    ``sample_images`` is a fixed normalised batch whose reconstructions are written as
    ``reconstructed_%06d.png`` (facenet wrote the training batch's reconstructions the same way);
    TensorBoard also gets decoded prior samples (fixed latents) at every save, and ``hparams``
    once at the start.
    """

    def __init__(self, run_dir, vae, checkpoints, save_every_n_steps, max_nrof_steps, sample_images,
                 summary_every_n_steps=100, skip_nonfinite=False, chief=True, hparams=None, seed=0):
        super().__init__()
        self.run_dir = run_dir
        self.vae = vae
        self.checkpoints = checkpoints
        self.save_every_n_steps = save_every_n_steps
        self.max_nrof_steps = max_nrof_steps
        self.sample_images = sample_images
        self.summary_every_n_steps = summary_every_n_steps
        self.skip_nonfinite = skip_nonfinite
        # Under multi-worker training every worker saves (the save is collective), but only the
        # chief writes images; a worker's ``run_dir`` is its temporary folder.
        self.chief = chief
        self.hparams = hparams
        self.prior_latents = tf.random.stateless_normal((PRIOR_SAMPLES, vae.latent_var_size), seed=(seed, 1))
        self.writer = tf.summary.create_file_writer(run_folder.join(run_dir, "logs"))
        self.last_saved_step = None

    def _step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_begin(self, logs=None):
        if self.chief and self.hparams:
            with self.writer.as_default():
                hparams_api.hparams(self.hparams)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        step = self._step()
        loss = float(np.ravel(logs.get("loss", 0.0))[0])
        if not math.isfinite(loss) and not self.skip_nonfinite:
            self.model.stop_training = True
            raise NonFiniteStateError(
                f"non-finite loss ({loss}) at step {step}; training stopped. "
                f"Last good checkpoint: {self.checkpoints.latest or 'none'} "
                "(resume from it with --resume=RUN_DIR, perhaps with a lower --initial_learning_rate)")
        if step % self.summary_every_n_steps == 0 or step % self.save_every_n_steps == 0:
            self._write_scalars(step, logs)
        if step % self.save_every_n_steps == 0 or step >= self.max_nrof_steps:
            self.save(step)
        if step >= self.max_nrof_steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        step = self._step()
        if self.last_saved_step != step:
            self.save(step)
        self.writer.flush()

    def _write_scalars(self, step, logs):
        with self.writer.as_default(step=step):
            for name, value in logs.items():
                tf.summary.scalar(f"loss/{name}" if "loss" in name else name, float(np.ravel(value)[0]))
            tf.summary.scalar("learning_rate", current_learning_rate(self.model.optimizer))
            scale = loss_scale_of(self.model.optimizer)
            if scale is not None:
                tf.summary.scalar("loss_scale", scale)

    def save(self, step):
        """Write a checkpoint, a reconstruction grid and prior samples for ``step``; returns the checkpoint prefix."""
        prefix = self.checkpoints.save(step)
        self.last_saved_step = step
        if not self.chief:
            return prefix
        reconstruction = self.vae(self.sample_images, training=False)
        pixels = np.concatenate([to_uint8_pixels(self.sample_images), to_uint8_pixels(reconstruction)])
        png, grid = grid_png(pixels, (len(self.sample_images), 2))
        run_folder.write_file(run_folder.join(self.run_dir, "reconstructed_%06d.png" % step), png)
        _, samples = grid_png(to_uint8_pixels(self.vae.decode(self.prior_latents)), (PRIOR_SAMPLES // 2, 2))
        with self.writer.as_default(step=step):
            tf.summary.image("input_and_reconstruction", grid[None], step=step)
            tf.summary.image("prior_samples", samples[None], step=step)
        self.writer.flush()
        log.info("step %d: saved %s", step, prefix)
        return prefix
