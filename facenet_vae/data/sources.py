"""The names of the data sources and facenet's crop size.

No TensorFlow here, so command-line tools can check flags before it loads.
"""

# The one list of data sources; training, evaluation and generation name them the same way.
DATASETS = ("folder", "celeba", "celeb_a", "npz", "synthetic")
# The sources of photos, which training frames itself (npz and synthetic faces are at the model size already).
PHOTO_SOURCES = ("folder", "celeba", "celeb_a")

# facenet's input_image_size: its photos are cropped or padded to this side before the resize to
# the model size, and its feature network sees them at this size.
FACENET_CROP_SIZE = 160
