"""Image grids and PNG files: faces laid out row by row, optionally with a caption above each face.

Captions are drawn with Pillow's built-in font into the pixels (so any image viewer shows them)
and, when given, also stored as PNG text chunks (``PIL.Image.open(path).text``).
"""
import io

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from facenet_vae.atomic_files import atomic_write
from facenet_vae.model.normalization import normalized_to_pixels

CAPTION_HEIGHT = 13   # pixels of the caption bar above each face of a labelled grid
CAPTION_FONT_SIZE = 10


def caption_bar(text, width, height=CAPTION_HEIGHT, background=255):
    """Return a uint8 (height, width, 3) bar with ``text`` in black on ``background``, left-aligned."""
    bar = Image.new("RGB", (int(width), int(height)), (background,) * 3)
    if text:
        ImageDraw.Draw(bar).text((2, 1), str(text), fill=(0, 0, 0), font=ImageFont.load_default(CAPTION_FONT_SIZE))
    return np.asarray(bar, np.uint8)


def put_images_on_grid(images, shape=None, border=3, background=255, captions=None):
    """Return one uint8 HxWx3 array with ``images`` (N,h,w,3 uint8) laid out row by row.

    ``shape`` is (columns, rows) as in facenet's helper; by default the smallest near-square grid.
    ``captions`` (one string per image, None or "" for none) puts a ``CAPTION_HEIGHT`` bar with the
    text above each face.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, H, W, 3), got {images.shape}")
    count, height, width, _ = images.shape
    if captions is not None and len(captions) != count:
        raise ValueError(f"{len(captions)} captions for {count} images")
    if shape is None:
        columns = int(np.ceil(np.sqrt(count)))
        rows = int(np.ceil(count / max(columns, 1)))
    else:
        columns, rows = shape
    caption_height = CAPTION_HEIGHT if captions is not None else 0
    cell_height = caption_height + height
    grid = np.full((border + rows * (cell_height + border), border + columns * (width + border), 3),
                   background, np.uint8)
    for index in range(min(count, rows * columns)):
        row, column = divmod(index, columns)
        top, left = border + row * (cell_height + border), border + column * (width + border)
        if caption_height:
            grid[top:top + caption_height, left:left + width] = caption_bar(captions[index], width,
                                                                            caption_height, background)
        grid[top + caption_height:top + cell_height, left:left + width] = images[index]
    return grid


def cell_origin(index, columns, image_size, border=3, captioned=False):
    """Return ``(top, left)`` of face ``index``'s pixels in a grid of ``columns`` (caption bar above when ``captioned``)."""
    row, column = divmod(index, columns)
    caption_height = CAPTION_HEIGHT if captioned else 0
    return (border + row * (caption_height + image_size + border) + caption_height,
            border + column * (image_size + border))


def to_uint8_pixels(normalized_images):
    """Return uint8 pixels (numpy) from images in facenet's normalised space."""
    return normalized_to_pixels(normalized_images, tf.uint8).numpy()


def write_png(path, image, text=None):
    """Write a uint8 HxWx3 array as a PNG atomically (temp file + rename); returns ``path``.

    ``text`` (a dict of str) is stored as PNG text chunks.
    """
    image = np.asarray(image, np.uint8)
    if not text:
        return atomic_write(path, tf.io.encode_png(image).numpy())
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(str(key), str(value))
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", pnginfo=info)
    return atomic_write(path, buffer.getvalue())
