"""The built-in synthetic faces (``data.synthetic``): drawn at the model's size, attributes known by construction."""
import numpy as np

from facenet_vae.data.sources.base import FaceSource, LabelledFaces, TrainingFaces, split_framed_faces
from facenet_vae.data.synthetic import generate_synthetic_faces

EVALUATION_IMAGES = 2000  # faces drawn for evaluation, split 80/20


class SyntheticSource(FaceSource):
    """Drawn faces (``--dataset=synthetic``), seeded; ``num_synthetic`` of them for training."""
    kind = "synthetic"

    def training_faces(self, image_size, *, split="train", crop_size=None, center_crop=False, seed=None):
        """Return ``num_synthetic`` faces drawn at ``image_size`` (seeded by ``seed``, default 0)."""
        seed = 0 if seed is None else seed
        faces = generate_synthetic_faces(self.num_synthetic, seed=seed, image_size=image_size)
        framing = self.recorded_framing(image_size)
        description = (f"synthetic faces: {len(faces)} images of {len(np.unique(faces.identities))} identities "
                       f"at {image_size}px (seed {seed})")
        return TrainingFaces(faces.images, description, len(faces), framing, framing)

    def split_faces(self, framing, *, seed=0, max_train=None, max_held_out=None):
        """Return 2,000 faces drawn with ``seed``, split 80/20."""
        faces = generate_synthetic_faces(EVALUATION_IMAGES, seed=seed, image_size=framing.image_size)
        return split_framed_faces(faces.images, faces.attributes, list(faces.attribute_names), None, framing,
                                  f"{EVALUATION_IMAGES} synthetic faces (seed {seed})", seed, max_train, max_held_out)

    def labelled_faces(self, framing, *, split="train", num_images=None, batch_size=128, seed=0):
        """Return ``num_images`` faces drawn with ``seed``, with their attributes."""
        count = int(num_images)
        faces = generate_synthetic_faces(count, seed=seed, image_size=framing.image_size)
        return LabelledFaces(faces.images, faces.attributes, list(faces.attribute_names), list(faces.filenames),
                             f"{count} synthetic faces (seed {seed})")
