"""``TorchDfcVae``: a ``VaeDefinition`` as a PyTorch module with the semantics of ``model.layers``.

Convolutions pad as TensorFlow's SAME (the extra row and column at the end), batch norm has beta and
no gamma (``functional.batch_norm``'s running variance is the unbiased one, as TF1's fused op keeps), the
leaky ReLU is ``max(0.1 x, x)``, residual blocks add ``0.1 *`` their branch, upsampling is nearest
and flattening is in NHWC order, so slim-named weights move between the two models unchanged.
"""
import math

import numpy as np
import torch
from torch.nn import functional
from torch import nn

from facenet_vae.model.definitions import (BATCH_NORM_DECAY, BATCH_NORM_EPSILON, MAX_LOG_VARIANCE, Conv, Residual,
                                           Upsample, get_definition)

LEAKY_SLOPE = 0.1
RESIDUAL_SCALE = 0.1


def same_padding(x, kernel_size, stride):
    """Return NCHW ``x`` padded as TensorFlow's ``padding="same"`` pads it for this kernel and stride."""
    pads = []
    for side in (x.shape[-1], x.shape[-2]):  # functional.pad lists the last axis first
        out = -(-side // stride)
        total = max((out - 1) * stride + kernel_size - side, 0)
        pads += [total // 2, total - total // 2]
    return functional.pad(x, pads)


class SlimConv(nn.Module):
    """conv (no bias, SAME) -> batch norm (beta, no gamma) -> optional leaky ReLU, named by its slim scope."""

    def __init__(self, in_channels, filters, kernel_size, stride, activation, scope):
        super().__init__()
        self.kernel_size, self.stride, self.activation, self.scope = kernel_size, stride, activation, scope
        self.weight = nn.Parameter(torch.zeros(filters, in_channels, kernel_size, kernel_size))
        self.beta = nn.Parameter(torch.zeros(filters))
        self.register_buffer("moving_mean", torch.zeros(filters))
        self.register_buffer("moving_variance", torch.ones(filters))
        # No gamma in slim's batch norm; a fixed 1 rather than None, whose CUDA backward fails.
        self.register_buffer("gamma", torch.ones(filters), persistent=False)

    def forward(self, x):
        """Return the block's output for NCHW ``x``."""
        x = functional.conv2d(same_padding(x, self.kernel_size, self.stride), self.weight, stride=self.stride)
        x = functional.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, self.training,
                         1.0 - BATCH_NORM_DECAY, BATCH_NORM_EPSILON)
        return functional.leaky_relu(x, LEAKY_SLOPE) if self.activation else x

    def slim_tensors(self):
        """Return ``{slim name: tensor}`` with the kernel in Keras' HWIO layout."""
        return {f"{self.scope}/weights": self.weight.permute(2, 3, 1, 0),
                f"{self.scope}/BatchNorm/beta": self.beta,
                f"{self.scope}/BatchNorm/moving_mean": self.moving_mean,
                f"{self.scope}/BatchNorm/moving_variance": self.moving_variance}

    def load_slim(self, arrays):
        """Copy this block's slim-named arrays (Keras layouts) in."""
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(arrays[f"{self.scope}/weights"]).permute(3, 2, 0, 1))
            for name in ("beta", "moving_mean", "moving_variance"):
                getattr(self, name).copy_(torch.from_numpy(arrays[f"{self.scope}/BatchNorm/{name}"]))


class ScaledResidual(SlimConv):
    """facenet's ``conv2d_block``: ``x + 0.1 * SlimConv(x)``."""

    def forward(self, x):
        """Return ``x`` plus the scaled branch."""
        return x + RESIDUAL_SCALE * super().forward(x)


class SlimDense(nn.Linear):
    """``Fc_*``: a linear layer whose slim kernel is Keras' (inputs, units)."""

    def __init__(self, in_features, units, scope):
        super().__init__(in_features, units)
        self.scope = scope

    def slim_tensors(self):
        """Return ``{slim name: tensor}`` in Keras' layouts."""
        return {f"{self.scope}/weights": self.weight.t(), f"{self.scope}/biases": self.bias}

    def load_slim(self, arrays):
        """Copy this layer's slim-named arrays in."""
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(arrays[f"{self.scope}/weights"]).t())
            self.bias.copy_(torch.from_numpy(arrays[f"{self.scope}/biases"]))


