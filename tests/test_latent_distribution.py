"""Random faces come from N(0, I) or from a Gaussian fitted to the training latents (generation.latent_distribution)."""
import numpy as np
import pytest

from facenet_vae.generation.latent_distribution import LatentGaussian, draw_latents, fit_latent_gaussian


def test_the_fit_recovers_a_correlated_gaussian():
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((6, 6))
    latents = 3.0 + rng.standard_normal((20000, 6)) @ mixing.T
    gaussian = fit_latent_gaussian(latents)
    np.testing.assert_allclose(gaussian.mean, 3.0, atol=0.1)
    np.testing.assert_allclose(gaussian.cholesky @ gaussian.cholesky.T, mixing @ mixing.T, rtol=0.05, atol=0.1)
    drawn = draw_latents(20000, 6, seed=1, gaussian=gaussian)
    assert drawn.dtype == np.float32
    np.testing.assert_allclose(np.cov(drawn, rowvar=False), mixing @ mixing.T, rtol=0.06, atol=0.15)


def test_the_same_seed_gives_corresponding_faces_and_temperature_scales_the_spread():
    identity = LatentGaussian(mean=np.zeros(4), cholesky=np.eye(4))
    np.testing.assert_allclose(draw_latents(5, 4, seed=7, gaussian=identity), draw_latents(5, 4, seed=7), atol=1e-6)
    shifted = LatentGaussian(mean=np.full(4, 2.0), cholesky=np.eye(4))
    np.testing.assert_allclose(draw_latents(5, 4, temperature=0.0, seed=3, gaussian=shifted), 2.0)
    np.testing.assert_allclose(draw_latents(5, 4, temperature=0.5, seed=3), 0.5 * draw_latents(5, 4, seed=3), atol=1e-6)


def test_too_few_or_non_finite_latents_are_refused():
    with pytest.raises(ValueError, match="more than 8 latents"):
        fit_latent_gaussian(np.zeros((8, 8)))
    latents = np.random.default_rng(0).standard_normal((50, 3))
    latents[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_latent_gaussian(latents)
    with pytest.raises(ValueError, match="has size 3, the model 5"):
        draw_latents(2, 5, gaussian=fit_latent_gaussian(np.random.default_rng(0).standard_normal((50, 3))))
