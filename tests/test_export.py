"""SavedModel export: signatures run in plain TensorFlow and match the Keras model; load_vae sources."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import facenet_vae
from facenet_vae.training import run_folder
from facenet_vae.cli import export as export_cli
from facenet_vae.export.saved_model import export_saved_model
from facenet_vae.generation.loading import from_keras_model, load_vae
from facenet_vae.model.normalization import normalized_to_pixels, pixels_to_normalized

LATENT = 16

# Runs in a fresh interpreter that imports only numpy and tensorflow: the SavedModel must be
# self-contained (no facenet_vae code, no custom objects).
CONSUMER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    model_dir, io_dir = sys.argv[1], sys.argv[2]
    loaded = tf.saved_model.load(model_dir)
    inputs = dict(np.load(io_dir + "/inputs.npz"))
    calls = {
        "encode_f5": ("encode", "images", inputs["float5"]),
        "encode_f1_resized": ("encode", "images", inputs["float1_80x72"]),
        "encode_u5": ("encode_uint8", "images", inputs["uint5"]),
        "encode_u1_resized": ("encode_uint8", "images", inputs["uint1_50x50"]),
        "decode_5": ("decode", "latent", inputs["latent5"]),
        "decode_1": ("decode", "latent", inputs["latent1"]),
        "reconstruct_f5": ("reconstruct", "images", inputs["float5"]),
        "reconstruct_u1_resized": ("reconstruct_uint8", "images", inputs["uint1_50x50"]),
        "serving_default_f5": ("serving_default", "images", inputs["float5"]),
    }
    outputs, info = {}, {}
    for key, (signature, arg, value) in calls.items():
        result = loaded.signatures[signature](**{arg: tf.constant(value)})
        for name, tensor in result.items():
            outputs[key + "/" + name] = tensor.numpy()
    for name, fn in loaded.signatures.items():
        spec = fn.structured_input_signature[1]
        info[name] = {
            "inputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in spec.items()},
            "outputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in fn.structured_outputs.items()},
        }
    np.savez(io_dir + "/outputs.npz", **outputs)
    with open(io_dir + "/signatures.json", "w") as handle:
        json.dump(info, handle)
    assert "facenet_vae" not in sys.modules
    print("FACENET_VAE_IMPORTED", "facenet_vae" in sys.modules)
""")


def _small_model(seed=0):
    """A random dfc_vae with the default (fan-in) initial weights, heads unscaled."""
    keras.utils.set_random_seed(seed)
    return facenet_vae.build_vae("dfc_vae", LATENT)


@pytest.fixture(scope="module")
def model():
    return _small_model()


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    return export_saved_model(model, str(tmp_path_factory.mktemp("export") / "saved_model"))


def _whole_grey_levels(pixels):
    return tf.round(tf.clip_by_value(tf.cast(pixels, tf.float32), 0.0, 255.0))


def _keras_encode(model, pixels):
    """Encode as the model's (legacy, resize-only) framing does: whole grey levels, bilinear resize, whole levels."""
    pixels = _whole_grey_levels(pixels)
    if pixels.shape[1:3] != (model.image_size, model.image_size):
        pixels = _whole_grey_levels(tf.image.resize(pixels, (model.image_size, model.image_size), method="bilinear"))
    mean, log_var = model.encode(pixels_to_normalized(pixels), training=False)
    return mean.numpy(), log_var.numpy()


def _keras_decode(model, latent):
    return normalized_to_pixels(model.decode(latent, training=False), tf.uint8).numpy()


def _assert_images_close(actual, expected):
    assert actual.dtype == np.uint8 and actual.shape == expected.shape
    assert np.abs(actual.astype(int) - expected.astype(int)).max() <= 1


