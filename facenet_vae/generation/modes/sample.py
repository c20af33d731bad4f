"""``--mode=sample``: faces decoded from random latents z ~ N(0, I) * temperature."""
import os

import numpy as np
from absl import logging

from facenet_vae.generation.image_grid import put_images_on_grid, write_png


def sample_faces(vae, output_dir, num_images=64, temperature=1.0, seed=0, save_individual=False, batch_size=64):
    """Decode ``num_images`` latents z ~ N(0, I) * temperature; write ``samples.png``. Returns the paths written.

    With ``save_individual`` each face is also written as ``samples/sample_NNNN.png``.
    """
    if num_images is None or int(num_images) < 1:
        raise ValueError(f"--num_images must be at least 1, got {num_images}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"--temperature must be a non-negative number, got {temperature}")
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((int(num_images), vae.latent_var_size)).astype(np.float32) * np.float32(temperature)
    pixels = vae.decode_to_pixels(latent, batch_size=batch_size)
    written = [write_png(os.path.join(output_dir, "samples.png"), put_images_on_grid(pixels))]
    if save_individual:
        folder = os.path.join(output_dir, "samples")
        written += [write_png(os.path.join(folder, f"sample_{i:04d}.png"), image) for i, image in enumerate(pixels)]
    logging.info("sample: wrote %d faces (temperature %g, seed %d) to %s", len(pixels), temperature, seed, written[0])
    return written


def run(vae, options, output_dir):
    """Run ``--mode=sample`` as ``options`` ask."""
    return sample_faces(vae, output_dir, options.resolved_num_images(), options.temperature, options.seed,
                        options.save_individual, options.batch_size)
