"""tf.data input pipelines of normalised face batches, and the data-set dispatcher used by train_vae.py."""
import json
import os
import warnings
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from facenet_vae.atomic_files import write_file
from facenet_vae.data import celeba as celeba_files
from facenet_vae.data.errors import DataError, DataWarning
from facenet_vae.data.folders import image_paths_from_folder
from facenet_vae.data.framing import Framing, training_framing
from facenet_vae.data.images import read_image, scan_images
from facenet_vae.data.npz_faces import as_rgb_uint8, read_npz_faces
from facenet_vae.data.sources import DATASETS, PHOTO_SOURCES
from facenet_vae.data.tfds_celeb_a import open_celeb_a
from facenet_vae.data.synthetic import generate_synthetic_faces
from facenet_vae.model.normalization import pixels_to_normalized

# Shuffle buffers (in images) once images are decoded; file names and uint8 arrays shuffle fully.
DECODED_SHUFFLE_BUFFER = 4096  # preprocessed (image_size) images, after cache
STREAM_SHUFFLE_BUFFER = 1024  # full-size images from a tf.data source (tfds celeb_a: 218x178)


def make_image_dataset(source, *, framing, batch_size, shuffle=True, seed=None, cache=False, repeat=True,
                       drop_remainder=True, random_flip=False, target_size=None):
    """Return a tf.data.Dataset of float32 normalised batches (B, S, S, 3), S = ``framing.image_size``.

    ``source`` is a list of image file paths, a uint8 (N, H, W, 3) array, or a tf.data.Dataset of
    uint8 (H, W, 3) images. Each image is framed by ``framing`` (a ``Framing``: the crop and
    resize every consumer of the model applies too) and normalised (pixels_to_normalized). Decoding runs in parallel; a file that fails to decode is skipped
    (ignore_errors) so the pipeline never stops on it. ``cache`` is True (memory) or a file
    prefix and caches preprocessed images; ``seed`` makes the shuffle order reproducible;
    ``repeat`` makes it endless (reshuffled each epoch). ``random_flip`` mirrors each image
    left-right with probability 1/2 (seeded by ``seed``). With ``target_size`` each element is a pair
    ``(faces, targets)``: the targets are the same crops at ``target_size`` (facenet's feature target),
    flipped with their faces.
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
        if target_size:
            return framing.frame(image), framing.frame(image, target_size)
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


def _skipped(bad):
    return f", {len(bad)} bad files skipped" if bad else ""


class TrainingImages(NamedTuple):
    """What ``load_training_images`` returns: the batches and what they are."""
    dataset: tf.data.Dataset
    description: str
    num_images: int
    framing: Framing  # what a consumer of the trained model must apply to a photo


def load_training_images(dataset, data_dir, *, image_size, input_image_size=None, batch_size, seed, cache=False,
                         center_crop=False, strict=False, bad_files_log=None, tfds_download=False, split="train",
                         num_synthetic=4000, attribute_file=None, shuffle=True, repeat=True, progress=True,
                         random_flip=False, target_size=None):
    """Return ``TrainingImages(dataset, description, num_images, framing)`` of normalised training batches.

    ``dataset`` is one of:
      "folder"    FaceNet tree or flat image folder at ``data_dir`` (scanned first; bad files are
                  skipped with a warning, or raise DataError with ``strict``; listed in ``bad_files_log``);
      "celeba"    ``data_dir`` with img_align_celeba/ and list_attr_celeba.txt (or ``attribute_file``;
                  ``split`` uses list_eval_partition.txt when present), scanned like "folder";
      "celeb_a"   tensorflow-datasets celeb_a in ``data_dir``; downloads only with ``tfds_download``;
      "npz"       a .npz file with uint8 ``images`` (``split`` via ``celeba_partition``/``source_split``),
                  framed already: only resized if not at ``image_size``;
      "synthetic" ``num_synthetic`` generated faces drawn at ``image_size`` (seeded by ``seed``).
    Photos are framed by ``framing.training_framing`` (``center_crop``: CelebA's crop; else
    crop-or-pad to ``input_image_size``, default 160). The dataset is endless (``repeat``) and
    shuffled with ``seed``; ``random_flip`` mirrors half the images. ``target_size`` (photo sources
    only) adds each photo's crop at that size (see ``make_image_dataset``).
    """
    framing = training_framing(dataset, image_size, input_image_size=input_image_size, center_crop=center_crop)
    applied = framing
    if dataset == "folder":
        if not data_dir:
            raise DataError("dataset 'folder' needs --data_dir, the image folder")
        paths = image_paths_from_folder(data_dir)
        good, bad = checked_image_paths(paths, data_dir, strict=strict, bad_files_log=bad_files_log,
                                        progress=progress)
        source, description = good, f"folder {data_dir}: {len(good)} images{_skipped(bad)}"
        framed = framed_folder_framing(data_dir, good[0], image_size)
        if framed is not None:
            # Faces stored at the model's size are framed already: recorded as framed, read as they are.
            framing, applied = framed
            description += f" at {image_size}x{image_size}, framed already ({framing.describe()})"
    elif dataset == "celeba":
        if not data_dir:
            raise DataError("dataset 'celeba' needs --data_dir, the folder with img_align_celeba/ and "
                            "list_attr_celeba.txt")
        _, attribute_file = celeba_files.find_celeba_files(data_dir, attribute_file)
        use_split = split or "all"
        if use_split != "all" and celeba_files.find_partition_file(data_dir, attribute_file) is None:
            warnings.warn(f"no {celeba_files.PARTITION_FILE} in {data_dir}: using all images, not split "
                          f"{use_split!r}", DataWarning, stacklevel=2)
            use_split = "all"
        # Non-strict: listed images missing from the folder are skipped with one DataWarning.
        paths, _, _ = celeba_files.load_celeba(data_dir, attribute_file, allow_missing=not strict, split=use_split)
        good, bad = checked_image_paths(paths, data_dir, strict=strict, bad_files_log=bad_files_log,
                                        progress=progress)
        source = good
        description = f"CelebA {data_dir} ({use_split}): {len(good)} images{_skipped(bad)}"
    elif dataset == "celeb_a":
        celeb_a = open_celeb_a(data_dir, split or "all", download=tfds_download, shuffle_seed=seed)
        source = celeb_a.faces.map(lambda image, attributes: image)
        description = f"tensorflow-datasets celeb_a {split} in {celeb_a.location}: {celeb_a.count} images"
        good = range(celeb_a.count)
    elif dataset == "npz":
        if not data_dir:
            raise DataError("dataset 'npz' needs --data_dir, the path of the .npz file")
        faces = read_npz_faces(data_dir, split)
        source, description, good = faces.images, faces.description, faces.images
        framing = training_framing("npz", image_size, stored_framing=faces.stored_framing)
        # The stored faces are framed already: the pipeline only resizes them, never crops again.
        applied = Framing(crop="none", crop_size=None, image_size=image_size, resize_method=framing.resize_method,
                          antialias=framing.antialias, recognise_celeba=False)
        _warn_if_upsampled(applied, source.shape[1], source.shape[2], f"the faces in {data_dir}")
    elif dataset == "synthetic":
        faces = generate_synthetic_faces(num_synthetic, seed=0 if seed is None else seed, image_size=image_size)
        source, good = faces.images, faces.images
        description = (f"synthetic faces: {len(faces)} images of {len(np.unique(faces.identities))} identities "
                       f"at {image_size}px (seed {0 if seed is None else seed})")
    else:
        raise DataError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    if dataset in PHOTO_SOURCES and framing.crop == "crop_or_pad":
        _warn_if_upsampled(framing, framing.crop_size, framing.crop_size, f"the crops of {data_dir}")
    if target_size and dataset not in PHOTO_SOURCES:
        raise DataError(f"a feature target at the crop size needs photos (folder, celeba, celeb_a); the {dataset} "
                        f"faces are at the model size already")
    batches = make_image_dataset(source, framing=applied, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 cache=cache, repeat=repeat, random_flip=random_flip, target_size=target_size)
    return TrainingImages(batches, description, len(good), framing)


FOLDER_FRAMING_FILE = "framing.json"


def source_framing(dataset, data_dir, image_size, *, input_image_size=None, center_crop=False):
    """Return the ``Framing`` a model trained on ``dataset`` records, decided before the model is built.

    The same decision ``load_training_images`` makes: an npz's own ``framing`` record, a folder of
    faces at the model's size read as framed (``framed_folder_framing``), else ``training_framing``.
    """
    if dataset == "npz" and data_dir:
        return training_framing("npz", image_size, stored_framing=read_npz_faces(data_dir).stored_framing)
    if dataset == "folder" and data_dir:
        for path in image_paths_from_folder(data_dir):
            try:
                framed = framed_folder_framing(data_dir, path, image_size)
            except tf.errors.OpError:
                continue  # an undecodable file: the scan skips it, so the next one decides
            if framed is not None:
                return framed[0]
            break
    return training_framing(dataset, image_size, input_image_size=input_image_size, center_crop=center_crop)


def framed_folder_framing(data_dir, first_image_path, image_size):
    """Return ``(recorded, applied)`` framings when a folder's faces are at the model's size already, else None.

    A folder whose first image is ``image_size`` square holds faces that were framed beforehand (as
    ``celeba_large64/``): they are never cropped or padded again (``applied`` only resizes a stray
    odd-sized file). ``recorded`` is the framing a photo needs to look like them: the folder's own
    ``framing.json`` (a ``Framing`` record) when there is one, else CelebA's 138-px centre crop
    resized with Lanczos, the recipe of the shared CelebA faces (as for an npz without a record).
    """
    height, width = (int(v) for v in tf.shape(read_image(first_image_path))[:2].numpy())
    if (height, width) != (image_size, image_size):
        return None
    record_path = os.path.join(os.path.expanduser(os.fspath(data_dir).split(":")[0]), FOLDER_FRAMING_FILE)
    stored = None
    if os.path.isfile(record_path):
        try:
            with open(record_path) as f:
                stored = json.load(f)
        except (OSError, ValueError) as error:
            raise DataError(f"{record_path}: not a readable framing record ({error})") from error
    recorded = training_framing("npz", image_size, stored_framing=stored)
    applied = Framing(crop="none", crop_size=None, image_size=image_size, resize_method=recorded.resize_method,
                      antialias=recorded.antialias, recognise_celeba=False)
    return recorded, applied


def _warn_if_upsampled(framing, height, width, what):
    if framing.upsamples(height, width):
        warnings.warn(f"{what} are {framing.crop_side(height, width)} px across, smaller than the model's "
                      f"{framing.image_size} px: they are upsampled, so the model learns blurry faces; use a "
                      f"model definition of their size", DataWarning, stacklevel=3)