def _blocks(specs, prefix, in_channels):
    blocks = []
    for spec in specs:
        if isinstance(spec, Conv):
            blocks.append(SlimConv(in_channels, spec.filters, spec.kernel_size, spec.strides, spec.activation,
                                   f"{prefix}/{spec.scope}"))
            in_channels = spec.filters
        elif isinstance(spec, Residual):
            blocks += [ScaledResidual(in_channels, spec.filters, spec.kernel_size, 1, True,
                                      f"{prefix}/{spec.scope}/{spec.scope}_{i}") for i in range(1, spec.repeats + 1)]
        elif isinstance(spec, Upsample):
            blocks.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            raise TypeError(f"Unknown layer spec {spec!r}")
    return nn.Sequential(*blocks), in_channels


class TorchDfcVae(nn.Module):
    """A facenet VAE graph (``vae_def``) in PyTorch: ``encode``, ``decode``, ``sample_latent``, NCHW normalised images."""

    def __init__(self, vae_def, latent_var_size):
        super().__init__()
        definition = get_definition(vae_def)
        self.vae_def, self.latent_var_size = vae_def, latent_var_size
        self.encoder_blocks, channels = _blocks(definition.encoder, "encoder", 3)
        side = definition.image_size // 2 ** sum(isinstance(s, Conv) and s.strides == 2 for s in definition.encoder)
        self.fc_mean = SlimDense(side * side * channels, latent_var_size, "encoder/Fc_1")
        self.fc_log_variance = SlimDense(side * side * channels, latent_var_size, "encoder/Fc_2")
        self.input_grid = tuple(definition.decoder_input_shape)
        self.fc = SlimDense(latent_var_size, int(np.prod(self.input_grid)), "decoder/Fc_1")
        self.decoder_blocks, _ = _blocks(definition.decoder, "decoder", self.input_grid[2])

    def encode(self, images):
        """Return ``(mean, log_variance)`` of NCHW normalised images."""
        net = self.encoder_blocks(images)
        net = net.permute(0, 2, 3, 1).reshape(net.shape[0], -1)
        return self.fc_mean(net), self.fc_log_variance(net)

    def decode(self, latent):
        """Return NCHW normalised images decoded from latent vectors."""
        net = self.fc(latent).reshape((-1,) + self.input_grid).permute(0, 3, 1, 2)
        return self.decoder_blocks(net)

    def sample_latent(self, mean, log_variance, noise):
        """Return ``mean + noise * exp(capped log_variance / 2)``."""
        return mean + noise * torch.exp(capped_log_variance(log_variance) / 2.0)

    def initialise_fan_in(self, generator=None):
        """Draw every kernel as ``--weights_init=fan_in`` does (uniform in +-1/sqrt(fan_in)); zero betas and biases."""
        with torch.no_grad():
            for layer in self._slim_layers():
                limit = 1.0 / math.sqrt(layer.weight[0].numel())
                layer.weight.uniform_(-limit, limit, generator=generator)
                (layer.beta if isinstance(layer, SlimConv) else layer.bias).zero_()

    def _slim_layers(self):
        return [m for m in self.modules() if isinstance(m, (SlimConv, SlimDense))]

    def slim_arrays(self):
        """Return ``{slim variable name: float32 numpy array}`` in Keras layouts (what ``keras_bridge`` reads)."""
        return {name: tensor.detach().float().cpu().contiguous().numpy()
                for layer in self._slim_layers() for name, tensor in layer.slim_tensors().items()}

    def load_slim_arrays(self, arrays):
        """Load every weight from ``{slim name: array}``; KeyError naming the first one missing."""
        for layer in self._slim_layers():
            layer.load_slim(arrays)


def capped_log_variance(log_variance):
    """``min(lv, MAX_LOG_VARIANCE)`` with gradient 1 everywhere, as ``model.graph.capped_log_variance``."""
    return log_variance - torch.relu(log_variance - MAX_LOG_VARIANCE).detach()
