"""Keras layers with the semantics of facenet's slim graphs.

Every slim ``conv2d`` in facenet's VAEs runs under an ``arg_scope`` that gives it no bias, a
``batch_norm`` with beta but no gamma (decay 0.995, epsilon 1e-3), truncated-normal(0.1) weights
and SAME padding. The layers here reproduce that, and remember the slim scope they stand for so a
TF1 checkpoint maps onto them by name.
"""
import keras
from keras import ops

BATCH_NORM_DECAY = 0.995
BATCH_NORM_EPSILON = 1e-3
WEIGHTS_STDDEV = 0.1


def slim_weights_initializer():
    """Return the truncated-normal(stddev=0.1) initializer facenet's arg_scope uses."""
    return keras.initializers.TruncatedNormal(stddev=WEIGHTS_STDDEV)


def leaky_relu(x):
    """Return facenet's leaky ReLU ``max(0.1 * x, x)``."""
    return ops.maximum(0.1 * x, x)


@keras.saving.register_keras_serializable(package="facenet_vae")
class SlimConv2d(keras.layers.Layer):
    """slim.conv2d + slim.batch_norm (scale=False) + optional leaky ReLU.

    ``slim_scope`` is the full TF1 variable scope, e.g. ``encoder/Conv2d_1b/Conv2d_1b_2``.
    """

    def __init__(self, filters, kernel_size, strides=1, activation=True, slim_scope=None,
                 synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.synchronized = synchronized
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.activation = activation
        self.slim_scope = slim_scope or self.name
        self.conv = keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="same", use_bias=False,
            kernel_initializer=slim_weights_initializer(), name="weights")
        self.batch_norm = keras.layers.BatchNormalization(
            momentum=BATCH_NORM_DECAY, epsilon=BATCH_NORM_EPSILON, center=True, scale=False,
            synchronized=synchronized, name="BatchNorm")

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.batch_norm.build(self.conv.compute_output_shape(input_shape))

    def call(self, inputs, training=False):
        x = self.batch_norm(self.conv(inputs), training=training)
        return leaky_relu(x) if self.activation else x

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

    def __init__(self, filters, kernel_size, scale=0.1, slim_scope=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self.synchronized = synchronized
        self.filters = filters
        self.kernel_size = kernel_size
        self.scale = scale
        self.slim_scope = slim_scope or self.name
        self.block = SlimConv2d(filters, kernel_size, 1, activation=True, slim_scope=self.slim_scope,
                                synchronized=synchronized, name=self.name + "_conv")

    def build(self, input_shape):
        self.block.build(input_shape)

    def call(self, inputs, training=False):
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

    def __init__(self, units, slim_scope=None, **kwargs):
        kwargs.setdefault("kernel_initializer", slim_weights_initializer())
        super().__init__(units, **kwargs)
        self.slim_scope = slim_scope or self.name

    def slim_variables(self):
        """Return ``{slim variable name: keras variable}`` for weights and biases."""
        return {f"{self.slim_scope}/weights": self.kernel, f"{self.slim_scope}/biases": self.bias}

    def get_config(self):
        config = super().get_config()
        config.update(slim_scope=self.slim_scope)
        return config
