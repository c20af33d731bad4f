"""``DfcVae``: the Keras model of facenet's three VAE graphs (encode, decode, sample_latent, call).

The graph only; the objective and the training step live in ``facenet_vae.training``.
"""
import numbers

import keras
import tensorflow as tf
from keras import ops

from facenet_vae.model import presets
from facenet_vae.model.definitions import (DEFAULT_LATENT_VAR_SIZE, DEFAULT_VAE_DEF, MAX_LOG_VARIANCE, Conv,
                                           Residual, Upsample, get_definition)
from facenet_vae.model.framing import FaceConverter
from facenet_vae.model.layers import DEFAULT_WEIGHTS_INIT, ScaledResidual, SlimConv2d, SlimDense



def capped_log_variance(log_variance):
    """Return float32 ``min(log_variance, MAX_LOG_VARIANCE)`` whose gradient is 1 everywhere.

    A plain ``minimum`` has zero gradient above the cap, and the KL's ``-lv`` term would then push
    a capped log-variance up for ever; passing the gradient straight through lets the KL pull it
    back down.
    """
    log_variance = ops.cast(log_variance, "float32")
    return log_variance - ops.stop_gradient(ops.relu(log_variance - MAX_LOG_VARIANCE))


def _build_blocks(specs, scope_prefix, synchronized=False, weights_init=DEFAULT_WEIGHTS_INIT):
    """Return Keras layers for a list of definition specs, named after their slim scopes.

    ``synchronized`` makes batch norm use the global batch statistics across replicas;
    ``weights_init`` names the kernel initializer (layers.WEIGHTS_INITS).
    """
    blocks = []
    for spec in specs:
        if isinstance(spec, Conv):
            blocks.append(SlimConv2d(spec.filters, spec.kernel_size, spec.strides, spec.activation,
                                     slim_scope=f"{scope_prefix}/{spec.scope}", synchronized=synchronized,
                                     weights_init=weights_init, name=spec.scope))
        elif isinstance(spec, Residual):
            for i in range(1, spec.repeats + 1):
                leaf = f"{spec.scope}_{i}"
                blocks.append(ScaledResidual(spec.filters, spec.kernel_size, 0.1,
                                             slim_scope=f"{scope_prefix}/{spec.scope}/{leaf}",
                                             synchronized=synchronized, weights_init=weights_init, name=leaf))
        elif isinstance(spec, Upsample):
            blocks.append(keras.layers.UpSampling2D(2, interpolation="nearest", name=spec.scope))
        else:
            raise TypeError(f"Unknown layer spec {spec!r}")
    return blocks


def _attach_blocks(owner, blocks):
    """Store each block as an attribute named after its slim scope.

    Plain attributes (not a list) so that tf.train.Checkpoint tracks every block, BN moving
    statistics included; Keras' list tracking is invisible to TF's object graph.
    """
    owner._block_names = tuple(block.name for block in blocks)
    for block in blocks:
        setattr(owner, block.name, block)


def _run_blocks(blocks, x, training):
    for block in blocks:
        if isinstance(block, keras.layers.UpSampling2D):
            x = block(x)
        else:
            x = block(x, training=training)
    return x


def _build_blocks_shapes(blocks, shape):
    for block in blocks:
        block.build(shape)
        shape = block.compute_output_shape(shape)
    return shape


class _SlimScope(keras.layers.Layer):
    """What the ``encoder`` and ``decoder`` scopes share: the graph's settings, its blocks, its config."""

    def __init__(self, vae_def, latent_var_size, synchronized_batch_norm=False, weights_init=DEFAULT_WEIGHTS_INIT,
                 **kwargs):
        super().__init__(**kwargs)
        self.vae_def = vae_def
        self.latent_var_size = latent_var_size
        self.synchronized_batch_norm = synchronized_batch_norm
        self.weights_init = weights_init

    @property
    def blocks(self):
        """The conv, residual and upsampling layers in graph order."""
        return [getattr(self, name) for name in self._block_names]

    def get_config(self):
        config = super().get_config()
        config.update(vae_def=self.vae_def, latent_var_size=self.latent_var_size,
                      synchronized_batch_norm=self.synchronized_batch_norm, weights_init=self.weights_init)
        return config


