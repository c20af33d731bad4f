"""facenet-vae: a TensorFlow 2 / Keras 3 port of facenet's DFC-VAE (Hou et al. 2016)."""
from facenet_vae.definitions import DEFAULT_VAE_DEF, VAE_DEFINITIONS, get_definition
from facenet_vae.model import DfcVae, build_vae
from facenet_vae.normalization import IMG_MEAN, IMG_STDDEV, normalized_to_pixels, pixels_to_normalized

__all__ = ["DEFAULT_VAE_DEF", "VAE_DEFINITIONS", "get_definition", "DfcVae", "build_vae", "IMG_MEAN",
           "IMG_STDDEV", "normalized_to_pixels", "pixels_to_normalized", "load_slim_checkpoint"]


def load_slim_checkpoint(model, checkpoint_prefix):
    """Fill ``model`` from a facenet TF1 checkpoint; see ``facenet_vae.slim_checkpoint``. Returns the model."""
    from facenet_vae.slim_checkpoint import load_slim_checkpoint as _load
    return _load(model, checkpoint_prefix)
