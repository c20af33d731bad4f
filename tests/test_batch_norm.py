"""SlimConv2d's batch norm: slim's fused semantics, checked against numpy on real faces."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.model import DfcVae
from facenet_vae.model.layers import (BATCH_NORM_DECAY, BATCH_NORM_EPSILON, ScaledResidual, SlimBatchNorm, SlimConv2d,
                                      leaky_relu)
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.training.batch_norm_calibration import batch_norm_layers, recalibrate_batch_norm


@pytest.fixture(scope="module")
def faces(celeba_npz):
    return pixels_to_normalized(celeba_npz["images"][:16]).numpy()


def _layer(activation=True):
    keras.utils.set_random_seed(3)
    layer = SlimConv2d(8, 3, 1, activation=activation)
    layer.build((None, 64, 64, 3))
    layer.batch_norm.beta.assign(np.linspace(-0.5, 0.5, 8).astype("float32"))
    return layer


def _numpy_reference(conv_out, mean, variance, beta, activation):
    y = (conv_out - mean) / np.sqrt(variance + BATCH_NORM_EPSILON) + beta
    return np.maximum(0.1 * y, y) if activation else y


@pytest.mark.parametrize("activation", [True, False])
def test_training_mode_normalises_with_batch_statistics(faces, activation):
    layer = _layer(activation)
    conv_out = layer.conv(faces).numpy()
    got = layer(faces, training=True).numpy()
    expected = _numpy_reference(conv_out, conv_out.mean((0, 1, 2)), conv_out.var((0, 1, 2)),
                                layer.batch_norm.beta.numpy(), activation)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_moving_statistics_update_with_the_unbiased_variance_as_tf1_fused_batch_norm(faces):
    layer = _layer()
    bn = layer.batch_norm
    faces = faces[:4, 30:32, 30:32, :]  # 16 values per channel: n/(n-1) is large enough to see
    bn.moving_mean.assign(np.full(8, 0.25, "float32"))
    bn.moving_variance.assign(np.full(8, 2.0, "float32"))
    conv_out = layer.conv(faces).numpy()
    layer(faces, training=True)
    decay = BATCH_NORM_DECAY
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.25 * decay + conv_out.mean((0, 1, 2)) * (1 - decay),
                               rtol=1e-5, atol=1e-6)
    unbiased = conv_out.var((0, 1, 2), ddof=1)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 2.0 * decay + unbiased * (1 - decay), rtol=1e-5)
    # The biased variance would differ by a factor n/(n-1) in the update; make sure the test can see it.
    biased_update = 2.0 * decay + conv_out.var((0, 1, 2)) * (1 - decay)
    assert not np.allclose(bn.moving_variance.numpy(), biased_update, rtol=1e-7, atol=0)


def test_inference_mode_uses_moving_statistics_and_changes_nothing(faces):
    layer = _layer()
    bn = layer.batch_norm
    bn.moving_mean.assign(np.linspace(-1, 1, 8).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 3, 8).astype("float32"))
    before = [v.numpy().copy() for v in layer.weights]
    got = layer(faces, training=False).numpy()
    expected = _numpy_reference(layer.conv(faces).numpy(), bn.moving_mean.numpy(), bn.moving_variance.numpy(),
                                bn.beta.numpy(), True)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    for variable, value in zip(layer.weights, before):
        np.testing.assert_array_equal(variable.numpy(), value)


def test_frozen_batch_norm_uses_moving_statistics_in_training(faces):
    layer = _layer()
    layer.batch_norm.trainable = False
    np.testing.assert_allclose(layer(faces, training=True).numpy(), layer(faces, training=False).numpy())
    np.testing.assert_array_equal(layer.batch_norm.moving_variance.numpy(), np.ones(8, "float32"))


def test_synchronized_path_matches_the_fused_one_on_one_replica(faces):
    fused, synchronized = _layer(), _layer()
    # The layer's own flag picks the path: the synchronized batch norm is the one that is called.
    synchronized.batch_norm.synchronized = True
    x = fused.conv(faces)
    y_fused = fused.batch_norm(x, training=True)
    y_sync = synchronized.batch_norm(x, training=True)
    np.testing.assert_allclose(y_fused.numpy(), y_sync.numpy(), rtol=1e-4, atol=1e-4)
    for a, b in zip(fused.batch_norm.weights, synchronized.batch_norm.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_gradients_match_the_unfused_computation(faces):
    layer = _layer()
    x = tf.constant(faces)

    def unfused(inputs):
        conv_out = layer.conv(inputs)
        mean, variance = tf.nn.moments(conv_out, axes=[0, 1, 2])
        y = (conv_out - mean) / tf.sqrt(variance + BATCH_NORM_EPSILON) + layer.batch_norm.beta
        return tf.maximum(0.1 * y, y)

    grads = []
    for fn in (lambda inputs: layer(inputs, training=True), unfused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(fn(x)) * np.linspace(0, 1, 8))
        grads.append(tape.gradient(loss, [x, layer.conv.kernel, layer.batch_norm.beta]))
    for fused_grad, reference in zip(*grads):
        scale = np.max(np.abs(reference.numpy()))
        assert scale > 0
        # Batch norm's backward pass cancels large terms: compare relative to the gradient's scale.
        np.testing.assert_allclose(fused_grad.numpy(), reference.numpy(), rtol=0, atol=1e-4 * scale)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_16_bit_compute_normalises_in_float32_and_returns_the_compute_dtype(faces, policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = _layer()
        got = layer(faces, training=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert got.dtype == tf.as_dtype(policy.split("_")[1])
    assert layer.batch_norm.moving_variance.dtype == "float32"
    conv_out = layer.conv(tf.cast(faces, got.dtype)).numpy().astype("float32")
    expected = _numpy_reference(conv_out, conv_out.mean((0, 1, 2)), conv_out.var((0, 1, 2)),
                                layer.batch_norm.beta.numpy(), True)
    # 16-bit output rounding only: the statistics themselves were taken in float32.
    np.testing.assert_allclose(got.numpy().astype("float32"), expected, rtol=2e-2, atol=2e-2)


def test_leaky_relu_is_max_of_0_1_x_and_x():
    x = np.linspace(-5, 5, 101).astype("float32")
    np.testing.assert_array_equal(leaky_relu(x).numpy(), np.maximum(0.1 * x, x))


def test_residual_block_is_x_plus_0_1_times_the_block_in_both_modes(faces):
    keras.utils.set_random_seed(4)
    block = ScaledResidual(3, 3)
    block.build((None, 64, 64, 3))
    block.block.batch_norm.beta.assign(np.array([-0.3, 0.0, 0.4], "float32"))
    for training in (False, True):
        inner = block.block(faces, training=training).numpy()
        np.testing.assert_allclose(block(faces, training=training).numpy(), faces + 0.1 * inner,
                                   rtol=1e-5, atol=1e-5)
    negative = ScaledResidual(3, 3, scale=-0.5)
    negative.build((None, 64, 64, 3))
    np.testing.assert_allclose(negative(faces).numpy(), faces - 0.5 * negative.block(faces).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_conv_layers_call_their_batch_norm_with_its_synchronized_flag(faces, monkeypatch):
    """``SlimConv2d(synchronized=True)`` takes cross-replica statistics: its batch norm is called, not bypassed."""
    layer = SlimConv2d(8, 3, 1, synchronized=True)
    layer.build((None, 64, 64, 3))
    assert isinstance(layer.batch_norm, SlimBatchNorm) and layer.batch_norm.synchronized
    calls = []
    original = keras.ops.moments

    def moments(*args, **kwargs):
        calls.append(kwargs.get("synchronized"))
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.ops, "moments", moments)
    layer(faces, training=True)
    assert calls == [True]


def test_recalibration_finds_every_batch_norm_and_sets_its_statistics(celeba_npz):
    model = DfcVae("dfc_vae", 8)
    layers = batch_norm_layers(model)
    convs = [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, SlimConv2d)]
    assert len(layers) == len(convs) == 8
    trainable = [v.numpy().copy() for v in model.trainable_variables]
    assert recalibrate_batch_norm(model, celeba_npz["images"][:32], batch_size=16) == 32
    assert all(np.any(layer.moving_mean.numpy() != 0) for layer in layers)
    assert all(layer.momentum == pytest.approx(BATCH_NORM_DECAY) for layer in layers)
    for variable, value in zip(model.trainable_variables, trainable):
        np.testing.assert_array_equal(variable.numpy(), value)
