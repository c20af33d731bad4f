"""``--mode=interpolate``: strips of faces decoded along a path from one latent to another.

With photos as ends, each strip starts with the first photo and ends with the second; in between
are the decoded faces for t = 0 ... 1 (t = 0 and t = 1 are the two photos' reconstructions).
Every face is captioned (``input a``, ``t=0.25``, ..., ``input b``).
"""
import json
import os

import numpy as np
from absl import logging

from facenet_vae.generation.face_sets import load_images
from facenet_vae.image_grid import put_images_on_grid, write_png
from facenet_vae.generation.latent_maths import INTERPOLATION_FUNCTIONS, interpolation_kinds
from facenet_vae.generation.options import OptionError


def load_latent_vector(path, latent_var_size):
    """Return the float32 (L,) latent vector stored in a ``.npy`` file; ValueError naming a wrong size."""
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"latent vector file {path} does not exist")
    vector = np.load(path, allow_pickle=False).astype(np.float32)
    if vector.size != latent_var_size:
        raise ValueError(f"latent vector file {path} holds shape {vector.shape}, but the model has latent size "
                         f"{latent_var_size}")
    return vector.reshape(-1)


def interpolation_strip(decoded, photo_a=None, photo_b=None):
    """Return ``(faces, captions)`` of one strip: ``photo_a`` (when given), the decoded faces captioned by t,
    ``photo_b`` (when given)."""
    steps = np.linspace(0.0, 1.0, len(decoded))
    faces, captions = list(decoded), [f"t={t:.2f}" for t in steps]
    if photo_a is not None:
        faces, captions = [photo_a] + faces, ["input a"] + captions
    if photo_b is not None:
        faces, captions = faces + [photo_b], captions + ["input b"]
    return np.stack(faces).astype(np.uint8), captions


def interpolate_faces(vae, z_a, z_b, output_dir, num_steps=10, interpolation="both", photo_a=None, photo_b=None):
    """Write ``interpolation_linear.png`` and/or ``interpolation_spherical.png`` strips from z_a to z_b.

    ``photo_a`` / ``photo_b`` (uint8 faces at the model's size) are put at the ends. Returns the paths written.
    """
    if num_steps is None or int(num_steps) < 2:
        raise ValueError(f"--num_steps must be at least 2, got {num_steps}")
    written = []
    for kind in interpolation_kinds(interpolation):
        decoded = vae.decode_to_pixels(INTERPOLATION_FUNCTIONS[kind](z_a, z_b, int(num_steps)))
        faces, captions = interpolation_strip(decoded, photo_a, photo_b)
        grid = put_images_on_grid(faces, shape=(len(faces), 1), captions=captions)
        written.append(write_png(os.path.join(output_dir, f"interpolation_{kind}.png"), grid,
                                 text={"captions": json.dumps(captions)}))
        logging.info("interpolate: wrote a %d-step %s interpolation to %s", num_steps, kind, written[-1])
    return written


def _end(vae, image, latent, which):
    """Return ``(z, photo or None)`` of one end: the photo's posterior mean and framed face, or a stored latent."""
    if image and latent:
        raise OptionError(f"give either --image_{which} or --latent_{which}, not both")
    if latent:
        return load_latent_vector(latent, vae.latent_var_size), None
    if image:
        pixels = load_images([image], vae)
        return vae.encode_pixels(pixels)[0][0], pixels[0]
    raise OptionError(f"--mode=interpolate needs --image_{which} or --latent_{which}")


def run(vae, options, output_dir):
    """Run ``--mode=interpolate`` as ``options`` ask."""
    z_a, photo_a = _end(vae, options.image_a, options.latent_a, "a")
    z_b, photo_b = _end(vae, options.image_b, options.latent_b, "b")
    return interpolate_faces(vae, z_a, z_b, output_dir, options.num_steps, options.interpolation, photo_a, photo_b)
