"""Evaluation metrics against hand-computed values, and the evaluate CLI end to end on a tiny model."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.training.batch_norm_calibration import batch_norm_layers, recalibrate_batch_norm
from facenet_vae.data.errors import DataError
from facenet_vae.data.framing import Framing, training_framing
from facenet_vae.evaluation import attribute_prediction, editing, latent, metrics, report
from facenet_vae.evaluation.config import EvaluationConfig
from facenet_vae.data.celeba import is_celeba_download
from facenet_vae.data.sources import open_source
from facenet_vae.data.sources.base import split_indices
from facenet_vae.evaluation.pipeline import run_evaluation
from facenet_vae.image_grid import write_png
from facenet_vae.generation.loading import load_vae
from facenet_vae.training.losses import kl_per_sample
from facenet_vae.model import build_vae
from facenet_vae.model.normalization import pixels_to_normalized

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- reconstruction metrics ---------------------------------------------------------------------

@pytest.fixture
def pixel_pair():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 16, 16, 3), dtype=np.uint8)
    noise = rng.integers(-20, 21, size=images.shape)
    return images, np.clip(images.astype(np.int64) + noise, 0, 255).astype(np.uint8)


def test_mse_matches_numpy(pixel_pair):
    images, noisy = pixel_pair
    expected = np.mean((images.astype(np.float64) - noisy.astype(np.float64)) ** 2)
    assert metrics.mse(images, noisy) == pytest.approx(expected, rel=1e-12)
    by_hand = [np.mean((a.astype(float) - b.astype(float)) ** 2) for a, b in zip(images, noisy)]
    np.testing.assert_allclose(metrics.per_image_mse(images, noisy), by_hand, rtol=1e-12)
    assert metrics.mse(images, images) == 0.0


def test_mse_of_a_hand_made_pair():
    a = np.zeros((1, 2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0, 0] = 12  # one of 12 values differs by 12: MSE = 144 / 12 = 12
    assert metrics.mse(a, b) == 12.0
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 12.0), rel=1e-5)


def test_psnr_matches_formula(pixel_pair):
    images, noisy = pixel_pair
    per_image = [np.mean((a.astype(float) - b.astype(float)) ** 2) for a, b in zip(images, noisy)]
    expected = [10 * math.log10(255.0 ** 2 / m) for m in per_image]
    np.testing.assert_allclose(metrics.per_image_psnr(images, noisy), expected, rtol=1e-5)
    assert metrics.psnr(images, noisy) == pytest.approx(np.mean(expected), rel=1e-5)
    assert math.isinf(metrics.psnr(images, images))


def test_ssim_identical_is_one_known_pair_and_noisier_lower(pixel_pair):
    images, noisy = pixel_pair
    assert metrics.ssim(images, images) == pytest.approx(1.0, abs=1e-6)
    reference = tf.image.ssim(tf.constant(images, tf.float32), tf.constant(noisy, tf.float32), max_val=255.0)
    assert metrics.ssim(images, noisy) == pytest.approx(float(np.mean(reference.numpy())), rel=1e-6)
    rng = np.random.default_rng(1)
    noisier = np.clip(images.astype(np.int64) + rng.integers(-80, 81, size=images.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(images, noisier) < metrics.ssim(images, noisy) < 1.0


def test_reconstruction_metrics_keys_and_shape_checks(pixel_pair):
    images, noisy = pixel_pair
    result = metrics.reconstruction_metrics(images, noisy)
    assert set(result) >= {"mse", "psnr", "ssim", "psnr_of_mean_mse", "num_images"}
    assert result["psnr_of_mean_mse"] == pytest.approx(10 * math.log10(255 ** 2 / result["mse"]))
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.mse(images, noisy[:2])
    psnrs = metrics.per_image_psnr(images, noisy)
    assert result["psnr_standard_error"] == pytest.approx(np.std(psnrs, ddof=1) / math.sqrt(len(psnrs)))
    assert metrics.reconstruction_metrics(images, images)["psnr_standard_error"] is None  # infinite PSNRs


# -- attribute prediction -----------------------------------------------------------------------

def test_majority_baseline_on_hand_made_column():
    train = np.array([[1], [1], [-1]])
    test = np.array([[1], [-1], [-1], [-1]])
    np.testing.assert_array_equal(attribute_prediction.majority_labels(train), [1])
    assert attribute_prediction.majority_baseline(train, test)[0] == pytest.approx(0.25)
    tie = np.array([[1], [-1]])
    np.testing.assert_array_equal(attribute_prediction.majority_labels(tie), [-1])
    with pytest.raises(ValueError, match="-1 or 1"):
        attribute_prediction.majority_baseline(np.array([[0], [1]]), test)


def test_linear_code_is_predicted_and_random_labels_are_not():
    rng = np.random.default_rng(0)
    train_z, test_z = rng.standard_normal((600, 6)), rng.standard_normal((400, 6))
    # Attribute k is the sign of latent dimension k (k < 3); attribute 3 is independent noise, 70% positive.
    def labels(z, noise):
        return np.concatenate([np.where(z[:, :3] > 0, 1, -1), np.where(noise < 0.7, 1, -1)[:, None]], axis=1)
    train_y, test_y = labels(train_z, rng.random(600)), labels(test_z, rng.random(400))
    section, classifiers = attribute_prediction.evaluate_attribute_prediction(
        train_z, train_y, test_z, test_y, ["a", "b", "c", "noise"])
    for name in "abc":
        assert section["per_attribute"][name]["accuracy"] > 0.97
    noise = section["per_attribute"]["noise"]
    assert abs(noise["accuracy"] - noise["majority"]) < 0.06
    assert section["pca_pixels_baseline"] is None and section["constant_in_training"] == []
    accuracies = [row["accuracy"] for row in section["per_attribute"].values()]
    assert section["mean_accuracy"] == pytest.approx(np.mean(accuracies))
    assert classifiers.predict(test_z).shape == (400, 4)
    # Each face's fraction right averages to the same mean; its spread gives the standard error.
    face_accuracy = classifiers.face_accuracy(test_z, test_y)
    assert face_accuracy.shape == (400,) and set(np.unique(face_accuracy)) <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert face_accuracy.mean() == pytest.approx(section["mean_accuracy"])
    assert section["mean_accuracy_standard_error"] == pytest.approx(np.std(face_accuracy, ddof=1) / 20.0)
    assert 0.003 < section["mean_accuracy_standard_error"] < 0.02
    assert metrics.standard_error([0.5]) is None and metrics.standard_error([1.0, np.inf]) is None


def test_constant_training_attribute_predicts_the_constant():
    rng = np.random.default_rng(0)
    train_z, test_z = rng.standard_normal((50, 3)), rng.standard_normal((20, 3))
    train_y = np.stack([np.where(train_z[:, 0] > 0, 1, -1), -np.ones(50, int)], axis=1)
    test_y = np.stack([np.where(test_z[:, 0] > 0, 1, -1), np.r_[np.ones(5, int), -np.ones(15, int)]], axis=1)
    section, classifiers = attribute_prediction.evaluate_attribute_prediction(
        train_z, train_y, test_z, test_y, ["signal", "constant"])
    assert section["constant_in_training"] == ["constant"]
    assert np.all(classifiers.predict(test_z)[:, 1] == -1)
    assert section["per_attribute"]["constant"]["accuracy"] == pytest.approx(0.75)
    assert section["per_attribute"]["constant"]["majority"] == pytest.approx(0.75)


def test_pca_baseline_shapes_and_cap():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(30, 8, 8, 3), dtype=np.uint8)
    test = rng.integers(0, 256, size=(10, 8, 8, 3), dtype=np.uint8)
    train_features, test_features, used = attribute_prediction.pca_pixel_features(train, test, 100)
    assert used == 30 and train_features.shape == (30, 30) and test_features.shape == (10, 30)
    train_features, test_features, used = attribute_prediction.pca_pixel_features(train, test, 5)
    assert used == 5 and train_features.shape == (30, 5) and test_features.shape == (10, 5)
    labels = np.where(rng.random((40, 2)) < 0.5, 1, -1)
    section, _ = attribute_prediction.evaluate_attribute_prediction(
        rng.standard_normal((30, 4)), labels[:30], rng.standard_normal((10, 4)), labels[30:], ["x", "y"],
        train_pixels=train, test_pixels=test, pca_components=5)
    assert section["pca_components"] == 5 and 0.0 <= section["pca_pixels_baseline"] <= 1.0
    assert all(0.0 <= row["pca_pixels"] <= 1.0 for row in section["per_attribute"].values())


# -- latent health ------------------------------------------------------------------------------

def test_active_units_counts_informative_dimensions():
    rng = np.random.default_rng(0)
    means = np.zeros((500, 8))
    means[:, [1, 4, 6]] = rng.standard_normal((500, 3))
    means[:, 0] = 0.7  # constant offset: not active
    means[:, 2] = 0.001 * rng.standard_normal(500)  # variance 1e-6: not active
    assert latent.active_units(means) == 3
    np.testing.assert_allclose(latent.latent_mean_variance(means)[[1, 4, 6]], 1.0, atol=0.15)


def test_kl_per_dimension_matches_numpy():
    rng = np.random.default_rng(0)
    mean, log_var = rng.standard_normal((7, 5)), rng.standard_normal((7, 5))
    expected = np.zeros(5)
    for i in range(7):
        for d in range(5):
            expected[d] += 0.5 * (math.exp(log_var[i, d]) + mean[i, d] ** 2 - 1 - log_var[i, d]) / 7
    np.testing.assert_allclose(latent.kl_per_dimension(mean, log_var), expected, rtol=1e-12)
    np.testing.assert_allclose(latent.kl_per_dimension(np.zeros((3, 2)), np.zeros((3, 2))), 0.0)
    summary = latent.latent_summary(mean, log_var)
    assert summary["kl_total"] == pytest.approx(expected.sum())
    assert summary["active_units_kl"] == int(np.sum(expected > 0.01))
    assert summary["num_log_variances_capped"] == 0


def test_kl_caps_log_variances_as_the_training_objective_does():
    """A diverged log-variance (300: exp gives 1.9e130) is capped at 20, so the KL is the training loss's KL."""
    mean = np.array([[0.5, -1.0, 0.0], [2.0, 0.0, 1.0]])
    log_var = np.array([[300.0, 0.0, -1.0], [25.0, 19.0, 0.5]])
    per_dimension = latent.kl_per_dimension(mean, log_var)
    capped = np.minimum(log_var, 20.0)
    expected = np.mean(0.5 * (np.exp(capped) + mean ** 2 - 1 - capped), axis=0)
    np.testing.assert_allclose(per_dimension, expected, rtol=1e-12)
    training_kl = kl_per_sample(tf.constant(mean, tf.float32), tf.constant(log_var, tf.float32)).numpy()
    np.testing.assert_allclose(per_dimension.sum(), training_kl.mean(), rtol=1e-5)
    summary = latent.latent_summary(mean, log_var)
    assert summary["kl_total"] < 1e9 and summary["num_log_variances_capped"] == 2
    assert summary["posterior_variance_mean"] == pytest.approx(np.mean(np.exp(capped)))


