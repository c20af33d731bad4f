"""The image files a generation mode works on, read only through ``facenet_vae.data``'s readers.

``--mode=attributes`` takes its faces with attributes from the source registry
(``facenet_vae.data.sources``: ``open_source(...).labelled_faces``).
"""
import collections
import itertools
import os

from facenet_vae.data import celeba, folders
from facenet_vae.data.errors import DataError
from facenet_vae.data.images import undecodable_files_error


def load_images(paths, vae):
    """Return uint8 faces (N, S, S, 3) of image files, framed as ``vae``'s training faces were (``vae.read_faces``).

    Raises DataError naming the missing files, or every file that cannot be decoded.
    """
    paths = [os.path.expanduser(os.fspath(p)) for p in paths]
    if not paths:
        raise DataError("no images given")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise DataError(f"image file(s) not found: {', '.join(missing[:5])}"
                        f"{' ...' if len(missing) > 5 else ''}")
    pixels, kept = vae.read_faces(paths)
    if len(kept) < len(paths):
        first_undecoded = paths[min(set(range(len(paths))) - set(kept.tolist()))]
        raise undecodable_files_error(paths) or DataError(f"cannot decode image {first_undecoded}")
    return pixels


def image_paths(data_dir, attributes_file=None):
    """Return the image paths of a folder tree or flat folder (sorted), or of the rows of a CelebA list.

    With ``attributes_file`` the images are the file's rows found in ``data_dir``, in file order.
    """
    if not data_dir:
        raise DataError("no images: pass --data_dir (a face folder, flat or one sub-folder per identity)")
    if attributes_file:
        attrs = celeba.read_attribute_file(attributes_file)
        paths, _ = celeba.match_attributes_to_images(attrs, data_dir, allow_missing=True)
        return paths
    return folders.image_paths_from_folder(data_dir)


def spread_over_identities(paths, count):
    """Return up to ``count`` of ``paths`` taken in turn from each identity (the file's folder): the first
    image of every identity, then the second of every identity, and so on. A flat folder keeps its order."""
    by_identity = collections.OrderedDict()
    for path in paths:
        by_identity.setdefault(os.path.dirname(path), []).append(path)
    turns = itertools.zip_longest(*by_identity.values())
    return [path for turn in turns for path in turn if path is not None][:count]
