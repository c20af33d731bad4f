"""``VaeTrainer``: the Keras model whose ``train_step`` trains a ``DfcVae`` on an ``Objective``.

``fit`` runs on the trainer; the ``DfcVae`` it wraps (``trainer.vae``) is what checkpoints and
model files hold. Trackers are made in ``__init__`` and listed in ``metrics``, as in the Keras
VAE example, one ``keras.metrics.Mean`` per term the objective reports.
"""
import keras
import numpy as np
import tensorflow as tf


class VaeTrainer(keras.Model):
    """Trains ``vae`` on ``objective``; ``sampling_seed`` (default: drawn from numpy's global generator) keys
    the latent noise of every step.

    The noise of a step is a function of (seed, step, replica) alone: the same in every process and
    after a resume, and different on each replica.
    """

    def __init__(self, vae, objective, sampling_seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vae = vae
        # A plain object: its feature network stays out of the VAE's weights and checkpoints.
        self.objective = objective
        self.sampling_seed = int(np.random.randint(2**31 - 1) if sampling_seed is None else sampling_seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in objective.term_names}
        self.built = True

    @property
    def metrics(self):
        """The loss trackers, reset by Keras at the start of every epoch."""
        return list(self.trackers.values())

    def call(self, images, training=False):
        return self.vae(images, training=training)

    def train_step(self, data):
        images = _images_from(data)
        with tf.GradientTape() as tape:
            reconstruction, mean, log_variance = self.vae.forward(images, training=True, seed=self._step_seed())
            terms = self.objective.terms(images, reconstruction, mean, log_variance, _global_batch_size(images))
            scaled_loss = self.optimizer.scale_loss(terms["loss"])
        variables = self.vae.trainable_variables
        gradients = tape.gradient(scaled_loss, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        # Loss scaling skips a float16 step whose loss overflowed; keep it out of the metrics too.
        skips_nonfinite = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        return self._update_trackers(terms, only_if_finite=skips_nonfinite)

    def test_step(self, data):
        images = _images_from(data)
        reconstruction, mean, log_variance = self.vae.forward(images, training=False, sample=True)
        return self._update_trackers(self.objective.terms(images, reconstruction, mean, log_variance,
                                                          _global_batch_size(images)))

    def _step_seed(self):
        context = tf.distribute.get_replica_context()
        replica = 0 if context is None else context.replica_id_in_sync_group
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        step = tf.cast(self.optimizer.iterations, tf.int64) * replicas + tf.cast(replica, tf.int64)
        return tf.stack([tf.constant(self.sampling_seed, tf.int64), step])

    def _update_trackers(self, terms, only_if_finite=False):
        # Each replica's terms are its share of the global objective; scale them back up for the
        # metrics, which average over replicas.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync

        def update():
            for name, tracker in self.trackers.items():
                tracker.update_state(terms[name] * replicas)
            return tf.constant(True)

        if only_if_finite:
            tf.cond(tf.math.is_finite(terms["loss"]), update, lambda: tf.constant(False))
        else:
            update()
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker logs with strategy.reduce(MEAN, axis=0), which needs a batch axis.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs


def _images_from(data):
    return data[0] if isinstance(data, (tuple, list)) else data


def _global_batch_size(images):
    return tf.shape(images)[0] * tf.distribute.get_strategy().num_replicas_in_sync
