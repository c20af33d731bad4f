"""Importing facenet TF1 checkpoints: numerics against an independent slim-graph spec, and errors."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from facenet_vae import build_vae, load_slim_checkpoint
from facenet_vae.model.convert_slim_checkpoint import convert
from facenet_vae.model.slim_checkpoint import SlimCheckpointError, is_model_variable

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENT = 8
BN_EPSILON = 1e-3


# -- an independent spec of facenet's graphs (src/generative/models/*.py) -------------------------
def conv(scope, filters, kernel, stride=1, activation=True):
    return ("conv", scope, filters, kernel, stride, activation)


def residual(scope, filters, kernel):
    """slim.repeat(net, 3, conv2d_block, 0.1, filters, [k, k], 1, scope=scope)."""
    return ("residual", scope, filters, kernel)


def upsample():
    return ("upsample",)


FACENET_GRAPHS = {
    "dfc_vae": dict(
        image_size=64,
        encoder=[conv("Conv2d_1", 32, 4, 2), conv("Conv2d_2", 64, 4, 2), conv("Conv2d_3", 128, 4, 2),
                 conv("Conv2d_4", 256, 4, 2)],
        decoder=[upsample(), conv("Conv2d_1", 128, 3), upsample(), conv("Conv2d_2", 64, 3),
                 upsample(), conv("Conv2d_3", 32, 3), upsample(), conv("Conv2d_4", 3, 3, activation=False)]),
    "dfc_vae_resnet": dict(
        image_size=64,
        encoder=[conv("Conv2d_1a", 32, 4, 2), residual("Conv2d_1b", 32, 4),
                 conv("Conv2d_2a", 64, 4, 2), residual("Conv2d_2b", 64, 4),
                 conv("Conv2d_3a", 128, 4, 2), residual("Conv2d_3b", 128, 4),
                 conv("Conv2d_4a", 256, 4, 2), residual("Conv2d_4b", 256, 4)],
        decoder=[upsample(), conv("Conv2d_1a", 128, 3), residual("Conv2d_1b", 128, 3),
                 upsample(), conv("Conv2d_2a", 64, 3), residual("Conv2d_2b", 64, 3),
                 upsample(), conv("Conv2d_3a", 32, 3), residual("Conv2d_3b", 32, 3),
                 upsample(), conv("Conv2d_4a", 3, 3), residual("Conv2d_4b", 3, 3),
                 conv("Conv2d_4c", 3, 3, activation=False)]),
    "dfc_vae_large": dict(
        image_size=128,
        encoder=[conv("Conv2d_1", 32, 4, 2), conv("Conv2d_2", 64, 4, 2), conv("Conv2d_3", 128, 4, 2),
                 conv("Conv2d_4", 256, 4, 2), conv("Conv2d_5", 512, 4, 2)],
        decoder=[upsample(), conv("Conv2d_1", 128, 3), upsample(), conv("Conv2d_2", 64, 3),
                 upsample(), conv("Conv2d_3", 32, 3), upsample(), conv("Conv2d_4", 3, 3),
                 upsample(), conv("Conv2d_5", 3, 3, activation=False)]),
}
DEFS = sorted(FACENET_GRAPHS)


def _conv_scopes(part, op):
    if op[0] == "conv":
        return [f"{part}/{op[1]}"]
    return [f"{part}/{op[1]}/{op[1]}_{i}" for i in (1, 2, 3)]


def slim_shapes(vae_def, latent):
    """Return {slim variable name: shape} for the facenet graph, walked from the spec."""
    graph = FACENET_GRAPHS[vae_def]
    shapes = {}

    def walk(part, ops, channels, size):
        for op in ops:
            if op[0] == "upsample":
                size *= 2
                continue
            filters, kernel = op[2], op[3]
            for scope in _conv_scopes(part, op):
                shapes[f"{scope}/weights"] = (kernel, kernel, channels, filters)
                for leaf in ("beta", "moving_mean", "moving_variance"):
                    shapes[f"{scope}/BatchNorm/{leaf}"] = (filters,)
                channels = filters
            if op[0] == "conv":
                size //= op[4]
        return channels, size

    channels, size = walk("encoder", graph["encoder"], 3, graph["image_size"])
    for fc in ("Fc_1", "Fc_2"):
        shapes[f"encoder/{fc}/weights"] = (size * size * channels, latent)
        shapes[f"encoder/{fc}/biases"] = (latent,)
    shapes["decoder/Fc_1/weights"] = (latent, 4096)
    shapes["decoder/Fc_1/biases"] = (4096,)
    walk("decoder", graph["decoder"], 256, 4)
    return shapes


def random_values(shapes, seed):
    """Return float32 values for each slim variable; weights scaled by fan-in so activations stay O(1)."""
    rng = np.random.default_rng(seed)
    values = {}
    for name, shape in shapes.items():
        if name.endswith("moving_variance"):
            value = rng.uniform(0.5, 2.0, shape)
        elif name.endswith("/weights"):
            value = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[:-1])), shape)
        else:
            value = rng.normal(0.0, 0.1, shape)
        values[name] = value.astype(np.float32)
    return values


def slim_conv(x, values, scope, stride, activation):
    net = tf.nn.conv2d(x, values[f"{scope}/weights"], strides=stride, padding="SAME")
    net = ((net - values[f"{scope}/BatchNorm/moving_mean"])
           / tf.sqrt(values[f"{scope}/BatchNorm/moving_variance"] + BN_EPSILON)
           + values[f"{scope}/BatchNorm/beta"])
    return tf.maximum(0.1 * net, net) if activation else net


def run_spec(x, part, ops, values):
    for op in ops:
        if op[0] == "upsample":
            x = tf.compat.v1.image.resize_nearest_neighbor(x, (2 * x.shape[1], 2 * x.shape[2]))
        elif op[0] == "conv":
            x = slim_conv(x, values, f"{part}/{op[1]}", op[4], op[5])
        else:
            for scope in _conv_scopes(part, op):
                x = x + slim_conv(x, values, scope, 1, True) * 0.1
    return x


def reference_encode(vae_def, images, values):
    net = run_spec(tf.constant(images), "encoder", FACENET_GRAPHS[vae_def]["encoder"], values)
    net = tf.reshape(net, (net.shape[0], -1))
    return tuple(tf.matmul(net, values[f"encoder/{fc}/weights"]) + values[f"encoder/{fc}/biases"]
                 for fc in ("Fc_1", "Fc_2"))


def reference_decode(vae_def, latent, values):
    net = tf.matmul(tf.constant(latent), values["decoder/Fc_1/weights"]) + values["decoder/Fc_1/biases"]
    net = tf.reshape(net, (-1, 4, 4, 256))
    return run_spec(net, "decoder", FACENET_GRAPHS[vae_def]["decoder"], values)


# -- writing TF1 checkpoints ---------------------------------------------------------------------
def bookkeeping_values(model_values):
    """Return facenet/optimizer variables a real checkpoint may hold next to the VAE's."""
    first_weights = next(name for name in model_values if name.endswith("/weights"))
    shape = model_values[first_weights].shape
    return {
        "global_step": np.array(50000, np.int64),
        "beta1_power": np.array(0.9, np.float32),
        "beta2_power": np.array(0.999, np.float32),
        f"{first_weights}/Adam": np.full(shape, 7.0, np.float32),
        f"{first_weights}/Adam_1": np.full(shape, 7.0, np.float32),
        f"{first_weights}/ExponentialMovingAverage": np.full(shape, 7.0, np.float32),
        "InceptionResnetV1/Conv2d_1a_3x3/weights": np.full((3, 3, 3, 32), 7.0, np.float32),
        "InceptionResnetV1/Conv2d_1a_3x3/BatchNorm/moving_mean": np.zeros((32,), np.float32),
    }


