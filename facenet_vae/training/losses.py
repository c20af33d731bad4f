"""The DFC-VAE loss terms, always computed in float32.

Scale: facenet sums the pixel and feature terms over the whole batch
(``reduce_mean(reduce_sum(...))`` of a scalar is that sum) and averages the KL over the batch.
``reduction="mean"`` divides the summed terms by the batch size instead, giving per-sample means.
Under a multi-replica strategy each replica passes the *global* batch size, so that the
per-replica terms add up (gradients are summed across replicas) to the single-device objective.
"""
from keras import ops

from facenet_vae.model.graph import MAX_LOG_VARIANCE, capped_log_variance  # noqa: F401 (the cap the KL applies)
from facenet_vae.model.normalization import IMG_STDDEV
from facenet_vae.training.choices import PIXEL_SPACES, REDUCTIONS


def kl_per_sample(mean, log_variance):
    """Return facenet's KL ``0.5 * sum(exp(lv) + mu^2 - 1 - lv)`` per sample, float32, shape (batch,).

    The log-variance is capped at ``MAX_LOG_VARIANCE`` (``model.capped_log_variance``) wherever the KL
    is computed, in training and evaluation alike.
    """
    mean = ops.cast(mean, "float32")
    log_variance = capped_log_variance(log_variance)
    return 0.5 * ops.sum(ops.exp(log_variance) + ops.square(mean) - 1.0 - log_variance, axis=1)


def kl_loss(mean, log_variance, global_batch_size=None):
    """Return the KL averaged over the (global) batch, as facenet's ``kl_loss_mean``."""
    per_sample = kl_per_sample(mean, log_variance)
    batch = _batch_size(per_sample, global_batch_size)
    return ops.sum(per_sample) / batch


def pixel_loss(images_norm, reconstructed_norm, reduction="sum", global_batch_size=None, space="pixels"):
    """Return the squared error in 0..255 pixel space, summed over the batch (or per-sample mean).

    ``space="pixels"`` is facenet's: it un-normalises both images before the difference, so the
    normalised difference is scaled back by the per-channel stddev (every channel weighs the same).
    ``space="normalized"`` takes the error of the normalised images themselves (each channel
    divided by its stddev, as the PyTorch quality peer does): 0.5 there is about 1.67e-4 in pixels.
    """
    if space not in PIXEL_SPACES:
        raise ValueError(f"Unknown pixel-loss space {space!r}; choose one of {PIXEL_SPACES}")
    diff = ops.cast(images_norm, "float32") - ops.cast(reconstructed_norm, "float32")
    if space == "pixels":
        diff = diff * IMG_STDDEV
    return _reduce(ops.sum(ops.square(diff)), diff, reduction, global_batch_size)


def feature_loss(input_features, reconstructed_features, reduction="sum", global_batch_size=None):
    """Return the squared error between two feature maps, summed over the batch (or per-sample mean)."""
    diff = ops.cast(input_features, "float32") - ops.cast(reconstructed_features, "float32")
    return _reduce(ops.sum(ops.square(diff)), diff, reduction, global_batch_size)


def _batch_size(tensor, global_batch_size):
    if global_batch_size is not None:
        return ops.cast(global_batch_size, "float32")
    return ops.cast(ops.shape(tensor)[0], "float32")


def _reduce(total, tensor, reduction, global_batch_size):
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / _batch_size(tensor, global_batch_size)
    raise ValueError(f"Unknown loss reduction {reduction!r}; choose one of {REDUCTIONS}")
