"""Train-step throughput (images/s) of each objective against the PyTorch speed peer, as ratios from one run.

    pip install torch==2.13.0     # the peer's CPU build (needed; --torch=false times ours alone)
    python bench/train_throughput.py                     # B=32; plain, facenet, dfc; float32 and bfloat16
    python bench/train_throughput.py --losses=dfc --mixed_precision=bfloat16 --repeats=5
    python bench/train_throughput.py --losses=plain,vgg123,facenet,dfc --batch_sizes=32,128

Objectives (``step_clock.OBJECTIVES``): ``plain`` (pixel loss), ``vgg123`` (VGG19 relu1_1..3_1),
``facenet`` (facenet's: the Inception-ResNet-v1 stem on 160x160) and ``dfc`` (the shipped recipe:
the stem plus the pixel term, per-image means). Each is timed against the peer's objective
(``$FACENET_VAE_SHARED/peers/torch_dfc_vae.py``; ``dfc`` against its ``facenet``, which has no pixel
term). The peer computes in float32: a bfloat16 row is our bfloat16 step against the peer's float32.
Ours and the peer run in turn (ours, peer, ours, peer...) so that both see the same load from other
jobs; a row gives the medians and the median of the paired ratios, and the 1-minute load average.
Target on 2 CPU cores: the shipped objective (dfc) >= 2x its peer in bfloat16 at batch 32. That
needs a CPU with native bfloat16 (AVX512-BF16 or AMX); on one without (Zen 3, AVX2 only) TensorFlow's
bfloat16 conv gradients are about 11x slower than float32 ones, and the bench says so.
Feature networks use random weights: the cost is the same as with pretrained ones.
"""
import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402
from step_clock import (OBJECTIVES, PRECISIONS, StepTimer, build_trainer, check_objectives, cpu_bf16_note,  # noqa: E402
                        load, paired_summary, peer_rate, require_torch)

FLAGS = flags.FLAGS
flags.DEFINE_list("batch_sizes", ["32"], "Batch sizes.")
flags.DEFINE_list("losses", ["plain", "facenet", "dfc"], f"Objectives: {', '.join(OBJECTIVES)}.")
flags.DEFINE_list("mixed_precision", ["none", "bfloat16"], f"Compute precisions of ours: {', '.join(PRECISIONS)}.")
flags.DEFINE_bool("jit_compile", False, "Compile our train step with XLA (slower on CPU).")
flags.DEFINE_integer("steps", 4, "Timed steps per run (ours and the peer alike).")
flags.DEFINE_integer("repeats", 3, "Interleaved runs of ours and the peer per row.")
flags.DEFINE_string("vae_def", "dfc_vae_resnet", "VAE definition.")
flags.DEFINE_bool("torch", True, "Time the PyTorch peer (needs pip install torch==2.13.0).")
flags.DEFINE_string("json_out", None, "Also write the rows to this JSON file.")


def measure(objective, batch_size, precision):
    """Return one row: our and the peer's images/s of interleaved runs, and their summary."""
    timer = StepTimer(build_trainer(objective, batch_size, precision, jit=FLAGS.jit_compile, vae_def=FLAGS.vae_def),
                      batch_size)
    ours, peer, loads = [], [], []
    for _ in range(FLAGS.repeats):
        loads.append(load())
        ours.append(timer.rate(FLAGS.steps))
        if FLAGS.torch:
            peer.append(peer_rate(objective, batch_size, FLAGS.steps))
    row = dict(loss=objective, batch=batch_size, precision=precision, jit=FLAGS.jit_compile,
               ours=[round(v, 1) for v in ours], peer=[round(v, 1) for v in peer], load=loads)
    if peer:
        row["ours_median"], row["peer_median"], row["ratio"] = (round(v, 2) for v in paired_summary(ours, peer))
    else:
        row["ours_median"] = round(sorted(ours)[len(ours) // 2], 2)
    return row


def main(argv):
    del argv
    check_objectives(FLAGS.losses)
    bad = [p for p in FLAGS.mixed_precision if p not in PRECISIONS]
    if bad:
        raise SystemExit(f"error: unknown --mixed_precision {bad}; choose from {', '.join(PRECISIONS)}")
    import tensorflow as tf
    gpu = bool(tf.config.list_physical_devices("GPU"))
    if FLAGS.torch:
        require_torch()
    print(f"device: {'GPU' if gpu else f'CPU ({os.cpu_count()} cores)'}, vae_def={FLAGS.vae_def}, "
          f"jit={FLAGS.jit_compile}, {FLAGS.repeats} x {FLAGS.steps} steps each, ours and peer interleaved; "
          f"peer in float32", flush=True)
    note = None if gpu or "bfloat16" not in FLAGS.mixed_precision else cpu_bf16_note()
    if note:
        print(note, flush=True)
    rows = []
    for batch_size in map(int, FLAGS.batch_sizes):
        for objective in FLAGS.losses:
            for precision in FLAGS.mixed_precision:
                row = measure(objective, batch_size, precision)
                rows.append(row)
                line = (f"{objective:8s} B={batch_size:<4d} {precision:8s}: ours {row['ours_median']:7.1f} img/s "
                        f"{row['ours']}")
                if "ratio" in row:
                    line += (f" | peer ({OBJECTIVES[objective][1]}) {row['peer_median']:6.1f} img/s {row['peer']}"
                             f" | ours/peer {row['ratio']:.2f}x")
                loads = [v for v in row["load"] if v is not None]
                line += f" | load {min(loads):.1f}-{max(loads):.1f}" if loads else ""
                print(line, flush=True)
    if FLAGS.json_out:
        pathlib.Path(FLAGS.json_out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    app.run(main)
