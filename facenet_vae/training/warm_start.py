"""Start a run from a trained model's weights (``--pretrained_model``): fine-tuning with another objective."""
import logging
import os

from facenet_vae.training import run_folder

log = logging.getLogger(__name__)


class PretrainedModelError(ValueError):
    """The ``--pretrained_model`` cannot start this run (missing, unreadable or a different model)."""


def _read_model(path):
    """Return the ``DfcVae`` saved at ``path``: a ``.keras`` file, or a run folder's final model or latest checkpoint.

    A run folder is read as ``generate`` reads it (``run_folder.final_model_file``).
    """
    if os.path.isdir(path) and not run_folder.is_run_folder(path):
        raise PretrainedModelError(f"--pretrained_model={path}: a folder that is not a training run folder")
    try:
        if os.path.isdir(path):
            final = run_folder.final_model_file(path)
            return run_folder.load_keras_file(final) if final else run_folder.load_model_from_run(path)[0]
        return run_folder.load_keras_file(path)
    except (OSError, ValueError) as error:
        raise PretrainedModelError(f"--pretrained_model={path}: {error}") from error


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
