"""Keras layers with the semantics of facenet's slim graphs.

Every slim ``conv2d`` in facenet's VAEs runs under an ``arg_scope`` that gives it no bias, a
``batch_norm`` with beta but no gamma (decay 0.995, epsilon 1e-3), truncated-normal(0.1) weights
and SAME padding. The layers here reproduce that, and remember the slim scope they stand for so a
TF1 checkpoint maps onto them by name.

The initial weights are the one default that departs from facenet (``WEIGHTS_INITS``): facenet's
fixed stddev 0.1 is ~11x too large for the 4096-input ``Fc`` heads (log-variances start in the
tens, the KL in the tens of thousands) and for the deep convolutions, where batch norm makes the
scale of a kernel only a divisor of its effective learning rate. ``"fan_in"`` scales each layer
to its fan-in, as PyTorch's default; ``"facenet"`` restores the truncated normal(0.1).
"""
import keras
import tensorflow as tf

from facenet_vae.model.definitions import (BATCH_NORM_DECAY, BATCH_NORM_EPSILON,  # noqa: F401 (re-exported)
                                           DEFAULT_WEIGHTS_INIT, WEIGHTS_INITS)

WEIGHTS_STDDEV = 0.1


def slim_weights_initializer(weights_init="facenet"):
    """Return the kernel initializer named ``weights_init`` (one of ``WEIGHTS_INITS``).

    ``"facenet"``: the truncated normal(stddev=0.1) of facenet's arg_scope. ``"fan_in"``: uniform
    in +-1/sqrt(fan_in), i.e. variance 1/(3 fan_in), PyTorch's default for conv and linear layers.
    """
    if weights_init == "facenet":
        return keras.initializers.TruncatedNormal(stddev=WEIGHTS_STDDEV)
    if weights_init == "fan_in":
        return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")
    raise ValueError(f"Unknown weights_init {weights_init!r}; choose one of {WEIGHTS_INITS}")


def leaky_relu(x):
    """Return facenet's leaky ReLU ``max(0.1 * x, x)`` (one fused op, the same values)."""
    return tf.nn.leaky_relu(x, alpha=0.1)


@keras.saving.register_keras_serializable(package="facenet_vae")
class SlimBatchNorm(keras.layers.Layer):
    """slim's ``batch_norm`` with beta and no gamma, run as one fused op; the layer owns its statistics.

    Variables (in Keras' order, so ``.keras`` files and checkpoints written with the Keras
    ``BatchNormalization`` holder used before still load): ``beta`` (trainable), ``moving_mean``
    and ``moving_variance``. One FusedBatchNormV3 op replaces Keras' unfused moments +
    normalisation (several times faster forward and backward on CPU), and 16-bit inputs are
    normalised in float32 as Keras' own layer does. In training the moving variance is updated with
    the unbiased batch variance, as TF1's fused batch norm (and so facenet's slim graphs) did.
    ``synchronized`` takes the batch statistics over all replicas of a distribution strategy
    instead (unfused). ``momentum`` is read at every training call, so batch-norm re-estimation
    may change it.
    """

    def __init__(self, momentum=BATCH_NORM_DECAY, epsilon=BATCH_NORM_EPSILON, synchronized=False, **kwargs):
        # No autocast: beta is read in float32 under mixed precision, as the statistics are.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.momentum = momentum
        self.epsilon = epsilon
        self.synchronized = synchronized

    def build(self, input_shape):
        channels = (input_shape[-1],)
        self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=channels, initializer="zeros", trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(shape=channels, initializer="ones", trainable=False,
                                               name="moving_variance")

    def call(self, inputs, training=False, output_scale=1.0):
        """Return ``output_scale * normalised inputs`` in float32 (the scale acts as gamma, beta scaled alike).

        ``output_scale`` lets a residual block's ``0.1 *`` cost nothing.
        """
        x = tf.cast(inputs, tf.float32)
        beta = tf.cast(self.beta, tf.float32)
        if output_scale != 1.0:
            beta = beta * output_scale
        gamma = tf.fill(tf.shape(beta), tf.constant(output_scale, tf.float32))
        moving_mean = tf.cast(self.moving_mean, tf.float32)
        moving_variance = tf.cast(self.moving_variance, tf.float32)
        if not (training and self.trainable):
            return tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, mean=moving_mean, variance=moving_variance,
                                                    epsilon=self.epsilon, is_training=False)[0]
        if self.synchronized:
            mean, variance = keras.ops.moments(x, axes=[0, 1, 2], synchronized=True)
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]) * replicas, tf.float32)
            y = tf.nn.batch_normalization(x, mean, variance, beta, gamma, self.epsilon)
            variance = variance * count / tf.maximum(count - 1.0, 1.0)
        else:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon,
                                                                 is_training=True)[:3]
        self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return y

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs, training=False, output_scale=1.0):
        return keras.KerasTensor(inputs.shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, epsilon=self.epsilon, synchronized=self.synchronized)
        return config


