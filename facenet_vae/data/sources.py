"""The names of the data sources (no TensorFlow here, so command-line tools can check flags before it loads)."""

# The one list of data sources; training, evaluation and generation name them the same way.
DATASETS = ("folder", "celeba", "celeb_a", "npz", "synthetic")
