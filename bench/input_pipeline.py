"""Does reading the training faces keep ahead of the train step? The folder reader against the shipped objective.

    python bench/input_pipeline.py          # celeba_large64/ (36,780 faces), with and without --cache
    python bench/input_pipeline.py --cache_modes=none --repeats=5 --mixed_precision=none

Times the reader ``train_vae.py`` uses (``load_training_images("folder", ...)``: decode, framing,
random flip, batch, normalise, prefetch) on ``$FACENET_VAE_SHARED/data/celeba_large64`` alone, and the
train step of the shipped objective (``step_clock.OBJECTIVES["dfc"]``, bfloat16 by default: the faster
step is the harder target) in the same process, in turn (reader, step, reader, step...), so both see
the same load from other jobs. Prints the medians and the median of the paired ratios reader/step;
target: >= 5x. With ``--cache`` the first epoch decodes every file (timed whole, once) and later
epochs read the decoded faces from memory (timed as the rest). The one-time scan of the folder
(every file decoded once to find bad ones) is timed and reported apart.
"""
import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from shared_data import require, shared_path  # noqa: E402  (bench/ is the script's folder)
from step_clock import PRECISIONS, StepTimer, build_trainer, load  # noqa: E402

TARGET_RATIO = 5.0


def read_batches(iterator, count):
    """Return images/s of pulling ``count`` batches from ``iterator``."""
    start = time.perf_counter()
    images = 0
    for _ in range(count):
        images += int(next(iterator).shape[0])
    return images / (time.perf_counter() - start)


def open_reader(folder, batch_size, cache):
    """Return ``(batch iterator, number of images, seconds spent scanning)`` of the training reader."""
    from facenet_vae.data import load_training_images
    start = time.perf_counter()
    training = load_training_images("folder", folder, image_size=64, batch_size=batch_size, seed=0, cache=cache,
                                    random_flip=True, progress=False)
    seconds = time.perf_counter() - start
    print(f"  {training.description}", flush=True)
    return iter(training.dataset), training.num_images, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=str(shared_path("data", "celeba_large64")))
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=30, help="Batches per reader run.")
    parser.add_argument("--steps", type=int, default=4, help="Train steps per step run.")
    parser.add_argument("--repeats", type=int, default=3, help="Interleaved reader and step runs per mode.")
    parser.add_argument("--cache_modes", default="none,memory", help="none (decode every epoch), memory (--cache).")
    parser.add_argument("--mixed_precision", default="bfloat16", choices=PRECISIONS)
    args = parser.parse_args()
    require(args.folder)

    timer = StepTimer(build_trainer("dfc", args.batch_size, args.mixed_precision), args.batch_size)
    print(f"train step: dfc (the shipped objective), B={args.batch_size}, {args.mixed_precision}; reader: "
          f"{args.folder}; {args.repeats} x ({args.batches} batches, {args.steps} steps) per mode", flush=True)
    results = {}
    for mode in args.cache_modes.split(","):
        if mode not in ("none", "memory"):
            raise SystemExit(f"error: unknown cache mode {mode!r}; choose none or memory")
        iterator, count, scan_seconds = open_reader(args.folder, args.batch_size, cache=mode == "memory")
        print(f"  scan and set-up (once per run): {scan_seconds:.1f} s for {count} files", flush=True)
        next(iterator)  # tracing and the first prefetch
        if mode == "memory":
            fill = (count // args.batch_size) - 1  # the rest of the first epoch, which fills the cache
            rate = read_batches(iterator, fill)
            print(f"  cache=memory, first epoch (decoding, filling the cache): {rate:.0f} img/s over {fill} batches",
                  flush=True)
        reader, step, loads = [], [], []
        for _ in range(args.repeats):
            loads.append(load())
            reader.append(read_batches(iterator, args.batches))
            step.append(timer.rate(args.steps))
        ratio = statistics.median(a / b for a, b in zip(reader, step))
        results[mode] = ratio
        loads = [v for v in loads if v is not None]
        print(f"cache={mode:6s}: reader {statistics.median(reader):7.0f} img/s {[round(v) for v in reader]} | "
              f"train step {statistics.median(step):6.1f} img/s {[round(v, 1) for v in step]} | "
              f"reader/step {ratio:.1f}x (target >= {TARGET_RATIO:g}x)"
              + (f" | load {min(loads):.1f}-{max(loads):.1f}" if loads else ""), flush=True)
    short = [mode for mode, ratio in results.items() if ratio < TARGET_RATIO]
    if short:
        print(f"BELOW TARGET: {', '.join(short)}")


if __name__ == "__main__":
    main()
