"""The one registry of face sources: every --dataset name opens one object, and training, evaluation and
generation get the same faces from it."""
import ast
import pathlib

import numpy as np
import pytest

from facenet_vae.data.errors import DataError
from facenet_vae.data.sources import DATASETS, open_source

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "facenet_vae"
# The readers behind the sources; only data/ may call them, so consumers go through open_source.
SOURCE_READERS = {"read_npz_faces", "open_celeb_a", "generate_synthetic_faces", "load_celeba"}
SOURCE_READER_MODULES = {"facenet_vae.data.npz_faces", "facenet_vae.data.tfds_celeb_a", "facenet_vae.data.synthetic"}


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, set()


def test_only_data_reads_the_sources_directly():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "data":
            continue
        for module, names in _imports(path):
            if names & SOURCE_READERS or (module in SOURCE_READER_MODULES and names - {"ATTRIBUTE_NAMES"}):
                offenders.append(f"{path.relative_to(PACKAGE)}: {module} {sorted(names)}")
    assert not offenders, offenders


def test_one_dispatcher_over_the_sources():
    """Only data/sources/__init__.py turns a --dataset name into a reader (one mapping of all the names)."""
    mappings = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
                if set(DATASETS) <= keys:
                    mappings.append(str(path.relative_to(PACKAGE)))
    assert mappings == ["data/sources/__init__.py"]


def test_every_name_opens_its_source(shared_dir, tmp_path, celeba_aligned_dir, celeba_attributes_file):
    data = shared_dir / "data"
    (tmp_path / "img_align_celeba").symlink_to(celeba_aligned_dir)
    (tmp_path / "list_attr_celeba.txt").symlink_to(celeba_attributes_file)
    where = {"folder": str(data / "celeba_large64"), "celeba": str(tmp_path), "celeb_a": str(tmp_path / "tfds"),
             "npz": str(data / "celeba_subset.npz"), "synthetic": None}
    for kind in DATASETS:
        source = open_source(kind, where[kind])
        assert source.kind == kind
        assert type(source).__module__ == f"facenet_vae.data.sources.{ {'celeba': 'celeba_download'}.get(kind, kind)}"
    with pytest.raises(DataError, match="unknown dataset 'imagenet'; use one of folder, celeba"):
        open_source("imagenet", "x")
    with pytest.raises(DataError, match="dataset 'npz' needs --data_dir"):
        open_source("npz", None)


def test_consumers_get_the_same_faces_from_one_source(shared_dir):
    """Training's split, evaluation's split and the attribute faces of one npz are the same rows."""
    path = str(shared_dir / "data" / "celeba_subset.npz")
    source = open_source("npz", path)
    framing = source.recorded_framing(64)
    training = source.training_faces(64)
    split = source.split_faces(framing)
    labelled = source.labelled_faces(framing)
    with np.load(path) as archive:
        partition, images = archive["celeba_partition"], archive["images"]
    assert training.count == int((partition == 0).sum()) == len(split.train_images) == len(labelled.images)
    assert np.array_equal(training.images, split.train_images) and np.array_equal(labelled.images, training.images)
    assert np.array_equal(split.held_out_images, images[partition > 0])
    assert training.recorded_framing == framing and training.applied_framing.crop == "none"
    assert labelled.names[31] == "Smiling" and labelled.attributes.shape == (len(labelled.images), 40)


def test_synthetic_source_is_seeded_and_sized():
    source = open_source("synthetic", None, num_synthetic=12)
    first, again = source.training_faces(32, seed=3), source.training_faces(32, seed=3)
    assert first.count == 12 and first.images.shape == (12, 32, 32, 3)
    assert np.array_equal(first.images, again.images)
    assert not np.array_equal(first.images, source.training_faces(32, seed=4).images)
    labelled = source.labelled_faces(first.recorded_framing, num_images=10, seed=3)
    assert labelled.images.shape == (10, 32, 32, 3) and labelled.attributes.shape[0] == 10
