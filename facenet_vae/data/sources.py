"""The names of the data sources (and facenet's crop size, re-exported from the model's definitions).

No TensorFlow here, so command-line tools can check flags before it loads.
"""
from facenet_vae.model.definitions import FACENET_CROP_SIZE  # noqa: F401 (re-exported; no TensorFlow)

# The one list of data sources; training, evaluation and generation name them the same way.
DATASETS = ("folder", "celeba", "celeb_a", "npz", "synthetic")
# The sources of photos, which training frames itself (npz and synthetic faces are at the model size already).
PHOTO_SOURCES = ("folder", "celeba", "celeb_a")
