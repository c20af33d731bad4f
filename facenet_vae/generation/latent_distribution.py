"""Where random faces come from: facenet's N(0, I) prior, or a Gaussian fitted to the training faces' latents.

A DFC-VAE trained for a short while, or with a strong reconstruction weight, leaves its aggregate
posterior (the latent means of the training faces) wider than N(0, I), shifted and correlated: the
shipped CelebA model's means have a standard deviation of 0.87 to 2.11 per dimension (1.3 to 2.2
for its predecessor, trained with an 18x stronger pixel weight). Decoding N(0, I) draws then often
lands between the faces the decoder learnt, and gives blurred mixtures or colour fields. Fitting a full-covariance Gaussian to the
training latents and sampling from it (ex-post density estimation, Ghosh et al. 2020, "From
variational to deterministic autoencoders") gives faces from the same decoder. The latents are the
ones ``--mode=attributes`` already stores in ``attribute_vectors.h5``.
"""
import dataclasses

import numpy as np

# auto: fitted when the model's attribute_vectors.h5 (with its training latents) is found, else prior.
SAMPLE_SOURCES = ("auto", "fitted", "prior")
# Added to the covariance's diagonal so its Cholesky factor exists for collapsed dimensions.
COVARIANCE_JITTER = 1e-6


@dataclasses.dataclass(frozen=True)
class LatentGaussian:
    """A Gaussian over latents: ``mean`` (d,) and lower-triangular ``cholesky`` (d, d) of its covariance."""
    mean: np.ndarray
    cholesky: np.ndarray

    def transform(self, noise):
        """Return ``mean + noise @ cholesky.T`` (float32) for standard-normal ``noise`` of shape (n, d)."""
        noise = np.asarray(noise, np.float64)
        return (self.mean + noise @ self.cholesky.T).astype(np.float32)


def fit_latent_gaussian(latent_vars):
    """Return the ``LatentGaussian`` of ``latent_vars`` (n, d): their mean and full covariance (n must exceed d)."""
    latent_vars = np.asarray(latent_vars, np.float64)
    count, size = latent_vars.shape
    if count <= size:
        raise ValueError(f"fitting a {size}-dimensional Gaussian needs more than {size} latents, got {count}")
    if not np.isfinite(latent_vars).all():
        raise ValueError("the latents to fit hold NaN or infinite values")
    covariance = np.cov(latent_vars, rowvar=False) + COVARIANCE_JITTER * np.eye(size)
    return LatentGaussian(mean=latent_vars.mean(0), cholesky=np.linalg.cholesky(covariance))


def draw_latents(num_latents, latent_size, temperature=1.0, seed=0, gaussian=None):
    """Return ``num_latents`` float32 latents: N(0, I) * temperature, or ``gaussian`` with its spread scaled.

    The same ``seed`` gives the same standard-normal noise in both cases, so a face drawn from the
    prior and the one drawn from the fitted Gaussian correspond.
    """
    noise = np.random.default_rng(seed).standard_normal((int(num_latents), int(latent_size)))
    noise = noise * float(temperature)
    if gaussian is None:
        return noise.astype(np.float32)
    if gaussian.mean.shape != (latent_size,):
        raise ValueError(f"the fitted latent Gaussian has size {gaussian.mean.shape[0]}, the model {latent_size}")
    return gaussian.transform(noise)
