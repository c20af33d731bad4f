"""tf.data input pipelines of normalised face batches from a face source (``data.sources``), for train_vae.py."""
import os
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from facenet_vae.data.errors import DataError
from facenet_vae.data.framing import Framing
from facenet_vae.data.images import read_image
from facenet_vae.data.npz_faces import as_rgb_uint8
from facenet_vae.data.sources import DEFAULT_CROP_SIZE, PHOTO_SOURCES, open_source
from facenet_vae.data.sources.base import warn_if_upsampled
from facenet_vae.model.normalization import pixels_to_normalized

# Shuffle buffers (in images) once images are decoded; file names and uint8 arrays shuffle fully.
DECODED_SHUFFLE_BUFFER = 4096  # preprocessed (image_size) images, after cache
STREAM_SHUFFLE_BUFFER = 1024  # full-size images from a tf.data source (tfds celeb_a: 218x178)


def make_image_dataset(source, *, framing, batch_size, shuffle=True, seed=None, cache=False, repeat=True,
                       drop_remainder=True, random_flip=False, crop_size=None):
    """Return a tf.data.Dataset of float32 normalised batches (B, S, S, 3), S = ``framing.image_size``.

    ``source`` is a list of image file paths, a uint8 (N, H, W, 3) array, or a tf.data.Dataset of
    uint8 (H, W, 3) images. Each image is framed by ``framing`` (a ``Framing``: the crop and
    resize every consumer of the model applies too) and normalised (pixels_to_normalized). Decoding runs in parallel; a file that fails to decode is skipped
    (ignore_errors) so the pipeline never stops on it. ``cache`` is True (memory) or a file
    prefix and caches preprocessed images; ``seed`` makes the shuffle order reproducible;
    ``repeat`` makes it endless (reshuffled each epoch). ``random_flip`` mirrors each image
    left-right with probability 1/2 (seeded by ``seed``). With ``crop_size`` each element is a pair
    ``(faces, crops)``: the same photos' crops at ``crop_size`` (facenet's feature target), flipped
    with their faces.
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be positive, got {batch_size}")
    autotune = tf.data.AUTOTUNE
    from_files = False
    if isinstance(source, tf.data.Dataset):
        dataset, count = source, None
    elif isinstance(source, np.ndarray):
        images = as_rgb_uint8(source)
        dataset, count = tf.data.Dataset.from_tensor_slices(images), len(images)
    else:
        paths = [os.fspath(p) for p in source]
        if not paths:
            raise DataError("no image files to read")
        dataset, count, from_files = tf.data.Dataset.from_tensor_slices(paths), len(paths), True

    def load(item):
        image = read_image(item) if from_files else item
        if crop_size:
            return framing.frame(image), framing.frame(image, crop_size)
        return framing.frame(image)

    def decode(ds):
        ds = ds.map(load, num_parallel_calls=autotune)
        # The up-front scan (scan_images) should have removed bad files; this is the last line of defence.
        return ds.ignore_errors(log_warning=True) if from_files else ds

    if cache:
        dataset = decode(dataset).cache(cache if isinstance(cache, str) else "")
        if shuffle:
            dataset = dataset.shuffle(min(count or DECODED_SHUFFLE_BUFFER, DECODED_SHUFFLE_BUFFER), seed=seed,
                                      reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()
    else:
        if shuffle:
            # Paths and uint8 arrays are cheap to shuffle whole, before decoding.
            dataset = dataset.shuffle(count or STREAM_SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            dataset = dataset.repeat()
        dataset = decode(dataset)
    if random_flip:
        coins = tf.data.Dataset.random(seed=seed).map(lambda value: value % 2 == 0)
        dataset = tf.data.Dataset.zip((dataset, coins)).map(
            lambda images, flip: tf.nest.map_structure(
                lambda image: tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image), images),
            num_parallel_calls=autotune)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda *faces: tf.nest.map_structure(
        lambda batch: pixels_to_normalized(tf.cast(batch, tf.float32)), faces[0] if len(faces) == 1 else faces),
        num_parallel_calls=autotune)
    return dataset.prefetch(autotune)


def model_inputs(dataset):
    """Return the model-input batches of a training dataset (dropping ``--feature_target=crop``'s targets)."""
    if isinstance(dataset.element_spec, tuple):
        return dataset.map(lambda faces, targets: faces)
    return dataset


class TrainingImages(NamedTuple):
    """What ``load_training_images`` returns: the batches and what they are."""
    dataset: tf.data.Dataset
    description: str
    num_images: int
    framing: Framing  # what a consumer of the trained model must apply to a photo


def load_training_images(dataset, data_dir, *, image_size, crop_size=None, batch_size, seed, cache=False,
                         center_crop=False, strict=False, bad_files_log=None, tfds_download=False, split="train",
                         num_synthetic=4000, attribute_file=None, shuffle=True, repeat=True, progress=True,
                         random_flip=False, crop_targets=False):
    """Return the ``training_batches`` of the source ``dataset`` (folder, celeba, celeb_a, npz, synthetic) on ``data_dir``.

    ``strict``, ``bad_files_log``, ``progress``, ``tfds_download``, ``num_synthetic`` and
    ``attribute_file`` are the source's settings (``data.sources.open_source``); the rest go to
    ``training_batches``.
    """
    source = open_source(dataset, data_dir, attributes_file=attribute_file, tfds_download=tfds_download,
                         num_synthetic=num_synthetic, strict=strict, bad_files_log=bad_files_log, progress=progress)
    return training_batches(source, image_size=image_size, crop_size=crop_size, batch_size=batch_size,
                            seed=seed, cache=cache, center_crop=center_crop, split=split, shuffle=shuffle,
                            repeat=repeat, random_flip=random_flip, crop_targets=crop_targets)


def training_batches(source, *, image_size, crop_size=None, batch_size, seed, cache=False, center_crop=False,
                     split="train", shuffle=True, repeat=True, random_flip=False, crop_targets=False):
    """Return ``TrainingImages(dataset, description, num_images, framing)`` of normalised batches of a face source.

    ``source`` is a ``data.sources`` ``FaceSource``; ``split`` picks its part where it has one.
    Photos are framed by ``framing.training_framing`` (``center_crop``: CelebA's crop; else
    crop-or-pad to ``crop_size``, default 160); faces framed already (npz, synthetic, a
    folder at the model's size) are only resized. The dataset is endless (``repeat``) and shuffled
    with ``seed``; ``random_flip`` mirrors half the images. ``crop_targets`` (photo sources only)
    adds each photo's crop at ``crop_size`` (default 160), facenet's feature target (see ``make_image_dataset``).
    """
    faces = source.training_faces(image_size, split=split, crop_size=crop_size,
                                  center_crop=center_crop, seed=seed)
    recorded = faces.recorded_framing
    if source.kind in PHOTO_SOURCES and recorded.crop == "crop_or_pad":
        warn_if_upsampled(recorded, recorded.crop_size, recorded.crop_size, f"the crops of {source.data_dir}")
    if crop_targets and source.kind not in PHOTO_SOURCES:
        raise DataError(f"a feature target at the crop size needs photos (folder, celeba, celeb_a); the "
                        f"{source.kind} faces are at the model size already")
    batches = make_image_dataset(faces.images, framing=faces.applied_framing, batch_size=batch_size, shuffle=shuffle,
                                 seed=seed, cache=cache, repeat=repeat, random_flip=random_flip,
                                 crop_size=(crop_size or DEFAULT_CROP_SIZE) if crop_targets else None)
    return TrainingImages(batches, faces.description, faces.count, recorded)
