"""``VaeTrainer``: the Keras model whose ``train_step`` trains a ``DfcVae`` on an ``Objective``.

``fit`` runs on the trainer; the ``DfcVae`` it wraps (``trainer.vae``) is what checkpoints and
model files hold. Trackers are made in ``__init__`` and listed in ``metrics``, as in the Keras
VAE example, one ``keras.metrics.Mean`` per term the objective reports.
"""
import keras
import numpy as np
import tensorflow as tf

from facenet_vae.training.adversary import DISCRIMINATOR_TERM, GENERATOR_TERM
from facenet_vae.training.objective import TOTAL


class VaeTrainer(keras.Model):
    """Trains ``vae`` on ``objective``; ``sampling_seed`` (default: drawn from numpy's global generator) keys
    the latent noise of every step.

    The noise of an image is a function of (seed, step, its place in the global batch) alone: the
    same in every process, after a resume and under any number of replicas.
    """

    def __init__(self, vae, objective, sampling_seed=None, adversary=None, **kwargs):
        super().__init__(**kwargs)
        self.vae = vae
        # Plain objects: the feature network and the discriminator stay out of the VAE's weights; the
        # discriminator is checkpointed by the run (``adversary.checkpoint_items``).
        self.objective = objective
        self.adversary = adversary
        self.sampling_seed = int(np.random.randint(2**31 - 1) if sampling_seed is None else sampling_seed)
        names = list(objective.term_names) + ([GENERATOR_TERM, DISCRIMINATOR_TERM] if adversary is not None else [])
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.built = True

    @property
    def metrics(self):
        """The loss trackers, reset by Keras at the start of every epoch."""
        return list(self.trackers.values())

    def call(self, images, training=False):
        """Return the VAE's reconstruction of ``images``."""
        return self.vae(images, training=training)

    def train_step(self, data):
        """One optimiser step on the objective (float32 terms, loss-scaled); returns the trackers' means.

        ``data`` is a batch of normalised images, or ``(images, feature targets)``.
        """
        images, targets = _images_and_targets(data)
        with tf.GradientTape() as tape:
            mean, log_variance = self.vae.encode(images, training=True)
            latent = self.vae.sample_latent(mean, log_variance, noise=self._latent_noise(mean))
            reconstruction = self.vae.decode(latent, training=True)
            terms = self.objective.terms(images, reconstruction, mean, log_variance, _global_batch_size(images),
                                         feature_targets=targets)
            if self.adversary is not None:
                terms[GENERATOR_TERM] = self.adversary.generator_term(reconstruction, _global_batch_size(images))
                weight = self.adversary.weight_at(self.optimizer.iterations)
                terms[TOTAL] = terms[TOTAL] + weight * terms[GENERATOR_TERM]
            scaled_loss = self.optimizer.scale_loss(terms[TOTAL])
        variables = self.vae.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        if self.adversary is not None:
            terms[DISCRIMINATOR_TERM] = self._discriminator_step(images, reconstruction)
        # Loss scaling skips a float16 step whose loss overflowed; keep it out of the metrics too.
        skips_nonfinite = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        return self._update_trackers(terms, only_if_finite=skips_nonfinite)

    def _discriminator_step(self, images, reconstruction):
        """One step of the discriminator on real ``images`` against this step's reconstructions; returns its loss."""
        discriminator = self.adversary.discriminator
        with tf.GradientTape() as tape:
            loss = self.adversary.discriminator_loss(images, reconstruction, _global_batch_size(images))
        variables = discriminator.trainable_variables
        self.adversary.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def test_step(self, data):
        """The objective on a batch without a weight update (inference batch norm, sampled latents)."""
        images, targets = _images_and_targets(data)
        reconstruction, mean, log_variance = self.vae.forward(images, training=False, sample=True)
        return self._update_trackers(self.objective.terms(images, reconstruction, mean, log_variance,
                                                          _global_batch_size(images), feature_targets=targets))

    def _latent_noise(self, mean):
        """Return this replica's rows of the global batch's N(0, I) noise, drawn statelessly from (seed, step)."""
        context = tf.distribute.get_replica_context()
        replica = 0 if context is None else context.replica_id_in_sync_group
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        local = tf.shape(mean)[0]
        seed = tf.stack([tf.constant(self.sampling_seed, tf.int64), tf.cast(self.optimizer.iterations, tf.int64)])
        noise = tf.random.stateless_normal(tf.stack([local * replicas, tf.shape(mean)[1]]), seed=seed)
        return noise[replica * local:(replica + 1) * local]

    def _update_trackers(self, terms, only_if_finite=False):
        # Each replica's terms are its share of the global objective; scale them back up for the
        # metrics, which average over replicas.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        def update():
            for name, tracker in self.trackers.items():
                if name in terms:   # test_step has no adversarial terms
                    tracker.update_state(terms[name] * replicas)
            return tf.constant(True)

        if only_if_finite:
            tf.cond(tf.math.is_finite(terms[TOTAL]), update, lambda: tf.constant(False))
        else:
            update()
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker logs with strategy.reduce(MEAN, axis=0), which needs a batch axis.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs


def _images_and_targets(data):
    """Split a batch into (images, feature targets or None)."""
    if isinstance(data, (tuple, list)):
        return data[0], (data[1] if len(data) > 1 else None)
    return data, None


def _global_batch_size(images):
    return tf.shape(images)[0] * tf.distribute.get_strategy().num_replicas_in_sync
