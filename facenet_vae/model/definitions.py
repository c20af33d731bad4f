"""The three facenet VAE definitions, as data, chosen by name from a registry.

facenet picked a definition by importing a user-supplied module path; here a definition is only
ever looked up by name in ``VAE_DEFINITIONS``.
"""
from dataclasses import dataclass, field

# Initial kernels: "fan_in" (scaled to each layer's fan-in, PyTorch's default) or "facenet" (its
# truncated normal, stddev 0.1); see layers.slim_weights_initializer.
WEIGHTS_INITS = ("fan_in", "facenet")
DEFAULT_WEIGHTS_INIT = "fan_in"
DEFAULT_LATENT_VAR_SIZE = 100
# slim batch norm in every conv of the graphs (layers.SlimBatchNorm): decay and epsilon.
BATCH_NORM_DECAY = 0.995
BATCH_NORM_EPSILON = 1e-3
# exp(20) ~ 5e8: far beyond any sensible posterior variance (the prior has 1). Capping keeps the KL,
# the sampled latents and Adam's squared gradients finite in float32 even when facenet's
# initialisation starts with log-variances in the tens.
MAX_LOG_VARIANCE = 20.0
# The two sides a face has: ``image_size`` (the model's, per definition) and ``crop_size``, facenet's
# crop of a photo before the resize to the model's side (its --input_image_size), which its
# feature network also sees.
DEFAULT_CROP_SIZE = 160


@dataclass(frozen=True)
class Conv:
    """A slim conv2d + batch norm (+ leaky ReLU when ``activation``)."""
    scope: str
    filters: int
    kernel_size: int
    strides: int = 1
    activation: bool = True


@dataclass(frozen=True)
class Residual:
    """``slim.repeat(net, repeats, conv2d_block, 0.1, filters, kernel_size, 1)`` under ``scope``."""
    scope: str
    filters: int
    kernel_size: int
    repeats: int = 3


@dataclass(frozen=True)
class Upsample:
    """``tf.image.resize_nearest_neighbor`` to twice the size."""
    scope: str


@dataclass(frozen=True)
class VaeDefinition:
    """Everything that tells one facenet VAE graph from another."""
    name: str
    image_size: int
    encoder: tuple
    decoder: tuple
    decoder_input_shape: tuple = (4, 4, 256)
    description: str = field(default="", compare=False)


def _encoder_stage(index, filters, residual):
    stage = [Conv(f"Conv2d_{index}a" if residual else f"Conv2d_{index}", filters, 4, 2)]
    if residual:
        stage.append(Residual(f"Conv2d_{index}b", filters, 4))
    return stage


def _decoder_stage(index, filters, residual, activation=True):
    stage = [Upsample(f"Upsample_{index}"),
             Conv(f"Conv2d_{index}a" if residual else f"Conv2d_{index}", filters, 3, 1, activation)]
    if residual:
        stage.append(Residual(f"Conv2d_{index}b", filters, 3))
    return stage


def _dfc_vae():
    encoder = [layer for i, f in enumerate((32, 64, 128, 256), 1) for layer in _encoder_stage(i, f, False)]
    decoder = []
    for i, f in enumerate((128, 64, 32, 3), 1):
        decoder += _decoder_stage(i, f, False, activation=i < 4)
    return VaeDefinition("dfc_vae", 64, tuple(encoder), tuple(decoder),
                         description="facenet dfc_vae: 4 strided convs, 64x64")


def _dfc_vae_resnet():
    encoder = [layer for i, f in enumerate((32, 64, 128, 256), 1) for layer in _encoder_stage(i, f, True)]
    decoder = [layer for i, f in enumerate((128, 64, 32, 3), 1) for layer in _decoder_stage(i, f, True)]
    decoder.append(Conv("Conv2d_4c", 3, 3, 1, activation=False))
    return VaeDefinition("dfc_vae_resnet", 64, tuple(encoder), tuple(decoder),
                         description="facenet dfc_vae_resnet: strided convs + scaled residual blocks, 64x64")


def _dfc_vae_large():
    encoder = [layer for i, f in enumerate((32, 64, 128, 256, 512), 1) for layer in _encoder_stage(i, f, False)]
    decoder = []
    for i, f in enumerate((128, 64, 32, 3, 3), 1):
        decoder += _decoder_stage(i, f, False, activation=i < 5)
    return VaeDefinition("dfc_vae_large", 128, tuple(encoder), tuple(decoder),
                         description="facenet dfc_vae_large: 5 strided convs, 128x128")


VAE_DEFINITIONS = {d.name: d for d in (_dfc_vae(), _dfc_vae_resnet(), _dfc_vae_large())}
DEFAULT_VAE_DEF = "dfc_vae_resnet"


def get_definition(vae_def):
    """Return the ``VaeDefinition`` registered as ``vae_def``; ValueError naming the choices otherwise."""
    if not isinstance(vae_def, str) or vae_def not in VAE_DEFINITIONS:
        raise ValueError(f"Unknown vae_def {vae_def!r}; choose one of {sorted(VAE_DEFINITIONS)}. "
                         "Definitions are picked by name, never imported from a module path.")
    return VAE_DEFINITIONS[vae_def]