# -- editing on a linear toy --------------------------------------------------------------------

class SignClassifiers:
    """Attribute k is present when latent dimension k is positive."""

    def predict(self, z):
        return np.where(np.asarray(z) > 0, 1, -1).astype(np.int8)


def test_editing_success_on_exact_linear_toy():
    rng = np.random.default_rng(0)
    z = np.abs(rng.standard_normal((50, 4))) + 0.1
    z[:, 0] = -rng.uniform(0.1, 1.5, 50)            # nobody has attribute 0
    decode = lambda latent: 2.0 * latent + 1.0        # noqa: E731  images are any array
    encode = lambda images: (images - 1.0) / 2.0      # noqa: E731  exact inverse
    vector = np.array([2.0, 0.0, 0.0, 0.0])
    full = editing.editing_success(z, 0, vector, SignClassifiers(), decode, encode, strength=1.0, batch_size=7,
                                   sweep=(0.5,))
    assert full["success_rate"] == 1.0 and full["others_unchanged"] == 1.0
    assert full["round_trip_success_rate"] == 0.0 and full["round_trip_others_unchanged"] == 1.0
    half = {row["strength"]: row for row in full["sweep"]}[0.5]
    assert half["success_rate"] == pytest.approx(np.mean(z[:, 0] + 1.0 > 0))
    assert [row["strength"] for row in full["sweep"]] == [0.0, 0.5, 1.0]