def write_checkpoint(folder, values, step=50000):
    """Save ``values`` under their names with a TF1 Saver, as train_vae.py did; return the prefix."""
    os.makedirs(folder, exist_ok=True)
    with tf.Graph().as_default():
        var_list = {name: tf.compat.v1.Variable(value, name=f"v{i}")
                    for i, (name, value) in enumerate(values.items())}
        saver = tf.compat.v1.train.Saver(var_list)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(session, os.path.join(str(folder), "model.ckpt"), global_step=step,
                              write_meta_graph=False)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Return ``get(vae_def) -> (prefix, model values)``, writing each definition's checkpoint once."""
    cache = {}

    def get(vae_def):
        if vae_def not in cache:
            values = random_values(slim_shapes(vae_def, LATENT), seed=DEFS.index(vae_def))
            folder = tmp_path_factory.mktemp(vae_def)
            cache[vae_def] = (write_checkpoint(folder, {**values, **bookkeeping_values(values)}), values)
        return cache[vae_def]

    return get


def snapshot(model):
    return {variable.path: np.array(variable.numpy()) for variable in model.weights}


def assert_close(actual, expected, tolerance=1e-4):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert np.max(np.abs(actual - expected)) < tolerance


# -- numerics ------------------------------------------------------------------------------------
@pytest.mark.parametrize("vae_def", DEFS)
def test_import_matches_independent_slim_graph(vae_def, checkpoints):
    prefix, values = checkpoints(vae_def)
    model = build_vae(vae_def, LATENT)
    expected_shapes = slim_shapes(vae_def, LATENT)
    assert {name: tuple(v.shape) for name, v in model.slim_variables().items()} == expected_shapes

    assert load_slim_checkpoint(model, prefix) is model

    for name, variable in model.slim_variables().items():
        np.testing.assert_array_equal(variable.numpy(), values[name], err_msg=name)
    rng = np.random.default_rng(42)
    size = FACENET_GRAPHS[vae_def]["image_size"]
    images = rng.normal(size=(2, size, size, 3)).astype(np.float32)
    mean, log_variance = model.encode(images, training=False)
    ref_mean, ref_log_variance = reference_encode(vae_def, images, values)
    assert_close(mean, ref_mean)
    assert_close(log_variance, ref_log_variance)
    # The check is only meaningful if the outputs are not trivially small.
    assert np.std(ref_mean) > 0.05

    latent = rng.normal(size=(2, LATENT)).astype(np.float32)
    decoded = model.decode(latent, training=False)
    reference = reference_decode(vae_def, latent, values)
    assert decoded.shape == (2, size, size, 3)
    assert_close(decoded, reference)
    assert np.std(reference) > 0.05


