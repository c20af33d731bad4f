"""``--feature_target=crop``: facenet's feature target, the photo's crop at 160 px, on real CelebA JPEGs."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.data import DataError, load_training_images
from facenet_vae.data.folders import image_paths_from_folder
from facenet_vae.data.images import read_image
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.training import TrainConfig, train
from facenet_vae.training import feature_networks as fn
from facenet_vae.training.objective import Objective


@pytest.fixture(scope="module")
def facenet_weights(shared_dir):
    return str(shared_dir / "models" / "facenet_keras_stem.h5")


def _first_batch(folder, **options):
    images = load_training_images("folder", str(folder), image_size=64, batch_size=4, seed=0, shuffle=False,
                                  repeat=False, progress=False, crop_targets=True, **options)
    return images, next(iter(images.dataset))


def test_each_face_comes_with_its_photo_crop_at_160(celeba_aligned_dir):
    images, (faces, targets) = _first_batch(celeba_aligned_dir)
    assert faces.shape == (4, 64, 64, 3) and targets.shape == (4, 160, 160, 3)
    paths = image_paths_from_folder(str(celeba_aligned_dir))[:4]
    for face, target, path in zip(faces.numpy(), targets.numpy(), paths):
        photo = read_image(tf.constant(path))
        assert tuple(photo.shape[:2]) == (218, 178)   # an original CelebA file: CelebA's crop, at 160 px
        np.testing.assert_array_equal(target, pixels_to_normalized(images.framing.frame(photo, 160)).numpy())
        np.testing.assert_array_equal(face, pixels_to_normalized(images.framing.frame(photo)).numpy())


def test_a_flipped_face_comes_with_its_flipped_crop(celeba_aligned_dir):
    _, (faces, targets) = _first_batch(celeba_aligned_dir)
    _, (flipped_faces, flipped_targets) = _first_batch(celeba_aligned_dir, random_flip=True)
    face_flipped = [not np.array_equal(a, b) for a, b in zip(faces.numpy(), flipped_faces.numpy())]
    target_flipped = [not np.array_equal(a, b) for a, b in zip(targets.numpy(), flipped_targets.numpy())]
    assert face_flipped == target_flipped and 0 < sum(face_flipped)
    for index in np.flatnonzero(face_flipped):
        np.testing.assert_array_equal(flipped_targets[index].numpy(), targets[index].numpy()[:, ::-1])


def test_crop_targets_replace_the_resized_input_in_the_feature_term(celeba_npz, facenet_weights):
    extractor = fn.build_feature_extractor("facenet", None, facenet_weights, crop_size=160)
    objective = Objective(beta=0.5, reduction="mean", feature_network=extractor)
    images = pixels_to_normalized(celeba_npz["images"][:4])
    reconstruction = pixels_to_normalized(celeba_npz["images"][4:8])
    mean = log_variance = tf.zeros((4, 8))
    # The network resizes a 64-px input as facenet's train_vae.py resizes: TF1 bilinear to 160.
    resized = tf.raw_ops.ResizeBilinear(images=images, size=(160, 160), align_corners=False,
                                        half_pixel_centers=False)
    default = objective.terms(images, reconstruction, mean, log_variance)
    same = objective.terms(images, reconstruction, mean, log_variance, feature_targets=resized)
    other = objective.terms(images, reconstruction, mean, log_variance, feature_targets=resized[::-1])
    for name in ("Conv2d_1a_3x3_loss", "Conv2d_2b_3x3_loss", "loss"):
        assert float(same[name]) == pytest.approx(float(default[name]), rel=1e-5)
        assert abs(float(other[name]) - float(default[name])) > 0.05 * float(default[name])
    assert float(same["pixel_loss"]) == float(other["pixel_loss"])   # the pixel term still uses the input


def test_a_run_trains_on_the_crops_and_records_the_setting(tmp_path, celeba_aligned_dir, facenet_weights):
    config = TrainConfig(dataset="folder", data_dir=str(celeba_aligned_dir), vae_def="dfc_vae", latent_var_size=8,
                         reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet",
                         perceptual_weights=facenet_weights, feature_target="crop", batch_size=4,
                         max_nrof_steps=2, save_every_n_steps=2, models_base_dir=str(tmp_path), verbose=0,
                         export_saved_model=False)
    run_dir = train(config)
    assert "--feature_target=crop" in open(os.path.join(run_dir, "flags.txt")).read().split("\n")
    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    assert model.framing.crop_side(218, 178) == 138
    assert os.path.exists(os.path.join(run_dir, "reconstructed_000002.png"))


@pytest.mark.parametrize("overrides, message", [
    (dict(data_dir="faces.npz"), "--feature_target=crop needs photos"),
    (dict(dataset="synthetic", data_dir=None), "--feature_target=crop needs photos"),
    (dict(data_dir="faces/", perceptual_model="vgg19"), "--perceptual_model=facenet"),
    (dict(data_dir="faces/", reconstruction_loss_type="PLAIN"), "--reconstruction_loss_type=PERCEPTUAL"),
])
def test_the_crop_target_is_refused_where_it_cannot_work(overrides, message):
    values = dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet", feature_target="crop")
    values.update(overrides)
    with pytest.raises(ValueError, match=message):
        TrainConfig(**values).validate()


def test_the_data_layer_refuses_crop_targets_for_framed_faces(shared_dir):
    with pytest.raises(DataError, match="needs photos"):
        load_training_images("npz", str(shared_dir / "data" / "celeba_subset.npz"), image_size=64, batch_size=4,
                             seed=0, crop_targets=True)
