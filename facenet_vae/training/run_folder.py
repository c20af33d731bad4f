"""Training run folders: ``models_base_dir/<YYYYmmdd-HHMMSS>/`` with settings, checkpoints and outputs.

Layout of a run folder::

    arguments.txt         the settings the run was started (or resumed) with, readable
    flags.txt             the same as an absl flagfile: ``train_vae.py --flagfile=<run>/flags.txt`` repeats the run
    model_config.json     the model's get_config() (vae_def, latent_var_size, the framing): enough to rebuild and use it
    checkpoints/          tf.train checkpoints ckpt-<step> (model, and optimizer unless --keep_optimizer=false)
    logs/                 TensorBoard summaries
    reconstructed_%06d.png
    model.keras, samples.png, saved_model/   written at the end of training

Writes go through ``tf.io.gfile``, so a run folder may be remote (``gs://...``); local files are
written atomically (temporary file + rename).
"""
import datetime
import json
import os
import tempfile

import numpy as np
import tensorflow as tf

from facenet_vae.atomic_files import expand, is_remote, join, read_text, save_keras_model, write_file
from facenet_vae.model.framing import Framing
from facenet_vae.model import DfcVae
from facenet_vae.model.presets import load_model_file
from facenet_vae.settings import RUN_FLAGS_FILE

CHECKPOINT_SUBDIR = "checkpoints"
MODEL_CONFIG_FILE = "model_config.json"
ARGUMENTS_FILE = "arguments.txt"


class RunFolderError(ValueError):
    """A run folder that is missing, incomplete or does not match what was asked for."""


class NonFiniteStateError(RuntimeError):
    """Training produced NaN/inf; nothing non-finite is ever written to a checkpoint."""


def save_model_file(model, path):
    """Save ``model`` as a ``.keras`` file at ``path`` (atomically when local); returns ``path``."""
    if not is_remote(path):
        return save_keras_model(model, path)
    with tempfile.TemporaryDirectory() as local:
        local_path = os.path.join(local, "model.keras")
        model.save(local_path)
        tf.io.gfile.copy(local_path, path, overwrite=True)
    return path


