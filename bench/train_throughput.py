"""Train-step and input-pipeline throughput (images/s), as ratios measured in the same run.

    python bench/train_throughput.py                       # CPU: batch 32 and 128, all losses
    python bench/train_throughput.py --batch_sizes=32 --losses=plain,vgg123 --steps=5
    python bench/train_throughput.py --mixed_precision=float16   # on a GPU

Prints, for each (loss, batch, jit) the train step's images/s; the input pipeline alone on the
real-face folder ($FACENET_VAE_SHARED/data/celeba_subset_aligned, default ../shared) as a ratio to
the train step (target: >= 5x); and, when torch is installed, $FACENET_VAE_SHARED/peers/torch_dfc_vae.py
at the same batch, with our images/s as a ratio to it (target on CPU: >= 2x at batch 32 for plain
and vgg123).
Feature networks use random weights: the cost is the same as with pretrained ones.
"""
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags, logging
from shared_data import require, shared_path  # bench/ is the script's folder

FLAGS = flags.FLAGS
flags.DEFINE_list("batch_sizes", ["32", "128"], "Batch sizes.")
flags.DEFINE_list("losses", ["plain", "vgg123", "facenet"], "Objectives: plain, vgg123, facenet.")
flags.DEFINE_list("jit", ["false", "true"], "jit_compile settings to measure.")
flags.DEFINE_integer("steps", 5, "Timed steps per configuration (after warm-up).")
flags.DEFINE_integer("warmup", 3, "Warm-up steps (tracing/compilation excluded from timing).")
flags.DEFINE_enum("mixed_precision", "none", ["none", "float16", "bfloat16"], "Compute precision.")
flags.DEFINE_string("vae_def", "dfc_vae_resnet", "VAE definition.")
flags.DEFINE_bool("torch", True, "Run the PyTorch peer when torch is installed.")
flags.DEFINE_string("json_out", None, "Also write the figures to this JSON file.")

PEER = shared_path("peers", "torch_dfc_vae.py")
FACES = shared_path("data", "celeba_subset_aligned")


def build_model(loss, batch_size, jit, mixed_precision, vae_def):
    """Return a compiled VaeTrainer (its DfcVae as ``.vae``) for ``loss`` (plain | vgg123 | facenet)."""
    import keras
    from facenet_vae.model import DfcVae
    from facenet_vae.training import TrainConfig, make_objective, make_optimizer, set_precision_policy
    from facenet_vae.training.step import VaeTrainer

    set_precision_policy(mixed_precision)
    config = TrainConfig(vae_def=vae_def, mixed_precision=mixed_precision, batch_size=batch_size,
                         reconstruction_loss_type="PLAIN" if loss == "plain" else "PERCEPTUAL",
                         perceptual_model="facenet" if loss == "facenet" else "vgg19",
                         loss_features=None if loss == "facenet" else "vgg123", perceptual_weights="random")
    vae = DfcVae(vae_def, 100)
    model = VaeTrainer(vae, make_objective(config, vae.image_size))
    model.compile(make_optimizer(config), jit_compile=jit)
    keras.mixed_precision.set_global_policy("float32")
    return model


def time_train_step(loss, batch_size, jit, mixed_precision, vae_def, steps, warmup):
    """Return images/s of the train step on random normalised images already in memory.

    Warm-up and timed steps run in one ``fit``; the clock runs from the end of the last warm-up
    step to the end of the last timed step, both synchronised by reading the loss. Timing a
    whole ``fit`` call instead would add Keras/tf.data set-up and tear-down (up to seconds here),
    which a training run pays once, not per step.
    """
    import keras
    import numpy as np
    import tensorflow as tf
    model = build_model(loss, batch_size, jit, mixed_precision, vae_def)
    size = model.vae.image_size
    images = tf.constant(np.random.default_rng(0).normal(size=(batch_size, size, size, 3)).astype("float32"))
    dataset = tf.data.Dataset.from_tensors(images).repeat()
    marks = {}

    class StepClock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch in (warmup - 1, warmup + steps - 1):
                float(logs["loss"])  # waits for the step to finish
                marks[batch] = time.perf_counter()

    model.fit(dataset, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[StepClock()])
    return steps * batch_size / (marks[warmup + steps - 1] - marks[warmup - 1])


def time_input_pipeline(batch_size, image_size, num_batches=40):
    """Return images/s of the real-face folder pipeline alone (decode, crop, resize, batch)."""
    from facenet_vae.data import load_training_images
    dataset = load_training_images("folder", str(FACES), image_size=image_size, input_image_size=160,
                                   batch_size=batch_size, seed=0).dataset
    iterator = iter(dataset)
    next(iterator)
    start = time.perf_counter()
    for _ in range(num_batches):
        next(iterator)
    return num_batches * batch_size / (time.perf_counter() - start)


def time_torch_peer(batch_size, loss, steps):
    """Return the PyTorch peer's images/s, or None when torch is missing or the loss has no peer."""
    if loss not in ("plain", "vgg123"):
        return None
    if not PEER.exists():
        logging.warning("no PyTorch peer comparison: it needs %s (set FACENET_VAE_SHARED)", PEER)
        return None
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    out = subprocess.run([sys.executable, str(PEER), str(batch_size), loss, str(steps)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().split()[-2])


def main(argv):
    del argv
    require(FACES)
    results = []
    pipeline_rate = {}
    print(f"device: {'GPU' if _has_gpu() else 'CPU'}, mixed_precision={FLAGS.mixed_precision}, "
          f"vae_def={FLAGS.vae_def}")
    for batch_size in map(int, FLAGS.batch_sizes):
        pipeline_rate[batch_size] = time_input_pipeline(batch_size, 64)
        print(f"input pipeline, batch {batch_size}: {pipeline_rate[batch_size]:.0f} img/s")
        for loss in FLAGS.losses:
            peer = time_torch_peer(batch_size, loss, FLAGS.steps) if FLAGS.torch and not _has_gpu() else None
            for jit in (value.lower() == "true" for value in FLAGS.jit):
                rate = time_train_step(loss, batch_size, jit, FLAGS.mixed_precision, FLAGS.vae_def,
                                       FLAGS.steps, FLAGS.warmup)
                row = dict(loss=loss, batch=batch_size, jit=jit, images_per_s=round(rate, 1),
                           pipeline_ratio=round(pipeline_rate[batch_size] / rate, 2),
                           torch_images_per_s=None if peer is None else round(peer, 1),
                           ratio_to_torch=None if peer is None else round(rate / peer, 2))
                results.append(row)
                line = (f"train {loss:8s} batch {batch_size:4d} jit={str(jit):5s}: {rate:8.1f} img/s | "
                        f"pipeline/train {row['pipeline_ratio']:6.1f}x (target >= 5x)")
                if peer is not None:
                    line += f" | torch {peer:7.1f} img/s, ours/torch {row['ratio_to_torch']:.2f}x"
                print(line, flush=True)
    if FLAGS.json_out:
        pathlib.Path(FLAGS.json_out).write_text(json.dumps(results, indent=2))


def _has_gpu():
    import tensorflow as tf
    return bool(tf.config.list_physical_devices("GPU"))


if __name__ == "__main__":
    app.run(main)
