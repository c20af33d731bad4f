"""``--mode=sample``: faces decoded from random latents, from the fitted latent Gaussian or N(0, I).

``--sample_from=auto`` (the default) draws from the Gaussian fitted to the training faces' latents
when the model's ``attribute_vectors.h5`` is found, else from facenet's N(0, I) prior, and says
which; see ``facenet_vae.generation.latent_distribution``.
"""
import os

import numpy as np
from absl import logging

from facenet_vae.generation.attribute_vectors import read_attribute_vectors_file
from facenet_vae.image_grid import put_images_on_grid, write_png
from facenet_vae.generation.latent_distribution import draw_latents, fit_latent_gaussian
from facenet_vae.generation.paths import attribute_vectors_file_of


def sample_faces(vae, output_dir, num_images=64, temperature=1.0, seed=0, save_individual=False, batch_size=64,
                 gaussian=None):
    """Decode ``num_images`` random latents; write ``samples.png``. Returns the paths written.

    Latents are N(0, I) * temperature, or ``gaussian`` (a ``LatentGaussian``) with its spread
    scaled by ``temperature``. With ``save_individual`` each face is also written as
    ``samples/sample_NNNN.png``.
    """
    if num_images is None or int(num_images) < 1:
        raise ValueError(f"--num_images must be at least 1, got {num_images}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"--temperature must be a non-negative number, got {temperature}")
    latent = draw_latents(num_images, vae.latent_var_size, temperature, seed, gaussian)
    pixels = vae.decode_to_pixels(latent, batch_size=batch_size)
    written = [write_png(os.path.join(output_dir, "samples.png"), put_images_on_grid(pixels))]
    if save_individual:
        folder = os.path.join(output_dir, "samples")
        written += [write_png(os.path.join(folder, f"sample_{i:04d}.png"), image) for i, image in enumerate(pixels)]
    source = "N(0, I)" if gaussian is None else "the Gaussian fitted to the training faces' latents"
    logging.info("sample: wrote %d faces from %s (temperature %g, seed %d) to %s", len(pixels), source,
                 temperature, seed, written[0])
    return written


def sampling_gaussian(options):
    """Return the ``LatentGaussian`` that ``--sample_from`` asks for, or None for the N(0, I) prior.

    ``fitted`` without an attribute vectors file is an error naming the fix; ``auto`` uses the file
    when it exists and logs which distribution it chose.
    """
    if options.sample_from == "prior":
        return None
    vectors_file = attribute_vectors_file_of(options)
    if not os.path.isfile(vectors_file):
        if options.sample_from == "fitted":
            raise FileNotFoundError(
                f"--sample_from=fitted needs the training faces' latents in {vectors_file}; write it with "
                "--mode=attributes (or pass --attribute_vectors_file), or use --sample_from=prior")
        logging.warning("sample: no attribute vectors file (%s), so faces come from the N(0, I) prior; "
                        "--mode=attributes writes it and lets samples come from the training faces' latents",
                        vectors_file)
        return None
    gaussian = fit_latent_gaussian(read_attribute_vectors_file(vectors_file).latent_vars)
    logging.info("sample: latents from the Gaussian fitted to the training faces' latents in %s", vectors_file)
    return gaussian


def run(vae, options, output_dir):
    """Run ``--mode=sample`` as ``options`` ask."""
    return sample_faces(vae, output_dir, options.resolved_num_images(), options.temperature, options.seed,
                        options.save_individual, options.batch_size, sampling_gaussian(options))
