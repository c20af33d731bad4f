"""facenet's folder layouts: a FaceNet-style tree (one sub-folder per identity) or a flat image folder."""
import os
import warnings

from facenet_vae.data.errors import DataError, DataWarning

# Suffixes (lower case) of files taken as images. tf.io.decode_image also reads BMP and GIF.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


class ImageClass:
    """One identity of a FaceNet-style tree: its folder ``name`` and its sorted ``image_paths``."""

    def __init__(self, name, image_paths):
        self.name = name
        self.image_paths = list(image_paths)

    def __str__(self):
        return f"{self.name}, {len(self.image_paths)} images"

    def __repr__(self):
        return f"ImageClass({self.name!r}, <{len(self.image_paths)} images>)"

    def __len__(self):
        return len(self.image_paths)

    def __eq__(self, other):
        return isinstance(other, ImageClass) and (self.name, self.image_paths) == (other.name, other.image_paths)


def _is_image_name(name):
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _check_dir(folder):
    if not os.path.exists(folder):
        raise DataError(f"image folder {folder!r} does not exist")
    if not os.path.isdir(folder):
        raise DataError(f"{folder!r} is not a folder")


def _list_images(folder):
    """Sorted image paths directly inside ``folder`` (no check that there are any)."""
    try:
        with os.scandir(folder) as entries:
            # Not is_file(): a directory or unreadable entry named x.jpg is left to scan_images to report.
            names = [entry.name for entry in entries if _is_image_name(entry.name) and not entry.is_dir()]
    except PermissionError as err:
        raise DataError(f"cannot list image folder {folder!r}: permission denied") from err
    return [os.path.join(folder, name) for name in sorted(names)]


def _list_subdirs(folder):
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if entry.is_dir() and not entry.name.startswith("."))


def list_image_files(folder):
    """Return the sorted paths of the image files (jpg/jpeg/png/bmp/gif, any case) directly in ``folder``.

    Raises DataError naming the folder when it is missing or holds no images.
    """
    folder = os.path.expanduser(os.fspath(folder))
    _check_dir(folder)
    paths = _list_images(folder)
    if not paths:
        raise DataError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in folder {folder!r}")
    return paths


def get_dataset(path):
    """Return facenet's ``list[ImageClass]`` for a FaceNet-style tree (one sub-folder per identity).

    Identities are the sorted sub-folder names and each identity's images are sorted; ``path`` may
    join several trees with ':' as facenet allowed, whose identities are concatenated in that order.
    Sub-folders without images are kept (empty ImageClass) as facenet did. Raises DataError when a
    tree is missing or holds no images at all.
    """
    dataset = []
    for root in os.fspath(path).split(":"):
        if not root:
            continue
        root = os.path.expanduser(root)
        _check_dir(root)
        classes = [ImageClass(name, _list_images(os.path.join(root, name))) for name in _list_subdirs(root)]
        if not any(len(cls) for cls in classes):
            raise DataError(f"no identity sub-folders with images in {root!r} (expected <folder>/<identity>/<image>)")
        dataset.extend(classes)
    if not dataset:
        raise DataError(f"no image folder given in {path!r}")
    return dataset


def get_image_paths_and_labels(dataset):
    """Return facenet's ``(image_paths, labels)``: all paths of a get_dataset list and their class index."""
    paths, labels = [], []
    for index, cls in enumerate(dataset):
        paths += cls.image_paths
        labels += [index] * len(cls.image_paths)
    return paths, labels


def image_paths_from_folder(folder):
    """Return the image paths of ``folder``, a flat image folder or a FaceNet-style tree (auto-detected).

    Images directly in ``folder`` make it flat (sorted paths); otherwise its identity sub-folders
    are read in get_dataset order. ':'-joined folders are read one after the other.
    Raises DataError naming the folder when it is missing or holds no images.
    """
    folder = os.fspath(folder)
    if ":" in folder and not os.path.isdir(folder):
        return [p for part in folder.split(":") if part for p in image_paths_from_folder(part)]
    folder = os.path.expanduser(folder)
    _check_dir(folder)
    flat = _list_images(folder)
    if flat:
        nested = [d for d in _list_subdirs(folder) if _list_images(os.path.join(folder, d))]
        if nested:
            warnings.warn(f"{folder!r} holds images and identity sub-folders ({nested[0]!r}, ...); "
                          "reading it as a flat folder and ignoring the sub-folders", DataWarning, stacklevel=2)
        return flat
    try:
        dataset = get_dataset(folder)
    except DataError:
        raise DataError(f"no image files in folder {folder!r} nor in identity sub-folders of it") from None
    return get_image_paths_and_labels(dataset)[0]
