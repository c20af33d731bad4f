"""Image folders: a flat folder or a FaceNet tree (one sub-folder per person), of photos or of framed faces.

A folder whose faces are stored at the model's size (as ``celeba_large64/``) holds faces framed
beforehand: they are never cropped or padded again, and the framing they were made with (the
folder's ``framing.json``, else CelebA's 138-px crop with Lanczos) is what the model records.
"""
import json
import os
import warnings

import numpy as np
import tensorflow as tf

from facenet_vae.data import celeba
from facenet_vae.data.errors import DataError
from facenet_vae.data.folders import image_paths_from_folder
from facenet_vae.data.framing import Framing, training_framing
from facenet_vae.data.images import checked_image_paths, read_image, read_image_files, undecodable_files_error
from facenet_vae.data.sources.base import FaceSource, LabelledFaces, SplitFaces, TrainingFaces, limited_split

FOLDER_FRAMING_FILE = "framing.json"


def framed_folder_framing(data_dir, first_image_path, image_size):
    """Return ``(recorded, applied)`` framings when a folder's faces are at the model's size already, else None.

    A folder whose first image is ``image_size`` square holds faces that were framed beforehand:
    ``applied`` only resizes a stray odd-sized file. ``recorded`` is the framing a photo needs to
    look like them: the folder's own ``framing.json`` (a ``Framing`` record) when there is one, else
    CelebA's 138-px centre crop resized with Lanczos, the recipe of the shared CelebA faces.
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
    return recorded, resize_only(recorded)


def resize_only(framing):
    """Return ``framing`` without its crop: what faces framed already need (a resize when not at its size)."""
    return Framing(crop="none", crop_size=None, image_size=framing.image_size, resize_method=framing.resize_method,
                   antialias=framing.antialias, recognise_celeba=False)


def skipped_note(bad):
    """Return ``", N bad files skipped"`` for a non-empty list of bad files, else ''."""
    return f", {len(bad)} bad files skipped" if bad else ""


class FramedBatches:
    """The framed uint8 faces of image files in batches; a file that cannot be decoded raises DataError naming
    it (and every other bad file of its batch)."""

    def __init__(self, paths, framing, batch_size):
        self.paths, self.framing, self.batch_size = list(paths), framing, int(batch_size)

    def __iter__(self):
        for start in range(0, len(self.paths), self.batch_size):
            chunk = self.paths[start:start + self.batch_size]
            pixels, kept, _ = read_image_files(chunk, self.framing)
            if len(kept) < len(chunk):
                raise undecodable_files_error(chunk) or DataError(f"cannot decode an image of {chunk[0]} ...")
            yield pixels


class FolderSource(FaceSource):
    """A flat image folder or a FaceNet tree (``--dataset=folder``), optionally with CelebA attribute and
    partition lists (``attributes_file``, ``partition_file``)."""
    kind = "folder"
    needs = "the image folder"
    describe_as = "folder"

    def framed_already(self, image_size):
        """Return ``(recorded, applied)`` framings when the folder's faces are framed at ``image_size``, else None.

        The first decodable image decides (an undecodable one is skipped, as the scan skips it).
        """
        for path in image_paths_from_folder(self.data_dir):
            try:
                return framed_folder_framing(self.data_dir, path, image_size)
            except tf.errors.OpError:
                continue
        return None

    def recorded_framing(self, image_size, *, crop_size=None, center_crop=False):
        """Return the folder's own framing when its faces are framed already, else the photo framing."""
        framed = self.framed_already(image_size)
        if framed is not None:
            return framed[0]
        return super().recorded_framing(image_size, crop_size=crop_size, center_crop=center_crop)

    def training_faces(self, image_size, *, split="train", crop_size=None, center_crop=False, seed=None):
        """Return every decodable image of the folder (scanned first; bad files skipped or, ``strict``, fatal)."""
        recorded = training_framing("folder", image_size, crop_size=crop_size, center_crop=center_crop)
        paths = image_paths_from_folder(self.data_dir)
        good, bad = checked_image_paths(paths, self.data_dir, strict=self.strict, bad_files_log=self.bad_files_log,
                                        progress=self.progress)
        description = f"folder {self.data_dir}: {len(good)} images{skipped_note(bad)}"
        applied = recorded
        framed = framed_folder_framing(self.data_dir, good[0], image_size)
        if framed is not None:
            recorded, applied = framed
            description += f" at {image_size}x{image_size}, framed already ({recorded.describe()})"
        return TrainingFaces(good, description, len(good), recorded, applied)

    def _reading_framing(self, framing, notes):
        """Return the framing to read with: ``framing`` for photos, resize-only for faces framed already."""
        framed = self.framed_already(framing.image_size)
        if framed is None:
            notes.append(f"framing (the model's): {framing.describe()}")
            return framing
        notes.append(f"the faces are framed already at {framing.image_size}x{framing.image_size}: read as they are")
        return resize_only(framing)

    def _attribute_rows(self, notes):
        """Return ``(paths, attributes or None, names or None)``: the images with their attribute rows."""
        if not self.attributes_file:
            notes.append("no --attributes_file: only reconstruction and latent statistics are reported")
            return image_paths_from_folder(self.data_dir), None, None
        attrs = celeba.read_attribute_file(self.attributes_file)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            paths, attributes = celeba.match_attributes_to_images(attrs, self.data_dir, allow_missing=True)
        if caught:
            notes.append(f"{len(attrs) - len(paths)} images listed in {self.attributes_file} are not in the "
                         f"folder and were skipped")
        num_in_folder = len(image_paths_from_folder(self.data_dir))
        if num_in_folder > len(paths):
            notes.append(f"{num_in_folder - len(paths)} images in the folder are not listed in the attribute "
                         f"file and were left out")
        return paths, attributes, list(attrs.names)

    def split_faces(self, framing, *, seed=0, max_train=None, max_held_out=None):
        """Return the folder's faces split by ``partition_file`` (else a seeded 80/20), with ``attributes_file``'s rows.

        The split and the ``max_*`` subsets are chosen before decoding, so only the images used are read.
        """
        notes = []
        reading = self._reading_framing(framing, notes)
        paths, attributes, names = self._attribute_rows(notes)
        paths = np.asarray(paths, dtype=object)
        partition = None
        if self.partition_file:
            table = celeba.read_partition_file(self.partition_file)
            partition = np.array([table.get(os.path.basename(p), -1) for p in paths])
            if (partition < 0).any():
                notes.append(f"{int((partition < 0).sum())} images are not in {self.partition_file} and were left out")
                keep = partition >= 0
                paths, partition = paths[keep], partition[keep]
                attributes = None if attributes is None else attributes[keep]
        train, held_out, split = limited_split(len(paths), partition, seed, max_train, max_held_out, notes)
        parts, all_sizes = [], set()
        for indices in (train, held_out):
            images, kept, sizes = read_image_files(list(paths[indices]), reading)
            if len(kept) < len(indices):
                notes.append(f"{len(indices) - len(kept)} files could not be decoded and were skipped")
            all_sizes.update(sizes)
            parts.append((images, None if attributes is None else attributes[indices][kept]))
        if not len(parts[1][0]):
            raise DataError(f"no decodable held-out images in {self.data_dir!r}")
        total = len(parts[0][0]) + len(parts[1][0])
        return SplitFaces(
            train_images=parts[0][0], held_out_images=parts[1][0], train_attributes=parts[0][1],
            held_out_attributes=parts[1][1], attribute_names=names,
            description=f"{self.describe_as} {self.data_dir} ({total} images used)", split=split,
            original_sizes=sorted(all_sizes),
            resized=any(tuple(s) != (framing.image_size, framing.image_size) for s in all_sizes), notes=notes)

    def labelled_faces(self, framing, *, split="train", num_images=None, batch_size=128, seed=0):
        """Return the folder's images with their rows of a CelebA attribute file, streamed in framed batches.

        Every image in the folder must have a row, and every row an image (unless ``allow_missing``);
        otherwise DataError names the first offenders. Without ``attributes_file`` the folder must be a
        CelebA download (``img_align_celeba/`` + ``list_attr_celeba.txt``).
        """
        if self.attributes_file:
            image_folder, attributes_file = self.data_dir, self.attributes_file
        else:
            image_folder, attributes_file = celeba.find_celeba_files(self.data_dir)
        attrs = celeba.read_attribute_file(attributes_file)
        try:
            paths, values = celeba.match_attributes_to_images(attrs, image_folder, allow_missing=self.allow_missing)
        except DataError as error:
            if "listed images are missing" in str(error):
                raise DataError(f"{error}; pass --allow_missing_images to use only the listed images that "
                                f"exist") from None
            raise
        _check_unlisted(image_folder, attrs)
        if num_images:
            paths, values = paths[:num_images], values[:num_images]
        reading = self._reading_framing(framing, [])
        return LabelledFaces(FramedBatches(paths, reading, batch_size), values, list(attrs.names),
                             [os.path.basename(p) for p in paths],
                             f"{len(paths)} images of {image_folder} with attributes from {attributes_file}", paths)


def _check_unlisted(image_folder, attrs):
    listed = set(attrs.filenames)
    unlisted = [p for p in image_paths_from_folder(image_folder) if os.path.basename(p) not in listed]
    if unlisted:
        names = ", ".join(os.path.basename(p) for p in unlisted[:5])
        raise DataError(f"{len(unlisted)} image(s) in {image_folder} are not listed in attribute file "
                        f"{attrs.source}: {names}{' ...' if len(unlisted) > 5 else ''}")