def test_bookkeeping_variables_are_not_model_variables():
    assert is_model_variable("encoder/Conv2d_1a/weights")
    assert is_model_variable("decoder/Conv2d_4c/BatchNorm/moving_variance")
    for name in ("global_step", "beta1_power", "beta2_power", "encoder/Conv2d_1a/weights/Adam",
                 "encoder/Conv2d_1a/weights/Adam_1", "decoder/Fc_1/biases/ExponentialMovingAverage",
                 "InceptionResnetV1/Conv2d_1a_3x3/weights", "encoder_other/Conv2d_1/weights"):
        assert not is_model_variable(name), name


# -- errors --------------------------------------------------------------------------------------
def _broken_checkpoint(tmp_path, checkpoints, change):
    _, values = checkpoints("dfc_vae")
    values = dict(values)
    change(values)
    return write_checkpoint(tmp_path / "broken", {**values, **bookkeeping_values(values)})


def _import_error(model, prefix):
    before = snapshot(model)
    with pytest.raises(SlimCheckpointError) as info:
        load_slim_checkpoint(model, prefix)
    after = snapshot(model)
    assert all(np.array_equal(before[path], after[path]) for path in before), "a failed import changed weights"
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert str(prefix) in message
    return message


def test_missing_variable_is_named(tmp_path, checkpoints):
    prefix = _broken_checkpoint(tmp_path, checkpoints,
                                lambda values: values.pop("decoder/Conv2d_3/BatchNorm/moving_mean"))
    message = _import_error(build_vae("dfc_vae", LATENT), prefix)
    assert "missing" in message and "decoder/Conv2d_3/BatchNorm/moving_mean" in message


def test_unexpected_model_variable_is_named(tmp_path, checkpoints):
    def add(values):
        values["encoder/Conv2d_9/weights"] = np.zeros((4, 4, 256, 8), np.float32)
    message = _import_error(build_vae("dfc_vae", LATENT), _broken_checkpoint(tmp_path, checkpoints, add))
    assert "unexpected" in message and "encoder/Conv2d_9/weights" in message
    assert "InceptionResnetV1" not in message and "Adam" not in message


def test_misshaped_variable_names_both_shapes_and_leaves_model_untouched(tmp_path, checkpoints):
    # A decoder variable: late in assignment order, so a partial import would show.
    def reshape(values):
        values["decoder/Conv2d_4/weights"] = np.zeros((5, 5, 32, 3), np.float32)
    model = build_vae("dfc_vae", LATENT)
    message = _import_error(model, _broken_checkpoint(tmp_path, checkpoints, reshape))
    assert "decoder/Conv2d_4/weights" in message
    assert "(3, 3, 32, 3)" in message and "(5, 5, 32, 3)" in message


