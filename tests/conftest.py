"""Shared fixtures: paths to the read-only data in ../shared, fixed seeds, quiet TF."""
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir():
    """The ../shared folder beside the project (read-only); tests that need it fail loudly without it."""
    assert SHARED.is_dir(), f"expected the shared data folder at {SHARED}"
    return SHARED


@pytest.fixture(scope="session")
def celeba_npz(shared_dir):
    """The real-face CelebA subset as a dict of numpy arrays."""
    with np.load(shared_dir / "data" / "celeba_subset.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(autouse=True)
def _seed():
    import keras
    keras.utils.set_random_seed(1234)
    yield
