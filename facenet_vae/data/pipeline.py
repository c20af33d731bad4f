"""tf.data input pipelines of normalised face batches, and the data-set dispatcher used by train_vae.py."""
import os
import warnings

import numpy as np
import tensorflow as tf

from facenet_vae.atomic_files import atomic_write
from facenet_vae.data import celeba as celeba_files
from facenet_vae.data.errors import DataError, DataWarning
from facenet_vae.data.folders import image_paths_from_folder
from facenet_vae.data.images import preprocess, read_image, scan_images
from facenet_vae.data.synthetic import generate_synthetic_faces
from facenet_vae.normalization import pixels_to_normalized

DATASETS = ("folder", "celeba", "celeb_a", "npz", "synthetic")
# Shuffle buffers (in images) once images are decoded; file names and uint8 arrays shuffle fully.
DECODED_SHUFFLE_BUFFER = 4096  # preprocessed (image_size) images, after cache
STREAM_SHUFFLE_BUFFER = 1024  # full-size images from a tf.data source (tfds celeb_a: 218x178)


def _as_rgb_array(images, where="images"):
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(f"{where} must be uint8 pixels, got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or 0 in images.shape:
        raise DataError(f"{where} must have shape (N, H, W, 3), got {images.shape}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


def make_image_dataset(source, *, image_size, input_image_size=None, batch_size, shuffle=True, seed=None,
                       cache=False, center_crop=False, repeat=True, drop_remainder=True, antialias=False,
                       random_flip=False):
    """Return a tf.data.Dataset of float32 normalised batches (B, image_size, image_size, 3).

    ``source`` is a list of image file paths, a uint8 (N, H, W, 3) array, or a tf.data.Dataset of
    uint8 (H, W, 3) images. Each image goes through preprocess (crop-or-pad to
    ``input_image_size``, or the CelebA ``center_crop``, then resize to ``image_size``) and
    pixels_to_normalized. Decoding runs in parallel; a file that fails to decode is skipped
    (ignore_errors) so the pipeline never stops on it. ``cache`` is True (memory) or a file
    prefix and caches preprocessed images; ``seed`` makes the shuffle order reproducible;
    ``repeat`` makes it endless (reshuffled each epoch). ``random_flip`` mirrors each image
    left-right with probability 1/2 (seeded by ``seed``).
    """
    if batch_size < 1:
        raise DataError(f"batch_size must be positive, got {batch_size}")
    autotune = tf.data.AUTOTUNE
    from_files = False
    if isinstance(source, tf.data.Dataset):
        dataset, count = source, None
    elif isinstance(source, np.ndarray):
        images = _as_rgb_array(source)
        dataset, count = tf.data.Dataset.from_tensor_slices(images), len(images)
    else:
        paths = [os.fspath(p) for p in source]
        if not paths:
            raise DataError("no image files to read")
        dataset, count, from_files = tf.data.Dataset.from_tensor_slices(paths), len(paths), True

    def load(item):
        image = read_image(item) if from_files else item
        return preprocess(image, input_image_size, image_size, center_crop=center_crop, antialias=antialias)

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
            lambda image, flip: tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image),
            num_parallel_calls=autotune)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(pixels_to_normalized, num_parallel_calls=autotune)
    return dataset.prefetch(autotune)


def write_bad_files_log(path, bad):
    """Write ``bad`` ``(path, reason)`` pairs to ``path``, one ``<path>\\t<reason>`` a line; returns ``path``."""
    return atomic_write(os.fspath(path), "".join(f"{bad_path}\t{reason}\n" for bad_path, reason in bad))


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


def _load_npz(path, split):
    path = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read npz file {path!r}: {err}") from err
    with data:
        if "images" not in data.files:
            raise DataError(f"{path!r} has no 'images' array (it has: {', '.join(data.files) or 'nothing'})")
        images = _as_rgb_array(data["images"], f"'images' in {path!r}")
        note = "all images"
        if split not in (None, "all"):
            if split not in celeba_files.SPLITS:
                raise DataError(f"unknown split {split!r}; use all, train, validation or test")
            if "celeba_partition" in data.files:
                keep = data["celeba_partition"] == celeba_files.SPLITS[split]
                note = f"split {split} (celeba_partition)"
            elif "source_split" in data.files:
                keep = data["source_split"].astype(str) == ("validation" if split == "val" else split)
                note = f"split {split} (source_split)"
            else:
                keep, note = None, f"all images (no partition array for split {split})"
            if keep is not None:
                if len(keep) != len(images):
                    raise DataError(f"{path!r}: the split array has {len(keep)} rows but there are "
                                    f"{len(images)} images")
                images = images[keep]
                if not len(images):
                    raise DataError(f"{path!r} has no images in split {split!r}")
    return images, note


