"""The model: facenet's VAE definitions as data, slim-compatible layers and the ``DfcVae`` graph.

``definitions`` holds no TensorFlow; the names of ``graph`` are imported on first use (PEP 562
``__getattr__``) so that command-line tools read the definitions' names and check their flags
before TensorFlow loads.
"""
from facenet_vae.lazy import lazy_names
from facenet_vae.model.definitions import DEFAULT_VAE_DEF, VAE_DEFINITIONS, get_definition

_FROM_GRAPH = ("DfcVae", "Encoder", "Decoder", "build_vae", "MAX_LOG_VARIANCE", "capped_log_variance")

__all__ = ["DEFAULT_VAE_DEF", "VAE_DEFINITIONS", "get_definition", *_FROM_GRAPH]
__getattr__, __dir__ = lazy_names(__name__, {name: "facenet_vae.model.graph" for name in _FROM_GRAPH})
