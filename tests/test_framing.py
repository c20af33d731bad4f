"""One framing from training to editing: recorded by the run, read back by every consumer."""
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from facenet_vae import generation
from facenet_vae.data import image_paths_from_folder, make_image_dataset
from facenet_vae.data.framing import Framing, FramingError, training_framing
from facenet_vae.data.images import read_image
from facenet_vae.generation.loading import from_keras_model, load_vae
from facenet_vae.model import DfcVae
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.training import TrainConfig, train


@pytest.fixture(scope="module")
def aligned_paths(shared_dir):
    return image_paths_from_folder(shared_dir / "data" / "celeba_subset_aligned")


@pytest.fixture(scope="module")
def folder_run(shared_dir, tmp_path_factory):
    """A run trained for two steps through train() on the 178x218 CelebA JPEGs, with a 150-px crop-or-pad."""
    base = tmp_path_factory.mktemp("runs")
    config = TrainConfig(vae_def="dfc_vae", latent_var_size=8, data_dir=str(shared_dir / "data" / "celeba_subset_aligned"),
                         reconstruction_loss_type="PLAIN", loss_reduction="mean", pixel_weight=1e-3,
                         crop_size=150, max_nrof_steps=2, save_every_n_steps=2, batch_size=4, verbose=0,
                         models_base_dir=str(base), seed=3)
    keras.backend.clear_session()
    return train(config)


def test_same_jpeg_gives_the_same_model_input_in_training_and_generation(aligned_paths):
    paths = aligned_paths[:6]
    framing = training_framing("folder", 64)
    batches = make_image_dataset(paths, framing=framing, batch_size=6, shuffle=False, repeat=False)
    training_input = next(iter(batches)).numpy()

    model = DfcVae("dfc_vae", 8, framing=framing)
    model.build()
    faces = generation.load_images(paths, from_keras_model(model))
    generation_input = pixels_to_normalized(faces.astype(np.float32)).numpy()
    np.testing.assert_array_equal(training_input, generation_input)
    # The CelebA files get CelebA's face crop, not a squash of the whole 178x218 picture.
    squashed = tf.image.resize(tf.cast(read_image(paths[0]), tf.float32), (64, 64)).numpy()
    assert np.abs(faces[0].astype(np.float32) - squashed).mean() > 10


def test_run_records_its_framing_everywhere(folder_run, aligned_paths):
    expected = Framing("crop_or_pad", 150, 64)
    with open(os.path.join(folder_run, "model_config.json"), encoding="utf-8") as handle:
        assert Framing.from_dict(json.load(handle)["framing"]) == expected
    loaded = {"run folder": load_vae(folder_run), ".keras": load_vae(os.path.join(folder_run, "model.keras")),
              "SavedModel": load_vae(os.path.join(folder_run, "saved_model"))}
    assert all(vae.framing == expected and vae.framing_recorded for vae in loaded.values())
    with open(os.path.join(folder_run, "saved_model", "assets.extra", "model_config.json"), encoding="utf-8") as f:
        assert Framing.from_dict(json.load(f)["framing"]) == expected

    # A raw 178x218 JPEG given to any of them is framed in the same way before encoding.
    photo = read_image(aligned_paths[5]).numpy()
    framed = loaded[".keras"].frame_image(photo)
    np.testing.assert_array_equal(framed, expected.frame_numpy(photo))
    means = {name: vae.encode_pixels(photo[None])[0] for name, vae in loaded.items()}
    reference = loaded[".keras"].encode_pixels(framed[None])[0]
    for name, mean in means.items():
        np.testing.assert_allclose(mean, reference, atol=1e-4, err_msg=name)


def test_generate_modify_frames_a_photo_as_training_did(folder_run, aligned_paths, tmp_path):
    vae = load_vae(os.path.join(folder_run, "model.keras"))
    faces = generation.load_images([aligned_paths[0]], vae)
    np.testing.assert_array_equal(faces[0], vae.framing.frame_numpy(read_image(aligned_paths[0]).numpy()))


def test_npz_runs_record_celeba_framing(celeba_npz, tmp_path):
    npz = tmp_path / "faces.npz"
    np.savez(npz, images=celeba_npz["images"][:24])
    config = TrainConfig(vae_def="dfc_vae", latent_var_size=4, data_dir=str(npz), reconstruction_loss_type="PLAIN",
                         max_nrof_steps=1, save_every_n_steps=1, batch_size=8, verbose=0, export_saved_model=False,
                         models_base_dir=str(tmp_path / "runs"), recalibrate_batch_norm=False)
    keras.backend.clear_session()
    vae = load_vae(os.path.join(train(config), "model.keras"))
    assert vae.framing == training_framing("npz", 64)
    assert vae.framing.crop == "celeba" and vae.framing.resize_method == "lanczos3"


def test_bad_framing_records_are_refused():
    with pytest.raises(FramingError, match="unknown framing crop"):
        Framing.from_dict({"crop": "zoom"})
    with pytest.raises(FramingError, match="unknown framing fields"):
        Framing.from_dict({"crop": "none", "scale": 2})
    with pytest.raises(ValueError, match="128-px faces"):
        DfcVae("dfc_vae", 4, framing=Framing("none", None, 128))
