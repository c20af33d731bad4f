"""One training step on one device (fused batch norm) and on 2 logical CPUs under MirroredStrategy
(synchronized batch norm), from the same weights, on several seeds; prints the differences as JSON.

Both use the real training step, latent noise included: the trainer draws each image's noise from
(seed, step, its place in the global batch), so the two paths see the same noise. Run in its own
process: logical devices must be configured before TensorFlow starts.
"""
import json
import sys

import numpy as np

from facenet_vae.training import distribute

distribute.configure_cpu_replicas(2)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from facenet_vae.model import DfcVae  # noqa: E402
from facenet_vae.model.normalization import pixels_to_normalized  # noqa: E402
from facenet_vae.training.objective import Objective  # noqa: E402
from facenet_vae.training.step import VaeTrainer  # noqa: E402

LEARNING_RATE = 1e-6
# Fused and unfused batch norm round differently, by about 1e-6 of the normalised (unit-scale)
# values; an input within this distance of zero may come out of the two with opposite signs.
NEAR_ZERO = 1e-5


def one_step(strategy, images, initial_weights, reduction, seed, synchronized):
    with strategy.scope():
        model = DfcVae("dfc_vae", 8, synchronized_batch_norm=synchronized)
        model.set_weights(initial_weights)
        trainer = VaeTrainer(model, Objective(pixel_weight=0.5, reduction=reduction), sampling_seed=seed)
        trainer.compile(keras.optimizers.SGD(LEARNING_RATE))
    history = trainer.fit(tf.data.Dataset.from_tensors(images), epochs=1, steps_per_epoch=1, verbose=0)
    return model.get_weights(), history.history["loss"][0]


def leaky_relu_inputs_near_zero(model, images, width):
    """Return how many leaky-ReLU inputs lie within ``width`` of 0 in a training-mode pass (decoded from the mean)."""
    near = 0

    def run(blocks, x):
        nonlocal near
        for block in blocks:
            if hasattr(block, "batch_norm") and block.activation:
                pre = block.batch_norm(block.conv(x), training=True)
                near += int(tf.reduce_sum(tf.cast(tf.abs(pre) < width, tf.int32)))
            x = block(x, training=True)
        return x

    net = run(model.encoder.blocks, tf.constant(images))
    mean = model.encoder.fc_mean(tf.reshape(net, (len(images), -1)))
    run(model.decoder.blocks, tf.reshape(model.decoder.fc(mean), (-1,) + model.decoder.input_grid))
    return near


def main():
    npz_path, reduction, seeds = sys.argv[1], sys.argv[2], [int(seed) for seed in sys.argv[3].split(",")]
    with np.load(npz_path) as data:
        images = pixels_to_normalized(data["images"][:8]).numpy()
    single_strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        reference = DfcVae("dfc_vae", 8)
        initial = reference.get_weights()
        single, single_loss = one_step(single_strategy, images, initial, reduction, seed, synchronized=False)
        mirrored, mirrored_loss = one_step(mirrored_strategy, images, initial, reduction, seed, synchronized=True)
        relative = [float(np.linalg.norm((m - i) - (s - i)) / max(np.linalg.norm(s - i), 1e-30))
                    for s, m, i in zip(single, mirrored, initial) if np.linalg.norm(s - i) > 0]
        results.append({"seed": seed, "max_relative_update_diff": max(relative),
                        "max_update": max(float(np.max(np.abs(s - i))) for s, i in zip(single, initial)),
                        "single_loss": float(single_loss), "mirrored_loss": float(mirrored_loss),
                        "near_zero_inputs": leaky_relu_inputs_near_zero(reference, images, NEAR_ZERO)})
    print(json.dumps({"replicas": mirrored_strategy.num_replicas_in_sync, "runs": results}))


if __name__ == "__main__":
    main()
