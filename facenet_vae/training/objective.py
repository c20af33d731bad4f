"""The DFC-VAE objective: ``alfa * KL + beta * feature term + pixel_weight * pixel term``.

Layers named in ``feature_weights`` (the identity term: facenet-msceleb's embedding) are weighted by
their own factor instead of ``beta``.

An ``Objective`` holds the weights, the reduction and the frozen feature network, and names the
terms a training step reports (``term_names``). It is a plain object, not a Keras layer: the
feature network it holds is therefore no part of the VAE's weights or checkpoints.
"""
from keras import ops

from facenet_vae.training import losses
from facenet_vae.training.choices import PIXEL_SPACES, REDUCTIONS

TOTAL = "loss"


class Objective:
    """The loss of a DFC-VAE training step; ``terms(...)`` returns every term, float32, ``loss`` the total.

    ``feature_network`` maps normalised images to ``{layer name: feature map}`` (see
    ``feature_networks.FeatureExtractor``); without one the feature term is absent (facenet's PLAIN
    mode is ``pixel_weight=beta``). ``pixel_space`` is ``pixels`` (facenet's 0..255 error) or
    ``normalized`` (the error of the normalised images, per channel over its stddev). ``reduction`` is ``sum`` (facenet's, over the batch) or
    ``mean`` (per image); the KL is always the batch mean, as facenet's.
    """

    def __init__(self, alfa=1.0, beta=0.5, pixel_weight=0.0, reduction="sum", feature_network=None,
                 pixel_space="pixels", feature_weights=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"Unknown loss reduction {reduction!r}; choose one of {REDUCTIONS}")
        if pixel_space not in PIXEL_SPACES:
            raise ValueError(f"Unknown pixel-loss space {pixel_space!r}; choose one of {PIXEL_SPACES}")
        self.pixel_space = pixel_space
        self.alfa = float(alfa)
        self.beta = float(beta)
        self.pixel_weight = float(pixel_weight)
        self.reduction = reduction
        self.feature_network = feature_network
        self.feature_weights = {name: float(weight) for name, weight in (feature_weights or {}).items()}
        unknown = set(self.feature_weights) - set(self.feature_layer_names)
        if unknown:
            raise ValueError(f"feature weights for layers the feature network lacks: {sorted(unknown)}")

    @property
    def feature_layer_names(self):
        """The feature layers whose terms the objective reports (empty without a feature network)."""
        return list(self.feature_network.layer_names) if self.feature_network is not None else []

    @property
    def term_names(self):
        """The names of the reported terms: total, KL, weighted reconstruction, pixel, one per feature layer."""
        return [TOTAL, "kl_loss", "reconstruction_loss", "pixel_loss"] + [
            f"{name}_loss" for name in self.feature_layer_names]

    def terms(self, images, reconstruction, mean, log_variance, global_batch_size=None, feature_targets=None):
        """Return ``{term name: float32 scalar}`` for one (replica's share of a) batch; ``loss`` is the total.

        ``global_batch_size``: the batch over all replicas, so that replicas' terms add up to the
        single-device objective (default: this batch's size). ``feature_targets``: the images whose
        features the reconstruction's are compared with (facenet's full-size crops), else ``images``.
        """
        terms = {"kl_loss": losses.kl_loss(mean, log_variance, global_batch_size),
                 "pixel_loss": losses.pixel_loss(images, reconstruction, self.reduction, global_batch_size,
                                                 self.pixel_space)}
        reconstruction_term = self.pixel_weight * terms["pixel_loss"]
        if self.feature_network is not None:
            # The target's features need no gradient: computed forward-only, so the feature
            # network's backward pass runs over the reconstruction alone.
            targets = images if feature_targets is None else feature_targets
            target_features = self.feature_network(ops.stop_gradient(ops.cast(targets, "float32")))
            reconstructed_features = self.feature_network(ops.cast(reconstruction, "float32"))
            for name in self.feature_layer_names:
                term = losses.feature_loss(ops.stop_gradient(target_features[name]), reconstructed_features[name],
                                           self.reduction, global_batch_size)
                terms[f"{name}_loss"] = term
                reconstruction_term = reconstruction_term + self.feature_weights.get(name, self.beta) * term
        terms["reconstruction_loss"] = reconstruction_term
        terms[TOTAL] = self.alfa * terms["kl_loss"] + terms["reconstruction_loss"]
        return terms

    def per_image(self, values, batch_size):
        """Return reported terms (``{name: float}``, summed over ``batch_size`` images) as per-image values.

        The KL is already a batch mean; with ``reduction="mean"`` every term already is.
        """
        if self.reduction == "mean":
            return dict(values)
        per_image = {name: (value if name == "kl_loss" else value / batch_size) for name, value in values.items()}
        if TOTAL in values and "kl_loss" in values and "reconstruction_loss" in values:
            per_image[TOTAL] = self.alfa * values["kl_loss"] + values["reconstruction_loss"] / batch_size
        return per_image

    def describe(self):
        """Return a one-line description, e.g. ``1.0 * KL + 0.5 * pixel (sum over batch)``."""
        parts = [f"{self.alfa} * KL"]
        if self.feature_network is not None:
            by_beta = [name for name in self.feature_layer_names if name not in self.feature_weights]
            if by_beta:
                parts.append(f"{self.beta} * features[{', '.join(by_beta)}]")
            parts += [f"{weight} * {name}" for name, weight in self.feature_weights.items()]
        if self.pixel_weight or self.feature_network is None:
            parts.append(f"{self.pixel_weight} * pixel" + (" (normalized)" if self.pixel_space == "normalized" else ""))
        return f"{' + '.join(parts)} ({self.reduction} over batch)"
