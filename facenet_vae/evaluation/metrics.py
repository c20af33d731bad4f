"""Reconstruction metrics on uint8 (0..255) pixel images: MSE, PSNR and SSIM.

PSNR and SSIM are tf.image's (``max_val=255``), computed per image and averaged over images.
"""
import numpy as np
import tensorflow as tf

MAX_PIXEL_VALUE = 255.0


def _as_pair(images, reconstructions):
    images = np.asarray(images)
    reconstructions = np.asarray(reconstructions)
    if images.shape != reconstructions.shape:
        raise ValueError(f"image shapes differ: {images.shape} vs {reconstructions.shape}")
    if images.ndim == 3:
        images, reconstructions = images[None], reconstructions[None]
    if images.ndim != 4:
        raise ValueError(f"expected images of shape (N, H, W, C) or (H, W, C), got {images.shape}")
    return images, reconstructions


def standard_error(values):
    """Return the standard error of the mean of ``values`` (None for fewer than two or non-finite values)."""
    values = np.asarray(values, np.float64)
    if len(values) < 2 or not np.all(np.isfinite(values)):
        return None
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


def per_image_mse(images, reconstructions):
    """Return the mean squared pixel error of each image (float64, shape (N,)), pixels in 0..255."""
    images, reconstructions = _as_pair(images, reconstructions)
    diff = images.astype(np.float64) - reconstructions.astype(np.float64)
    return np.mean(np.square(diff), axis=(1, 2, 3))


def mse(images, reconstructions):
    """Return the mean squared pixel error over all pixels and channels of all images (0..255 scale)."""
    return float(np.mean(per_image_mse(images, reconstructions)))


def _batched(function, images, reconstructions, batch_size):
    values = []
    for start in range(0, len(images), batch_size):
        a = tf.constant(images[start:start + batch_size], tf.float32)
        b = tf.constant(reconstructions[start:start + batch_size], tf.float32)
        values.append(function(a, b, max_val=MAX_PIXEL_VALUE).numpy().astype(np.float64))
    return np.concatenate(values) if values else np.zeros((0,), np.float64)


def per_image_psnr(images, reconstructions, batch_size=256):
    """Return tf.image.psnr (max_val 255) of each image, float64 shape (N,); inf for identical images."""
    images, reconstructions = _as_pair(images, reconstructions)
    return _batched(tf.image.psnr, images, reconstructions, batch_size)


def psnr(images, reconstructions, batch_size=256):
    """Return the mean over images of the per-image PSNR in dB, ``10 log10(255^2 / MSE_i)``."""
    return float(np.mean(per_image_psnr(images, reconstructions, batch_size)))


def per_image_ssim(images, reconstructions, batch_size=256):
    """Return tf.image.ssim (max_val 255, 11x11 Gaussian window) of each image, float64 shape (N,)."""
    images, reconstructions = _as_pair(images, reconstructions)
    if min(images.shape[1:3]) < 11:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {images.shape[1:3]}")
    return _batched(tf.image.ssim, images, reconstructions, batch_size)


def ssim(images, reconstructions, batch_size=256):
    """Return the mean over images of tf.image.ssim (1.0 for identical images)."""
    return float(np.mean(per_image_ssim(images, reconstructions, batch_size)))


def reconstruction_metrics(images, reconstructions, batch_size=256):
    """Return ``{"mse", "psnr", "psnr_standard_error", "ssim", "psnr_of_mean_mse", "num_images"}`` for uint8 images.

    ``psnr`` is the mean of per-image PSNRs (as tf.image.psnr reports them) and
    ``psnr_standard_error`` its standard error over the images (None for one image or an identical
    pair); ``psnr_of_mean_mse`` is ``10 log10(255^2 / mse)`` over the whole set, which some papers
    report instead.
    """
    errors = per_image_mse(images, reconstructions)
    mean_error = float(np.mean(errors))
    psnrs = per_image_psnr(images, reconstructions, batch_size)
    return {
        "mse": mean_error,
        "psnr": float(np.mean(psnrs)),
        "psnr_standard_error": standard_error(psnrs),
        "ssim": ssim(images, reconstructions, batch_size),
        "psnr_of_mean_mse": (float(10.0 * np.log10(MAX_PIXEL_VALUE ** 2 / mean_error)) if mean_error > 0
                             else float("inf")),
        "num_images": int(len(errors)),
    }
