"""The names of the data sources, in a module without TensorFlow so tools check their flags before it loads."""

# The one list of data sources; training, evaluation and generation name them the same way.
DATASETS = ("folder", "celeba", "celeb_a", "npz", "synthetic")