def test_signatures_run_in_plain_tensorflow_and_match_keras(model, exported, tmp_path):
    rng = np.random.default_rng(0)
    inputs = {
        "float5": rng.uniform(0, 255, (5, 64, 64, 3)).astype(np.float32),
        "float1_80x72": rng.uniform(0, 255, (1, 80, 72, 3)).astype(np.float32),
        "uint5": rng.integers(0, 256, (5, 64, 64, 3)).astype(np.uint8),
        "uint1_50x50": rng.integers(0, 256, (1, 50, 50, 3)).astype(np.uint8),
        "latent5": rng.normal(size=(5, LATENT)).astype(np.float32),
        "latent1": rng.normal(size=(1, LATENT)).astype(np.float32),
    }
    np.savez(tmp_path / "inputs.npz", **inputs)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("PYTHONPATH", None)
    result = subprocess.run([sys.executable, "-c", CONSUMER, exported, str(tmp_path)], cwd=str(tmp_path),
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "FACENET_VAE_IMPORTED False" in result.stdout
    out = dict(np.load(tmp_path / "outputs.npz"))
    info = json.loads((tmp_path / "signatures.json").read_text())

    assert set(info) == {"encode", "encode_uint8", "decode", "reconstruct", "reconstruct_uint8", "serving_default"}
    assert info["encode"]["inputs"] == {"images": ["float32", [None, None, None, 3]]}
    assert info["encode_uint8"]["inputs"] == {"images": ["uint8", [None, None, None, 3]]}
    assert info["encode"]["outputs"] == {"mean": ["float32", [None, LATENT]],
                                         "log_variance": ["float32", [None, LATENT]]}
    assert info["decode"]["inputs"] == {"latent": ["float32", [None, LATENT]]}
    assert info["decode"]["outputs"] == {"images": ["uint8", [None, 64, 64, 3]]}
    assert info["serving_default"] == info["reconstruct"]

    for key, pixels in [("encode_f5", inputs["float5"]), ("encode_f1_resized", inputs["float1_80x72"]),
                        ("encode_u5", inputs["uint5"]), ("encode_u1_resized", inputs["uint1_50x50"])]:
        mean, log_var = _keras_encode(model, pixels)
        assert out[key + "/mean"].shape == (len(pixels), LATENT)
        np.testing.assert_allclose(out[key + "/mean"], mean, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(out[key + "/log_variance"], log_var, rtol=1e-5, atol=1e-4)
    # uint8 and float inputs of the same pixels give the same codes.
    np.testing.assert_allclose(_keras_encode(model, inputs["uint5"])[0],
                               _keras_encode(model, inputs["uint5"].astype(np.float32))[0], atol=1e-6)
    for key, latent in [("decode_5", inputs["latent5"]), ("decode_1", inputs["latent1"])]:
        _assert_images_close(out[key + "/images"], _keras_decode(model, latent))
    for key, pixels in [("reconstruct_f5", inputs["float5"]), ("serving_default_f5", inputs["float5"]),
                        ("reconstruct_u1_resized", inputs["uint1_50x50"])]:
        _assert_images_close(out[key + "/images"], _keras_decode(model, _keras_encode(model, pixels)[0]))


def test_export_replaces_an_existing_savedmodel_and_refuses_other_folders(model, exported, tmp_path):
    out_dir = str(tmp_path / "sm")
    shutil.copytree(exported, out_dir)
    second = _small_model(2)
    assert export_saved_model(second, out_dir) == out_dir
    assert sorted(os.listdir(tmp_path)) == ["sm"]  # no .tmp-/.old- leftovers
    latent = np.random.default_rng(0).normal(size=(2, LATENT)).astype(np.float32)
    loaded = tf.saved_model.load(out_dir)
    _assert_images_close(loaded.signatures["decode"](latent=tf.constant(latent))["images"].numpy(),
                         _keras_decode(second, latent))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="non-empty folder that is not a SavedModel"):
        export_saved_model(model, str(precious))
    assert (precious / "notes.txt").read_text() == "keep me"


def _fake_run_folder(path, model, step=7):
    os.makedirs(path)
    run_folder.write_model_config(path, model)
    run_folder.TrainingCheckpoints(path, model).save(step)
    return str(path)


def test_load_vae_from_run_folder_keras_file_and_savedmodel_agree(model, exported, tmp_path):
    run_dir = _fake_run_folder(tmp_path / "run", model)
    keras_file = str(tmp_path / "model.keras")
    model.save(keras_file)
    pixels = np.random.default_rng(1).integers(0, 256, (3, 70, 60, 3)).astype(np.uint8)
    reference = _keras_encode(model, pixels)
    sources = {run_dir: f"loaded run folder {run_dir}, checkpoint ckpt-7",
               keras_file: f"loaded .keras file {keras_file}",
               exported: f"loaded SavedModel {exported}"}
    for path, sentence in sources.items():
        vae = load_vae(path)
        assert vae.source == sentence
        assert (vae.latent_var_size, vae.image_size, vae.vae_def) == (LATENT, 64, "dfc_vae")
        assert (vae.keras_model is None) == (path == exported)
        mean, log_var = vae.encode_pixels(pixels)
        np.testing.assert_allclose(mean, reference[0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(log_var, reference[1], rtol=1e-5, atol=1e-5)
        mean_f, _ = vae.encode_pixels(pixels.astype(np.float32), batch_size=2)
        np.testing.assert_allclose(mean_f, reference[0], rtol=1e-5, atol=1e-5)
        faces = vae.decode_to_pixels(mean)
        _assert_images_close(faces, _keras_decode(model, reference[0]))
        assert faces.shape == (3, 64, 64, 3)


def test_load_vae_errors_name_the_problem(model, exported, tmp_path):
    run_dir = _fake_run_folder(tmp_path / "run", model)
    with pytest.raises(ValueError, match=f"has latent size {LATENT}, but --latent_var_size=64 was given"):
        load_vae(run_dir, latent_var_size=64)
    with pytest.raises(ValueError, match="holds a dfc_vae model, but --vae_def=dfc_vae_large was given"):
        load_vae(run_dir, vae_def="dfc_vae_large")
    with pytest.raises(ValueError, match=f"SavedModel {exported} has latent size {LATENT}, but "
                                         f"--latent_var_size=100"):
        load_vae(exported, latent_var_size=100)
    missing = str(tmp_path / "nothing_here")
    with pytest.raises(FileNotFoundError, match=f"model '{missing}' does not exist"):
        load_vae(missing)
    (tmp_path / "weights.bin").write_bytes(b"\0" * 10)
    with pytest.raises(ValueError, match="weights.bin is not a model"):
        load_vae(str(tmp_path / "weights.bin"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither a training run folder"):
        load_vae(str(tmp_path / "empty"))
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="could not load the Keras model file .*broken.keras"):
        load_vae(str(tmp_path / "broken.keras"))
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match="holds a Sequential, not a facenet_vae DfcVae"):
        load_vae(str(tmp_path / "other.keras"))


def test_training_bn_encoding_leaves_moving_averages_alone(model):
    vae = from_keras_model(model, "test")
    before = [v.numpy().copy() for v in model.non_trainable_variables]
    pixels = np.random.default_rng(2).integers(0, 256, (6, 64, 64, 3)).astype(np.uint8)
    batch_stats, _ = vae.encode_pixels(pixels, training_batch_norm=True)
    moving, _ = vae.encode_pixels(pixels)
    assert not np.allclose(batch_stats, moving)
    for old, variable in zip(before, model.non_trainable_variables):
        np.testing.assert_array_equal(old, variable.numpy())


def test_cli_exports_a_run_folder_and_refuses_a_savedmodel(model, exported, tmp_path, capsys):
    run_dir = _fake_run_folder(tmp_path / "run", model, step=3)
    out_dir = str(tmp_path / "cli_export")
    assert export_cli.main(["export", run_dir, out_dir]) == 0
    assert f"loaded run folder {run_dir}, checkpoint ckpt-3" in capsys.readouterr().out
    assert load_vae(out_dir).source == f"loaded SavedModel {out_dir}"
    assert export_cli.main(["export", exported, str(tmp_path / "again")]) == 1
    assert capsys.readouterr().err.strip() == (f"facenet-vae-export: error: {exported} is already a SavedModel; "
                                               f"export a run folder or .keras file instead")
    assert not os.path.exists(tmp_path / "again")
    assert export_cli.main(["export", run_dir]) == 2
    assert capsys.readouterr().err.startswith("facenet-vae-export: error: expected MODEL and OUT_DIR, got 1 argument")


def test_training_run_ends_with_a_loadable_savedmodel(tmp_path):
    from facenet_vae.training import TrainConfig, train
    run_dir = train(TrainConfig(vae_def="dfc_vae", latent_var_size=8, reconstruction_loss_type="PLAIN",
                                batch_size=8, num_synthetic=32, max_nrof_steps=2, save_every_n_steps=2,
                                summary_every_n_steps=1, models_base_dir=str(tmp_path), verbose=0))
    exported = load_vae(os.path.join(run_dir, "saved_model"))
    from_run = load_vae(run_dir)
    assert from_run.source.endswith("final model.keras")
    pixels = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3)).astype(np.uint8)
    np.testing.assert_allclose(exported.encode_pixels(pixels)[0], from_run.encode_pixels(pixels)[0],
                               rtol=1e-5, atol=1e-4)


def test_the_writers_do_not_import_the_model_reader():
    """The writers get encode/decode from the model itself (DfcVae.encode_pixels), not from load_vae's module."""
    code = ("import sys; import facenet_vae.export.saved_model, facenet_vae.export.litert, facenet_vae.export.formats; "
            "print(sorted(name for name in sys.modules if name in ('facenet_vae.generation.loading', "
            "'facenet_vae.generation.loading')))")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
