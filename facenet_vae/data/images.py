"""Image decoding (tf.io only), reading framed faces from files, and an up-front scan that names every bad file."""
import contextlib
import os
import sys
import warnings

import keras
import numpy as np
import tensorflow as tf

from facenet_vae.atomic_files import write_file
from facenet_vae.data.errors import DataError, DataWarning

MIN_IMAGE_SIZE = 8

_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
               (b"BM", "BMP"))


def decode_image(contents):
    """Return the uint8 (H, W, 3) RGB tensor of encoded JPEG/PNG/GIF/BMP(/WebP) bytes.

    Grayscale becomes RGB, alpha is dropped, palettes are expanded, 16-bit PNGs are scaled to 8 bit
    and CMYK JPEGs are converted to RGB by libjpeg; an animated GIF gives its first frame.
    Raises tf.errors.InvalidArgumentError for data it cannot decode. Works eagerly and in tf.data.
    """
    image = tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def read_image(path):
    """Return the uint8 (H, W, 3) tensor of the image file at ``path`` (tf.io.read_file + decode_image)."""
    return decode_image(tf.io.read_file(path))


def image_format(contents):
    """Return "JPEG", "PNG", "GIF", "BMP" or "WebP" from the leading bytes of ``contents``, or None."""
    for signature, name in _SIGNATURES:
        if contents.startswith(signature):
            return name
    if contents[:4] == b"RIFF" and contents[8:12] == b"WEBP":
        return "WebP"
    return None


def _looks_truncated(fmt, contents):
    if fmt == "JPEG":
        return not contents.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if fmt == "PNG":
        return b"IEND" not in contents[-16:]
    if fmt == "GIF":
        return not contents.rstrip(b"\x00").endswith(b";")
    if fmt == "BMP":
        return len(contents) >= 6 and int.from_bytes(contents[2:6], "little") > len(contents)
    if fmt == "WebP":
        return len(contents) >= 8 and int.from_bytes(contents[4:8], "little") + 8 > len(contents)
    return False


def _first_line(err):
    message = getattr(err, "message", None) or str(err)
    message = message.split("\n")[0]
    # tf prefixes eager errors with "{{function_node ...}} "; keep the readable part.
    return message.split("}} ")[-1].split(" [Op:")[0][:120]


def try_decode_image(contents, min_size=MIN_IMAGE_SIZE):
    """Return ``(image, None)`` with a uint8 (H, W, 3) numpy image, or ``(None, reason)`` when unusable.

    Reasons: "zero-byte file", "not an image (cannot decode)", "truncated <FMT>",
    "corrupt <FMT> data (cannot decode: ...)", "smaller than <min_size> px (WxH)". Never raises for
    bad bytes (eager only).
    """
    if not contents:
        return None, "zero-byte file"
    try:
        image = decode_image(contents).numpy()
    except (tf.errors.OpError, ValueError) as err:
        fmt = image_format(contents)
        if fmt is None:
            return None, "not an image (cannot decode)"
        if _looks_truncated(fmt, contents):
            return None, f"truncated {fmt} (cannot decode)"
        return None, f"corrupt {fmt} data (cannot decode: {_first_line(err)})"
    height, width = image.shape[:2]
    if min(height, width) < min_size:
        return None, f"smaller than {min_size} px ({width}x{height})"
    return image, None


def diagnose_image_file(path, min_size=MIN_IMAGE_SIZE):
    """Return None when the file at ``path`` decodes to a usable image, else the reason it is bad."""
    path = os.fspath(path)
    try:
        if os.path.isdir(path):
            return "unreadable (a directory, not a file)"
        with open(path, "rb") as f:
            contents = f.read()
    except FileNotFoundError:
        return "missing (no such file)"
    except PermissionError:
        return "unreadable (permission denied)"
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    return try_decode_image(contents, min_size)[1]


def _progress_bar(total, label, enabled):
    """Return a ``keras.utils.Progbar`` over ``total`` files drawn on stderr (after a ``label`` line), or None.

    Without a terminal (stderr sent to a log) the bar is one plain line at the end, with no colour
    codes or carriage returns.
    """
    if not enabled:
        return None
    print(label, file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):  # Progbar writes to sys.stdout
        return keras.utils.Progbar(total, unit_name="file", verbose=1 if sys.stderr.isatty() else 2)


def _advance(bar, count):
    if bar is not None:
        with contextlib.redirect_stdout(sys.stderr):
            bar.add(count)


def _decode_shape(index, path):
    return index, tf.shape(read_image(path))[:2]


