"""facenet-vae: a TensorFlow 2 / Keras 3 port of facenet's DFC-VAE (Hou et al. 2016).

Public API::

    import facenet_vae
    vae = facenet_vae.load_vae()                      # the shipped model (or a run folder, .keras, SavedModel)
    model = facenet_vae.DfcVae.from_preset("celeba64")  # the shipped model as a DfcVae (keras.Model)
    faces = vae.reconstruct_pixels(photos_uint8)      # any photo size: framed and resized as in training
    model = facenet_vae.build_vae("dfc_vae_resnet", latent_var_size=100)   # a DfcVae (keras.Model)

Names are imported on first use (PEP 562 ``__getattr__``), so ``import facenet_vae`` and the
command-line tools' flag checking do not load TensorFlow; the first model-related name does.
"""
from facenet_vae.lazy import lazy_names

_EXPORTS = {
    "DfcVae": "facenet_vae.model", "build_vae": "facenet_vae.model", "VAE_DEFINITIONS": "facenet_vae.model",
    "DEFAULT_VAE_DEF": "facenet_vae.model", "get_definition": "facenet_vae.model",
    "IMG_MEAN": "facenet_vae.model.normalization", "IMG_STDDEV": "facenet_vae.model.normalization",
    "pixels_to_normalized": "facenet_vae.model.normalization",
    "normalized_to_pixels": "facenet_vae.model.normalization",
    "load_slim_checkpoint": "facenet_vae.model.slim_checkpoint", "FaceConverter": "facenet_vae.model.framing",
    "Framing": "facenet_vae.model.framing",
    "load_vae": "facenet_vae.generation.loading", "LoadedVae": "facenet_vae.generation.loaded_vae",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
