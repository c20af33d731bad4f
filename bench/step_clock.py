"""What the speed benchmarks time: our train step per objective, and the PyTorch speed peer beside it.

``OBJECTIVES`` names every objective a benchmark can time, with the ``TrainConfig`` settings that
make it and the objective of ``$FACENET_VAE_SHARED/peers/torch_dfc_vae.py`` that is its peer. The
peer computes in float32 only: a bfloat16 row compares our bfloat16 step with the peer's float32 one.
"""
import os
import statistics
import subprocess
import sys
import time

from shared_data import shared_path

PEER = shared_path("peers", "torch_dfc_vae.py")
TORCH_PIN = "torch==2.13.0"

# name -> (TrainConfig settings, the peer's objective). Feature weights are random: same cost.
_FACENET = dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet", perceptual_weights="random")
OBJECTIVES = {
    "plain": (dict(reconstruction_loss_type="PLAIN"), "plain"),
    "vgg123": (dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="vgg19", loss_features="vgg123",
                    perceptual_weights="random"), "vgg123"),
    # facenet's objective: the stem on 160x160, summed over the batch.
    "facenet": (dict(_FACENET), "facenet"),
    # The recipe: the stem plus the pixel term, per-image means (the peer has no pixel term; the
    # pixel term is ours alone, so it can only lower our ratio).
    "dfc": (dict(_FACENET, beta=0.06, pixel_weight=0.000167, loss_reduction="mean"), "facenet"),
}
PRECISIONS = ("none", "bfloat16", "float16")


def check_objectives(names):
    """Raise SystemExit naming the valid objectives for any unknown name in ``names``."""
    unknown = [name for name in names if name not in OBJECTIVES]
    if unknown:
        raise SystemExit(f"error: unknown objective(s) {unknown}; choose from {', '.join(OBJECTIVES)}")


def require_torch():
    """Exit with one line naming the install command when the peer cannot run (torch or the peer file missing)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit(f"error: the PyTorch speed peer needs torch: pip install {TORCH_PIN} (the CPU wheel); "
                         "or pass --torch=false to time ours alone, without ratios") from None
    if not PEER.exists():
        raise SystemExit(f"error: the PyTorch speed peer {PEER} is missing; set FACENET_VAE_SHARED to the folder "
                         "that holds peers/")


def build_trainer(objective, batch_size, mixed_precision="none", jit=False, vae_def="dfc_vae_resnet", **overrides):
    """Return a compiled ``VaeTrainer`` (its ``DfcVae`` as ``.vae``) for one of ``OBJECTIVES``.

    ``overrides`` are further ``TrainConfig`` settings, over the objective's own.
    """
    import keras
    from facenet_vae.model import DfcVae
    from facenet_vae.training import TrainConfig, make_objective, make_optimizer, set_precision_policy
    from facenet_vae.training.step import VaeTrainer

    settings, _ = OBJECTIVES[objective]
    set_precision_policy(mixed_precision)
    try:
        config = TrainConfig(vae_def=vae_def, mixed_precision=mixed_precision, batch_size=batch_size,
                             **{**settings, **overrides}).validate()
        vae = DfcVae(vae_def, config.latent_var_size)
        trainer = VaeTrainer(vae, make_objective(config, vae.image_size), sampling_seed=0)
        trainer.compile(make_optimizer(config), jit_compile=jit)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return trainer


class StepTimer:
    """Times ``trainer``'s train step on one batch of random normalised images already in memory.

    ``rate(steps)`` runs ``1 + steps`` steps in one ``fit`` and returns images/s over the last
    ``steps``: the clock starts when the first step's loss is read and stops at the last one's, so
    Keras' per-``fit`` set-up (seconds here) is not counted. The first ``rate`` call also traces.
    """

    def __init__(self, trainer, batch_size, warmup=2):
        import numpy as np
        import tensorflow as tf
        self.trainer = trainer
        self.batch_size = batch_size
        size = trainer.vae.image_size
        images = np.random.default_rng(0).normal(size=(batch_size, size, size, 3)).astype("float32")
        self.dataset = tf.data.Dataset.from_tensors(tf.constant(images)).repeat()
        self.rate(warmup)

    def rate(self, steps):
        """Return images/s over ``steps`` timed steps."""
        import keras
        marks = []

        class Clock(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if batch in (0, steps):
                    float(logs["loss"])  # waits for the step to finish
                    marks.append(time.perf_counter())

        self.trainer.fit(self.dataset, steps_per_epoch=1 + steps, epochs=1, verbose=0, callbacks=[Clock()])
        return steps * self.batch_size / (marks[1] - marks[0])


def peer_rate(objective, batch_size, steps):
    """Return the PyTorch peer's images/s for the peer objective of ``objective`` (one subprocess run)."""
    _, peer_objective = OBJECTIVES[objective]
    out = subprocess.run([sys.executable, str(PEER), str(batch_size), peer_objective, str(steps)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().split()[-2])


def cpu_bf16_note():
    """Return a warning line when this CPU lacks native bfloat16 (AVX512-BF16 or AMX), else None (Linux only).

    Without it TensorFlow's bfloat16 convolution gradients fall back to slow kernels: measured on a
    2-core AMD EPYC (Zen 3, AVX2), a 3x3 conv's forward + backward took 11x longer in bfloat16 than in float32.
    """
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return None
    if not flags or {"avx512_bf16", "amx_bf16"} & set(flags):
        return None
    return ("note: this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16): our bfloat16 train step falls "
            "back to slow conv-gradient kernels here; train in float32 on it")


def load():
    """Return the 1-minute load average (the machine's other jobs), or None where unknown."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def paired_summary(ours, theirs):
    """Return ``(median ours, median theirs, median of the paired ratios ours/theirs)`` of interleaved runs."""
    ratios = [a / b for a, b in zip(ours, theirs)]
    return statistics.median(ours), statistics.median(theirs), statistics.median(ratios)
