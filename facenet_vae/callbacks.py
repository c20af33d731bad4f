"""Keras callbacks of a training run: step checkpoints, reconstruction grids, TensorBoard, NaN guard."""
import math
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae.generation.image_grid import put_images_on_grid, to_uint8_pixels, write_png
from facenet_vae.run_folder import NonFiniteStateError


def current_learning_rate(optimizer):
    """Return the optimizer's learning rate at its current iteration as a float."""
    learning_rate = optimizer.learning_rate
    if callable(learning_rate):
        learning_rate = learning_rate(optimizer.iterations)
    return float(keras.ops.convert_to_numpy(learning_rate))


def loss_scale_of(optimizer):
    """Return the dynamic loss scale of a LossScaleOptimizer, or None for a plain optimizer."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return float(keras.ops.convert_to_numpy(optimizer.dynamic_scale))
    return None


class TrainingMonitor(keras.callbacks.Callback):
    """Every step: stop on a non-finite loss. Every ``save_every_n_steps``: checkpoint, grid, summaries.

    ``sample_images`` is a fixed normalised batch whose reconstructions are written as
    ``reconstructed_%06d.png`` (facenet wrote the training batch's reconstructions the same way).
    """

    def __init__(self, run_dir, checkpoints, save_every_n_steps, max_nrof_steps, sample_images,
                 summary_every_n_steps=100, skip_nonfinite=False, chief=True):
        super().__init__()
        self.run_dir = run_dir
        self.checkpoints = checkpoints
        self.save_every_n_steps = save_every_n_steps
        self.max_nrof_steps = max_nrof_steps
        self.sample_images = sample_images
        self.summary_every_n_steps = summary_every_n_steps
        self.skip_nonfinite = skip_nonfinite
        # Under multi-worker training every worker saves (the save is collective), but only the
        # chief writes images; a worker's ``run_dir`` is its temporary folder.
        self.chief = chief
        self.writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs"))
        self.last_saved_step = None

    def _step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        step = self._step()
        loss = float(logs.get("loss", 0.0))
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
                tf.summary.scalar(f"loss/{name}" if "loss" in name else name, float(value))
            tf.summary.scalar("learning_rate", current_learning_rate(self.model.optimizer))
            scale = loss_scale_of(self.model.optimizer)
            if scale is not None:
                tf.summary.scalar("loss_scale", scale)

    def save(self, step):
        """Write a checkpoint and a reconstruction grid for ``step``; returns the checkpoint prefix."""
        prefix = self.checkpoints.save(step)
        self.last_saved_step = step
        if not self.chief:
            return prefix
        reconstruction = self.model(self.sample_images, training=False)
        pixels = np.concatenate([to_uint8_pixels(self.sample_images), to_uint8_pixels(reconstruction)])
        columns = len(self.sample_images)
        grid = put_images_on_grid(pixels, shape=(columns, 2))
        write_png(os.path.join(self.run_dir, "reconstructed_%06d.png" % step), grid)
        with self.writer.as_default(step=step):
            tf.summary.image("input_and_reconstruction", grid[None], step=step)
        self.writer.flush()
        logging.info("step %d: saved %s", step, prefix)
        return prefix
