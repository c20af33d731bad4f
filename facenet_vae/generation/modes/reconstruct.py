"""``--mode=reconstruct``: faces beside their reconstructions, picked across identities."""
import os

import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae.data.errors import DataError
from facenet_vae.generation.face_sets import image_paths, load_images, spread_over_identities
from facenet_vae.image_grid import put_images_on_grid, write_png


def reconstruct_faces(vae, pixels, output_dir, batch_size=64, pairs_per_row=4):
    """Write ``reconstructions.png``: each input face beside its reconstruction (decoded mean). Returns [path]."""
    pixels = np.asarray(pixels)
    if not len(pixels):
        raise DataError("no images to reconstruct")
    if pixels.shape[1:3] != (vae.image_size, vae.image_size):
        resized = tf.image.resize(tf.cast(pixels, tf.float32), (vae.image_size, vae.image_size))
        pixels = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8).numpy()
    reconstructions = vae.reconstruct_pixels(pixels, batch_size=batch_size)
    pairs = np.stack([pixels.astype(np.uint8), reconstructions], axis=1).reshape((-1,) + reconstructions.shape[1:])
    columns = 2 * min(pairs_per_row, len(pixels))
    rows = int(np.ceil(len(pairs) / columns))
    path = write_png(os.path.join(output_dir, "reconstructions.png"),
                     put_images_on_grid(pairs, shape=(columns, rows)))
    logging.info("reconstruct: wrote %d faces beside their reconstructions to %s", len(pixels), path)
    return [path]


def run(vae, options, output_dir):
    """Run ``--mode=reconstruct``: ``--num_images`` faces of ``--data_dir``, one identity after another in turn
    (a flat folder or an attribute list keeps its order)."""
    paths = image_paths(options.data_dir, options.attributes_file)
    picked = paths[:options.resolved_num_images()] if options.attributes_file else \
        spread_over_identities(paths, options.resolved_num_images())
    return reconstruct_faces(vae, load_images(picked, vae), output_dir, options.batch_size)
