"""Load a trained VAE for generation, from a run folder, a ``.keras`` file or an exported SavedModel.

Whatever the source, ``load_vae`` returns a ``LoadedVae`` (``generation.loaded_vae``): a
``KerasVae`` for run folders and ``.keras`` files, a ``SavedModelVae`` for exported folders, so
the generation modes never care where the weights came from.
"""
import os

from absl import logging

from facenet_vae.training import run_folder
from facenet_vae.generation.loaded_vae import LoadedVae, SavedModelVae, from_keras_model
from facenet_vae.export.saved_model import is_saved_model_dir
from facenet_vae.model.presets import DEFAULT_PRESET, preset_model_path

__all__ = ["LoadedVae", "load_vae", "shipped_model_path", "from_keras_model"]


def _check_requested(found_vae_def, found_latent_var_size, vae_def, latent_var_size, what):
    if latent_var_size is not None and int(latent_var_size) != int(found_latent_var_size):
        raise ValueError(f"{what} has latent size {found_latent_var_size}, but --latent_var_size={latent_var_size} "
                         f"was given")
    if vae_def is not None and found_vae_def is not None and vae_def != found_vae_def:
        raise ValueError(f"{what} holds a {found_vae_def} model, but --vae_def={vae_def} was given")


def shipped_model_path():
    """Return the path of the trained model that ships with the package (the ``celeba64`` preset's model.keras).

    Package data of an installed wheel; in a source checkout, ``checkpoints/celeba64/model.keras``.
    """
    try:
        return preset_model_path(DEFAULT_PRESET)
    except FileNotFoundError:
        return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "presets", DEFAULT_PRESET,
                            "model.keras")


def load_vae(path=None, vae_def=None, latent_var_size=None):
    """Return a ``LoadedVae`` for a training run folder (latest checkpoint), a ``.keras`` file or a SavedModel.

    ``path`` None loads the shipped ``celeba64`` preset (and says so in the log).
    ``vae_def``/``latent_var_size``, when given, must match what the model holds (ValueError
    naming both otherwise). The sentence in ``.source`` is logged.
    """
    if path is None or str(path) == "":
        path = shipped_model_path()
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no --model given and the shipped model {path} is missing; pass "
                                    f"--model=<run folder | model.keras | SavedModel folder>")
        logging.info("no --model given: using the shipped model %s", path)
    path = os.path.expanduser(os.fspath(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"model {path!r} does not exist (expected a training run folder, "
                                f"a .keras file or an exported SavedModel folder)")
    if os.path.isdir(path) and run_folder.is_run_folder(path):
        config = run_folder.read_model_config(path)
        # Checked before restoring so a mismatch is reported as such, not as a failed restore.
        _check_requested(config["vae_def"], config["latent_var_size"], vae_def, latent_var_size,
                         f"checkpoint in run folder {path}")
        final = run_folder.final_model_file(path)
        if final:
            vae = from_keras_model(run_folder.load_keras_file(final), f"loaded run folder {path}, final model.keras")
        else:
            model, prefix = run_folder.load_model_from_run(path)
            vae = from_keras_model(model, f"loaded run folder {path}, checkpoint {os.path.basename(prefix)}")
    elif os.path.isdir(path) and is_saved_model_dir(path):
        vae = SavedModelVae(path)
        _check_requested(vae.vae_def, vae.latent_var_size, vae_def, latent_var_size, f"SavedModel {path}")
    elif os.path.isfile(path) and path.endswith(".keras"):
        vae = from_keras_model(run_folder.load_keras_file(path), f"loaded .keras file {path}")
        _check_requested(vae.vae_def, vae.latent_var_size, vae_def, latent_var_size, f".keras file {path}")
    elif os.path.isdir(path):
        raise ValueError(f"{path} is neither a training run folder (no {run_folder.MODEL_CONFIG_FILE}) "
                         f"nor a SavedModel folder (no saved_model.pb)")
    else:
        raise ValueError(f"{path} is not a model: expected a training run folder, a .keras file or a "
                         f"SavedModel folder")
    logging.info("%s (%s, latent size %d, %dx%d images); photos are framed as in training: %s", vae.source,
                 vae.vae_def or "unknown definition", vae.latent_var_size, vae.image_size, vae.image_size,
                 vae.framing.describe())
    if not vae.framing_recorded:
        logging.warning("%s records no framing (saved before framings were recorded): photos are only resized; "
                        "retrain, or expect faces framed unlike its training faces", vae.source)
    return vae
