"""Training: loss goes down on real faces, mixed precision, resume, run folder outputs, NaN guard."""
import datetime
import glob
import os
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import facenet_vae
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.training import TrainConfig, run_folder, train
from facenet_vae.training.batch_norm_calibration import batch_norm_layers
from facenet_vae.training.callbacks import TrainingMonitor
from facenet_vae.training.objective import Objective
from facenet_vae.training.optimisation import make_learning_rate_schedule, make_optimizer, set_precision_policy
from facenet_vae.training.step import VaeTrainer


@pytest.fixture(autouse=True)
def _float32_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def _faces(celeba_npz, count):
    return pixels_to_normalized(celeba_npz["images"][:count]).numpy()


def _deterministic_loss(model, images):
    reconstruction, mean, log_var = model.forward(images, training=False, sample=False)
    return float(Objective(pixel_weight=0.5).terms(images, reconstruction, mean, log_var)["loss"])


def test_short_run_on_real_faces_lowers_the_loss(celeba_npz):
    images = _faces(celeba_npz, 256)
    model = facenet_vae.build_vae("dfc_vae", latent_var_size=16)
    trainer = VaeTrainer(model, Objective(pixel_weight=0.5))
    trainer.compile(make_optimizer(TrainConfig(learning_rate_schedule="cosine", initial_learning_rate=1e-3,
                                               max_nrof_steps=40)))
    probe = images[:32]
    before = _deterministic_loss(model, probe)
    dataset = tf.data.Dataset.from_tensor_slices(images).shuffle(256, seed=0).repeat().batch(32)
    history = trainer.fit(dataset, steps_per_epoch=10, epochs=4, verbose=0)
    after = _deterministic_loss(model, probe)
    assert after < 0.5 * before
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_default_learning_rate_is_facenets_constant_adam_5e_4_and_cosine_is_one_flag_away():
    default = make_learning_rate_schedule(TrainConfig())
    assert [float(default(step)) for step in (0, 1000, 49_999)] == pytest.approx([5e-4] * 3)
    cosine = make_learning_rate_schedule(TrainConfig(learning_rate_schedule="cosine", initial_learning_rate=1e-3,
                                                     max_nrof_steps=1000))
    rates = [float(cosine(step)) for step in (0, 10, 20, 510, 1000)]
    assert rates[0] == 0.0 and rates[1] == pytest.approx(5e-4) and rates[2] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(5e-4, rel=0.01) and rates[4] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_mixed_precision_steps_are_finite_and_keep_float32_variables(celeba_npz, precision):
    set_precision_policy(precision)
    config = TrainConfig(mixed_precision=precision, initial_learning_rate=1e-3)
    model = facenet_vae.DfcVae("dfc_vae", 8)
    optimizer = make_optimizer(config)
    trainer = VaeTrainer(model, Objective(pixel_weight=0.5))
    trainer.compile(optimizer)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "float16")
    images = _faces(celeba_npz, 16)
    for _ in range(3):
        logs = trainer.train_on_batch(images, return_dict=True)
    assert all(np.isfinite(value) for value in logs.values())
    assert model.encoder.blocks[0].conv.compute_dtype == precision
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    mean, log_var = model.encode(images)
    assert mean.dtype == tf.float32 and log_var.dtype == tf.float32


def _tiny_config(tmp_path, **overrides):
    values = dict(vae_def="dfc_vae", latent_var_size=8, reconstruction_loss_type="PLAIN", batch_size=8,
                  num_synthetic=64, max_nrof_steps=4, save_every_n_steps=2, summary_every_n_steps=1,
                  models_base_dir=str(tmp_path / "runs"), verbose=0, export_saved_model=False)
    values.update(overrides)
    return TrainConfig(**values)