def create_run_folder(models_base_dir, now=None):
    """Create and return a new, unshared ``<models_base_dir>/<YYYYmmdd-HHMMSS>[-N]`` folder.

    Locally ``os.mkdir`` fails when the folder exists, so two runs started in the same second get
    different folders even when they race.
    """
    base = expand(models_base_dir)
    tf.io.gfile.makedirs(base)
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        path = join(base, stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            if is_remote(path):
                if tf.io.gfile.exists(path):
                    continue
                tf.io.gfile.makedirs(path)
            else:
                os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise RunFolderError(f"could not create a new run folder under {base}")


def remove_run_folder(run_dir):
    """Delete a run folder this process created and that holds no checkpoint (a failed start)."""
    if tf.io.gfile.exists(run_dir) and not tf.io.gfile.exists(join(run_dir, CHECKPOINT_SUBDIR, "checkpoint")):
        tf.io.gfile.rmtree(run_dir)


def write_arguments(run_dir, arguments, flag_lines, append=False):
    """Record the settings in ``arguments.txt`` (appended on resume) and as the flagfile ``flags.txt``.

    ``flag_lines``: the ``--name=value`` lines that repeat the run (``settings.flag_lines``).
    Returns the path of ``arguments.txt``.
    """
    path = join(run_dir, ARGUMENTS_FILE)
    lines = "".join(f"{key}: {value}\n" for key, value in sorted(arguments.items()))
    previous = ""
    if append and tf.io.gfile.exists(path):
        previous = read_text(path) + "\n# resumed\n"
    write_file(join(run_dir, RUN_FLAGS_FILE), f"# python train_vae.py --flagfile={join(run_dir, RUN_FLAGS_FILE)}\n"
               + "".join(line + "\n" for line in flag_lines))
    return write_file(path, previous + lines)


def write_model_config(run_dir, model):
    """Write ``model_config.json``: exactly ``model.get_config()``; returns its path."""
    return write_file(join(run_dir, MODEL_CONFIG_FILE), json.dumps(model.get_config(), indent=2) + "\n")


def read_model_config(run_dir):
    """Return ``{vae_def, latent_var_size, framing}`` from a run folder's ``model_config.json``.

    ``framing`` is the recorded framing dict, or None for runs from before framings were recorded.
    """
    path = join(run_dir, MODEL_CONFIG_FILE)
    if not tf.io.gfile.exists(path):
        raise RunFolderError(f"{run_dir} is not a training run folder: {MODEL_CONFIG_FILE} is missing")
    try:
        config = json.loads(read_text(path))
        framing = config.get("framing")
        if framing is not None:
            framing = Framing.from_dict(framing).to_dict()
        return {"vae_def": str(config["vae_def"]), "latent_var_size": int(config["latent_var_size"]),
                "framing": framing}
    except (ValueError, KeyError, TypeError) as error:
        raise RunFolderError(f"{path} is not a valid model config: {error}") from error


def is_run_folder(path):
    """Return True when ``path`` looks like a training run folder."""
    return tf.io.gfile.exists(join(path, MODEL_CONFIG_FILE))


def nonfinite_variable_names(variables):
    """Return the names of variables holding NaN or inf (empty list when all are finite)."""
    bad = []
    for variable in variables:
        value = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            bad.append(getattr(variable, "path", None) or getattr(variable, "name", "?"))
    return bad


class TrainingCheckpoints:
    """Step checkpoints of the model (and optimizer, loss-scale state included) in ``<run>/checkpoints``.

    tf.train writes a checkpoint's data and index first and only then atomically rewrites the
    ``checkpoint`` state file, so a process killed mid-save leaves the previous checkpoint as
    the latest complete one. Without ``optimizer`` the checkpoints hold the model alone; restoring
    one into an optimizer then sets only its step (from the checkpoint's name). ``extras``
    (``{name: trackable}``, e.g. the adversary's discriminator and its optimizer) are saved and
    restored beside the model; a checkpoint without them leaves them as they are.
    """

    def __init__(self, run_dir, model, optimizer=None, max_to_keep=3, extras=None):
        self.directory = join(run_dir, CHECKPOINT_SUBDIR)
        self.model = model
        self.optimizer = optimizer
        self.extras = dict(extras or {})
        items = {"model": model, **self.extras}
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
        for extra in self.extras.values():
            variables += list(extra.variables)
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
        saved_names = [name for name, _ in tf.train.list_variables(latest)]
        has_optimizer = self.optimizer is not None and any(name.startswith("optimizer/") for name in saved_names)
        # An extra the checkpoint lacks (--adversarial_weight added on a resume) starts afresh.
        items = {key: extra for key, extra in self.extras.items()
                 if any(name.startswith(f"{key}/") for name in saved_names)}
        complete = has_optimizer and len(items) == len(self.extras)
        items["model"] = self.model
        if has_optimizer:
            items["optimizer"] = self.optimizer
        status = tf.train.Checkpoint(**items).restore(latest)
        if complete:
            status.assert_existing_objects_matched()
        else:
            status.expect_partial()
        if self.optimizer is not None and not has_optimizer:
            # A model-only checkpoint (--keep_optimizer=false): the step comes from its name.
            self.optimizer.iterations.assign(checkpoint_step(latest))
        return latest


def checkpoint_step(prefix):
    """Return the step number encoded in a ``.../ckpt-<step>`` prefix."""
    return int(os.path.basename(prefix).rsplit("-", 1)[1])


def load_model_from_run(run_dir):
    """Return ``(model, checkpoint_prefix)``: the model of a run folder with its latest checkpoint's weights."""
    model = DfcVae(**read_model_config(run_dir))
    prefix = TrainingCheckpoints(run_dir, model).restore_latest(require=True)
    return model, prefix


def load_keras_file(path):
    """Return the ``DfcVae`` of a ``.keras`` file; ValueError naming ``path`` when it is unreadable or another model."""
    return load_model_file(path, DfcVae)


def final_model_file(run_dir):
    """Return the run's ``model.keras`` when it was written after its latest checkpoint (a finished run), else None.

    The final file holds the batch-norm statistics re-estimated at the end of training, which the
    checkpoints do not; a run still going (or stopped early) is loaded from its latest checkpoint.
    """
    final = os.path.join(run_dir, "model.keras")
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, CHECKPOINT_SUBDIR))
    if not os.path.isfile(final):
        return None
    if latest is None or os.path.getmtime(final) >= os.path.getmtime(latest + ".index"):
        return final
    return None
