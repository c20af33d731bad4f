"""The one reader of tensorflow-datasets' ``celeb_a`` (training, evaluation and generation all use it).

TFDS stores the 40 attributes as a dict of booleans; the reader returns them as int8 {-1, 1} in
CelebA's official column order (``celeba.CELEBA_ATTRIBUTE_NAMES``), the order of
``list_attr_celeba.txt`` and of every other reader here. Nothing is downloaded unless asked.
"""
import dataclasses

import tensorflow as tf

from facenet_vae.data.celeba import CELEBA_ATTRIBUTE_NAMES
from facenet_vae.data.errors import DataError

TFDS_SPLITS = {"all": "train+validation+test", "train": "train", "validation": "validation", "val": "validation",
               "test": "test", "held_out": "validation+test"}


@dataclasses.dataclass
class CelebATfds:
    """An opened split: ``faces`` yields ``(image uint8 (218, 178, 3), attributes int8 (40,))``."""
    faces: tf.data.Dataset
    count: int
    attribute_names: list
    location: str


def open_celeb_a(data_dir, split="all", download=False, shuffle_seed=None, limit=None):
    """Return the ``CelebATfds`` of ``split`` (all | train | validation | test | held_out) of celeb_a in ``data_dir``.

    ``download`` lets TFDS download and prepare it; otherwise a missing data set is a DataError
    naming the command that prepares it. ``shuffle_seed`` shuffles the files (None: file order);
    ``limit`` keeps the first images.
    """
    import tensorflow_datasets as tfds  # noqa: PLC0415  slow import, only for this data set

    where = data_dir or "the default tensorflow_datasets folder"
    if split not in TFDS_SPLITS:
        raise DataError(f"celeb_a has no split {split!r}; use one of {', '.join(TFDS_SPLITS)}")
    try:
        builder = tfds.builder("celeb_a", data_dir=data_dir)
    except Exception as error:
        raise DataError(f"cannot open tensorflow-datasets celeb_a in {where}: {error}") from error
    missing = (f"the tensorflow-datasets data set celeb_a is not in {where} (looked for {builder.data_dir}); "
               "run with --tfds_download to let tensorflow-datasets download and prepare it there, or prepare it "
               f"beforehand with `tfds build celeb_a --data_dir={data_dir or '<data_dir>'}` "
               "(add --manual_dir=<folder> if you downloaded the CelebA files yourself)")
    if download and not builder.is_prepared():
        try:
            builder.download_and_prepare()
        except Exception as error:  # network and Google Drive quota errors come in many types
            raise DataError(f"downloading/preparing celeb_a into {where} failed: {error}; download the files "
                            "by hand and run `tfds build celeb_a --manual_dir=<folder>`") from error
    keys = set(builder.info.features["attributes"].keys())
    if keys != set(CELEBA_ATTRIBUTE_NAMES):
        raise DataError(f"celeb_a in {builder.data_dir} has attributes {sorted(keys)}, not CelebA's 40")
    tfds_split = TFDS_SPLITS[split] if not limit else f"{TFDS_SPLITS[split]}[:{int(limit)}]"
    read_config = tfds.ReadConfig(shuffle_seed=shuffle_seed)
    try:  # as_dataset, not is_prepared(), decides: tfds.testing.mock_data serves unprepared builders
        examples = builder.as_dataset(split=tfds_split, shuffle_files=shuffle_seed is not None,
                                      read_config=read_config)
    except AssertionError as error:  # tensorflow-datasets' "could not find data" for an unprepared set
        raise DataError(missing) from error
    count = int(examples.cardinality())
    if count < 0:
        count = sum(builder.info.splits[name].num_examples for name in TFDS_SPLITS[split].split("+"))
        count = min(count, int(limit)) if limit else count
    names = list(CELEBA_ATTRIBUTE_NAMES)

    def face(example):
        labels = tf.stack([tf.where(example["attributes"][name], 1, -1) for name in names])
        return example["image"], tf.cast(labels, tf.int8)

    faces = examples.map(face, num_parallel_calls=tf.data.AUTOTUNE)
    return CelebATfds(faces, count, names, str(builder.data_dir))
