"""``--mode=augment``: new faces per identity of a FaceNet tree, written as a FaceNet tree."""
import os

import numpy as np
from absl import logging

from facenet_vae.data import folders
from facenet_vae.data.errors import DataError
from facenet_vae.generation.face_sets import load_images
from facenet_vae.image_grid import write_png
from facenet_vae.generation.options import AUGMENT_SAMPLINGS


def _latents(mean, log_var, noise, sampling, temperature):
    if sampling == "identity":
        spread = mean.std(0) if len(mean) > 1 else np.exp(log_var[0] / 2)
        return mean.mean(0)[None] + noise * spread[None] * temperature
    which = np.arange(len(noise)) % len(mean)
    return mean[which] + noise * np.exp(log_var[which] / 2) * temperature


def augment_identities(vae, dataset, output_dir, num_per_identity=10, temperature=1.0, seed=0,
                       sampling="identity", batch_size=64):
    """Write generated faces per identity as ``<output_dir>/augmented/<identity>/<identity>_NNNN.png``.

    ``dataset`` is a folders.get_dataset list. ``sampling="identity"``: z = mean of the identity's
    codes + N(0, I) * their per-dimension std * temperature (the posterior std for a one-image
    identity); ``"posterior"``: z = mean_i + N(0, I) * exp(log_var_i / 2) * temperature for the
    identity's images in turn. Returns the paths written.
    """
    if num_per_identity is None or int(num_per_identity) < 1:
        raise ValueError(f"--num_images must be at least 1, got {num_per_identity}")
    if sampling not in AUGMENT_SAMPLINGS:
        raise ValueError(f"--augment_sampling must be one of {', '.join(AUGMENT_SAMPLINGS)}, got {sampling!r}")
    identities = [cls for cls in dataset if len(cls.image_paths)]
    if not identities:
        raise DataError("no identity folder holds images to augment")
    rng = np.random.default_rng(seed)
    root = os.path.join(output_dir, "augmented")
    written = []
    for cls in identities:
        mean, log_var = vae.encode_pixels(load_images(cls.image_paths, vae), batch_size=batch_size)
        noise = rng.standard_normal((int(num_per_identity), vae.latent_var_size)).astype(np.float32)
        latent = _latents(mean, log_var, noise, sampling, temperature)
        faces = vae.decode_to_pixels(latent.astype(np.float32), batch_size=batch_size)
        folder = os.path.join(root, cls.name)
        written += [write_png(os.path.join(folder, f"{cls.name}_{i + 1:04d}.png"), face)
                    for i, face in enumerate(faces)]
    skipped = len(dataset) - len(identities)
    logging.info("augment: wrote %d faces for each of %d identities (%s sampling, temperature %g) under %s%s",
                 num_per_identity, len(identities), sampling, temperature, root,
                 f"; skipped {skipped} empty identity folders" if skipped else "")
    return written


def run(vae, options, output_dir):
    """Run ``--mode=augment`` on the identity folders of ``--data_dir``."""
    return augment_identities(vae, folders.get_dataset(options.data_dir), output_dir, options.resolved_num_images(),
                              options.temperature, options.seed, options.augment_sampling, options.batch_size)
