"""Shared fixtures: the read-only shared data (one setting: FACENET_VAE_SHARED), fixed seeds, quiet TF.

The real faces and pretrained weights are not part of the repository. Tests find them under
``$FACENET_VAE_SHARED`` (default: ``../shared`` beside the repository), laid out as
``data/celeba_subset.npz``, ``data/celeba_subset_aligned/``, ``data/celeba_subset_list_attr_celeba.txt``,
``models/facenet_keras_stem.h5`` and ``models/vgg16_hed_notop.weights.h5``. A test whose data is
missing fails with a message naming the file it needs; it is never skipped silently.
"""
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("FACENET_VAE_SHARED", PROJECT_ROOT.parent / "shared")).expanduser()

WHAT_IS_SHARED = {
    "data/celeba_subset.npz": "4,950 CelebA faces at 64x64 with attributes and partitions",
    "data/celeba_subset_aligned": "300 original 178x218 CelebA JPEGs, one sub-folder per identity",
    "data/celeba_subset_list_attr_celeba.txt": "list_attr_celeba.txt rows of those faces",
    "models/facenet_keras_stem.h5": "the stem of facenet's Keras Inception-ResNet-v1 (facenet_keras.h5)",
    "models/vgg16_hed_notop.weights.h5": "Keras VGG16 (no top) weights",
}


def shared_path(*parts):
    """Return ``$FACENET_VAE_SHARED/<parts>``; fail the calling test, naming the data it needs, when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        relative = "/".join(parts)
        what = WHAT_IS_SHARED.get(relative)
        needed = f"{relative}{f' ({what})' if what else ''} in the shared data folder {SHARED}" if parts else \
            f"the shared data folder {SHARED}"
        pytest.fail(f"this test needs {needed}, which is missing; set FACENET_VAE_SHARED to the folder that "
                    f"holds data/ and models/ (see the README, 'Tests and benchmarks')", pytrace=False)
    return path


@pytest.fixture(scope="session")
def shared_dir():
    """The shared data folder ($FACENET_VAE_SHARED, default ../shared); fails naming it when missing."""
    return shared_path()


@pytest.fixture(scope="session")
def celeba_npz():
    """The real-face CelebA subset as a dict of numpy arrays."""
    with np.load(shared_path("data", "celeba_subset.npz")) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="session")
def celeba_aligned_dir():
    """The folder of 300 original CelebA JPEGs (one sub-folder per identity)."""
    return shared_path("data", "celeba_subset_aligned")


@pytest.fixture(scope="session")
def celeba_attributes_file():
    """list_attr_celeba.txt rows of the shared faces."""
    return shared_path("data", "celeba_subset_list_attr_celeba.txt")


@pytest.fixture(autouse=True)
def _absl_logger_restored():
    """Undo what a tool's in-process main() does to the absl logger (cli.console.log_to_stderr), so caplog sees it."""
    import logging
    logger = logging.getLogger("absl")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers, logger.propagate, logger.level = saved[0], saved[1], saved[2]


@pytest.fixture(autouse=True)
def _seed():
    import keras
    keras.utils.set_random_seed(1234)
    yield
