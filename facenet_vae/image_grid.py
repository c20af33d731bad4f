"""Image grids and PNG files, written with tf.io only (no removed scipy.misc APIs)."""
import numpy as np
import tensorflow as tf

from facenet_vae.atomic_files import atomic_write
from facenet_vae.normalization import normalized_to_pixels


def put_images_on_grid(images, shape=None, border=3, background=255):
    """Return one uint8 HxWx3 array with ``images`` (N,h,w,3 uint8) laid out row by row.

    ``shape`` is (columns, rows) as in facenet's helper; by default the smallest near-square grid.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3), got {images.shape}")
    count, height, width, _ = images.shape
    if shape is None:
        columns = int(np.ceil(np.sqrt(count)))
        rows = int(np.ceil(count / max(columns, 1)))
    else:
        columns, rows = shape
    grid = np.full((border + rows * (height + border), border + columns * (width + border), 3),
                   background, np.uint8)
    for index in range(min(count, rows * columns)):
        row, column = divmod(index, columns)
        top, left = border + row * (height + border), border + column * (width + border)
        grid[top:top + height, left:left + width] = images[index]
    return grid


def to_uint8_pixels(normalized_images):
    """Return uint8 pixels (numpy) from images in facenet's normalised space."""
    return normalized_to_pixels(normalized_images, tf.uint8).numpy()


def write_png(path, image):
    """Write a uint8 HxWx3 array as a PNG atomically (temp file + rename); returns ``path``."""
    return atomic_write(path, tf.io.encode_png(np.asarray(image, np.uint8)).numpy())
