"""The model: facenet's VAE definitions as data, slim-compatible layers and the ``DfcVae`` graph.

``definitions`` holds no TensorFlow; the names of ``graph`` are imported on first use (PEP 562
``__getattr__``) so that command-line tools read the definitions' names and check their flags
before TensorFlow loads.
"""
import importlib

from facenet_vae.model.definitions import DEFAULT_VAE_DEF, VAE_DEFINITIONS, get_definition

_FROM_GRAPH = ("DfcVae", "Encoder", "Decoder", "build_vae", "MAX_LOG_VARIANCE", "capped_log_variance")

__all__ = ["DEFAULT_VAE_DEF", "VAE_DEFINITIONS", "get_definition", *_FROM_GRAPH]


def __getattr__(name):
    """Return a name of ``facenet_vae.model.graph``, importing it (and TensorFlow) on first use."""
    if name not in _FROM_GRAPH:
        raise AttributeError(f"module 'facenet_vae.model' has no attribute {name!r}")
    value = getattr(importlib.import_module("facenet_vae.model.graph"), name)
    globals()[name] = value
    return value
