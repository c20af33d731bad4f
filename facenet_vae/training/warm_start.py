"""Start a run from a trained model's weights (``--pretrained_model``): fine-tuning with another objective."""
import logging
import os

import keras

from facenet_vae.model import DfcVae
from facenet_vae.training import run_folder

log = logging.getLogger(__name__)


class PretrainedModelError(ValueError):
    """The ``--pretrained_model`` cannot start this run (missing, unreadable or a different model)."""


def _read_model(path):
    """Return the ``DfcVae`` saved at ``path``: a ``.keras`` file, or a run folder's final model or checkpoint."""
    if os.path.isdir(path):
        if not run_folder.is_run_folder(path):
            raise PretrainedModelError(f"--pretrained_model={path}: a folder that is not a training run folder")
        final = os.path.join(path, "model.keras")
        if not os.path.isfile(final):
            try:
                return run_folder.load_model_from_run(path)[0]
            except Exception as error:
                raise PretrainedModelError(f"--pretrained_model={path}: no model.keras and no readable "
                                           f"checkpoint ({error})") from error
        path = final
    if not os.path.isfile(path):
        raise PretrainedModelError(f"--pretrained_model={path}: no such file or run folder")
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise PretrainedModelError(f"--pretrained_model={path}: not a readable Keras model file "
                                   f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from error
    if not isinstance(model, DfcVae):
        raise PretrainedModelError(f"--pretrained_model={path}: holds a {type(model).__name__}, not a DfcVae")
    return model


def load_pretrained_weights(vae, path):
    """Copy every weight (batch-norm statistics included) of the model at ``path`` into ``vae``; returns ``vae``.

    Raises ``PretrainedModelError`` naming the path when it is not a model of ``vae``'s definition
    and latent size. A different recorded framing is logged as a warning: the run keeps its data's.
    """
    path = os.path.expanduser(os.fspath(path))
    pretrained = _read_model(path)
    found = (pretrained.vae_def, pretrained.latent_var_size)
    wanted = (vae.vae_def, vae.latent_var_size)
    if found != wanted:
        raise PretrainedModelError(f"--pretrained_model={path}: holds a {found[0]} model with latent size {found[1]}, "
                                   f"but this run trains {wanted[0]} with latent size {wanted[1]}")
    if pretrained.framing != vae.framing:
        log.warning("--pretrained_model=%s was trained on faces framed by %s; this run's are framed by %s",
                    path, pretrained.framing.describe(), vae.framing.describe())
    vae.set_weights(pretrained.get_weights())
    log.info("weights from --pretrained_model=%s", path)
    return vae
