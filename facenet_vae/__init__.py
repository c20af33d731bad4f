"""facenet-vae: a TensorFlow 2 / Keras 3 port of facenet's DFC-VAE (Hou et al. 2016).

Public API::

    import facenet_vae
    vae = facenet_vae.load_vae()                      # the shipped model (or a run folder, .keras, SavedModel)
    faces = vae.reconstruct_pixels(photos_uint8)      # any photo size: framed and resized as in training
    model = facenet_vae.build_vae("dfc_vae_resnet", latent_var_size=100)   # a DfcVae (keras.Model)

Names are imported on first use (PEP 562 ``__getattr__``), so ``import facenet_vae`` and the
command-line tools' flag checking do not load TensorFlow; the first model-related name does.
"""
import importlib

_EXPORTS = {
    "DfcVae": "facenet_vae.model", "build_vae": "facenet_vae.model", "VAE_DEFINITIONS": "facenet_vae.model",
    "DEFAULT_VAE_DEF": "facenet_vae.model", "get_definition": "facenet_vae.model",
    "IMG_MEAN": "facenet_vae.model.normalization", "IMG_STDDEV": "facenet_vae.model.normalization",
    "pixels_to_normalized": "facenet_vae.model.normalization",
    "normalized_to_pixels": "facenet_vae.model.normalization",
    "load_slim_checkpoint": "facenet_vae.model.slim_checkpoint",
    "load_vae": "facenet_vae.generation.loading", "LoadedVae": "facenet_vae.generation.loaded_vae",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    """Import a public name from its module on first use (see ``_EXPORTS``)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'facenet_vae' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
