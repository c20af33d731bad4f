"""Moves weights between a Keras ``DfcVae`` and the PyTorch replica (the one module here that needs TensorFlow).

``python -m facenet_vae.torch_replica.keras_bridge export`` writes the FaceNet stem's weights (and,
with ``--model_config``, a fresh model's) as ``.npz`` files for ``train``; ``... import`` reads trained
shards back into a ``DfcVae`` that records its framing and saves it as ``.keras``.
"""
import argparse
import glob
import json
import os

import keras
import numpy as np

from facenet_vae.data.framing import training_framing
from facenet_vae.model.definitions import (DEFAULT_CROP_SIZE, DEFAULT_LATENT_VAR_SIZE, DEFAULT_VAE_DEF,
                                           get_definition)
from facenet_vae.model.graph import DfcVae
from facenet_vae.training.choices import FACENET_STEM_LAYERS
from facenet_vae.training.feature_networks import build_feature_extractor


def vae_arrays(vae):
    """Return ``{slim variable name: float32 array}`` of every weight of ``vae`` (Keras layouts)."""
    return {name: np.asarray(variable.numpy(), np.float32) for name, variable in vae.slim_variables().items()}


def load_vae_arrays(vae, arrays):
    """Assign every slim-named array to ``vae``; ValueError naming missing, unknown or misshapen names."""
    variables = vae.slim_variables()
    missing, unknown = sorted(set(variables) - set(arrays)), sorted(set(arrays) - set(variables))
    if missing or unknown:
        raise ValueError(f"Weights do not fit {vae.vae_def}: missing {missing[:5]}, unknown {unknown[:5]}")
    for name, variable in variables.items():
        if tuple(variable.shape) != arrays[name].shape:
            raise ValueError(f"Weight {name}: shape {arrays[name].shape}, the model has {tuple(variable.shape)}")
        variable.assign(arrays[name])


def stem_arrays(perceptual_weights, crop_size):
    """Return ``{"<layer>/<kernel|beta|moving_mean|moving_variance>": array}`` of the FaceNet stem the recipe uses."""
    extractor = build_feature_extractor("facenet", list(FACENET_STEM_LAYERS), perceptual_weights, crop_size)
    arrays = {}
    for name in FACENET_STEM_LAYERS:
        arrays[f"{name}/kernel"] = extractor.network.get_layer(name).kernel.numpy()
        norm = extractor.network.get_layer(f"{name}_BatchNorm")
        for key in ("beta", "moving_mean", "moving_variance"):
            arrays[f"{name}/{key}"] = getattr(norm, key).numpy()
    return arrays


def read_shards(folder):
    """Return the merged ``{slim name: array}`` of ``folder``'s ``weights-*.npz``; FileNotFoundError if none."""
    paths = sorted(glob.glob(os.path.join(folder, "weights-*.npz")))
    if not paths:
        raise FileNotFoundError(f"{folder}: no weights-*.npz shards")
    arrays = {}
    for path in paths:
        with np.load(path) as shard:
            arrays.update({name: shard[name] for name in shard.files})
    return arrays


def vae_from_model_config(path, seed=None):
    """Return a ``DfcVae`` built from a run's ``model_config.json`` (initialised from ``seed`` when given)."""
    with open(path) as handle:
        config = json.load(handle)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return DfcVae.from_config(config)


def vae_for_framed_celeba(vae_def, latent_var_size):
    """Return a ``DfcVae`` that records the framing of faces already cropped as ``celeba_subset.npz``'s
    (``celeba_large64`` too): CelebA's centre crop, Lanczos-resized."""
    image_size = get_definition(vae_def).image_size
    return DfcVae(vae_def, latent_var_size, framing=training_framing("npz", image_size))


def _main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="The stem's weights (and optionally a fresh model's), for train.")
    export.add_argument("--perceptual_weights", required=True, help="facenet_keras.h5 or its stem (.h5).")
    export.add_argument("--crop_size", type=int, default=DEFAULT_CROP_SIZE)
    export.add_argument("--model_config", help="Also write initial_weights.npz of this run's graph, drawn from --seed.")
    export.add_argument("--seed", type=int, default=666)
    export.add_argument("--output_dir", required=True)
    back = commands.add_parser("import", help="Trained shards into a .keras model.")
    back.add_argument("--shards", required=True, help="The folder train wrote.")
    back.add_argument("--output", required=True, help="The .keras file to write.")
    back.add_argument("--model_config", help="A run's model_config.json (graph and framing); default: "
                      "--vae_def and --latent_var_size with the framing of already-cropped CelebA faces.")
    back.add_argument("--vae_def", default=DEFAULT_VAE_DEF)
    back.add_argument("--latent_var_size", type=int, default=DEFAULT_LATENT_VAR_SIZE)
    args = parser.parse_args(argv)
    if args.command == "export":
        os.makedirs(args.output_dir, exist_ok=True)
        np.savez(os.path.join(args.output_dir, "stem.npz"), **stem_arrays(args.perceptual_weights, args.crop_size))
        if args.model_config:
            np.savez(os.path.join(args.output_dir, "initial_weights.npz"),
                     **vae_arrays(vae_from_model_config(args.model_config, args.seed)))
    else:
        vae = (vae_from_model_config(args.model_config) if args.model_config
               else vae_for_framed_celeba(args.vae_def, args.latent_var_size))
        load_vae_arrays(vae, read_shards(args.shards))
        vae.save(args.output)


if __name__ == "__main__":
    _main()