def test_wrong_latent_size_is_a_clear_error(checkpoints):
    prefix, _ = checkpoints("dfc_vae")
    message = _import_error(build_vae("dfc_vae", 16), prefix)
    assert f"encoder/Fc_1/weights: expected shape (4096, 16), found (4096, {LATENT})" in message
    assert "--latent_var_size 16" in message and f"--latent_var_size {LATENT}." in message


def test_wrong_definition_is_a_clear_error(checkpoints):
    prefix, _ = checkpoints("dfc_vae")
    message = _import_error(build_vae("dfc_vae_resnet", LATENT), prefix)
    assert "decoder/Conv2d_1a/weights" in message and "decoder/Conv2d_1/weights" in message
    assert "missing from the checkpoint (132)" in message and "... and 112 more" in message
    assert "--vae_def dfc_vae_resnet" in message and "look like --vae_def dfc_vae " in message


def test_nonexistent_prefix_is_named(tmp_path):
    prefix = tmp_path / "nowhere" / "model.ckpt-50000"
    message = _import_error(build_vae("dfc_vae", LATENT), prefix)
    assert "model.ckpt-50000.index" in message


def test_file_that_is_not_a_checkpoint(tmp_path):
    not_a_checkpoint = tmp_path / "model.keras"
    not_a_checkpoint.write_text("hello")
    _import_error(build_vae("dfc_vae", LATENT), not_a_checkpoint)


def test_unreadable_data_file_is_named_and_leaves_model_untouched(tmp_path, checkpoints):
    prefix = _broken_checkpoint(tmp_path, checkpoints, lambda values: None)
    os.remove(prefix + ".data-00000-of-00001")
    assert "Cannot read" in _import_error(build_vae("dfc_vae", LATENT), prefix)


def test_index_file_and_folder_resolve_to_the_prefix(checkpoints):
    prefix, values = checkpoints("dfc_vae")
    for path in (prefix + ".index", os.path.dirname(prefix)):
        model = load_slim_checkpoint(build_vae("dfc_vae", LATENT), path)
        np.testing.assert_array_equal(model.slim_variables()["decoder/Fc_1/biases"].numpy(),
                                      values["decoder/Fc_1/biases"])


# -- the converter -------------------------------------------------------------------------------
def _run_cli(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PROJECT_ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "facenet_vae.model.convert_slim_checkpoint", *args],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_cli_writes_a_keras_file_that_matches(tmp_path, checkpoints):
    prefix, values = checkpoints("dfc_vae")
    output = tmp_path / "out" / "dfc_vae.keras"
    result = _run_cli("--vae_def", "dfc_vae", "--latent_var_size", str(LATENT), prefix, str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Wrote" in result.stdout and str(output) in result.stdout
    assert os.listdir(output.parent) == ["dfc_vae.keras"], "temporary file left behind"

    loaded = keras.models.load_model(output)
    assert (loaded.vae_def, loaded.latent_var_size) == ("dfc_vae", LATENT)
    images = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype(np.float32)
    assert_close(loaded.encode(images)[0], reference_encode("dfc_vae", images, values)[0])
    latent = np.random.default_rng(1).normal(size=(2, LATENT)).astype(np.float32)
    assert_close(loaded.decode(latent), reference_decode("dfc_vae", latent, values))


def test_cli_fails_with_the_error_message(tmp_path):
    missing = tmp_path / "no" / "model.ckpt-50000"
    output = tmp_path / "out.keras"
    result = _run_cli("--vae_def", "dfc_vae", "--latent_var_size", str(LATENT), str(missing), str(output))
    assert result.returncode != 0
    assert str(missing) in result.stderr
    assert not output.exists()


def test_convert_writes_nothing_on_a_mismatch(tmp_path, checkpoints):
    prefix, _ = checkpoints("dfc_vae")
    with pytest.raises(SlimCheckpointError, match="--latent_var_size"):
        convert(prefix, tmp_path / "out.keras", "dfc_vae", LATENT + 1)
    with pytest.raises(ValueError, match=r"\.keras"):
        convert(prefix, tmp_path / "out.h5", "dfc_vae", LATENT)
    assert os.listdir(tmp_path) == []