def test_run_folder_outputs(tmp_path):
    run_dir = train(_tiny_config(tmp_path))
    files = set(os.listdir(run_dir))
    assert {"arguments.txt", "model_config.json", "model.keras", "samples.png",
            "reconstructed_000002.png", "reconstructed_000004.png", "checkpoints", "logs"} <= files
    assert run_folder.checkpoint_step(tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))) == 4
    grid = tf.io.decode_png(tf.io.read_file(os.path.join(run_dir, "reconstructed_000004.png"))).numpy()
    assert grid.shape[2] == 3 and grid.shape[0] > 2 * 64
    assert glob.glob(os.path.join(run_dir, "logs", "events.out.tfevents.*"))
    loaded = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    restored, _ = run_folder.load_model_from_run(run_dir)
    for final_variable, checkpoint_variable in zip(loaded.trainable_variables, restored.trainable_variables):
        np.testing.assert_array_equal(final_variable.numpy(), checkpoint_variable.numpy())
    assert "reconstruction_loss_type: PLAIN" in open(os.path.join(run_dir, "arguments.txt")).read()


def _moving_statistics(model):
    return [np.concatenate([layer.moving_mean.numpy(), layer.moving_variance.numpy()])
            for layer in batch_norm_layers(model)]


def test_final_model_holds_re_estimated_batch_norm_statistics_and_facenets_is_one_flag_away(tmp_path):
    # Default: model.keras gets the batch statistics of the final weights; the checkpoint keeps the
    # moving averages (so a resume continues them) and the same trainable weights.
    run_dir = train(_tiny_config(tmp_path, run_name="recalibrated"))
    final = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    restored, _ = run_folder.load_model_from_run(run_dir)
    for final_variable, checkpoint_variable in zip(final.trainable_variables, restored.trainable_variables):
        np.testing.assert_array_equal(final_variable.numpy(), checkpoint_variable.numpy())
    differences = [np.abs(a - b).max() for a, b in zip(_moving_statistics(final), _moving_statistics(restored))]
    assert min(differences) > 1e-3   # after 4 steps the averages still hold much of their start (0, 1)
    # --norecalibrate_batch_norm: facenet's moving averages are what model.keras holds.
    run_dir = train(_tiny_config(tmp_path, run_name="moving_averages", recalibrate_batch_norm=False))
    final = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    restored, _ = run_folder.load_model_from_run(run_dir)
    for a, b in zip(_moving_statistics(final), _moving_statistics(restored)):
        np.testing.assert_array_equal(a, b)


def test_keeps_last_three_checkpoints(tmp_path):
    run_dir = train(_tiny_config(tmp_path, max_nrof_steps=5, save_every_n_steps=1))
    steps = sorted(run_folder.checkpoint_step(p[:-len(".index")])
                   for p in glob.glob(os.path.join(run_dir, "checkpoints", "ckpt-*.index")))
    assert steps == [3, 4, 5]


def test_resume_continues_step_count_and_optimizer_state(tmp_path):
    # facenet's moving averages in model.keras, so that it equals the last checkpoint exactly.
    run_dir = train(_tiny_config(tmp_path, max_nrof_steps=4, recalibrate_batch_norm=False))

    # The restore path puts back exactly what was saved, optimizer moments included.
    model = facenet_vae.DfcVae("dfc_vae", 8)
    optimizer = make_optimizer(TrainConfig())
    optimizer.build(model.trainable_variables)
    checkpoints = run_folder.TrainingCheckpoints(run_dir, model, optimizer)
    checkpoints.restore_latest()
    assert int(optimizer.iterations.numpy()) == 4
    optimizer_values = {name for name, _ in tf.train.list_variables(checkpoints.latest) if "optimizer" in name}
    moments = [v for v in optimizer.variables if "adam" in v.path.lower() and "momentum" in v.path.lower()]
    assert moments and any(np.abs(v.numpy()).sum() > 0 for v in moments)
    assert any("optimizer" in name for name in optimizer_values)
    # model.keras was written from the step-4 weights, BN moving statistics included.
    final = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    for restored_variable, final_variable in zip(model.variables, final.variables):
        np.testing.assert_array_equal(restored_variable.numpy(), final_variable.numpy())

    resumed = train(_tiny_config(tmp_path, max_nrof_steps=6, resume=run_dir))
    assert resumed == run_dir
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    assert run_folder.checkpoint_step(latest) == 6
    assert "# resumed" in open(os.path.join(run_dir, "arguments.txt")).read()
    assert os.path.exists(os.path.join(run_dir, "reconstructed_000006.png"))


