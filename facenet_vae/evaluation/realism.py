"""The Fréchet distance between two sets of feature vectors (FID's formula, on other features).

``d^2 = |mu_a - mu_b|^2 + trace(S_a + S_b - 2 (S_a S_b)^(1/2))`` between the Gaussians fitted to
each set. No Inception weights can be had here, so the evaluation applies it to FaceNet embeddings
(FFD) and to pooled VGG16 features in place of FID; the numbers are not comparable with FID's.
"""
import warnings

import numpy as np
from scipy import linalg

# Added to both covariances' diagonals when their product is singular (fewer samples than
# dimensions) and its square root inaccurate or not finite, as FID's reference code does.
SQRTM_JITTER = 1e-6


def gaussian_statistics(features):
    """Return ``(mean (D,), covariance (D, D))`` of ``features`` (N, D) in float64; N must be at least 2."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"the Fréchet distance needs at least 2 feature vectors (N, D), got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("the features hold NaN or infinite values")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_terms_of_statistics(mean_a, covariance_a, mean_b, covariance_b):
    """Return the two terms of the squared Fréchet distance between N(mean_a, covariance_a) and N(mean_b, covariance_b).

    ``{"mean_term": |mean_a - mean_b|^2, "covariance_term": trace(S_a + S_b - 2 (S_a S_b)^(1/2))}``: the
    first is a shift of the whole set, the second a difference of spread and shape.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    covariance_a, covariance_b = np.atleast_2d(covariance_a), np.atleast_2d(covariance_b)
    if mean_a.shape != mean_b.shape or covariance_a.shape != covariance_b.shape:
        raise ValueError(f"statistics of different sizes: {mean_a.shape} vs {mean_b.shape}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        root = linalg.sqrtm(covariance_a @ covariance_b)
    if caught or not np.isfinite(root).all():
        jitter = SQRTM_JITTER * np.eye(len(covariance_a))
        root = linalg.sqrtm((covariance_a + jitter) @ (covariance_b + jitter))
    # The product of two covariances has a real square root; rounding leaves tiny imaginary parts.
    root = np.real(root)
    difference = mean_a - mean_b
    covariance_term = np.trace(covariance_a) + np.trace(covariance_b) - 2.0 * np.trace(root)
    return {"mean_term": float(difference @ difference), "covariance_term": float(max(covariance_term, 0.0))}


def frechet_distance_of_statistics(mean_a, covariance_a, mean_b, covariance_b):
    """Return the squared Fréchet distance between N(mean_a, covariance_a) and N(mean_b, covariance_b)."""
    return sum(frechet_terms_of_statistics(mean_a, covariance_a, mean_b, covariance_b).values())


def frechet_terms(features_a, features_b):
    """Return ``{"mean_term", "covariance_term"}`` of the Fréchet distance between two feature sets (N, D), (M, D)."""
    return frechet_terms_of_statistics(*gaussian_statistics(features_a), *gaussian_statistics(features_b))


def frechet_distance(features_a, features_b):
    """Return the squared Fréchet distance between the Gaussians fitted to two feature sets (N, D) and (M, D)."""
    return frechet_distance_of_statistics(*gaussian_statistics(features_a), *gaussian_statistics(features_b))
