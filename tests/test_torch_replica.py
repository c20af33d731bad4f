"""The PyTorch replica (facenet_vae.torch_replica) against the Keras graph and objective, on real faces.

The replica trains the shipped recipe on GPU machines without TensorFlow, and its weights come back
into a ``DfcVae``; these tests hold it to the Keras model on the same weights and faces: the graph in
inference and in training (batch statistics and the moving averages), the objective term by term, the
resize, the schedule, the initialisation, and the round trip through shards into a ``.keras`` file.
"""
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from PIL import Image

from facenet_vae.data.framing import training_framing
from facenet_vae.model.graph import DfcVae
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.torch_replica import keras_bridge, train
from facenet_vae.torch_replica.graph import TorchDfcVae
from facenet_vae.torch_replica.objective import FacenetStem, RecipeObjective, tf1_bilinear_matrix
from facenet_vae.training.feature_networks import build_feature_extractor
from facenet_vae.training.objective import Objective
from facenet_vae.training.optimisation import make_learning_rate_schedule

RECIPE = {"alfa": 1.0, "beta": 0.006, "pixel_weight": 0.000167}


@pytest.fixture(scope="module")
def faces(celeba_npz):
    """Eight real held-out faces, normalised, NHWC float32."""
    held_out = np.flatnonzero(celeba_npz["celeba_partition"] > 0)[:8]
    return pixels_to_normalized(celeba_npz["images"][held_out]).numpy()


@pytest.fixture(scope="module")
def twin_models():
    """A seeded Keras ``DfcVae`` and a ``TorchDfcVae`` holding its weights."""
    keras.utils.set_random_seed(3)
    vae = DfcVae("dfc_vae_resnet", latent_var_size=100)
    replica = TorchDfcVae("dfc_vae_resnet", 100)
    replica.load_slim_arrays(keras_bridge.vae_arrays(vae))
    return vae, replica


def _nchw(images):
    return torch.from_numpy(np.ascontiguousarray(np.transpose(images, (0, 3, 1, 2))))


def _nhwc(tensor):
    return tensor.detach().numpy().transpose(0, 2, 3, 1)


def test_inference_graph_matches_keras(twin_models, faces):
    vae, replica = twin_models
    replica.eval()
    mean, log_variance = vae.encode(faces, training=False)
    with torch.no_grad():
        torch_mean, torch_log_variance = replica.encode(_nchw(faces))
        decoded = replica.decode(torch.from_numpy(mean.numpy()))
    np.testing.assert_allclose(torch_mean.numpy(), mean.numpy(), atol=2e-4)
    np.testing.assert_allclose(torch_log_variance.numpy(), log_variance.numpy(), atol=2e-4)
    np.testing.assert_allclose(_nhwc(decoded), vae.decode(mean, training=False).numpy(), atol=2e-4)


def test_training_graph_and_moving_statistics_match_keras(faces):
    keras.utils.set_random_seed(5)
    vae = DfcVae("dfc_vae_resnet", latent_var_size=100)
    replica = TorchDfcVae("dfc_vae_resnet", 100)
    replica.load_slim_arrays(keras_bridge.vae_arrays(vae))
    replica.train()
    noise = np.random.default_rng(0).standard_normal((len(faces), 100)).astype(np.float32)
    mean, log_variance = vae.encode(faces, training=True)
    reconstruction = vae.decode(vae.sample_latent(mean, log_variance, noise=noise), training=True)
    torch_mean, torch_log_variance = replica.encode(_nchw(faces))
    torch_reconstruction = replica.decode(replica.sample_latent(torch_mean, torch_log_variance,
                                                                torch.from_numpy(noise)))
    np.testing.assert_allclose(torch_mean.detach().numpy(), mean.numpy(), atol=2e-4)
    np.testing.assert_allclose(_nhwc(torch_reconstruction), reconstruction.numpy(), atol=5e-4)
    # One batch has moved every batch norm's moving mean and (unbiased) variance off 0 and 1 the same way.
    updated = keras_bridge.vae_arrays(vae)
    for name, array in replica.slim_arrays().items():
        if "moving" in name:
            np.testing.assert_allclose(array, updated[name], atol=1e-5, err_msg=name)
    assert not np.allclose(updated["encoder/Conv2d_1a/BatchNorm/moving_variance"], 1.0)


def test_tf1_bilinear_matrix_is_tensorflow_resize():
    images = np.random.default_rng(1).standard_normal((2, 64, 64, 3)).astype(np.float32)
    expected = tf.raw_ops.ResizeBilinear(images=images, size=(160, 160), align_corners=False,
                                         half_pixel_centers=False).numpy()
    matrix = tf1_bilinear_matrix(64, 160)
    np.testing.assert_allclose(np.einsum("ij,njkc,lk->nilc", matrix, images, matrix), expected, atol=5e-5)


