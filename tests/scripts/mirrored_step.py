"""Run one SGD step on one device and on 2 logical CPUs under MirroredStrategy; print max diffs as JSON.

Run in its own process: logical devices must be configured before TensorFlow starts.
"""
import json
import sys

import numpy as np

from facenet_vae import distribute

distribute.configure_cpu_replicas(2)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from facenet_vae.model import DfcVae  # noqa: E402
from facenet_vae.normalization import pixels_to_normalized  # noqa: E402


def one_step(strategy, images, initial_weights, reduction):
    with strategy.scope():
        # Both runs use the synchronized (unfused) batch-norm path, so that the comparison isolates
        # the cross-replica statistics and loss reduction (tests/test_batch_norm.py checks that the
        # fused path equals it). With facenet's init the loss is ~4e8, and a leaky-ReLU input that
        # rounds to the other sign moves a weight by up to ~1e-3; some random initialisations
        # have such an input, hence the fixed seed below.
        model = DfcVae("dfc_vae", 8, synchronized_batch_norm=True)
        model.build()
        model.set_weights(initial_weights)
        # Decode the mean: the comparison is about reduction and batch norm, not the sampling noise.
        model.sample_latent = lambda mean, log_variance, seed=None: mean
        model.compile(keras.optimizers.SGD(1e-9), pixel_weight=0.5, reduction=reduction)
    dataset = tf.data.Dataset.from_tensors(images)
    history = model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    return model.get_weights(), history.history["loss"][0]


def main():
    npz_path, reduction = sys.argv[1], sys.argv[2]
    with np.load(npz_path) as data:
        images = pixels_to_normalized(data["images"][:8]).numpy()
    keras.utils.set_random_seed(0)  # fixed initial weights: the comparison is then reproducible
    reference = DfcVae("dfc_vae", 8)
    reference.build()
    initial = reference.get_weights()
    single, single_loss = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"), images, initial, reduction)
    mirrored_strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored, mirrored_loss = one_step(mirrored_strategy, images, initial, reduction)
    update = max(float(np.max(np.abs(a - b))) for a, b in zip(single, initial))
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(single, mirrored))
    print(json.dumps({"replicas": mirrored_strategy.num_replicas_in_sync, "max_weight_diff": diff,
                      "max_update": update, "single_loss": float(single_loss),
                      "mirrored_loss": float(mirrored_loss)}))


if __name__ == "__main__":
    main()
