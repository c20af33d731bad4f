"""The adversarial term (--adversarial_weight): hinge losses, the patch discriminator, the train step, checkpoints."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import facenet_vae
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.training import TrainConfig, run_folder, train
from facenet_vae.training.adversary import (Adversary, build_patch_discriminator, discriminator_hinge_loss,
                                            generator_hinge_loss)
from facenet_vae.training.objective import Objective
from facenet_vae.training.optimisation import make_optimizer
from facenet_vae.training.step import VaeTrainer


def _faces(celeba_npz, count):
    return pixels_to_normalized(celeba_npz["images"][:count]).numpy()


def _tiny_config(tmp_path, **overrides):
    values = dict(vae_def="dfc_vae", latent_var_size=8, reconstruction_loss_type="PLAIN", batch_size=8,
                  num_synthetic=64, max_nrof_steps=4, save_every_n_steps=2, summary_every_n_steps=1,
                  models_base_dir=str(tmp_path / "runs"), verbose=0, export_saved_model=False,
                  adversarial_weight=0.5)
    values.update(overrides)
    return TrainConfig(**values)


def test_hinge_losses_have_their_margins():
    assert float(discriminator_hinge_loss(tf.fill([2, 8, 8, 1], 2.0), tf.fill([2, 8, 8, 1], -2.0))) == 0.0
    assert float(discriminator_hinge_loss(tf.zeros([2, 8, 8, 1]), tf.zeros([2, 8, 8, 1]))) == 2.0
    # Real patches at 0.5 miss the margin by 0.5, fake ones at 0.0 by 1.
    assert float(discriminator_hinge_loss(tf.fill([1, 4, 4, 1], 0.5), tf.zeros([1, 4, 4, 1]))) == pytest.approx(1.5)
    logits = tf.constant([[[[1.0]], [[3.0]]]])
    assert float(generator_hinge_loss(logits)) == pytest.approx(-2.0)
    assert generator_hinge_loss(tf.cast(logits, "bfloat16")).dtype == "float32"


def test_the_patch_discriminator_scores_an_8x8_grid_and_is_spectrally_normalised(celeba_npz):
    discriminator = build_patch_discriminator(64)
    images = _faces(celeba_npz, 4)
    assert tuple(discriminator(images).shape) == (4, 8, 8, 1)
    # Power iterations in training converge on each kernel's largest singular value, which the layer divides out.
    for _ in range(30):
        discriminator(images, training=True)
    wrappers = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrappers) == 4
    for wrapper in wrappers:
        kernel = wrapper.layer.kernel.numpy()
        largest = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert largest == pytest.approx(1.0, rel=0.05)


def test_generator_term_follows_the_reduction(celeba_npz):
    images = _faces(celeba_npz, 4)
    keras.utils.set_random_seed(0)
    per_image = Adversary(64, 1.0, 1e-4, "mean")
    summed = Adversary(64, 1.0, 1e-4, "sum")
    summed.discriminator.set_weights(per_image.discriminator.get_weights())
    mean_term = float(per_image.generator_term(images, 4))
    assert float(summed.generator_term(images, 4)) == pytest.approx(4 * mean_term, rel=1e-5)
    # Under a strategy each replica passes the global batch: two halves add up to the whole.
    halves = float(per_image.generator_term(images[:2], 4)) + float(per_image.generator_term(images[2:], 4))
    assert halves == pytest.approx(mean_term, rel=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        Adversary(64, 1.0, 1e-4, "max")


def _train(trainer, images, steps):
    dataset = tf.data.Dataset.from_tensor_slices(images).repeat().batch(16)
    return trainer.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0).history


def test_train_step_trains_both_and_the_discriminator_learns_real_from_reconstructions(celeba_npz):
    images = _faces(celeba_npz, 64)
    keras.utils.set_random_seed(1)
    adversary = Adversary(64, 0.5, 2e-4)
    trainer = VaeTrainer(facenet_vae.build_vae("dfc_vae", latent_var_size=8), Objective(pixel_weight=1.67e-4,
                                                                                        reduction="mean"),
                         sampling_seed=0, adversary=adversary)
    trainer.compile(make_optimizer(TrainConfig(initial_learning_rate=1e-3)))
    kernels = [v for v in adversary.discriminator.trainable_variables if v.path.endswith("kernel")]
    before = [v.numpy().copy() for v in kernels]
    first = _train(trainer, images, 1)
    assert set(first) >= {"loss", "kl_loss", "pixel_loss", "adversarial_loss", "discriminator_loss"}
    assert first["discriminator_loss"][0] == pytest.approx(2.0, abs=0.3)   # untrained: logits near 0
    # The total holds the weighted adversarial term.
    assert first["loss"][0] == pytest.approx(first["kl_loss"][0] + first["reconstruction_loss"][0]
                                             + 0.5 * first["adversarial_loss"][0], rel=1e-4)
    # (The last bias need not move: while every logit is inside the margin its real and fake gradients cancel.)
    after = [v.numpy() for v in kernels]
    assert len(after) == 4 and all(np.abs(a - b).max() > 0 for a, b in zip(before, after))
    assert int(adversary.optimizer.iterations.numpy()) == 1
    history = _train(trainer, images, 40)
    assert history["discriminator_loss"][-1] < 1.5   # blurred early reconstructions are easy to tell apart
    assert np.isfinite(history["adversarial_loss"][-1])


def test_the_adversarial_term_changes_the_vaes_update(celeba_npz):
    images = _faces(celeba_npz, 16)

    def one_step(adversary):
        keras.utils.set_random_seed(2)
        vae = facenet_vae.build_vae("dfc_vae", latent_var_size=8)
        trainer = VaeTrainer(vae, Objective(pixel_weight=1.67e-4, reduction="mean"), sampling_seed=0,
                             adversary=adversary)
        trainer.compile(make_optimizer(TrainConfig(initial_learning_rate=1e-3)))
        _train(trainer, images, 1)
        return vae.get_weights()

    keras.utils.set_random_seed(3)
    without = one_step(None)
    with_zero = one_step(Adversary(64, 0.0, 2e-4))
    not_yet = one_step(Adversary(64, 1e4, 2e-4, start_step=1))   # step 0: the discriminator learns alone
    with_term = one_step(Adversary(64, 1e4, 2e-4))
    for unchanged in (with_zero, not_yet):
        for a, b in zip(without, unchanged):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert max(np.abs(a - b).max() for a, b in zip(without, with_term)) > 1e-6


def test_checkpoints_keep_the_discriminator_and_the_model_file_does_not(tmp_path):
    run_dir = train(_tiny_config(tmp_path, run_name="adversarial"))
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    saved = [name for name, _ in tf.train.list_variables(latest)]
    assert any(name.startswith("discriminator/") for name in saved)
    assert any(name.startswith("discriminator_optimizer/") for name in saved)
    plain = facenet_vae.build_vae("dfc_vae", latent_var_size=8)
    loaded = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    assert len(loaded.weights) == len(plain.weights)
    assert "adversarial" in open(os.path.join(run_dir, "arguments.txt")).read()

    # A resume restores the discriminator and its optimizer, then goes on training them.
    config = _tiny_config(tmp_path, resume=run_dir, max_nrof_steps=6)
    restored = Adversary(64, 0.5, 2e-4)
    run_folder.TrainingCheckpoints(run_dir, facenet_vae.build_vae("dfc_vae", latent_var_size=8),
                                   extras=restored.checkpoint_items()).restore_latest()
    assert int(restored.optimizer.iterations.numpy()) == 4
    train(config)
    resumed = Adversary(64, 0.5, 2e-4)
    run_folder.TrainingCheckpoints(run_dir, facenet_vae.build_vae("dfc_vae", latent_var_size=8),
                                   extras=resumed.checkpoint_items()).restore_latest()
    assert int(resumed.optimizer.iterations.numpy()) == 6


def test_facenets_objective_has_no_discriminator_and_one_can_be_added_on_a_resume(tmp_path):
    run_dir = train(_tiny_config(tmp_path, run_name="plain", adversarial_weight=0.0))
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    assert not any("discriminator" in name for name, _ in tf.train.list_variables(latest))
    assert TrainConfig().adversarial_weight == 0.0
    # Resuming with --adversarial_weight: the VAE and its optimizer continue, the discriminator starts afresh.
    train(_tiny_config(tmp_path, resume=run_dir, max_nrof_steps=6))
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    assert run_folder.checkpoint_step(latest) == 6
    restored = Adversary(64, 0.5, 2e-4)
    run_folder.TrainingCheckpoints(run_dir, facenet_vae.build_vae("dfc_vae", latent_var_size=8),
                                   extras=restored.checkpoint_items()).restore_latest()
    assert int(restored.optimizer.iterations.numpy()) == 2


def test_the_weight_is_off_until_the_start_step():
    adversary = Adversary(64, 3.0, 1e-4, start_step=500)
    assert [float(adversary.weight_at(tf.constant(step, tf.int64))) for step in (0, 499, 500, 9000)] == [0, 0, 3, 3]
    assert TrainConfig().adversarial_start_step == 500


def test_negative_adversarial_weight_is_refused():
    with pytest.raises(ValueError, match="adversarial_weight"):
        TrainConfig(adversarial_weight=-1.0).validate()
