"""The objectives ``bench/quality.py`` compares: our training settings for each, and the peer's mode if it has one."""
import dataclasses
from typing import Callable, Optional

from shared_data import shared_path

from facenet_vae.training.choices import (FACENET_STEM_LAYERS, RECIPE_BETA, RECIPE_LOSS_REDUCTION,
                                          RECIPE_PIXEL_WEIGHT, SHIPPED_BETA)  # (no TensorFlow)

FACENET_STEM = shared_path("models", "facenet_keras_stem.h5")
PIXEL_WEIGHT_OF_PEER = 1.67e-4   # the peer's 0.5 on normalised pixels (0.5 / mean channel variance)


@dataclasses.dataclass(frozen=True)
class Objective:
    """One comparable objective: our TrainConfig overrides (a function of the shared arguments) and the peer's mode.

    ``peer_mode`` None: the peer has no such objective, and only our model is trained and scored.
    Add a recipe by adding an entry to OBJECTIVES; ``--configs`` accepts its name.
    """
    our_settings: Callable
    peer_mode: Optional[str]
    description: str


def _facenet_objective(**settings):
    """Return a function giving our settings for a PERCEPTUAL objective on facenet's stem, plus ``settings``."""
    return lambda: dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet",
                        perceptual_weights=str(FACENET_STEM), **settings)


# The DFC recipe (train_vae.py's default objective): the stem's features plus the pixel term, per face
# (the shipped model's weighed the two about equally at a trained model's error; the recipe's stem weighs 10x that).
RECIPE = dict(beta=RECIPE_BETA, pixel_weight=RECIPE_PIXEL_WEIGHT, loss_reduction=RECIPE_LOSS_REDUCTION)

OBJECTIVES = {
    "plain": Objective(lambda: dict(reconstruction_loss_type="PLAIN", pixel_weight=PIXEL_WEIGHT_OF_PEER), "plain",
                       "KL + 0.5 x squared error in facenet's normalised space, per sample"),
    # facenet's objective feeds the stem its normalised images; the peer's "facenet" mode feeds it
    # (pixels - 127.5) / 128, a smaller signal (its squared error of a trained model's faces is 3.25 x
    # smaller): that is "facenet_fixed", the peer's like-for-like row.
    "facenet": Objective(_facenet_objective(beta=0.5, pixel_weight=0.0), None,
                         "facenet's: KL + 0.5 x FaceNet-stem feature error, per sample, the stem fed normalised images"),
    "facenet_fixed": Objective(_facenet_objective(beta=0.5, pixel_weight=0.0, facenet_input="fixed_standardization"),
                               "facenet", "as facenet, the stem fed (pixels - 127.5) / 128 (the peer's objective)"),
    "dfc": Objective(_facenet_objective(**RECIPE), None,
                     f"the DFC recipe: KL + {RECIPE['beta']} x FaceNet-stem features + {RECIPE['pixel_weight']} x "
                     "pixel error, per sample"),
    "dfc_shipped": Objective(_facenet_objective(**{**RECIPE, "beta": SHIPPED_BETA}), None,
                             f"the shipped model's recipe: as dfc, the features weighted {SHIPPED_BETA}"),
    # Candidates the peer has no objective for: each trains ours only; run them beside "plain".
    "dfc_fixed": Objective(_facenet_objective(**{**RECIPE, "beta": 3.25 * SHIPPED_BETA},
                                              facenet_input="fixed_standardization"), None,
                           "the shipped recipe with the stem fed (pixels - 127.5) / 128 (beta x 3.25: the same balance)"),
    "vgg123": Objective(lambda: dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="vgg16",
                                     loss_features="vgg123", perceptual_weights="imagenet", beta=0.5,
                                     pixel_weight=0.0), None,
                        "Hou's: KL + 0.5 x ImageNet VGG16 relu1_1, relu2_1, relu3_1 error, per sample"),
    "dfc_embedding": Objective(
        lambda: {**_facenet_objective(**RECIPE)(), "perceptual_weights": "imagenet",
                 "loss_features": ",".join(FACENET_STEM_LAYERS + ("embedding",))}, None,
        "the DFC recipe plus facenet-msceleb's embedding (1 - cosine) beside its stem"),
    "dfc_deep": Objective(
        lambda: {**_facenet_objective(**RECIPE)(), "perceptual_weights": "imagenet", "identity_weight": 1e5,
                 "feature_layer_weights": "Block35_5=10,Mixed_6a=10"}, None,
        "the shipped model's last stage in one go: the DFC recipe on facenet-msceleb's stem, its embedding "
        "(identity_weight 100,000) and its Block35_5 and Mixed_6a features (10 each)"),
    "dfc_adversarial": Objective(
        _facenet_objective(**RECIPE, adversarial_weight=1000.0, adversarial_start_step=200), None,
        "the DFC recipe plus a patch discriminator's hinge term (weight 1,000; the discriminator alone for 200 steps)"),
}
