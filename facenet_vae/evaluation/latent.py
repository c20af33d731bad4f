"""Latent-space health: KL per dimension and active units (Burda et al. 2016).

Log-variances are capped at the training objective's ``MAX_LOG_VARIANCE`` before ``exp``, as the
training KL caps them, so a model with diverging log-variances reports the KL it was trained on
(an uncapped one printed 3.9e107) and says how many values were capped.
"""
import numpy as np

from facenet_vae.training.losses import MAX_LOG_VARIANCE

ACTIVE_UNIT_THRESHOLD = 0.01


def kl_per_dimension(mean, log_variance):
    """Return the KL to N(0, 1) of each latent dimension, averaged over samples (float64, shape (D,)).

    Per sample and dimension this is ``0.5 * (exp(lv) + mu^2 - 1 - lv)`` with ``lv`` capped at
    ``MAX_LOG_VARIANCE``; the sum over dimensions is the KL term of the training loss.
    """
    mean = np.asarray(mean, np.float64)
    log_variance = np.asarray(log_variance, np.float64)
    if mean.shape != log_variance.shape or mean.ndim != 2:
        raise ValueError(f"expected mean and log-variance of the same (N, D) shape, got {mean.shape}, "
                         f"{log_variance.shape}")
    log_variance = capped_log_variance(log_variance)
    return np.mean(0.5 * (np.exp(log_variance) + np.square(mean) - 1.0 - log_variance), axis=0)


def capped_log_variance(log_variance):
    """Return float64 ``min(log_variance, MAX_LOG_VARIANCE)``, the training objective's cap."""
    return np.minimum(np.asarray(log_variance, np.float64), MAX_LOG_VARIANCE)


def latent_mean_variance(mean):
    """Return ``Var_x(E[z|x])`` per dimension (float64, shape (D,)): the activity statistic of Burda et al."""
    mean = np.asarray(mean, np.float64)
    if mean.ndim != 2:
        raise ValueError(f"expected latent means of shape (N, D), got {mean.shape}")
    return np.var(mean, axis=0)


def active_units(mean, threshold=ACTIVE_UNIT_THRESHOLD):
    """Return the number of dimensions whose latent mean varies over inputs by more than ``threshold``."""
    return int(np.sum(latent_mean_variance(mean) > threshold))


def latent_summary(mean, log_variance, threshold=ACTIVE_UNIT_THRESHOLD):
    """Return a JSON-ready dict: active units (both criteria), KL per dimension and totals (log-variances capped)."""
    kl = kl_per_dimension(mean, log_variance)
    activity = latent_mean_variance(mean)
    return {
        "latent_var_size": int(kl.shape[0]),
        "num_images": int(np.asarray(mean).shape[0]),
        "active_units": int(np.sum(activity > threshold)),
        "active_units_threshold": threshold,
        "active_units_kl": int(np.sum(kl > threshold)),
        "kl_total": float(np.sum(kl)),
        "kl_per_dimension": [float(v) for v in kl],
        "mean_variance_per_dimension": [float(v) for v in activity],
        "posterior_variance_mean": float(np.mean(np.exp(capped_log_variance(log_variance)))),
        "log_variance_cap": MAX_LOG_VARIANCE,
        "num_log_variances_capped": int(np.sum(np.asarray(log_variance, np.float64) > MAX_LOG_VARIANCE)),
    }