def test_resume_with_other_model_is_refused(tmp_path):
    run_dir = train(_tiny_config(tmp_path, max_nrof_steps=2))
    with pytest.raises(run_folder.RunFolderError, match="latent size 8.*latent size 9"):
        train(_tiny_config(tmp_path, latent_var_size=9, resume=run_dir))


def test_pretrained_model_starts_a_new_run_from_its_weights(tmp_path):
    """--pretrained_model copies a trained model's weights in (a .keras file or a run folder); others are refused."""
    source_dir = train(_tiny_config(tmp_path, max_nrof_steps=2, run_name="source"))
    source = keras.models.load_model(os.path.join(source_dir, "model.keras"))
    # With a learning rate of 0 the trainable weights stay the pretrained ones; only BN statistics move.
    for pretrained in (os.path.join(source_dir, "model.keras"), source_dir):
        tuned_dir = train(_tiny_config(tmp_path, max_nrof_steps=1, save_every_n_steps=1, initial_learning_rate=0.0,
                                       pretrained_model=pretrained))
        tuned = keras.models.load_model(os.path.join(tuned_dir, "model.keras"))
        for ours, theirs in zip(tuned.trainable_variables, source.trainable_variables):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert f"pretrained_model: {pretrained}" in open(os.path.join(tuned_dir, "arguments.txt")).read()
    fresh = keras.models.load_model(os.path.join(train(_tiny_config(tmp_path, max_nrof_steps=1, save_every_n_steps=1,
                                                                    initial_learning_rate=0.0)), "model.keras"))
    assert not np.array_equal(fresh.trainable_variables[0].numpy(), source.trainable_variables[0].numpy())
    # A resumed fine-tuning run continues from its own checkpoint, not from the pretrained weights again.
    tuned_dir = train(_tiny_config(tmp_path, max_nrof_steps=2, pretrained_model=source_dir, run_name="tuned"))
    tuned = keras.models.load_model(os.path.join(tuned_dir, "model.keras"))
    assert not np.array_equal(tuned.trainable_variables[0].numpy(), source.trainable_variables[0].numpy())
    train(_tiny_config(tmp_path, max_nrof_steps=3, save_every_n_steps=1, initial_learning_rate=0.0,
                       pretrained_model=source_dir, resume=tuned_dir))
    resumed = keras.models.load_model(os.path.join(tuned_dir, "model.keras"))
    for ours, theirs in zip(resumed.trainable_variables, tuned.trainable_variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match=r"source/model.keras: holds a dfc_vae model with latent size 8, but this run "
                                         r"trains dfc_vae with latent size 9"):
        train(_tiny_config(tmp_path, latent_var_size=9, pretrained_model=os.path.join(source_dir, "model.keras")))


def test_nonfinite_loss_stops_with_last_good_checkpoint(tmp_path, celeba_npz):
    images = _faces(celeba_npz, 16)
    poisoned = images.copy()
    poisoned[0, 0, 0, 0] = np.nan
    batches = [images[:8], images[8:], poisoned[:8], images[:8]]
    dataset = tf.data.Dataset.from_tensor_slices(np.stack(batches))
    run_dir = run_folder.create_run_folder(str(tmp_path))
    model = facenet_vae.build_vae("dfc_vae", 8)
    optimizer = make_optimizer(TrainConfig())
    trainer = VaeTrainer(model, Objective(pixel_weight=0.5))
    trainer.compile(optimizer)
    optimizer.build(model.trainable_variables)
    checkpoints = run_folder.TrainingCheckpoints(run_dir, model, optimizer)
    monitor = TrainingMonitor(run_dir, model, checkpoints, save_every_n_steps=1, max_nrof_steps=10,
                              sample_images=images[:2])
    with pytest.raises(run_folder.NonFiniteStateError, match=r"step 3.*ckpt-2"):
        trainer.fit(dataset, epochs=1, callbacks=[monitor], verbose=0)
    assert run_folder.checkpoint_step(checkpoints.latest) == 2
    reader = tf.train.load_checkpoint(checkpoints.latest)
    for name, _ in tf.train.list_variables(checkpoints.latest):
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name
    with pytest.raises(run_folder.NonFiniteStateError, match="not saving step"):
        checkpoints.save(3)


