"""The recipe's objective in PyTorch: ``alfa * KL + beta * FaceNet-stem features + pixel_weight * pixels``.

The same terms as ``training.objective.Objective`` with ``--loss_reduction=mean``, ``--pixel_space=pixels``
and ``--feature_target=model_input``: the stem sees the normalised 64x64 faces resized to
``crop_size`` by TF1's bilinear resize (no half-pixel centres), as ``FeatureExtractor`` feeds it,
and its batch norm runs on its moving statistics.
"""
import numpy as np
import torch
from torch.nn import functional

from facenet_vae.model.celeba_statistics import IMG_STDDEV
from facenet_vae.torch_replica.graph import capped_log_variance
from facenet_vae.training.choices import FACENET_BN_EPSILON, FACENET_STEM_LAYERS, FACENET_STEM_SPECS


def tf1_bilinear_matrix(in_size, out_size):
    """Return the (out, in) float32 matrix of TF1's ``ResizeBilinear`` (align_corners=False, no half-pixel centres)."""
    matrix = np.zeros((out_size, in_size), np.float32)
    scale = in_size / out_size
    for i in range(out_size):
        source = i * scale
        low = int(np.floor(source))
        high = min(low + 1, in_size - 1)
        fraction = source - low
        matrix[i, low] += 1.0 - fraction
        matrix[i, high] += fraction
    return matrix


class FacenetStem(torch.nn.Module):
    """The frozen FaceNet stem: ``forward(NCHW normalised faces)`` returns each layer's features, in order."""

    def __init__(self, stem_arrays, image_size, crop_size):
        super().__init__()
        self.register_buffer("resize", torch.from_numpy(tf1_bilinear_matrix(image_size, crop_size)))
        self.layers = []
        for name in FACENET_STEM_LAYERS:
            _, stride, padding = FACENET_STEM_SPECS[name]
            tensors = {key: torch.from_numpy(np.asarray(stem_arrays[f"{name}/{key}"], np.float32))
                       for key in ("kernel", "beta", "moving_mean", "moving_variance")}
            tensors["gamma"] = torch.ones_like(tensors["beta"])  # no gamma; 1 rather than None (CUDA backward)
            for key, tensor in tensors.items():
                self.register_buffer(f"{name}_{key}", tensor)
            self.layers.append((name, stride, padding))

    def forward(self, images):
        """Return ``[features of each stem layer]`` (NCHW) of NCHW normalised images."""
        x = torch.matmul(torch.matmul(self.resize, images), self.resize.t())
        features = []
        for name, stride, padding in self.layers:
            kernel = getattr(self, f"{name}_kernel").permute(3, 2, 0, 1)
            x = functional.conv2d(x, kernel, stride=stride, padding=1 if padding == "same" else 0)
            x = functional.batch_norm(x, getattr(self, f"{name}_moving_mean"), getattr(self, f"{name}_moving_variance"),
                             getattr(self, f"{name}_gamma"), getattr(self, f"{name}_beta"), False, 0.0,
                             FACENET_BN_EPSILON)
            x = torch.relu(x)
            features.append(x)
        return features


class RecipeObjective(torch.nn.Module):
    """``terms(images, reconstruction, mean, log_variance)``: every term as a float32 scalar, ``loss`` the total."""

    def __init__(self, stem, alfa, beta, pixel_weight):
        super().__init__()
        self.stem = stem
        self.alfa, self.beta, self.pixel_weight = float(alfa), float(beta), float(pixel_weight)
        self.register_buffer("stddev", torch.from_numpy(IMG_STDDEV).reshape(1, 3, 1, 1))

    def terms(self, images, reconstruction, mean, log_variance):
        """Return ``{term: scalar}`` for one batch (every term a mean over the batch, as ``reduction="mean"``)."""
        batch = images.shape[0]
        log_variance = capped_log_variance(log_variance.float())
        kl = 0.5 * torch.sum(torch.exp(log_variance) + mean.float() ** 2 - 1.0 - log_variance) / batch
        pixel = torch.sum(((images - reconstruction.float()) * self.stddev) ** 2) / batch
        with torch.no_grad():
            target_features = self.stem(images)
        reconstructed_features = self.stem(reconstruction.float())
        terms = {"kl_loss": kl, "pixel_loss": pixel}
        feature_term = 0.0
        for name, target, reconstructed in zip(FACENET_STEM_LAYERS, target_features, reconstructed_features):
            terms[f"{name}_loss"] = torch.sum((target - reconstructed) ** 2) / batch
            feature_term = feature_term + terms[f"{name}_loss"]
        terms["reconstruction_loss"] = self.beta * feature_term + self.pixel_weight * pixel
        terms["loss"] = self.alfa * kl + terms["reconstruction_loss"]
        return terms