def test_editing_others_unchanged_with_a_lossy_round_trip():
    z = np.array([[-1.0, 1.0, 1.0, -1.0], [-0.5, 2.0, -1.0, 1.0]])
    flip = np.array([1.0, -1.0, 1.0, 1.0])            # re-encoding negates dimension 1
    decode = lambda latent: np.asarray(latent)        # noqa: E731
    encode = lambda images: np.asarray(images) * flip  # noqa: E731
    row = editing.editing_success(z, 0, np.array([0.8, 0, 0, 0]), SignClassifiers(), decode, encode,
                                  names=["a0", "a1", "a2", "a3"])
    assert row["success_rate"] == 0.5                  # only -0.5 + 0.8 > 0
    assert row["others_unchanged"] == pytest.approx(2 / 3)
    assert row["round_trip_others_unchanged"] == pytest.approx(2 / 3)
    assert row["others_unchanged_vs_round_trip"] == 1.0
    assert row["others_unchanged_per_attribute"] == {"a1": 0.0, "a2": 1.0, "a3": 1.0}


def test_editing_without_faces_reports_none():
    row = editing.editing_success(np.zeros((0, 3)), 0, np.ones(3), SignClassifiers(), lambda z: z, lambda x: x)
    assert row["success_rate"] is None and row["num_faces"] == 0