def test_flags_are_validated():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=-1).validate()
    with pytest.raises(ValueError, match="vae_def"):
        TrainConfig(vae_def="src.generative.models.dfc_vae").validate()
    with pytest.raises(ValueError, match="reconstruction_loss_type"):
        TrainConfig(reconstruction_loss_type="L1").validate()
    with pytest.raises(ValueError, match="needs --data_dir"):
        TrainConfig(dataset="folder").validate()
    with pytest.raises(ValueError, match="block9_conv1"):
        TrainConfig(loss_features="block9_conv1").validate()


def test_objective_defaults_are_the_recipe_and_facenet_is_one_flag_away():
    recipe = TrainConfig().resolve_objective()
    assert (recipe.perceptual_model, recipe.beta, recipe.pixel_weight, recipe.loss_reduction) == \
        ("facenet", 0.06, 0.000167, "mean")
    assert recipe.resolved_loss_features() == "Conv2d_1a_3x3,Conv2d_2a_3x3,Conv2d_2b_3x3"
    assert TrainConfig(reconstruction_loss_type="PLAIN").resolved_pixel_weight() == 0.000167
    facenet = TrainConfig(facenet_objective=True).resolve_objective()
    assert (facenet.perceptual_model, facenet.beta, facenet.pixel_weight, facenet.loss_reduction) == \
        ("facenet", 0.5, 0.0, "sum")
    assert TrainConfig(facenet_objective=True, reconstruction_loss_type="PLAIN").resolved_pixel_weight() == 0.5
    assert TrainConfig(facenet_objective=True, reconstruction_loss_type="PLAIN",
                       beta=2.0).resolved_pixel_weight() == 2.0
    explicit = TrainConfig(facenet_objective=True, loss_reduction="mean", pixel_weight=0.1).resolve_objective()
    assert (explicit.beta, explicit.pixel_weight, explicit.loss_reduction) == (0.5, 0.1, "mean")
    assert TrainConfig(perceptual_model="vgg19").resolved_loss_features() == "vgg123"


def test_two_runs_in_the_same_second_get_different_folders(tmp_path):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    first = run_folder.create_run_folder(str(tmp_path), now=now)
    second = run_folder.create_run_folder(str(tmp_path), now=now)
    assert first != second and os.path.basename(first) == "20260102-030405"


def test_tensorboard_gets_prior_samples_at_every_save_and_the_hparams(tmp_path):
    run_dir = train(_tiny_config(tmp_path, max_nrof_steps=4, save_every_n_steps=2, summary_every_n_steps=1))
    tags = {}
    plugins = set()
    for path in glob.glob(os.path.join(run_dir, "logs", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, set()).add(event.step)
                plugins.add(value.metadata.plugin_data.plugin_name)
    assert tags["prior_samples"] == {2, 4}
    assert tags["input_and_reconstruction"] == {2, 4}
    assert tags["loss/loss"] == {1, 2, 3, 4}
    assert "hparams" in plugins
    assert (pathlib.Path(run_dir) / "flags.txt").read_text().count("--max_nrof_steps=4") == 1


def test_the_feature_network_stays_out_of_checkpoints(tmp_path):
    plain = train(_tiny_config(tmp_path, max_nrof_steps=2, run_name="plain"))
    perceptual = train(_tiny_config(tmp_path, max_nrof_steps=2, run_name="perceptual",
                                    reconstruction_loss_type="PERCEPTUAL", perceptual_model="vgg16",
                                    loss_features="block1_conv1", perceptual_weights="random"))

    def stored(run_dir):
        prefix = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
        return dict(tf.train.list_variables(prefix))

    assert stored(plain) == stored(perceptual)     # the same variables, of the same shapes: the VAE's and Adam's
