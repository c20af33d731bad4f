"""Presets: named, ready-to-use models shipped inside the package (``DfcVae.from_preset("celeba64")``).

A preset is a folder holding ``model.keras`` (and, when written by ``save_preset``, ``config.json``:
exactly the model's ``get_config()``). The shipped presets live in ``facenet_vae/presets/<name>/``,
package data of the wheel; in a source checkout that folder links to ``checkpoints/<name>/``, so an
installed wheel and a checkout find the same files the same way. No TensorFlow is imported here
until a model is loaded or saved.
"""
import importlib.resources
import json
import os

from facenet_vae.atomic_files import atomic_write, save_keras_model

PRESETS = {"celeba64": "dfc_vae_resnet, latent size 100, trained on CelebA faces at 64x64"}
DEFAULT_PRESET = "celeba64"
MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"


def preset_folder(preset=DEFAULT_PRESET):
    """Return the folder of ``preset``: a name in ``PRESETS`` or a folder path holding model.keras.

    Raises FileNotFoundError naming the folder when it holds no model.keras, ValueError for an
    unknown name that is no folder either.
    """
    preset = os.fspath(preset)
    if preset in PRESETS:
        folder = os.fspath(importlib.resources.files("facenet_vae").joinpath("presets", preset))
    elif os.path.isdir(os.path.expanduser(preset)):
        folder = os.path.expanduser(preset)
    else:
        raise ValueError(f"unknown preset {preset!r}: use one of {sorted(PRESETS)} or a preset folder")
    if not os.path.isfile(os.path.join(folder, MODEL_FILE)):
        raise FileNotFoundError(f"preset {preset!r}: {os.path.join(folder, MODEL_FILE)} is missing")
    return folder


def preset_model_path(preset=DEFAULT_PRESET):
    """Return the path of the ``model.keras`` file of ``preset`` (see ``preset_folder``)."""
    return os.path.join(preset_folder(preset), MODEL_FILE)


def load_preset(preset, model_class):
    """Return the ``model_class`` model stored in ``preset`` (ValueError when the file holds another class)."""
    return load_model_file(preset_model_path(preset), model_class)


def load_model_file(path, model_class):
    """Return the ``model_class`` model of the ``.keras`` file ``path``; ValueError naming ``path`` when it is
    unreadable or holds another class."""
    import keras  # noqa: PLC0415 (naming a preset loads no TensorFlow; loading it does)
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"could not load the Keras model file {path}: {error}") from error
    if not isinstance(model, model_class):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a {model_class.__module__.split('.')[0]} "
                         f"{model_class.__name__}")
    return model


def save_preset(model, path):
    """Write ``model`` to the folder ``path``: ``model.keras`` and ``config.json`` (its get_config()); returns ``path``."""
    path = os.path.expanduser(os.fspath(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"cannot save a preset to {path}: it exists and is not a folder")
    os.makedirs(path, exist_ok=True)
    save_keras_model(model, os.path.join(path, MODEL_FILE))
    atomic_write(os.path.join(path, CONFIG_FILE), json.dumps(model.get_config(), indent=2) + "\n")
    return path
