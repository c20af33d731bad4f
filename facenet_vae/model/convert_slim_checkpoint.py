"""Convert a facenet TF1 VAE checkpoint into a Keras ``.keras`` file.

    python -m facenet_vae.model.convert_slim_checkpoint --vae_def dfc_vae_resnet --latent_var_size 100 \\
        ~/vae/20170708-150701/model.ckpt-50000 dfc_vae_resnet.keras

``--vae_def`` and ``--latent_var_size`` must be the ones facenet's ``train_vae.py`` ran with.
"""
import os
import sys

from absl import app, flags

from facenet_vae.atomic_files import save_keras_model
from facenet_vae.model.definitions import DEFAULT_LATENT_VAR_SIZE, DEFAULT_VAE_DEF, VAE_DEFINITIONS
from facenet_vae.model.graph import build_vae
from facenet_vae.model.slim_checkpoint import load_slim_checkpoint

FLAGS = flags.FLAGS


def _define_flags():
    # Defined on demand, not at import, so importing ``convert`` never clashes with another CLI's flags.
    flags.DEFINE_enum("vae_def", DEFAULT_VAE_DEF, sorted(VAE_DEFINITIONS),
                      "The facenet VAE definition the checkpoint was trained with.")
    flags.DEFINE_integer("latent_var_size", DEFAULT_LATENT_VAR_SIZE, "The latent size the checkpoint was trained with.",
                         lower_bound=1)


def convert(checkpoint_prefix, output_path, vae_def=DEFAULT_VAE_DEF, latent_var_size=DEFAULT_LATENT_VAR_SIZE):
    """Build ``vae_def``, fill it from the checkpoint, save it to ``output_path``; return the model.

    Raises ``ValueError`` (``SlimCheckpointError`` for checkpoint problems) before writing anything.
    """
    if not os.fspath(output_path).endswith(".keras"):
        raise ValueError(f"The output path must end in .keras, got {os.fspath(output_path)!r}")
    model = build_vae(vae_def, latent_var_size)
    load_slim_checkpoint(model, checkpoint_prefix)
    save_keras_model(model, os.fspath(output_path))
    return model


def main(argv):
    if len(argv) != 3:
        raise app.UsageError("expected two arguments: CHECKPOINT_PREFIX OUTPUT.keras")
    _, checkpoint_prefix, output_path = argv
    try:
        model = convert(checkpoint_prefix, output_path, FLAGS.vae_def, FLAGS.latent_var_size)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    values = sum(int(variable.numpy().size) for variable in model.weights)
    print(f"Wrote {os.path.abspath(output_path)}: --vae_def {model.vae_def} "
          f"--latent_var_size {model.latent_var_size}, {len(model.slim_variables())} variables "
          f"({values:,} values) from {checkpoint_prefix}")
    return 0


def run():
    """Console entry point: parse flags and run ``main``; exits non-zero on failure."""
    _define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
