"""generate.py --mode=projector writes what TensorBoard's projector plugin reads, for real CelebA JPEGs."""
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorboard.plugins.projector import ProjectorConfig

import facenet_vae
from facenet_vae.generation import projector
from facenet_vae.data.celeba import read_attribute_file
from facenet_vae.data.errors import DataError
from facenet_vae.data.celeba import CELEBA_ATTRIBUTE_NAMES
from facenet_vae.generation import GenerateOptions, load_images, run
from facenet_vae.generation.loaded_vae import from_keras_model

LATENT = 8
NUM_FACES = 20


@pytest.fixture(scope="module")
def data(shared_dir):
    return {"folder": str(shared_dir / "data" / "celeba_subset_aligned"),
            "attributes": str(shared_dir / "data" / "celeba_subset_list_attr_celeba.txt")}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(3)
    path = str(tmp_path_factory.mktemp("model") / "model.keras")
    facenet_vae.build_vae("dfc_vae", LATENT).save(path)
    return path


def _read_config(log_dir):
    config = ProjectorConfig()
    with open(os.path.join(log_dir, "projector_config.pbtxt"), encoding="utf-8") as handle:
        text_format.Parse(handle.read(), config)
    return config


def test_projector_mode_writes_the_files_the_plugin_reads(data, model_file, tmp_path):
    log_dir = str(tmp_path / "logs")
    written = run(GenerateOptions(mode="projector", model=model_file, images=[data["folder"]],
                                  attributes_file=data["attributes"], num_images=NUM_FACES, output_dir=log_dir,
                                  batch_size=8))
    config = _read_config(log_dir)
    assert written[0] == os.path.join(log_dir, "projector_config.pbtxt")
    assert len(config.embeddings) == 1
    embedding = config.embeddings[0]

    # The tensor: the plugin opens the log folder's latest checkpoint and reads tensor_name from it.
    checkpoint = tf.train.latest_checkpoint(log_dir)
    assert checkpoint is not None and written[3] == checkpoint
    means = tf.train.load_checkpoint(checkpoint).get_tensor(embedding.tensor_name)
    assert means.shape == (NUM_FACES, LATENT) and means.dtype == np.float32
    paths = projector.image_files([data["folder"]])[:NUM_FACES]
    vae = from_keras_model(keras.saving.load_model(model_file))
    pixels = load_images(paths, vae)
    np.testing.assert_allclose(means, vae.encode_pixels(pixels)[0], rtol=1e-5, atol=1e-6)

    # Metadata: header `file` + the 40 attribute names, then one row per face in the tensor's order.
    with open(os.path.join(log_dir, embedding.metadata_path), encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle]
    assert len(rows) == NUM_FACES + 1 and all(len(row) == 41 for row in rows)
    assert rows[0] == ["file"] + list(CELEBA_ATTRIBUTE_NAMES)
    attributes = read_attribute_file(data["attributes"])
    for path, row in zip(paths, rows[1:]):
        assert row[0] == os.path.basename(path)
        expected = attributes.values[attributes.filenames.index(row[0])]
        assert [int(value) for value in row[1:]] == expected.tolist()

    # Sprite: ceil(sqrt(N)) thumbnails a side, the faces row by row, and its thumbnail size recorded.
    sprite = tf.io.decode_png(tf.io.read_file(os.path.join(log_dir, embedding.sprite.image_path))).numpy()
    side = math.ceil(math.sqrt(NUM_FACES))
    assert list(embedding.sprite.single_image_dim) == [64, 64]
    assert sprite.shape == (side * 64, side * 64, 3)
    np.testing.assert_array_equal(sprite[:64, :64], pixels[0])
    np.testing.assert_array_equal(sprite[64:128, 64:128], pixels[side + 1])
    assert not sprite[-64:, -64:].any()  # 20 faces fill 4 of the 5 rows


def test_without_attributes_the_metadata_is_one_column_without_header(data, model_file, tmp_path):
    faces = projector.image_files([data["folder"]])[:3]
    written = run(GenerateOptions(mode="projector", model=model_file, images=faces, output_dir=str(tmp_path)))
    with open(written[1], encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines == [os.path.basename(path) for path in faces]  # the plugin takes a single column as headerless
    assert tf.train.load_checkpoint(written[3]).get_tensor(projector.EMBEDDING_TENSOR).shape == (3, LATENT)


def test_sprite_thumbnails_shrink_to_fit_the_plugins_limit(monkeypatch):
    faces = np.random.default_rng(0).integers(0, 256, (5, 64, 64, 3)).astype(np.uint8)
    sprite, size = projector.sprite_image(faces)
    assert (size, sprite.shape) == (64, (192, 192, 3))
    monkeypatch.setattr(projector, "MAX_SPRITE_SIZE", 128)  # stands in for 8192 (that takes 16,385 faces)
    sprite, size = projector.sprite_image(faces)
    assert (size, sprite.shape) == (42, (126, 126, 3))
    expected = tf.image.resize(faces[4:5], (42, 42), antialias=True).numpy()[0]
    assert np.abs(sprite[42:84, 42:84].astype(float) - expected).max() <= 0.5 + 1e-3
    with pytest.raises(ValueError, match="5 thumbnails of 64 pixels do not fit a 128-pixel sprite"):
        projector.sprite_image(faces, thumbnail_size=64)


def test_bad_inputs_name_the_problem(data, model_file, tmp_path):
    with pytest.raises(DataError, match="--mode=projector needs --images"):
        run(GenerateOptions(mode="projector", model=model_file, output_dir=str(tmp_path)))
    other = tmp_path / "attributes.txt"
    other.write_text("1\n" + " ".join(CELEBA_ATTRIBUTE_NAMES) + "\n999999.jpg" + " -1" * 40 + "\n")
    faces = projector.image_files([data["folder"]])[:2]
    with pytest.raises(DataError, match=f"has no row for 2 of the 2 images \\(first: '{os.path.basename(faces[0])}'\\)"):
        run(GenerateOptions(mode="projector", model=model_file, images=faces, attributes_file=str(other),
                            output_dir=str(tmp_path / "logs")))
    assert not os.path.exists(tmp_path / "logs")
