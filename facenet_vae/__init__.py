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

# name -> modules that may define it, first match wins. The second entries are the modules'
# places before the package was regrouped by stage (model/, generation/); they keep this table
# working on either layout.
_EXPORTS = {
    "DfcVae": ("facenet_vae.model",),
    "build_vae": ("facenet_vae.model",),
    "VAE_DEFINITIONS": ("facenet_vae.model", "facenet_vae.definitions"),
    "DEFAULT_VAE_DEF": ("facenet_vae.model", "facenet_vae.definitions"),
    "get_definition": ("facenet_vae.model", "facenet_vae.definitions"),
    "IMG_MEAN": ("facenet_vae.model.normalization", "facenet_vae.normalization"),
    "IMG_STDDEV": ("facenet_vae.model.normalization", "facenet_vae.normalization"),
    "pixels_to_normalized": ("facenet_vae.model.normalization", "facenet_vae.normalization"),
    "normalized_to_pixels": ("facenet_vae.model.normalization", "facenet_vae.normalization"),
    "load_slim_checkpoint": ("facenet_vae.model.slim_checkpoint", "facenet_vae.slim_checkpoint"),
    "load_vae": ("facenet_vae.generation.loading",),
    "LoadedVae": ("facenet_vae.generation.loaded_vae",),
}

__all__ = sorted(_EXPORTS)


def _import_if_present(module_name):
    """Return the module, or None when it (or a package above it) does not exist; other import errors propagate."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            return None
        raise


def __getattr__(name):
    """Import a public name from its module on first use (see ``_EXPORTS``)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'facenet_vae' has no attribute {name!r}")
    for module_name in _EXPORTS[name]:
        module = _import_if_present(module_name)
        if module is not None and hasattr(module, name):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"facenet_vae.{name} is in none of {', '.join(_EXPORTS[name])}")


def __dir__():
    """List the module's globals and the lazily imported public names."""
    return sorted(set(globals()) | set(_EXPORTS))
