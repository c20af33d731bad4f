"""tensorflow-datasets' ``celeb_a`` (``data.tfds_celeb_a``): CelebA's photos streamed, with the official splits."""
import numpy as np
import tensorflow as tf

from facenet_vae.data.errors import DataError
from facenet_vae.data.sources.base import FaceSource, LabelledFaces, SplitFaces, TrainingFaces
from facenet_vae.data.tfds_celeb_a import open_celeb_a


class TfdsCelebASource(FaceSource):
    """TFDS ``celeb_a`` prepared in ``data_dir`` (``--dataset=celeb_a``); downloads only with ``tfds_download``."""
    kind = "celeb_a"
    needs = "the TFDS data_dir holding a prepared celeb_a"

    def training_faces(self, image_size, *, split="train", crop_size=None, center_crop=False, seed=None):
        """Return the photos of ``split`` streamed (files shuffled with ``seed``)."""
        celeb_a = open_celeb_a(self.data_dir, split or "all", download=self.tfds_download, shuffle_seed=seed)
        framing = self.recorded_framing(image_size, crop_size=crop_size, center_crop=center_crop)
        description = f"tensorflow-datasets celeb_a {split} in {celeb_a.location}: {celeb_a.count} images"
        return TrainingFaces(celeb_a.faces.map(lambda image, attributes: image), description, celeb_a.count,
                             framing, framing)

    def _framed(self, split, framing, limit):
        celeb_a = open_celeb_a(self.data_dir, split, limit=limit)
        framed = celeb_a.faces.map(lambda image, labels: (framing.frame(image), labels),
                                   num_parallel_calls=tf.data.AUTOTUNE)
        images, labels = [], []
        for pixels, values in framed.batch(512).as_numpy_iterator():
            images.append(pixels)
            labels.append(values)
        size, count = framing.image_size, len(celeb_a.attribute_names)
        if not images:
            return np.zeros((0, size, size, 3), np.uint8), np.zeros((0, count), np.int8), celeb_a
        return np.concatenate(images), np.concatenate(labels), celeb_a

    def split_faces(self, framing, *, seed=0, max_train=None, max_held_out=None):
        """Return ``train`` for training and ``validation+test`` held out; ``max_*`` keep the first images of each."""
        train_images, train_labels, _ = self._framed("train", framing, max_train)
        held_images, held_labels, celeb_a = self._framed("held_out", framing, max_held_out)
        notes = [f"framing (the model's): {framing.describe()}"]
        if max_train or max_held_out:
            notes.append("the first images of each split were used (--max_train_images / --max_held_out_images)")
        return SplitFaces(
            train_images=train_images, held_out_images=held_images, train_attributes=train_labels,
            held_out_attributes=held_labels, attribute_names=celeb_a.attribute_names,
            description=f"tensorflow-datasets celeb_a in {celeb_a.location}",
            split="CelebA's official partition: train for training, validation and test held out",
            original_sizes=[(218, 178)], resized=True, notes=notes)

    def labelled_faces(self, framing, *, split="train", num_images=None, batch_size=128, seed=0):
        """Return the photos of ``split`` with CelebA's 40 attributes in the official order, framed and streamed."""
        celeb_a = open_celeb_a(self.data_dir, split, limit=num_images)
        attributes = np.concatenate([labels for labels in celeb_a.faces.map(lambda image, labels: labels)
                                     .batch(1024).as_numpy_iterator()] or [np.zeros((0, 40), np.int8)])
        if not len(attributes):
            raise DataError(f"TFDS celeb_a split {split!r} in {self.data_dir!r} is empty")
        images = celeb_a.faces.map(lambda image, labels: framing.frame(image), num_parallel_calls=tf.data.AUTOTUNE)
        filenames = [f"{split}_{i:06d}" for i in range(len(attributes))]
        return LabelledFaces(images.batch(batch_size).prefetch(2), attributes, celeb_a.attribute_names, filenames,
                             f"{len(attributes)} TFDS celeb_a {split} images from {celeb_a.location}")
