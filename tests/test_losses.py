"""Loss terms of the train step against hand-computed numpy values on a fixed batch of real faces."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import facenet_vae
from facenet_vae.model.normalization import IMG_MEAN, IMG_STDDEV
from facenet_vae.training import losses
from facenet_vae.training.objective import Objective
from facenet_vae.training.step import VaeTrainer


class ToyFeatures:
    """A stand-in feature network: two named 'layers' that are simple functions of the input."""
    layer_names = ["double", "pooled_square"]

    def __init__(self):
        self.calls = []

    def __call__(self, images):
        self.calls.append(int(images.shape[0]))
        return {"double": 2.0 * images,
                "pooled_square": tf.nn.avg_pool2d(tf.square(images), 4, 4, "VALID")}


def _np_kl(mean, log_var):
    # facenet's formula; log-variances above the documented cap count as the cap.
    log_var = np.minimum(log_var, losses.MAX_LOG_VARIANCE)
    return np.mean(0.5 * np.sum(np.exp(log_var) + mean ** 2 - 1.0 - log_var, axis=1))


@pytest.fixture(scope="module")
def faces(celeba_npz):
    pixels = celeba_npz["images"][:4].astype(np.float32)
    return pixels, (pixels - IMG_MEAN) / IMG_STDDEV


def test_kl_matches_facenet_formula():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(5, 7)), rng.normal(size=(5, 7))
    np.testing.assert_allclose(losses.kl_loss(mean, log_var).numpy(), _np_kl(mean, log_var), rtol=1e-5)
    # Averaged over the global batch under a strategy: a replica's share of a batch of 10.
    np.testing.assert_allclose(losses.kl_loss(mean, log_var, global_batch_size=10).numpy(),
                               _np_kl(mean, log_var) / 2, rtol=1e-5)


def test_kl_is_finite_for_huge_log_variance_and_float16_inputs():
    mean = tf.zeros((2, 3), tf.float16)
    log_var = tf.constant([[1e4, 500.0, 0.0], [88.0, 89.0, -5.0]], tf.float32)
    value = losses.kl_loss(mean, tf.cast(log_var, tf.float16))
    assert value.dtype == tf.float32
    assert np.isfinite(value.numpy())
    with tf.GradientTape() as tape:
        tape.watch(log_var)
        kl = losses.kl_loss(mean, log_var)
    gradient = tape.gradient(kl, log_var).numpy()
    assert np.all(np.isfinite(gradient))
    # Above the cap the gradient still pulls the log-variance down (it is not stuck at zero).
    assert gradient[0, 0] > 0 and gradient[0, 1] > 0


def test_pixel_loss_is_facenet_sum_in_pixel_space(faces):
    pixels, normalized = faces
    reconstruction = normalized[::-1] * 0.5
    recon_pixels = reconstruction * IMG_STDDEV + IMG_MEAN
    expected = np.sum((pixels - recon_pixels) ** 2)
    np.testing.assert_allclose(losses.pixel_loss(normalized, reconstruction).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(losses.pixel_loss(normalized, reconstruction, "mean").numpy(), expected / 4,
                               rtol=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        losses.pixel_loss(normalized, reconstruction, "median")


def test_pixel_loss_in_normalized_space_weighs_each_channel_by_its_variance(faces):
    pixels, normalized = faces
    reconstruction = normalized[::-1] * 0.5
    recon_pixels = reconstruction * IMG_STDDEV + IMG_MEAN
    # The peer's term: the error of the normalised images, i.e. each channel's pixel error over its variance.
    expected = np.sum((pixels - recon_pixels) ** 2 / np.square(IMG_STDDEV))
    np.testing.assert_allclose(losses.pixel_loss(normalized, reconstruction, space="normalized").numpy(), expected,
                               rtol=1e-5)
    in_pixels = losses.pixel_loss(normalized, reconstruction).numpy()
    assert not np.isclose(in_pixels, expected, rtol=1e-2)  # the channels weigh differently from facenet's
    objective = Objective(pixel_weight=0.5, reduction="mean", pixel_space="normalized")
    terms = objective.terms(normalized, reconstruction, np.zeros((4, 3), np.float32), np.zeros((4, 3), np.float32))
    np.testing.assert_allclose(terms["loss"].numpy(), 0.5 * expected / 4, rtol=1e-5)
    assert objective.describe() == "1.0 * KL + 0.5 * pixel (normalized) (mean over batch)"
    with pytest.raises(ValueError, match="pixel-loss space"):
        losses.pixel_loss(normalized, reconstruction, space="lab")
    with pytest.raises(ValueError, match="pixel-loss space"):
        Objective(pixel_space="lab")


@pytest.mark.parametrize("loss_type", ["PLAIN", "PERCEPTUAL"])
def test_total_objective_matches_hand_computation(faces, loss_type):
    _, normalized = faces
    model = facenet_vae.build_vae("dfc_vae", latent_var_size=8)
    extractor = ToyFeatures() if loss_type == "PERCEPTUAL" else None
    pixel_weight = 0.5 if loss_type == "PLAIN" else 0.0
    objective = Objective(alfa=1.0, beta=0.5, pixel_weight=pixel_weight, feature_network=extractor)
    reconstruction, mean, log_var = model.forward(normalized, training=False)
    terms = objective.terms(normalized, reconstruction, mean, log_var)
    assert sorted(terms) == sorted(objective.term_names)

    x, r = normalized, reconstruction.numpy()
    kl = _np_kl(mean.numpy(), log_var.numpy())
    pixel = np.sum(((x - r) * IMG_STDDEV) ** 2)
    np.testing.assert_allclose(terms["kl_loss"].numpy(), kl, rtol=1e-4)
    np.testing.assert_allclose(terms["pixel_loss"].numpy(), pixel, rtol=1e-4)
    if loss_type == "PLAIN":
        # facenet PLAIN: alfa * KL + beta * sum of squared pixel errors over the batch.
        np.testing.assert_allclose(terms["loss"].numpy(), kl + 0.5 * pixel, rtol=1e-4)
    else:
        double = np.sum((2 * x - 2 * r) ** 2)
        pool = lambda a: tf.nn.avg_pool2d(tf.square(a), 4, 4, "VALID").numpy()  # noqa: E731
        pooled = np.sum((pool(x) - pool(r)) ** 2)
        np.testing.assert_allclose(terms["double_loss"].numpy(), double, rtol=1e-4)
        np.testing.assert_allclose(terms["pooled_square_loss"].numpy(), pooled, rtol=1e-4)
        np.testing.assert_allclose(terms["loss"].numpy(), kl + 0.5 * (double + pooled), rtol=1e-4)
        # The target's features are computed on their own (forward-only), then the reconstruction's.
        assert extractor.calls == [4, 4]


def test_metrics_are_keras_means_and_reset(faces):
    _, normalized = faces
    model = VaeTrainer(facenet_vae.build_vae("dfc_vae", latent_var_size=8), Objective(pixel_weight=0.5))
    model.compile(keras.optimizers.Adam(1e-4))
    assert all(isinstance(m, keras.metrics.Mean) for m in model.metrics)
    assert {m.name for m in model.metrics} >= {"loss", "kl_loss", "reconstruction_loss"}
    logs = model.train_on_batch(normalized, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values()) and logs["loss"] > 0
    assert all(float(m.count.numpy()) == 1 for m in model.metrics)
    model.reset_metrics()
    assert all(float(m.count.numpy()) == 0 and float(m.result().numpy()) == 0 for m in model.metrics)


def test_sampling_gradient_is_finite_for_very_negative_log_variance():
    model = facenet_vae.build_vae("dfc_vae", latent_var_size=4)
    mean = tf.zeros((2, 4))
    log_var = tf.constant([[-200.0, -90.0, 0.0, 30.0]] * 2)
    with tf.GradientTape() as tape:
        tape.watch(log_var)
        latent = model.sample_latent(mean, log_var, seed=3)
    gradient = tape.gradient(latent, log_var).numpy()
    assert np.all(np.isfinite(latent.numpy())) and np.all(np.isfinite(gradient))


def test_feature_target_carries_no_gradient(faces):
    """Only the reconstruction's features are differentiated: the target's are a constant."""
    _, normalized = faces
    objective = Objective(beta=0.5, pixel_weight=0.0, feature_network=ToyFeatures())
    images = tf.constant(normalized)
    reconstruction = tf.constant(normalized[::-1] * 0.5)
    mean = log_var = tf.zeros((4, 8))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([images, reconstruction])
        loss = objective.terms(images, reconstruction, mean, log_var)["loss"]
    image_gradient = tape.gradient(loss, images)  # only through the pixel term, whose weight is 0 here
    assert image_gradient is None or float(tf.reduce_max(tf.abs(image_gradient))) == 0.0
    assert float(tf.reduce_max(tf.abs(tape.gradient(loss, reconstruction)))) > 0


def test_pixel_space_setting_reaches_the_training_objective():
    from facenet_vae.training import TrainConfig
    from facenet_vae.training.run import make_objective
    config = TrainConfig(reconstruction_loss_type="PLAIN", pixel_space="normalized", pixel_weight=0.5)
    objective = make_objective(config, 64)
    assert objective.pixel_space == "normalized" and objective.pixel_weight == 0.5
    assert make_objective(TrainConfig(reconstruction_loss_type="PLAIN"), 64).pixel_space == "pixels"  # facenet's


def test_feature_weights_replace_beta_for_the_named_layers(faces):
    """The identity term's own weight: a layer in feature_weights is weighted by it, the others by beta."""
    _, normalized = faces
    model = facenet_vae.build_vae("dfc_vae", latent_var_size=8)
    reconstruction, mean, log_var = model.forward(normalized, training=False)
    plain = Objective(beta=0.5, pixel_weight=0.25, feature_network=ToyFeatures())
    weighted = Objective(beta=0.5, pixel_weight=0.25, feature_network=ToyFeatures(),
                         feature_weights={"pooled_square": 7.0})
    base = {name: float(value) for name, value in plain.terms(normalized, reconstruction, mean, log_var).items()}
    terms = {name: float(value) for name, value in weighted.terms(normalized, reconstruction, mean, log_var).items()}
    expected = base["kl_loss"] + 0.25 * base["pixel_loss"] + 0.5 * base["double_loss"] + 7.0 * base["pooled_square_loss"]
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-5)
    assert terms["loss"] != pytest.approx(base["loss"], rel=1e-3)
    assert "7.0 * pooled_square" in weighted.describe() and "0.5 * features[double]" in weighted.describe()
    with pytest.raises(ValueError, match="lacks.*embedding"):
        Objective(feature_network=ToyFeatures(), feature_weights={"embedding": 1.0})
