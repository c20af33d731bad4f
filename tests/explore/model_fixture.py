"""The model the browser tests explore: the shipped one when present, else a tiny dfc_vae trained briefly here.

The tiny model (latent 8) trains 8 steps on real CelebA faces from the shared subset, with the
framing a run on that npz records, and gets its attribute vectors from ``generate.py
--mode=attributes --dataset=npz`` (``generation.run``), so the sliders come from the project's own code.
"""
import os

import keras
import numpy as np

from facenet_vae.data.framing import training_framing
from facenet_vae.generation import GenerateOptions, run
from facenet_vae.generation.loading import shipped_model_path
from facenet_vae.model import DfcVae
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.training.objective import Objective
from facenet_vae.training.step import VaeTrainer

TINY_LATENT = 8
TINY_TRAINING_FACES = 256
ATTRIBUTE_FACES = 400


def train_tiny_model(folder, npz_path):
    """Write ``folder/model.keras`` and ``folder/attribute_vectors.h5``; return the model's path."""
    keras.utils.set_random_seed(3)
    model = DfcVae(vae_def="dfc_vae", latent_var_size=TINY_LATENT, framing=training_framing("npz", 64))
    trainer = VaeTrainer(model, Objective(pixel_weight=0.002, reduction="mean"), sampling_seed=0)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    with np.load(npz_path) as data:
        faces = data["images"][:TINY_TRAINING_FACES]
    trainer.fit(pixels_to_normalized(faces).numpy(), batch_size=32, epochs=1, verbose=0)
    path = os.path.join(folder, "model.keras")
    model.save(path)
    run(GenerateOptions(mode="attributes", model=path, dataset="npz", data_dir=os.fspath(npz_path),
                        num_images=ATTRIBUTE_FACES, attribute_vectors_file=os.path.join(folder, "attribute_vectors.h5")))
    return path


def explored_model(folder, npz_path):
    """Return ``(model path, is_shipped)``: the shipped model if it exists, else a tiny one written to ``folder``."""
    shipped = shipped_model_path()
    if os.path.isfile(shipped):
        return shipped, True
    return train_tiny_model(folder, npz_path), False