def _load_tfds_celeb_a(data_dir, split, download, seed):
    import tensorflow_datasets as tfds  # slow import, only for this data set

    where = data_dir or "the default tensorflow_datasets folder"
    builder = tfds.builder("celeb_a", data_dir=data_dir)
    if not builder.is_prepared():
        if not download:
            raise DataError(
                f"the tensorflow-datasets data set celeb_a is not in {where} (looked for {builder.data_dir}); "
                "run with --tfds_download to let tensorflow-datasets download and prepare it there, or prepare it "
                f"beforehand with `tfds build celeb_a --data_dir={data_dir or '<data_dir>'}` "
                "(add --manual_dir=<folder> if you downloaded the CelebA files yourself)")
        try:
            builder.download_and_prepare()
        except Exception as err:  # network and Google Drive quota errors come in many types
            raise DataError(f"downloading/preparing celeb_a into {where} failed: {err}; download the files "
                            "by hand and run `tfds build celeb_a --manual_dir=<folder>`") from err
    names = {"all": "train+validation+test", "val": "validation"}
    tfds_split = names.get(split, split)
    try:
        dataset = builder.as_dataset(split=tfds_split, shuffle_files=True,
                                     read_config=tfds.ReadConfig(shuffle_seed=seed))
    except (KeyError, ValueError) as err:
        raise DataError(f"celeb_a has no split {split!r}; use train, validation, test or all") from err
    count = int(dataset.cardinality())
    if count < 0:
        count = builder.info.splits[tfds_split].num_examples
    return dataset.map(lambda example: example["image"], num_parallel_calls=tf.data.AUTOTUNE), count, builder.data_dir


def load_training_images(dataset, data_dir, *, image_size, input_image_size, batch_size, seed, cache=False,
                         center_crop=False, strict=False, bad_files_log=None, tfds_download=False, split="train",
                         num_synthetic=4000, attribute_file=None, shuffle=True, repeat=True, progress=True,
                         random_flip=False):
    """Return ``(tf.data.Dataset, description, num_images)`` of normalised training batches.

    ``dataset`` is one of:
      "folder"    FaceNet tree or flat image folder at ``data_dir`` (scanned first; bad files are
                  skipped with a warning, or raise DataError with ``strict``; listed in ``bad_files_log``);
      "celeba"    ``data_dir`` with img_align_celeba/ and list_attr_celeba.txt (or ``attribute_file``;
                  ``split`` uses list_eval_partition.txt when present), scanned like "folder";
      "celeb_a"   tensorflow-datasets celeb_a in ``data_dir``; downloads only with ``tfds_download``;
      "npz"       a .npz file with uint8 ``images`` (``split`` via ``celeba_partition``/``source_split``);
                  the faces are taken as cropped already, so ``input_image_size`` is not applied;
      "synthetic" ``num_synthetic`` generated faces drawn at ``image_size`` (seeded by ``seed``;
                  ``data_dir``, ``input_image_size`` and ``center_crop`` are ignored).
    The dataset is endless (``repeat``) and shuffled with ``seed``; ``random_flip`` mirrors half the images.
    """
    options = dict(image_size=image_size, batch_size=batch_size, shuffle=shuffle, seed=seed, cache=cache,
                   repeat=repeat, random_flip=random_flip)
    if dataset == "folder":
        if not data_dir:
            raise DataError("dataset 'folder' needs --data_dir, the image folder")
        paths = image_paths_from_folder(data_dir)
        good, bad = checked_image_paths(paths, data_dir, strict=strict, bad_files_log=bad_files_log,
                                        progress=progress)
        source, description = good, f"folder {data_dir}: {len(good)} images{_skipped(bad)}"
        options.update(input_image_size=input_image_size, center_crop=center_crop)
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
        options.update(input_image_size=input_image_size, center_crop=center_crop)
    elif dataset == "celeb_a":
        images, count, location = _load_tfds_celeb_a(data_dir, split or "all", tfds_download, seed)
        source, description = images, f"tensorflow-datasets celeb_a {split} in {location}: {count} images"
        options.update(input_image_size=input_image_size, center_crop=center_crop)
        good = range(count)
    elif dataset == "npz":
        if not data_dir:
            raise DataError("dataset 'npz' needs --data_dir, the path of the .npz file")
        source, note = _load_npz(data_dir, split)
        description, good = f"npz {data_dir}, {note}: {len(source)} images", source
        # Stored faces are already cropped: resize only (plus the CelebA crop if asked), never pad.
        options.update(input_image_size=None, center_crop=center_crop)
    elif dataset == "synthetic":
        faces = generate_synthetic_faces(num_synthetic, seed=0 if seed is None else seed, image_size=image_size)
        source, good = faces.images, faces.images
        description = (f"synthetic faces: {len(faces)} images of {len(np.unique(faces.identities))} identities "
                       f"at {image_size}px (seed {0 if seed is None else seed})")
    else:
        raise DataError(f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}")
    return make_image_dataset(source, **options), description, len(good)
