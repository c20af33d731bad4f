"""The paths a training run reads, checked before TensorFlow loads, so a wrong one is named at once in one line.

The data comes first (``--data_dir`` and the files its source needs, CelebA's attribute file
included), then the feature network's ``--perceptual_weights`` and the ``--pretrained_model``: a wrong ``--data_dir`` is reported
as such whatever the objective. Remote paths (``gs://...``) are left to the run. Imports no TensorFlow.
"""
import os

from facenet_vae.atomic_files import expand, is_remote
from facenet_vae.data.errors import DataError

NAMED_WEIGHTS = ("imagenet", "random")   # --perceptual_weights values that are not files


def check_paths(config):
    """Raise ``DataError`` or ``FileNotFoundError`` naming the first path of ``config`` that is missing.

    ``config`` is a ``TrainConfig``; returns it. Checks files and folders only (no decoding).
    """
    if config.data_dir and not is_remote(config.data_dir):
        check_data_path(config.resolved_dataset(), config.data_dir, config.tfds_download)
    if config.reconstruction_loss_type == "PERCEPTUAL":
        check_weights_path(config.perceptual_weights)
    if config.pretrained_model and not is_remote(config.pretrained_model):
        if not os.path.exists(expand(config.pretrained_model)):
            raise FileNotFoundError(f"--pretrained_model={config.pretrained_model}: no such file or run folder")
    return config


def check_data_path(dataset, data_dir, tfds_download=False):
    """Raise ``DataError`` when ``data_dir`` lacks what ``dataset`` reads (folder, CelebA files, .npz file)."""
    if dataset == "folder":
        # ':'-joined folders are read one after the other, as data.folders does.
        parts = [data_dir] if os.path.isdir(expand(data_dir)) else [part for part in data_dir.split(":") if part]
        for part in parts:
            folder = expand(part)
            if not os.path.exists(folder):
                raise DataError(f"image folder {folder!r} (--data_dir) does not exist")
            if not os.path.isdir(folder):
                raise DataError(f"--data_dir={folder!r} is not a folder")
    elif dataset == "celeba":
        from facenet_vae.data.celeba import find_celeba_files  # noqa: PLC0415 (loads numpy: CelebA runs only)
        find_celeba_files(expand(data_dir))
    elif dataset == "npz":
        if not os.path.isfile(expand(data_dir)):
            raise DataError(f"npz file {expand(data_dir)!r} (--data_dir) does not exist")
    elif dataset == "celeb_a" and not tfds_download and not os.path.isdir(expand(data_dir)):
        raise DataError(f"tensorflow-datasets folder {expand(data_dir)!r} (--data_dir) does not exist; "
                        "--tfds_download lets tensorflow-datasets create it")


def check_weights_path(weights):
    """Raise ``FileNotFoundError`` when ``weights`` names a weights file that does not exist."""
    if weights in NAMED_WEIGHTS or is_remote(weights):
        return
    path = os.path.abspath(expand(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Feature network weights file {path} (--perceptual_weights={weights}) "
                                "does not exist")
