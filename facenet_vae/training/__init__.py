"""Training: the objective, the Keras train step, the run loop, run folders, callbacks and distribution.

``TrainConfig`` (no TensorFlow) is imported eagerly; ``train`` and the rest of ``run`` on first use
(PEP 562 ``__getattr__``), so that ``train_vae.py`` checks its flags before TensorFlow loads.
"""
import importlib

from facenet_vae.training.config import TrainConfig

_FROM_RUN = ("train", "finish_run", "make_feature_extractor", "make_objective")
_FROM_OPTIMISATION = ("make_optimizer", "make_learning_rate_schedule", "set_precision_policy")

__all__ = ["TrainConfig", *_FROM_RUN, *_FROM_OPTIMISATION]


def __getattr__(name):
    """Return a name of ``training.run`` or ``training.optimisation``, importing TensorFlow on first use."""
    if name in _FROM_RUN:
        module = "facenet_vae.training.run"
    elif name in _FROM_OPTIMISATION:
        module = "facenet_vae.training.optimisation"
    else:
        raise AttributeError(f"module 'facenet_vae.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
