"""Step-based progress of a training run: step x / N, images/s, time left, per-image losses and the facenet sum."""
import sys
import time

import keras
import numpy as np

from facenet_vae.training.adversary import DISCRIMINATOR_TERM, GENERATOR_TERM

SHOWN_TERMS = ("loss", "kl_loss", "reconstruction_loss", GENERATOR_TERM)
PLAIN_LINE_SECONDS = 60   # verbose 1 without a terminal: a plain line at least this often


def format_duration(seconds):
    """Return ``1h02m``, ``3m05s`` or ``12s`` for a number of seconds."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class StepProgress(keras.callbacks.Callback):
    """Show training progress by optimizer step, not by Keras epoch.

    ``verbose`` 1: a ``keras.utils.Progbar`` over the steps on a terminal, and plain lines when
    ``stream`` is not one (output sent to a file: no colour codes or carriage returns), every
    ``line_every`` steps and at least every ``PLAIN_LINE_SECONDS``; 2 (and 3): one line per
    ``line_every`` steps. Each shows images/s and the time left, and the loss terms per image
    (``objective.per_image``) with the facenet-scale sum of the total beside them.
    """

    def __init__(self, objective, batch_size, max_nrof_steps, start_step, verbose=1, line_every=100,
                 stream=None):
        super().__init__()
        self.objective = objective
        self.batch_size = batch_size
        self.max_nrof_steps = max_nrof_steps
        self.start_step = start_step
        self.verbose = verbose
        self.line_every = line_every
        self.stream = stream or sys.stdout
        self.progbar = None
        self.started = None
        self.last_line = None

    def _step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_begin(self, logs=None):
        self.started = self.last_line = time.monotonic()
        if self.verbose == 1 and self.stream.isatty():   # Progbar draws on sys.stdout, the default stream
            names = [f"{name} per image" for name in SHOWN_TERMS] + ["images/s"]
            self.progbar = keras.utils.Progbar(self.max_nrof_steps, stateful_metrics=names, unit_name="step")
            self.progbar.update(self.start_step)

    def describe(self, step, logs):
        """Return ``(values, text)``: the per-image terms and images/s, and the one-line summary of ``step``."""
        values = {name: float(np.ravel(value)[0]) for name, value in logs.items()}
        per_image = self.objective.per_image({name: values[name] for name in SHOWN_TERMS if name in values},
                                             self.batch_size)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = step - self.start_step
        rate = done * self.batch_size / elapsed
        left = (self.max_nrof_steps - step) * elapsed / max(done, 1)
        shown = {f"{name} per image": value for name, value in per_image.items()}
        shown["images/s"] = rate
        text = (f"step {step}/{self.max_nrof_steps}  {rate:.1f} images/s  {format_duration(left)} left  "
                + "  ".join(f"{name.replace('_loss', '')}/image {value:.4g}" for name, value in per_image.items()))
        if DISCRIMINATOR_TERM in values:   # a mean over patches whatever the reduction
            shown["discriminator"] = values[DISCRIMINATOR_TERM]
            text += f"  discriminator {values[DISCRIMINATOR_TERM]:.4g}"
        if self.objective.reduction == "sum" and "loss" in values:
            text += f"  (loss summed over the batch {values['loss']:.4g})"
        return shown, text

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if not logs or self.verbose == 0:
            return
        shown, text = self.describe(step, logs)
        if self.progbar is not None:
            self.progbar.update(step, values=list(shown.items()), finalize=step >= self.max_nrof_steps)
        elif (step % self.line_every == 0 or step >= self.max_nrof_steps
              or (self.verbose == 1 and time.monotonic() - self.last_line >= PLAIN_LINE_SECONDS)):
            print(text, file=self.stream, flush=True)
            self.last_line = time.monotonic()