@keras.saving.register_keras_serializable(package="facenet_vae")
class Encoder(_SlimScope):
    """facenet's ``encoder`` scope: convolutions, flatten, ``Fc_1`` (mean) and ``Fc_2`` (log-variance)."""

    def __init__(self, vae_def, latent_var_size, synchronized_batch_norm=False, weights_init=DEFAULT_WEIGHTS_INIT,
                 **kwargs):
        super().__init__(vae_def, latent_var_size, synchronized_batch_norm, weights_init, **kwargs)
        definition = get_definition(vae_def)
        _attach_blocks(self, _build_blocks(definition.encoder, "encoder", synchronized_batch_norm, weights_init))
        self.fc_mean = SlimDense(latent_var_size, slim_scope="encoder/Fc_1", weights_init=weights_init, name="Fc_1")
        self.fc_log_variance = SlimDense(latent_var_size, slim_scope="encoder/Fc_2", weights_init=weights_init,
                                         name="Fc_2")

    def build(self, input_shape):
        shape = _build_blocks_shapes(self.blocks, tuple(input_shape))
        flat = (shape[0], shape[1] * shape[2] * shape[3])
        self.fc_mean.build(flat)
        self.fc_log_variance.build(flat)

    def call(self, images, training=False):
        net = _run_blocks(self.blocks, images, training)
        net = ops.reshape(net, (ops.shape(net)[0], -1))
        return self.fc_mean(net), self.fc_log_variance(net)


@keras.saving.register_keras_serializable(package="facenet_vae")
class Decoder(_SlimScope):
    """facenet's ``decoder`` scope: ``Fc_1`` to 4x4x256, then upsampling convolutions to the image."""

    def __init__(self, vae_def, latent_var_size, synchronized_batch_norm=False, weights_init=DEFAULT_WEIGHTS_INIT,
                 **kwargs):
        super().__init__(vae_def, latent_var_size, synchronized_batch_norm, weights_init, **kwargs)
        definition = get_definition(vae_def)
        self.input_grid = tuple(definition.decoder_input_shape)
        units = self.input_grid[0] * self.input_grid[1] * self.input_grid[2]
        self.fc = SlimDense(units, slim_scope="decoder/Fc_1", weights_init=weights_init, name="Fc_1")
        _attach_blocks(self, _build_blocks(definition.decoder, "decoder", synchronized_batch_norm, weights_init))

    def build(self, input_shape):
        self.fc.build(tuple(input_shape))
        _build_blocks_shapes(self.blocks, (input_shape[0],) + self.input_grid)

    def call(self, latent, training=False):
        net = ops.reshape(self.fc(latent), (-1,) + self.input_grid)
        return _run_blocks(self.blocks, net, training)