@keras.saving.register_keras_serializable(package="facenet_vae")
class SlimConv2d(keras.layers.Layer):
    """slim.conv2d + slim.batch_norm (scale=False) + optional leaky ReLU.

    ``slim_scope`` is the full TF1 variable scope, e.g. ``encoder/Conv2d_1b/Conv2d_1b_2``.
    """

    def __init__(self, filters, kernel_size, strides=1, activation=True, slim_scope=None,
                 synchronized=False, weights_init="facenet", **kwargs):
        super().__init__(**kwargs)
        self.synchronized = synchronized
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.activation = activation
        self.slim_scope = slim_scope or self.name
        self.conv = keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same", use_bias=False,
            kernel_initializer=slim_weights_initializer(weights_init), name="weights")
        self.batch_norm = SlimBatchNorm(synchronized=synchronized, name="BatchNorm")

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.batch_norm.build(self.conv.compute_output_shape(input_shape))

    def call(self, inputs, training=False, output_scale=1.0):
        """Return conv -> batch norm -> leaky ReLU of ``inputs``, times ``output_scale`` (> 0)."""
        x = self.batch_norm(self.conv(inputs), training=training, output_scale=output_scale)
        # leaky_relu(s * y) == s * leaky_relu(y) for s > 0, so the scale may come before it.
        x = leaky_relu(x) if self.activation else x
        return tf.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def slim_variables(self):
        """Return ``{slim variable name: keras variable}`` for this conv and its batch norm."""
        bn = self.batch_norm
        return {
            f"{self.slim_scope}/weights": self.conv.kernel,
            f"{self.slim_scope}/BatchNorm/beta": bn.beta,
            f"{self.slim_scope}/BatchNorm/moving_mean": bn.moving_mean,
            f"{self.slim_scope}/BatchNorm/moving_variance": bn.moving_variance,
        }

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      activation=self.activation, slim_scope=self.slim_scope, synchronized=self.synchronized)
        return config


@keras.saving.register_keras_serializable(package="facenet_vae")
class ScaledResidual(keras.layers.Layer):
    """facenet's ``conv2d_block``: ``x + scale * SlimConv2d(x)`` (stride 1, same channels)."""

    def __init__(self, filters, kernel_size, scale=0.1, slim_scope=None, synchronized=False,
                 weights_init="facenet", **kwargs):
        super().__init__(**kwargs)
        self.synchronized = synchronized
        self.filters = filters
        self.kernel_size = kernel_size
        self.scale = scale
        self.slim_scope = slim_scope or self.name
        self.block = SlimConv2d(filters, kernel_size, 1, activation=True, slim_scope=self.slim_scope,
                                synchronized=synchronized, weights_init=weights_init, name=self.name + "_conv")

    def build(self, input_shape):
        self.block.build(input_shape)

    def call(self, inputs, training=False):
        if self.scale > 0:
            return inputs + self.block(inputs, training=training, output_scale=self.scale)
        return inputs + self.block(inputs, training=training) * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def slim_variables(self):
        """Return ``{slim variable name: keras variable}`` of the wrapped conv."""
        return self.block.slim_variables()

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, scale=self.scale,
                      slim_scope=self.slim_scope, synchronized=self.synchronized)
        return config


@keras.saving.register_keras_serializable(package="facenet_vae")
class SlimDense(keras.layers.Dense):
    """slim.fully_connected without norm or activation (facenet's ``Fc_1``/``Fc_2``)."""

    def __init__(self, units, slim_scope=None, weights_init="facenet", **kwargs):
        kwargs.setdefault("kernel_initializer", slim_weights_initializer(weights_init))
        super().__init__(units, **kwargs)
        self.slim_scope = slim_scope or self.name

    def slim_variables(self):
        """Return ``{slim variable name: keras variable}`` for weights and biases."""
        return {f"{self.slim_scope}/weights": self.kernel, f"{self.slim_scope}/biases": self.bias}

    def get_config(self):
        config = super().get_config()
        config.update(slim_scope=self.slim_scope)
        return config
