"""Training: the objective, the Keras train step, the run loop, run folders, callbacks and distribution.

``TrainConfig`` (no TensorFlow) is imported eagerly; ``train`` and the rest of ``run`` on first use
(PEP 562 ``__getattr__``), so that ``train_vae.py`` checks its flags before TensorFlow loads.
"""
from facenet_vae.lazy import lazy_names
from facenet_vae.training.config import TrainConfig

_FROM_RUN = ("train", "finish_run", "make_feature_extractor", "make_objective")
_FROM_OPTIMISATION = ("make_optimizer", "make_learning_rate_schedule", "set_precision_policy")

__all__ = ["TrainConfig", *_FROM_RUN, *_FROM_OPTIMISATION]
__getattr__, __dir__ = lazy_names(__name__, {**{name: "facenet_vae.training.run" for name in _FROM_RUN},
                                             **{name: "facenet_vae.training.optimisation" for name in _FROM_OPTIMISATION}})