@pytest.fixture(scope="module")
def stem_file(shared_dir):
    """facenet's stem weights (the shared copy of facenet-msceleb's first three layers)."""
    return str(shared_dir / "models" / "facenet_keras_stem.h5")


def test_objective_terms_match_keras(faces, stem_file):
    extractor = build_feature_extractor("facenet", None, stem_file, crop_size=160)
    keras_objective = Objective(**RECIPE, reduction="mean", feature_network=extractor, pixel_space="pixels")
    stem = FacenetStem(keras_bridge.stem_arrays(stem_file, 160), 64, 160)
    torch_objective = RecipeObjective(stem, **RECIPE)
    rng = np.random.default_rng(2)
    reconstruction = (faces + 0.3 * rng.standard_normal(faces.shape)).astype(np.float32)
    mean = rng.standard_normal((len(faces), 100)).astype(np.float32)
    log_variance = (0.5 * rng.standard_normal((len(faces), 100))).astype(np.float32)
    expected = {name: float(value) for name, value in
                keras_objective.terms(faces, reconstruction, mean, log_variance).items()}
    found = {name: float(value) for name, value in torch_objective.terms(
        _nchw(faces), _nchw(reconstruction), torch.from_numpy(mean), torch.from_numpy(log_variance)).items()}
    assert set(found) == set(expected)
    for name in expected:
        assert found[name] == pytest.approx(expected[name], rel=2e-4), name
    assert found["Conv2d_2b_3x3_loss"] > 0 and found["pixel_loss"] > 0


def test_cosine_schedule_is_train_vae_schedule():
    class Config:
        learning_rate_schedule, initial_learning_rate, max_nrof_steps = "cosine", 5e-4, 1000
    schedule = make_learning_rate_schedule(Config)
    for step in (0, 7, 19, 20, 21, 400, 999, 1000, 1200):
        assert train.cosine_learning_rate(step, 5e-4, 1000) == pytest.approx(float(schedule(step)), abs=1e-9), step


def test_fan_in_initialisation_has_keras_bounds():
    replica = TorchDfcVae("dfc_vae_resnet", 100)
    replica.initialise_fan_in(torch.Generator().manual_seed(0))
    arrays = replica.slim_arrays()
    kernel = arrays["encoder/Conv2d_2a/weights"]            # 4x4x32 inputs
    limit = 1.0 / np.sqrt(4 * 4 * 32)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert np.std(kernel) == pytest.approx(limit / np.sqrt(3.0), rel=0.05)
    assert not arrays["decoder/Fc_1/biases"].any() and not arrays["decoder/Conv2d_4c/BatchNorm/beta"].any()


def test_training_writes_shards_that_load_into_a_keras_model(tmp_path, celeba_npz, stem_file):
    folder = tmp_path / "faces" / "person"
    folder.mkdir(parents=True)
    for index, image in enumerate(celeba_npz["images"][:12]):
        Image.fromarray(image).save(folder / f"{index:03d}.jpg", quality=95)
    stem_dir = tmp_path / "stem"
    stem_dir.mkdir()
    np.savez(stem_dir / "stem.npz", **keras_bridge.stem_arrays(stem_file, 160))
    output = tmp_path / "trained"
    steps = train.main([f"--data_dir={tmp_path / 'faces'}", f"--stem_weights={stem_dir / 'stem.npz'}",
                        f"--output_dir={output}", "--max_nrof_steps=3", "--batch_size=4",
                        "--shard_megabytes=4"])
    assert steps == 3
    progress = json.loads((output / "progress.json").read_text())
    assert progress["step"] == 3 and progress["final"] and progress["faces"] == 12
    shards = sorted(output.glob("weights-*.npz"))
    assert len(shards) == progress["shards"] > 1
    assert all(path.stat().st_size < 4.2e6 for path in shards)

    keras_file = tmp_path / "trained.keras"
    keras_bridge._main(["import", f"--shards={output}", f"--output={keras_file}"])
    loaded = keras.saving.load_model(keras_file)
    arrays = keras_bridge.read_shards(output)
    for name, variable in loaded.slim_variables().items():
        np.testing.assert_array_equal(variable.numpy(), arrays[name], err_msg=name)
    assert not np.allclose(arrays["encoder/Conv2d_1a/BatchNorm/moving_mean"], 0.0)
    # The faces were already framed as CelebA's subset; the model records that, as train_vae.py's would.
    assert loaded.framing == training_framing("npz", 64)


def test_shards_that_do_not_fit_are_refused(tmp_path):
    vae = DfcVae("dfc_vae_resnet", latent_var_size=100)
    arrays = keras_bridge.vae_arrays(vae)
    arrays.pop("decoder/Fc_1/biases")
    with pytest.raises(ValueError, match="missing \\['decoder/Fc_1/biases'\\]"):
        keras_bridge.load_vae_arrays(vae, arrays)
    with pytest.raises(FileNotFoundError, match="no weights-\\*.npz"):
        keras_bridge.read_shards(tmp_path)
