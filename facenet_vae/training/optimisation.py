"""The optimiser of a run: facenet's Adam on its exponential (default) or a cosine learning-rate schedule, and precision."""
import keras

from facenet_vae.training.choices import COSINE_WARMUP_FRACTION


def set_precision_policy(mixed_precision):
    """Set Keras' global dtype policy for ``none|float16|bfloat16``; returns the policy name."""
    name = {"none": "float32", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}[mixed_precision]
    keras.mixed_precision.set_global_policy(name)
    return name


def make_learning_rate_schedule(config):
    """Return the learning-rate schedule: facenet's exponential, or cosine (warm-up, then decay to 0 at max_nrof_steps).

    ``cosine`` rises linearly from 0 to ``initial_learning_rate`` over the first 2% of the steps and
    falls to 0 at ``max_nrof_steps``: for a fixed budget the weights settle at the end instead of
    still moving at full speed. ``exponential`` is facenet's staircase decay by
    ``learning_rate_decay_factor`` every ``learning_rate_decay_steps`` (constant with facenet's 1.0).
    """
    if config.learning_rate_schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            config.initial_learning_rate, config.learning_rate_decay_steps, config.learning_rate_decay_factor,
            staircase=True)
    warmup = max(1, round(COSINE_WARMUP_FRACTION * config.max_nrof_steps))
    return keras.optimizers.schedules.CosineDecay(
        0.0, max(1, config.max_nrof_steps - warmup), alpha=0.0, warmup_target=config.initial_learning_rate,
        warmup_steps=warmup)


def make_optimizer(config):
    """Return facenet's Adam (TF1 epsilon) on ``make_learning_rate_schedule``, loss-scaled under float16."""
    schedule = make_learning_rate_schedule(config)
    # TF1's AdamOptimizer epsilon, which facenet trained with.
    optimizer = keras.optimizers.Adam(learning_rate=schedule, epsilon=1e-8)
    if config.mixed_precision == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def current_learning_rate(optimizer):
    """Return the optimizer's learning rate at its current iteration as a float."""
    learning_rate = optimizer.learning_rate
    if callable(learning_rate):
        learning_rate = learning_rate(optimizer.iterations)
    return float(keras.ops.convert_to_numpy(learning_rate))


def loss_scale_of(optimizer):
    """Return the dynamic loss scale of a LossScaleOptimizer, or None for a plain optimizer."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return float(keras.ops.convert_to_numpy(optimizer.dynamic_scale))
    return None
