"""Training run folders: ``models_base_dir/<YYYYmmdd-HHMMSS>/`` with config, checkpoints and outputs.

Layout of a run folder::

    arguments.txt         the flags the run was started (or resumed) with
    model_config.json     vae_def, latent_var_size, image_size and the framing: enough to rebuild and use the model
    checkpoints/          tf.train checkpoints ckpt-<step> (model, optimizer, loss scale), last 3 kept
    logs/                 TensorBoard summaries
    reconstructed_%06d.png
    model.keras, saved_model/   written at the end of training
"""
import datetime
import json
import os

import numpy as np
import tensorflow as tf

from facenet_vae.atomic_files import atomic_write
from facenet_vae.data.framing import Framing
from facenet_vae.model import DfcVae

CHECKPOINT_SUBDIR = "checkpoints"
MODEL_CONFIG_FILE = "model_config.json"
ARGUMENTS_FILE = "arguments.txt"


class RunFolderError(ValueError):
    """A run folder that is missing, incomplete or does not match what was asked for."""


def create_run_folder(models_base_dir, now=None):
    """Create and return a new, unshared ``<models_base_dir>/<YYYYmmdd-HHMMSS>[-N]`` folder.

    ``os.mkdir`` fails when the folder exists, so two runs started in the same second get
    different folders even when they race.
    """
    base = os.path.expanduser(models_base_dir)
    os.makedirs(base, exist_ok=True)
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        path = os.path.join(base, stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise RunFolderError(f"could not create a new run folder under {base}")


def write_arguments(run_dir, arguments, append=False):
    """Record the command-line arguments in ``arguments.txt`` (appended on resume); returns its path."""
    path = os.path.join(run_dir, ARGUMENTS_FILE)
    lines = "".join(f"{key}: {value}\n" for key, value in sorted(arguments.items()))
    previous = ""
    if append and os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            previous = handle.read() + "\n# resumed\n"
    return atomic_write(path, previous + lines)


def write_model_config(run_dir, model):
    """Write ``model_config.json`` for ``model``; returns its path."""
    config = {"vae_def": model.vae_def, "latent_var_size": model.latent_var_size,
              "image_size": model.image_size}
    if model.framing is not None:
        config["framing"] = model.framing.to_dict()
    return atomic_write(os.path.join(run_dir, MODEL_CONFIG_FILE), json.dumps(config, indent=2) + "\n")


def read_model_config(run_dir):
    """Return ``{vae_def, latent_var_size, framing}`` from a run folder's ``model_config.json``.

    ``framing`` is the recorded framing dict, or None for runs from before framings were recorded.
    """
    path = os.path.join(run_dir, MODEL_CONFIG_FILE)
    if not os.path.isfile(path):
        raise RunFolderError(f"{run_dir} is not a training run folder: {MODEL_CONFIG_FILE} is missing")
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
        framing = config.get("framing")
        if framing is not None:
            framing = Framing.from_dict(framing).to_dict()
        return {"vae_def": str(config["vae_def"]), "latent_var_size": int(config["latent_var_size"]),
                "framing": framing}
    except (ValueError, KeyError, TypeError) as error:
        raise RunFolderError(f"{path} is not a valid model config: {error}") from error


def is_run_folder(path):
    """Return True when ``path`` looks like a training run folder."""
    return os.path.isfile(os.path.join(path, MODEL_CONFIG_FILE))


def nonfinite_variable_names(variables):
    """Return the names of variables holding NaN or inf (empty list when all are finite)."""
    bad = []
    for variable in variables:
        value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            bad.append(getattr(variable, "path", None) or getattr(variable, "name", "?"))
    return bad


class NonFiniteStateError(RuntimeError):
    """Training produced NaN/inf; nothing non-finite is ever written to a checkpoint."""


class TrainingCheckpoints:
    """Step checkpoints of model + optimizer (incl. loss-scale state) in ``<run>/checkpoints``.

    tf.train writes a checkpoint's data and index first and only then atomically rewrites the
    ``checkpoint`` state file, so a process killed mid-save leaves the previous checkpoint as
    the latest complete one.
    """

    def __init__(self, run_dir, model, optimizer=None, max_to_keep=3):
        self.directory = os.path.join(run_dir, CHECKPOINT_SUBDIR)
        self.model = model
        self.optimizer = optimizer
        items = {"model": model}
        if optimizer is not None:
            items["optimizer"] = optimizer
        self.checkpoint = tf.train.Checkpoint(**items)
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=max_to_keep,
                                                  checkpoint_name="ckpt")

    @property
    def latest(self):
        """Return the prefix of the latest complete checkpoint, or None."""
        return self.manager.latest_checkpoint

    def save(self, step):
        """Save at ``step`` after checking every variable is finite; returns the checkpoint prefix."""
        variables = list(self.model.variables)
        if self.optimizer is not None:
            variables += list(self.optimizer.variables)
        bad = nonfinite_variable_names(variables)
        if bad:
            raise NonFiniteStateError(
                f"not saving step {step}: non-finite values in {', '.join(bad[:5])}"
                f"{' ...' if len(bad) > 5 else ''}; last good checkpoint: {self.latest or 'none'}")
        return self.manager.save(checkpoint_number=int(step))

    def restore_latest(self, require=True):
        """Restore the latest checkpoint; returns its prefix (None when there is none and not ``require``)."""
        latest = self.latest
        if latest is None:
            if require:
                raise RunFolderError(f"no checkpoint found in {self.directory}")
            return None
        status = self.checkpoint.restore(latest)
        if self.optimizer is None:
            status.expect_partial()
        else:
            status.assert_existing_objects_matched()
        return latest


def checkpoint_step(prefix):
    """Return the step number encoded in a ``.../ckpt-<step>`` prefix."""
    return int(os.path.basename(prefix).rsplit("-", 1)[1])


def load_model_from_run(run_dir):
    """Return ``(model, checkpoint_prefix)``: the model of a run folder with its latest checkpoint's weights."""
    config = read_model_config(run_dir)
    model = DfcVae(**config)
    model.build()
    checkpoints = TrainingCheckpoints(run_dir, model)
    prefix = checkpoints.restore_latest(require=True)
    return model, prefix