# -- data and report ----------------------------------------------------------------------------

def test_split_with_and_without_partition():
    train, held_out, text = split_indices(6, np.array([0, 1, 2, 0, 2, 0]))
    assert train.tolist() == [0, 3, 5] and held_out.tolist() == [1, 2, 4] and "partition" in text
    train, held_out, text = split_indices(100, None, seed=3)
    assert len(held_out) == 20 and len(train) == 80 and "80/20" in text and "seed 3" in text
    assert not set(train) & set(held_out)
    again = split_indices(100, None, seed=3)
    assert again[1].tolist() == held_out.tolist()


def test_npz_of_other_size_is_resized_and_split_80_20(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "faces.npz"
    np.savez(path, images=rng.integers(0, 256, size=(20, 48, 48, 3), dtype=np.uint8))
    data = open_source("npz", str(path)).split_faces(Framing("none", None, 64))
    assert data.train_images.shape == (16, 64, 64, 3) and data.held_out_images.shape == (4, 64, 64, 3)
    assert data.train_images.dtype == np.uint8 and not data.has_attributes
    assert data.resized and "48x48" in data.resize_note(64) and "resized" in data.resize_note(64)
    assert "80/20" in data.split


def test_folder_with_attribute_file(celeba_aligned_dir, celeba_attributes_file):
    source = open_source("folder", celeba_aligned_dir, attributes_file=celeba_attributes_file)
    data = source.split_faces(Framing("celeba", None, 64), max_train=12, max_held_out=6)
    assert data.train_images.shape == (12, 64, 64, 3) and data.held_out_images.shape == (6, 64, 64, 3)
    assert data.train_attributes.shape == (12, 40) and data.attribute_names[31] == "Smiling"
    assert data.resized and (218, 178) in data.original_sizes
    assert any("not in the folder" in note for note in data.notes)


def test_celeba_download_uses_its_partition_file(tmp_path, celeba_aligned_dir, celeba_attributes_file, celeba_npz):
    (tmp_path / "img_align_celeba").symlink_to(celeba_aligned_dir)
    (tmp_path / "list_attr_celeba.txt").symlink_to(celeba_attributes_file)
    rows = [f"{name} {int(part)}" for name, part in zip(celeba_npz["filenames"], celeba_npz["celeba_partition"])]
    (tmp_path / "list_eval_partition.txt").write_text("\n".join(rows) + "\n")
    assert is_celeba_download(tmp_path) and not is_celeba_download(tmp_path / "missing")
    for kind in ("celeba", "celeb_a"):  # celeb_a pointed at a CelebA download reads the download
        assert type(open_source(kind, str(tmp_path))).__name__ == "CelebaDownloadSource"
    data = open_source("celeba", str(tmp_path)).split_faces(training_framing("npz", 64), max_train=10, max_held_out=5)
    assert "official partition" in data.split
    assert data.train_images.shape == (10, 64, 64, 3) and data.held_out_attributes.shape == (5, 40)
    # Each loaded face is (framed like) one npz face: held-out ones are partitions 1 and 2, training ones 0.
    in_folder = np.flatnonzero(celeba_npz["in_aligned_folder"])
    reference = celeba_npz["images"][in_folder].astype(np.float32)
    for images, held_out in ((data.held_out_images, True), (data.train_images, False)):
        for face in images.astype(np.float32):
            distances = np.abs(reference - face).mean(axis=(1, 2, 3))
            row = in_folder[int(np.argmin(distances))]
            assert distances.min() < 1.5
            assert (celeba_npz["celeba_partition"][row] > 0) == held_out


def test_json_safe_turns_numpy_and_non_finite_into_json():
    value = report.json_safe({"a": np.float32(1.5), "b": np.arange(2), "c": float("inf"), "d": (np.int64(3),)})
    assert value == {"a": 1.5, "b": [0, 1], "c": None, "d": [3]}
    json.dumps(value, allow_nan=False)


# -- batch-norm recalibration -------------------------------------------------------------------

def test_recalibrated_batch_norm_matches_batch_statistics(celeba_npz):
    model = build_vae("dfc_vae", 8)
    faces = celeba_npz["images"][:48]
    images = pixels_to_normalized(faces)
    weights = [w.copy() for w in model.get_weights()]
    momenta = [layer.momentum for layer in batch_norm_layers(model)]
    before = model.encode(images)[0].numpy()
    # Two batches of 24: the moving statistics become the mean of the two batches' statistics.
    assert recalibrate_batch_norm(model, faces, batch_size=24) == 48
    assert [layer.momentum for layer in batch_norm_layers(model)] == momenta
    first = model.encoder.blocks[0].batch_norm
    conv_out = model.encoder.blocks[0].conv(images).numpy()
    halves = [conv_out[:24], conv_out[24:]]
    expected_mean = np.mean([h.mean(axis=(0, 1, 2)) for h in halves], axis=0)
    expected_var = np.mean([h.var(axis=(0, 1, 2), ddof=1) for h in halves], axis=0)
    np.testing.assert_allclose(first.moving_mean.numpy(), expected_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(first.moving_variance.numpy(), expected_var, rtol=1e-3, atol=1e-5)
    recalibrate_batch_norm(model, faces, batch_size=48)
    # With statistics from this very batch, inference mode equals training mode on it, up to the
    # n/(n-1) of the unbiased moving variance (n = 48 * 4 * 4 values in the deepest layer).
    np.testing.assert_allclose(model.encode(images)[0].numpy(), model.encode(images, training=True)[0].numpy(),
                               rtol=5e-3, atol=5e-3)
    assert not np.allclose(before, model.encode(images)[0].numpy())
    trainable_paths = {v.path for v in model.trainable_variables}
    for variable, old in zip(model.weights, weights):
        if variable.path in trainable_paths:
            np.testing.assert_array_equal(variable.numpy(), old)


# -- end to end ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model_and_faces(tmp_path_factory, celeba_npz):
    folder = tmp_path_factory.mktemp("evaluate")
    model_path = str(folder / "tiny.keras")
    build_vae("dfc_vae", 8).save(model_path)
    partition = celeba_npz["celeba_partition"]
    rows = np.concatenate([np.flatnonzero(partition == 0)[:120], np.flatnonzero(partition == 1)[:40],
                           np.flatnonzero(partition == 2)[:40]])
    npz_path = str(folder / "faces.npz")
    np.savez(npz_path, images=celeba_npz["images"][rows], attributes=celeba_npz["attributes"][rows],
             attribute_names=celeba_npz["attribute_names"], celeba_partition=partition[rows])
    return model_path, npz_path


def _get(tree, dotted):
    for key in dotted.split("."):
        tree = tree[key]
    return tree


def _finite_numbers(tree):
    if isinstance(tree, dict):
        return all(_finite_numbers(v) for v in tree.values())
    if isinstance(tree, list):
        return all(_finite_numbers(v) for v in tree)
    return not isinstance(tree, float) or math.isfinite(tree)


REQUIRED_KEYS = ["reconstruction.psnr", "reconstruction.ssim", "reconstruction.mse",
                 "attribute_prediction.mean_accuracy", "attribute_prediction.majority_baseline",
                 "attribute_prediction.pca_pixels_baseline", "attribute_prediction.per_attribute",
                 "editing.Smiling.success_rate", "editing.Smiling.others_unchanged", "latent.active_units",
                 "latent.kl_per_dimension", "model.source", "model.vae_def", "model.latent_var_size",
                 "data.description", "data.counts.train", "data.counts.held_out"]


def test_cli_writes_report_and_figures(tmp_path, tiny_model_and_faces):
    model_path, npz_path = tiny_model_and_faces
    output_dir = tmp_path / "report"
    env = dict(os.environ, PYTHONPATH=PROJECT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run(
        [sys.executable, "-m", "facenet_vae.evaluate", f"--model={model_path}", "--dataset=npz",
         f"--data_dir={npz_path}", f"--output_dir={output_dir}", "--edit_sweep=", "--batch_size=64",
         "--recalibrate_batch_norm", "--noidentity_metrics", "--attribute_vector_method=difference"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "PSNR" in completed.stdout
    # Progress: a line per stage, and a Progbar summary over the images (stdout is a pipe here).
    for line in ("facenet-vae-evaluate: encoding 80 held-out faces",
                 "facenet-vae-evaluate: encoding 120 training faces",
                 "facenet-vae-evaluate: fitting linear classifiers for 40 attributes", "80/80", "120/120"):
        assert line in completed.stdout, line
    # No TensorFlow start-up noise: every stderr line is one of the tool's own warnings.
    assert all(line.startswith("facenet-vae-evaluate: warning: ") for line in completed.stderr.splitlines()), \
        completed.stderr[-3000:]
    result = json.loads((output_dir / "report.json").read_text())
    for key in REQUIRED_KEYS:
        value = _get(result, key)
        assert value is not None, key
    assert _finite_numbers(result)
    per_attribute = result["attribute_prediction"]["per_attribute"]
    assert len(per_attribute) == 40
    assert set(per_attribute["Smiling"]) >= {"accuracy", "majority", "pca_pixels"}
    assert result["data"]["counts"] == {"train": 120, "held_out": 80}
    assert result["model"]["vae_def"] == "dfc_vae" and result["model"]["latent_var_size"] == 8
    assert len(result["latent"]["kl_per_dimension"]) == 8
    assert 0 <= result["editing"]["Smiling"]["success_rate"] <= 1
    # facenet's mean-difference vector, one flag away, named in the report and the summary.
    assert result["editing"]["Smiling"]["attribute_vector_method"] == "difference"
    assert "editing Smiling (difference vector, k=1): success" in completed.stdout
    assert "minus mean without, facenet's attribute vector" in (output_dir / "report.md").read_text()
    assert result["reconstruction_stored_batch_norm"]["mse"] > 0
    # per_face.npz: what the report's means and standard errors are made of, face by face.
    assert result["per_face"] == "per_face.npz"
    with np.load(output_dir / "per_face.npz") as per_face:
        assert per_face["psnr"].shape == per_face["attribute_accuracy"].shape == (80,)
        assert per_face["psnr"].mean() == pytest.approx(result["reconstruction"]["psnr"])
        assert per_face["attribute_accuracy"].mean() == pytest.approx(result["attribute_prediction"]["mean_accuracy"])
    assert result["reconstruction"]["psnr_standard_error"] > 0
    assert result["attribute_prediction"]["mean_accuracy_standard_error"] > 0
    assert " ± " in completed.stdout
    markdown = (output_dir / "report.md").read_text()
    assert f"{100 * result['attribute_prediction']['mean_accuracy']:.1f}% ± " in markdown
    assert f"{result['reconstruction']['psnr']:.2f} ± " in markdown
    for name in ("reconstructions.png", "prior_samples.png", "latent_pca.png", "attribute_accuracy.png"):
        assert f"]({name})" in markdown
        image = tf.io.decode_png(tf.io.read_file(str(output_dir / name))).numpy()
        assert image.ndim == 3 and image.shape[2] in (3, 4) and min(image.shape[:2]) > 100


def test_folder_without_attributes_reports_reconstruction_and_latent_only(tmp_path, tiny_model_and_faces):
    model_path, npz_path = tiny_model_and_faces
    faces = np.load(npz_path)["images"][:10]
    small = tf.cast(tf.image.resize(faces, (32, 32)), tf.uint8).numpy()
    for index, face in enumerate(small):
        write_png(str(tmp_path / "faces" / f"{index:03d}.png"), face)
    config = EvaluationConfig(model=model_path, data_dir=str(tmp_path / "faces"), dataset="folder",
                              output_dir=str(tmp_path / "out"), num_figure_images=4, identity_metrics=False)
    result = run_evaluation(config, vae=load_vae(model_path))
    assert "attribute_prediction" not in result and "editing" not in result
    with np.load(tmp_path / "out" / "per_face.npz") as per_face:
        assert set(per_face.files) == {"psnr"} and per_face["psnr"].shape == (2,)
    assert result["data"]["counts"] == {"train": 8, "held_out": 2} and result["data"]["resized"]
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "32x32" in markdown and "bilinear" in markdown and "no attributes" in markdown
    assert (tmp_path / "out" / "prior_samples.png").is_file()


def test_unknown_edit_attribute_is_a_clear_error(tmp_path, tiny_model_and_faces):
    model_path, npz_path = tiny_model_and_faces
    config = EvaluationConfig(model=model_path, data_dir=npz_path, output_dir=str(tmp_path),
                              edit_attributes=("Smiles",))
    with pytest.raises(ValueError, match="Smiles.*Smiling"):
        run_evaluation(config, vae=load_vae(model_path))


def test_missing_inputs_are_clear_errors(tmp_path, tiny_model_and_faces):
    model_path, npz_path = tiny_model_and_faces
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_evaluation(EvaluationConfig(model=str(tmp_path / "nope.keras"), data_dir=npz_path,
                                        output_dir=str(tmp_path)))
    with pytest.raises(DataError, match="nope.npz"):
        run_evaluation(EvaluationConfig(model=model_path, data_dir=str(tmp_path / "nope.npz"),
                                        output_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="--dataset"):
        EvaluationConfig(model=model_path, data_dir=npz_path, dataset="csv").validate()


def _stand_in_judges():
    """Cheap deterministic judges (pooled pixels, L1) in place of the pretrained networks."""
    from facenet_vae.evaluation.judges import Judges

    def pooled(images):
        images = np.asarray(images, np.float64)
        flat = images.reshape(len(images), 8, 8, 8, 8, 3).mean(axis=(2, 4)).reshape(len(images), -1)
        return flat - flat.mean(axis=1, keepdims=True)

    return Judges(embed=lambda images: pooled(images) / np.linalg.norm(pooled(images), axis=1, keepdims=True),
                  features=lambda images: pooled(images)[:, ::8],
                  perceptual_distance=lambda a, b: np.abs(a.astype(float) - b.astype(float)).mean(axis=(1, 2, 3)),
                  names={"identity": "pooled pixels", "features": "pooled pixels", "perceptual": "L1"})


def test_identity_and_realism_rows_for_the_model_pca_and_real_photos(tmp_path, tiny_model_and_faces, celeba_npz,
                                                                     monkeypatch):
    from sklearn.decomposition import PCA

    from facenet_vae.cli.evaluate import summary_lines
    from facenet_vae.evaluation import judges
    model_path, _ = tiny_model_and_faces
    partition, people = celeba_npz["celeba_partition"], celeba_npz["identities"]
    held_people = np.unique(people[partition != 0])[:4]
    rows = np.concatenate([np.flatnonzero(partition == 0)[:120]] +
                          [np.flatnonzero((people == person) & (partition != 0))[:10] for person in held_people])
    npz_path = str(tmp_path / "faces.npz")
    np.savez(npz_path, images=celeba_npz["images"][rows], attributes=celeba_npz["attributes"][rows],
             attribute_names=celeba_npz["attribute_names"], celeba_partition=partition[rows], identities=people[rows])
    monkeypatch.setattr(judges, "load_judges", lambda batch_size=64: _stand_in_judges())
    config = EvaluationConfig(model=model_path, data_dir=npz_path, output_dir=str(tmp_path / "out"), edit_sweep=(),
                              pca_components=20)
    result = run_evaluation(config, vae=load_vae(model_path))
    section = result["identity_realism"]
    assert set(section["rows"]) == {"model", "pca_pixels", "real_photos"} and section["num_faces"] == 40
    model, pca, real = (section["rows"][key] for key in ("model", "pca_pixels", "real_photos"))
    assert model["psnr"]["mean"] == pytest.approx(result["reconstruction"]["psnr"])
    # The PCA row reconstructs with 20 components fitted on the 120 training faces' pixels.
    train, held = celeba_npz["images"][rows[:120]], celeba_npz["images"][rows[120:]]
    fitted = PCA(20, random_state=0).fit(train.reshape(120, -1) / 255.0)
    restored = fitted.inverse_transform(fitted.transform(held.reshape(40, -1) / 255.0)) * 255.0
    expected = metrics.psnr(held, np.clip(np.round(restored), 0, 255).astype(np.uint8).reshape(held.shape))
    assert pca["psnr"]["mean"] == pytest.approx(expected, abs=0.05)
    assert pca["ffd_x100"]["fitted_samples"] > 0 and pca["ffd_x100"]["prior_samples"] is None
    for kind in ("reconstructions", "fitted_samples", "prior_samples"):
        assert model["ffd_x100"][kind] > 0 and model["vgg_frechet"][kind] > 0
    assert real["num_faces"] == 40 and 0 <= real["rank1"]["mean"] <= 1 and real["verification_auc"] is not None
    smiling = section["edits"]["model"]["Smiling"]
    assert smiling["num_faces"] == result["editing"]["Smiling"]["num_faces"] and smiling["kept_ratio"] is not None
    assert result["editing"]["Smiling"]["attribute_vector_method"] == "conditional"  # the default
    with np.load(tmp_path / "out" / "per_face.npz") as per_face:
        assert per_face["identity_cosine"].shape == per_face["rank1"].shape == (40,)
        assert per_face["identity_cosine"].mean() == pytest.approx(model["identity_cosine"]["mean"])
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "## Identity and realism" in markdown and "real photos" in markdown and "stand in for FID" in markdown
    terms = model["ffd_x100_terms"]["reconstructions"]
    assert terms["mean_term"] + terms["covariance_term"] == pytest.approx(model["ffd_x100"]["reconstructions"])
    assert f"| {terms['mean_term']:.2f} + {terms['covariance_term']:.2f} |" in markdown
    text = "\n".join(summary_lines(result))
    assert "identity (pooled pixels), the model: cosine" in text and "identity kept by the Smiling edit" in text
    assert f"(mean term {terms['mean_term']:.2f} + covariance term {terms['covariance_term']:.2f})" in text
    assert "probe minus majority" in text


def test_offline_without_the_judging_networks_is_one_line_naming_the_fetch_command(tmp_path, tiny_model_and_faces):
    model_path, npz_path = tiny_model_and_faces
    env = dict(os.environ, PYTHONPATH=PROJECT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               FACENET_VAE_CACHE=str(tmp_path / "empty_cache"), PIP_INDEX_URL="http://127.0.0.1:9/simple",
               PIP_RETRIES="0", PIP_TIMEOUT="2", PIP_NO_INPUT="1")
    completed = subprocess.run(
        [sys.executable, "-m", "facenet_vae.evaluate", f"--model={model_path}", f"--data_dir={npz_path}",
         f"--output_dir={tmp_path / 'out'}", "--edit_sweep=", "--batch_size=64"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode != 0
    errors = [line for line in completed.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "facenet-vae-fetch" in errors[0], completed.stderr[-2000:]
