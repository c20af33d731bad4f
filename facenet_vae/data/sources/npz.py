"""An ``.npz`` of faces framed already (``data.npz_faces``), with attributes, identities and CelebA's partition."""
from facenet_vae.data.errors import DataError
from facenet_vae.data.framing import resize_pixels, training_framing
from facenet_vae.data.npz_faces import read_npz_faces
from facenet_vae.data.sources.base import FaceSource, LabelledFaces, TrainingFaces, split_framed_faces, warn_if_upsampled
from facenet_vae.data.sources.folder import resize_only


class NpzSource(FaceSource):
    """Framed faces in one file (``--dataset=npz``); they are only resized, never cropped again."""
    kind = "npz"
    needs = "the path of the .npz file"

    def recorded_framing(self, image_size, *, crop_size=None, center_crop=False):
        """Return the npz's own ``framing`` record (else CelebA's 138-px crop with Lanczos) at ``image_size``."""
        return training_framing("npz", image_size, stored_framing=read_npz_faces(self.data_dir).stored_framing)

    def training_faces(self, image_size, *, split="train", crop_size=None, center_crop=False, seed=None):
        """Return the faces of ``split`` (CelebA's partition, else ``source_split``, else all)."""
        faces = read_npz_faces(self.data_dir, split)
        recorded = training_framing("npz", image_size, stored_framing=faces.stored_framing)
        applied = resize_only(recorded)
        warn_if_upsampled(applied, faces.images.shape[1], faces.images.shape[2], f"the faces in {self.data_dir}")
        return TrainingFaces(faces.images, faces.description, len(faces), recorded, applied)

    def split_faces(self, framing, *, seed=0, max_train=None, max_held_out=None):
        """Return the faces split by CelebA's partition (else a seeded 80/20), resized to the model's size."""
        faces = read_npz_faces(self.data_dir)
        notes = []
        if faces.attributes is not None and faces.attribute_names and faces.attribute_names[0] == "attribute_0":
            notes.append("the npz has no attribute_names; attributes are numbered")
        return split_framed_faces(faces.images, faces.attributes, faces.attribute_names, faces.partition, framing,
                                  faces.description, seed, max_train, max_held_out, notes=notes,
                                  identities=faces.identities)

    def labelled_faces(self, framing, *, split="train", num_images=None, batch_size=128, seed=0):
        """Return the faces of ``split`` with their attributes, resized to the model's size."""
        faces = read_npz_faces(self.data_dir, split)
        if faces.attributes is None:
            raise DataError(f"{self.data_dir} has no 'attributes' array to compute attribute vectors from")
        count = len(faces) if not num_images else min(int(num_images), len(faces))
        names = [str(n) for n in faces.filenames[:count]] if faces.filenames is not None else \
            [f"{i:06d}" for i in range(count)]
        return LabelledFaces(resize_pixels(faces.images[:count], framing), faces.attributes[:count],
                             list(faces.attribute_names), names, f"{count} faces of {faces.description}")
