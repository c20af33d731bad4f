"""The adversarial term: a patch discriminator that tells real faces from reconstructions (facenet has none).

``--adversarial_weight`` > 0 adds ``weight * generator hinge loss`` to the VAE's objective and trains
the discriminator alongside it on the hinge loss (Lim & Ye 2017; Miyato et al. 2018), one step of each
per batch. Pixel and feature terms pull a face towards the average of the faces that could have
produced its code, which is blur; the discriminator penalises blur itself, so the decoder is pushed to
draw detail. The discriminator judges overlapping 38x38 patches (an 8x8 grid of logits) (a PatchGAN, Isola et al. 2017), and
spectral normalisation keeps its gradients bounded, so one fixed weight holds across a run.

The discriminator is trained but not shipped: checkpoints hold it (a resume continues it), the
model files do not.
"""
import keras
from keras import layers, ops

from facenet_vae.training.choices import REDUCTIONS

DISCRIMINATOR_WIDTHS = (64, 128, 256)   # channels of the stride-2 convolutions: 64 -> 32 -> 16 -> 8
DISCRIMINATOR_ADAM = {"beta_1": 0.5, "beta_2": 0.9}   # the usual GAN settings: a short memory of the moments
# The names of the two terms a training step reports (trackers, progress line, logs).
GENERATOR_TERM = "adversarial_loss"
DISCRIMINATOR_TERM = "discriminator_loss"


def build_patch_discriminator(image_size, name="patch_discriminator"):
    """Return a spectrally normalised PatchGAN over normalised ``image_size`` faces; its output is (batch, n, n, 1) logits."""
    model = keras.Sequential(name=name)
    model.add(keras.Input((image_size, image_size, 3)))
    for width in DISCRIMINATOR_WIDTHS:
        model.add(layers.SpectralNormalization(layers.Conv2D(width, 4, strides=2, padding="same")))
        model.add(layers.LeakyReLU(0.2))
    model.add(layers.SpectralNormalization(layers.Conv2D(1, 3, padding="same")))
    return model


def generator_hinge_loss(fake_logits):
    """Return ``-mean(D(fake))`` per image (float32): lower when the discriminator takes reconstructions for real."""
    return -ops.mean(ops.cast(fake_logits, "float32"))


def discriminator_hinge_loss(real_logits, fake_logits):
    """Return ``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))`` (float32): 0 once every patch is told apart by a margin."""
    real = ops.mean(ops.relu(1.0 - ops.cast(real_logits, "float32")))
    fake = ops.mean(ops.relu(1.0 + ops.cast(fake_logits, "float32")))
    return real + fake


class Adversary:
    """The discriminator, its own Adam and the term's weight; ``weight`` 0 is facenet's objective (no adversary).

    Until step ``start_step`` the discriminator trains alone and the VAE does not see it: a new
    discriminator's gradients point nowhere in particular, and Adam turns a small but steady push
    into a large one (fine-tuning the shipped model with it on from step 0 turned its faces grey-blue
    within 200 steps; docs/training.md).

    ``reduction`` follows the objective's: ``mean`` gives the generator term per image, ``sum``
    (facenet's scale) the same summed over the batch, so ``weight`` means the same against the
    other terms under either.
    """

    def __init__(self, image_size, weight, learning_rate, reduction="mean", start_step=0):
        if reduction not in REDUCTIONS:
            raise ValueError(f"Unknown loss reduction {reduction!r}; choose one of {REDUCTIONS}")
        self.weight = float(weight)
        self.start_step = int(start_step)
        self.reduction = reduction
        self.discriminator = build_patch_discriminator(image_size)
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate, **DISCRIMINATOR_ADAM)
        self.optimizer.build(self.discriminator.trainable_variables)

    def weight_at(self, step):
        """Return the term's weight at optimizer step ``step``: 0 before ``start_step``, while the discriminator learns alone."""
        return ops.where(ops.greater_equal(step, self.start_step), self.weight, 0.0)

    def generator_term(self, reconstruction, global_batch_size):
        """Return this replica's share of the generator hinge loss, in the objective's reduction (unweighted)."""
        logits = self.discriminator(reconstruction, training=False)
        local = ops.cast(ops.shape(reconstruction)[0], "float32")
        share = generator_hinge_loss(logits) * local / ops.cast(global_batch_size, "float32")
        return share * ops.cast(global_batch_size, "float32") if self.reduction == "sum" else share

    def discriminator_loss(self, images, reconstruction, global_batch_size):
        """Return this replica's share of the discriminator's hinge loss on real ``images`` and ``reconstruction``."""
        real_logits = self.discriminator(images, training=True)
        fake_logits = self.discriminator(ops.stop_gradient(reconstruction), training=True)
        local = ops.cast(ops.shape(images)[0], "float32")
        return discriminator_hinge_loss(real_logits, fake_logits) * local / ops.cast(global_batch_size, "float32")

    def checkpoint_items(self):
        """Return the objects a training checkpoint keeps for a resume: the discriminator and its optimizer."""
        return {"discriminator": self.discriminator, "discriminator_optimizer": self.optimizer}