def scan_images(paths, progress=True, min_size=MIN_IMAGE_SIZE, progress_threshold=1000):
    """Try to decode every file; return ``(good_paths, bad)`` with ``bad`` a list of ``(path, reason)``.

    Both lists keep the order of ``paths``. Decoding runs in parallel in tf.data (the files that fail
    there are then diagnosed one by one for a reason, see diagnose_image_file). Images under
    ``min_size`` pixels on a side are bad; images smaller than the crop are fine (crop_or_pad pads).
    With ``progress``, lists of at least ``progress_threshold`` files show a ``keras.utils.Progbar`` on stderr.
    """
    paths = [os.fspath(p) for p in paths]
    if not paths:
        return [], []
    shapes = {}
    bar = _progress_bar(len(paths), "Scanning images", progress and len(paths) >= progress_threshold)
    dataset = tf.data.Dataset.from_tensor_slices((np.arange(len(paths), dtype=np.int64), paths))
    dataset = dataset.map(_decode_shape, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    dataset = dataset.ignore_errors().batch(256).prefetch(2)
    for indices, hw in dataset.as_numpy_iterator():
        shapes.update(zip(indices.tolist(), hw.tolist()))
        _advance(bar, len(indices))
    # Files tf.data could not decode were dropped (ignore_errors): count them too, so the bar ends at 100%.
    _advance(bar, len(paths) - len(shapes))
    good, bad = [], []
    for index, path in enumerate(paths):
        hw = shapes.get(index)
        if hw is None:
            bad.append((path, diagnose_image_file(path, min_size) or "cannot decode in tf.data"))
        elif min(hw) < min_size:
            bad.append((path, f"smaller than {min_size} px ({hw[1]}x{hw[0]})"))
        else:
            good.append(path)
    return good, bad


def read_image_files(paths, framing, batch_size=256):
    """Return ``(faces, kept_indices, original_sizes)``: uint8 faces framed by ``framing`` for the decodable paths.

    ``framing`` is the model's ``Framing``, the same that training's pipeline applies, so a file
    gives the same model input here as in training. Undecodable files are skipped; the order is kept.
    """
    def load(index, path):
        image = read_image(path)
        return index, framing.frame(image), tf.shape(image)[:2]

    dataset = tf.data.Dataset.from_tensor_slices((np.arange(len(paths), dtype=np.int64), [os.fspath(p) for p in paths]))
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors().batch(batch_size)
    indices, images, sizes = [], [], set()
    for index, pixels, shape in dataset.as_numpy_iterator():
        indices.append(index)
        images.append(pixels)
        sizes.update(tuple(int(v) for v in s) for s in shape)
    if not images:
        size = framing.image_size
        return np.zeros((0, size, size, 3), np.uint8), np.zeros((0,), np.int64), []
    return np.concatenate(images), np.concatenate(indices), sorted(sizes)


def write_bad_files_log(path, bad):
    """Write ``bad`` ``(path, reason)`` pairs to ``path`` (local, or remote through tf.io.gfile), one a line."""
    return write_file(os.fspath(path), "".join(f"{bad_path}\t{reason}\n" for bad_path, reason in bad))


def checked_image_paths(paths, where, *, strict=False, bad_files_log=None, progress=True):
    """Return the paths that decode (scan_images), after reporting the others.

    With ``strict`` any bad file raises DataError listing them; otherwise they are skipped with one
    DataWarning. ``bad_files_log`` (a path) receives the full list either way. Raises DataError
    when no image is usable.
    """
    good, bad = scan_images(paths, progress=progress)
    if bad_files_log:
        write_bad_files_log(bad_files_log, bad)
    if bad:
        listing = "\n".join(f"  {path}: {reason}" for path, reason in bad[:20])
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        logged = f" (full list in {bad_files_log})" if bad_files_log else ""
        if strict:
            raise DataError(f"{len(bad)} of {len(paths)} image files in {where} cannot be used{logged}:\n"
                            f"{listing}{more}")
        first_path, first_reason = bad[0]
        warnings.warn(f"skipping {len(bad)} of {len(paths)} image files in {where} that cannot be used "
                      f"(first: {first_path}: {first_reason}){logged}", DataWarning, stacklevel=3)
    if not good:
        raise DataError(f"none of the {len(paths)} image files in {where} can be decoded")
    return good, bad


def undecodable_files_error(paths, what="image"):
    """Return a DataError naming the undecodable files among ``paths`` (up to 5), or None when all decode."""
    _, bad = scan_images(paths, progress=False)
    if not bad:
        return None
    listing = "; ".join(f"{path}: {reason}" for path, reason in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    return DataError(f"{len(bad)} unreadable {what} file(s): {listing}{more}")
