"""A CelebA download: ``img_align_celeba/`` with ``list_attr_celeba.txt`` (and ``list_eval_partition.txt``)."""
import warnings

from facenet_vae.data import celeba
from facenet_vae.data.errors import DataWarning
from facenet_vae.data.framing import training_framing
from facenet_vae.data.images import checked_image_paths
from facenet_vae.data.sources.base import TrainingFaces
from facenet_vae.data.sources.folder import FolderSource, skipped_note


class CelebaDownloadSource(FolderSource):
    """CelebA's aligned photos (``--dataset=celeba``): their attributes, and the official partition when present."""
    kind = "celeba"
    needs = "the folder with img_align_celeba/ and list_attr_celeba.txt"
    describe_as = "CelebA folder"

    def __init__(self, data_dir=None, **settings):
        super().__init__(data_dir, **settings)
        self.download_dir = data_dir
        self.data_dir, self.attributes_file = celeba.find_celeba_files(data_dir, self.attributes_file)
        if self.partition_file is None:
            self.partition_file = celeba.find_partition_file(data_dir, self.attributes_file)

    def recorded_framing(self, image_size, *, crop_size=None, center_crop=False):
        """Return the photo framing (CelebA's photos are never framed already)."""
        return training_framing(self.kind, image_size, crop_size=crop_size, center_crop=center_crop)

    def training_faces(self, image_size, *, split="train", crop_size=None, center_crop=False, seed=None):
        """Return the listed images of ``split`` (all when there is no partition file, with a warning)."""
        use_split = split or "all"
        if use_split != "all" and self.partition_file is None:
            warnings.warn(f"no {celeba.PARTITION_FILE} in {self.download_dir}: using all images, not split "
                          f"{use_split!r}", DataWarning, stacklevel=3)
            use_split = "all"
        # Non-strict: listed images missing from the folder are skipped with one DataWarning.
        paths, _, _ = celeba.load_celeba(self.download_dir, self.attributes_file, allow_missing=not self.strict,
                                         split=use_split)
        good, bad = checked_image_paths(paths, self.download_dir, strict=self.strict,
                                        bad_files_log=self.bad_files_log, progress=self.progress)
        framing = training_framing(self.kind, image_size, crop_size=crop_size, center_crop=center_crop)
        description = f"CelebA {self.download_dir} ({use_split}): {len(good)} images{skipped_note(bad)}"
        return TrainingFaces(good, description, len(good), framing, framing)

    def framed_already(self, image_size):
        """Return None: CelebA's aligned photos always need the model's framing."""
        return None