@keras.saving.register_keras_serializable(package="facenet_vae")
class DfcVae(keras.Model):
    """A facenet DFC-VAE. ``encode``/``decode``/``call`` work in facenet's normalised space (see
    normalization); ``encode_pixels``/``decode_to_pixels``/``reconstruct_pixels`` on photos in 0..255.

    ``framing`` (a ``model.framing.Framing`` or its dict) records how photos were cropped and resized
    into training faces. It is decided before the model is built, held by the model's
    ``FaceConverter`` layer and saved with it, so every consumer frames photos the same way; it
    cannot be changed afterwards. None (models saved before framings were recorded): resize only.

    ``call(images)`` returns the reconstruction: decoded from the mean in inference, from a sampled
    latent when ``training=True`` (as facenet's graph did). ``forward`` also returns mean and
    log-variance for the training step.

    The model builds itself on construction (its shapes follow from the definition), so a saved
    model always holds its weights.
    """

    def __init__(self, vae_def=DEFAULT_VAE_DEF, latent_var_size=DEFAULT_LATENT_VAR_SIZE, synchronized_batch_norm=False,
                 weights_init=DEFAULT_WEIGHTS_INIT, framing=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(latent_var_size, numbers.Integral) or isinstance(latent_var_size, bool) \
                or latent_var_size <= 0:
            raise ValueError(f"latent_var_size must be a positive integer, got {latent_var_size!r}")
        latent_var_size = int(latent_var_size)
        definition = get_definition(vae_def)
        self.vae_def = vae_def
        self.latent_var_size = latent_var_size
        self.image_size = definition.image_size
        self.converter = FaceConverter(framing, image_size=self.image_size, name="face_converter")
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        # Only the initial values depend on it; not part of get_config, so saved models stay interchangeable.
        self.weights_init = weights_init
        self.encoder = Encoder(vae_def, latent_var_size, self.synchronized_batch_norm, weights_init, name="encoder")
        self.decoder = Decoder(vae_def, latent_var_size, self.synchronized_batch_norm, weights_init, name="decoder")
        self.build()

    # -- graph -------------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Create the weights (done on construction; later calls change nothing)."""
        if self.built:
            return
        batch = None if input_shape is None else input_shape[0]
        self.encoder.build((batch, self.image_size, self.image_size, 3))
        self.decoder.build((batch, self.latent_var_size))
        self.built = True

    def encode(self, images, training=False):
        """Return ``(mean, log_variance)``, float32, for normalised images."""
        mean, log_variance = self.encoder(images, training=training)
        return ops.cast(mean, "float32"), ops.cast(log_variance, "float32")

    def decode(self, latent, training=False):
        """Return normalised images (float32) decoded from latent vectors."""
        return ops.cast(self.decoder(latent, training=training), "float32")

    @property
    def framing(self):
        """The recorded ``Framing`` of the training faces, or None for a model saved without one."""
        return self.converter.framing if self.converter.recorded else None

    def encode_pixels(self, pixels):
        """Return float32 ``(mean, log_variance)`` in inference for NHWC photos in 0..255 of any size.

        Photos not at the model's size are framed as the training faces were (``converter``).
        """
        return self.encode(self.converter(pixels), training=False)

    def decode_to_pixels(self, latent):
        """Return uint8 images (N, S, S, 3) decoded in inference from latent vectors."""
        return self.converter.to_pixels(self.decode(latent, training=False))

    def reconstruct_pixels(self, pixels):
        """Return uint8 images decoded from the posterior means of NHWC photos in 0..255 of any size."""
        return self.decode_to_pixels(self.encode_pixels(pixels)[0])

    def sample_latent(self, mean, log_variance, seed=None, noise=None):
        """Return ``mean + eps * exp(log_variance / 2)``, eps ~ N(0, I), in float32.

        ``seed`` (an int, or a shape-[2] integer tensor) makes the draw stateless and repeatable;
        ``noise`` gives eps itself (mean's shape). The unseeded draw is TF's stateful op rather than
        Keras' global SeedGenerator, whose variable cannot be created inside a replica's
        tf.function under multi-worker strategies.
        """
        # exp(lv / 2), not sqrt(exp(lv)): exp underflows to 0 for lv < -88 and sqrt's gradient is then NaN.
        std = ops.exp(capped_log_variance(log_variance) / 2.0)
        if noise is not None:
            eps = ops.cast(noise, "float32")
        elif seed is None:
            eps = tf.random.normal(tf.shape(mean), dtype=tf.float32)
        else:
            if isinstance(seed, numbers.Integral):
                seed = (int(seed), 0)
            eps = tf.random.stateless_normal(tf.shape(mean), seed=seed, dtype=tf.float32)
        return mean + eps * std

    def forward(self, images, training=False, sample=None, seed=None, noise=None):
        """Return ``(reconstruction, mean, log_variance)``; samples the latent when ``sample`` (default: training).

        ``seed`` and ``noise`` are passed to ``sample_latent``.
        """
        sample = training if sample is None else sample
        mean, log_variance = self.encode(images, training=training)
        latent = self.sample_latent(mean, log_variance, seed=seed, noise=noise) if sample else mean
        return self.decode(latent, training=training), mean, log_variance

    def call(self, images, training=False):
        reconstruction, _, _ = self.forward(images, training=training)
        return reconstruction

    def slim_variables(self):
        """Return ``{slim checkpoint variable name: keras variable}`` for every model variable."""
        mapping = {}
        for layer in [*self.encoder.blocks, self.encoder.fc_mean, self.encoder.fc_log_variance,
                      self.decoder.fc, *self.decoder.blocks]:
            if hasattr(layer, "slim_variables"):
                mapping.update(layer.slim_variables())
        return mapping

    def get_config(self):
        config = super().get_config()
        config.update(vae_def=self.vae_def, latent_var_size=self.latent_var_size)
        if self.framing is not None:
            config["framing"] = self.framing.to_dict()
        if self.synchronized_batch_norm:
            config["synchronized_batch_norm"] = True
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("image_size", None)  # follows from vae_def
        return cls(**config)

    @classmethod
    def from_preset(cls, preset):
        """Return the model of a preset: a name in ``presets.PRESETS`` (``"celeba64"``) or a folder with model.keras."""
        return presets.load_preset(preset, cls)

    def save_to_preset(self, path):
        """Write this model as a preset folder at ``path`` (model.keras and config.json); returns ``path``."""
        return presets.save_preset(self, path)


def build_vae(vae_def=DEFAULT_VAE_DEF, latent_var_size=DEFAULT_LATENT_VAR_SIZE, weights_init=DEFAULT_WEIGHTS_INIT):
    """Return a built ``DfcVae`` for the facenet definition named ``vae_def``, initialised by ``weights_init``."""
    return DfcVae(vae_def=vae_def, latent_var_size=latent_var_size, weights_init=weights_init)
