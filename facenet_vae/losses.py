"""The DFC-VAE loss terms, always computed in float32.

Scale: facenet sums the pixel and feature terms over the whole batch
(``reduce_mean(reduce_sum(...))`` of a scalar is that sum) and averages the KL over the batch.
``reduction="mean"`` divides the summed terms by the batch size instead, giving per-sample means.
Under a multi-replica strategy each replica passes the *global* batch size, so that the
per-replica terms add up (gradients are summed across replicas) to the single-device objective.
"""
import tensorflow as tf

from facenet_vae.normalization import IMG_STDDEV

# exp(20) ~ 5e8: far beyond any sensible posterior variance (the prior has 1). Capping here keeps
# the KL, the sampled latents and Adam's squared gradients finite in float32 even when facenet's
# initialisation starts with log-variances in the tens.
MAX_LOG_VARIANCE = 20.0

REDUCTIONS = ("sum", "mean")


def capped_log_variance(log_variance):
    """Return float32 ``min(log_variance, MAX_LOG_VARIANCE)`` whose gradient is 1 everywhere.

    A plain ``minimum`` has zero gradient above the cap, and the KL's ``-lv`` term would then push
    a capped log-variance up for ever; passing the gradient straight through lets the KL pull it
    back down.
    """
    log_variance = tf.cast(log_variance, tf.float32)
    return log_variance - tf.stop_gradient(tf.nn.relu(log_variance - MAX_LOG_VARIANCE))


def kl_per_sample(mean, log_variance):
    """Return facenet's KL ``0.5 * sum(exp(lv) + mu^2 - 1 - lv)`` per sample, float32, shape (batch,)."""
    mean = tf.cast(mean, tf.float32)
    log_variance = capped_log_variance(log_variance)
    return 0.5 * tf.reduce_sum(tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance, axis=1)


def kl_loss(mean, log_variance, global_batch_size=None):
    """Return the KL averaged over the (global) batch, as facenet's ``kl_loss_mean``."""
    per_sample = kl_per_sample(mean, log_variance)
    batch = _batch_size(per_sample, global_batch_size)
    return tf.reduce_sum(per_sample) / batch


def pixel_loss(images_norm, reconstructed_norm, reduction="sum", global_batch_size=None):
    """Return the squared error in 0..255 pixel space, summed over the batch (or per-sample mean).

    facenet un-normalises both images before the difference, so the normalised difference is
    scaled back by the per-channel stddev.
    """
    diff = (tf.cast(images_norm, tf.float32) - tf.cast(reconstructed_norm, tf.float32)) * IMG_STDDEV
    return _reduce(tf.reduce_sum(tf.square(diff)), diff, reduction, global_batch_size)


def feature_loss(input_features, reconstructed_features, reduction="sum", global_batch_size=None):
    """Return the squared error between two feature maps, summed over the batch (or per-sample mean)."""
    diff = tf.cast(input_features, tf.float32) - tf.cast(reconstructed_features, tf.float32)
    return _reduce(tf.reduce_sum(tf.square(diff)), diff, reduction, global_batch_size)


def _batch_size(tensor, global_batch_size):
    if global_batch_size is not None:
        return tf.cast(global_batch_size, tf.float32)
    return tf.cast(tf.shape(tensor)[0], tf.float32)


def _reduce(total, tensor, reduction, global_batch_size):
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / _batch_size(tensor, global_batch_size)
    raise ValueError(f"Unknown loss reduction {reduction!r}; choose one of {REDUCTIONS}")
