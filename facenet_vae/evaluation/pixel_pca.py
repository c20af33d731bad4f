"""PCA of the raw pixels, the evaluation's linear reference model: features, reconstructions and samples.

Fitted once on the training split's pixels (flattened, scaled to 0..1). Its projections are the
attribute probe's pixel baseline; its reconstructions and the samples of a Gaussian fitted to its
training coefficients are the PCA-100 reference row of the identity and realism tables.
"""
import numpy as np
from sklearn.decomposition import PCA

from facenet_vae.generation.latent_distribution import draw_latents, fit_latent_gaussian


def _flat(pixels):
    pixels = np.asarray(pixels)
    return pixels.reshape(len(pixels), -1).astype(np.float32) / 255.0


class PixelPca:
    """A PCA fitted on training pixels; ``components`` is how many it kept."""

    def __init__(self, train_pixels, num_components, seed=0):
        train = _flat(train_pixels)
        self.image_shape = tuple(np.asarray(train_pixels).shape[1:])
        self.components = int(min(num_components, train.shape[0], train.shape[1]))
        self.pca = PCA(n_components=self.components, svd_solver="randomized", random_state=seed).fit(train)
        self._train_coefficients = self.pca.transform(train)

    def transform(self, pixels):
        """Return the (N, components) projections of uint8 ``pixels``."""
        return self.pca.transform(_flat(pixels))

    @property
    def train_features(self):
        """Return the projections of the training pixels it was fitted on."""
        return self._train_coefficients

    def _to_pixels(self, coefficients):
        restored = self.pca.inverse_transform(np.asarray(coefficients, np.float32)) * 255.0
        return np.clip(np.round(restored), 0, 255).astype(np.uint8).reshape((len(restored),) + self.image_shape)

    def reconstruct(self, pixels):
        """Return uint8 ``pixels`` projected onto the components and back."""
        return self._to_pixels(self.transform(pixels))

    def sample(self, count, seed=0):
        """Return ``count`` uint8 images decoded from a Gaussian fitted to the training coefficients.

        None when there are too few training images to fit it (no more than the components).
        """
        if len(self._train_coefficients) <= self.components:
            return None
        gaussian = fit_latent_gaussian(self._train_coefficients)
        return self._to_pixels(draw_latents(count, self.components, seed=seed, gaussian=gaussian))
