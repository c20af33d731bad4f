"""Where the benchmarks find the shared data: ``$FACENET_VAE_SHARED`` (default ``../shared`` beside the repository).

The folder holds ``data/`` (the CelebA subset), ``models/`` (pretrained feature-network weights)
and ``peers/`` (the PyTorch reference implementations), as the tests' ``tests/conftest.py`` expects.
"""
import os
import pathlib

SHARED = pathlib.Path(os.environ.get("FACENET_VAE_SHARED",
                                     pathlib.Path(__file__).resolve().parents[2] / "shared")).expanduser()


def shared_path(*parts):
    """Return ``$FACENET_VAE_SHARED/<parts>`` (which may not exist; see ``require``)."""
    return SHARED.joinpath(*parts)


def require(*paths):
    """Exit with one line naming every missing shared file and the setting that locates them."""
    missing = [str(path) for path in paths if not pathlib.Path(path).exists()]
    if missing:
        raise SystemExit(f"error: this benchmark needs {', '.join(missing)}; set FACENET_VAE_SHARED to the folder "
                         f"that holds data/, models/ and peers/ (now {SHARED})")
