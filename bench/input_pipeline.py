"""Time the data side: scan_images and make_image_dataset throughput on an image folder, and synthetic faces.

    python bench/input_pipeline.py [--folder $FACENET_VAE_SHARED/data/celeba_subset_aligned] [--batches 20]
"""
import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from shared_data import require, shared_path  # noqa: E402  (bench/ is the script's folder)

from facenet_vae.data import Framing  # noqa: E402
from facenet_vae.data import (generate_synthetic_faces, image_paths_from_folder, make_image_dataset,  # noqa: E402
                              scan_images)


def _rate(label, count, seconds):
    print(f"{label:<40} {count:>6} images in {seconds:6.2f} s = {count / seconds:8.0f} images/s")


def main():
    default = shared_path("data", "celeba_subset_aligned")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=str(default))
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--image_size", type=int, default=64)
    args = parser.parse_args()

    require(args.folder)
    paths = image_paths_from_folder(args.folder)
    start = time.perf_counter()
    good, bad = scan_images(paths, progress=False)
    _rate(f"scan_images ({len(bad)} bad)", len(paths), time.perf_counter() - start)

    for framing in (Framing("crop_or_pad", 160, args.image_size), Framing("celeba", None, args.image_size)):
        dataset = make_image_dataset(good, framing=framing, batch_size=args.batch_size, seed=0)
        iterator = iter(dataset)
        next(iterator)  # warm-up: tracing and the first prefetch
        start = time.perf_counter()
        for _ in range(args.batches):
            next(iterator)
        _rate(f"JPEG pipeline ({framing.crop})", args.batches * args.batch_size,
              time.perf_counter() - start)

    start = time.perf_counter()
    faces = generate_synthetic_faces(2000, seed=0, image_size=args.image_size)
    _rate("generate_synthetic_faces", len(faces), time.perf_counter() - start)
    iterator = iter(make_image_dataset(faces.images, framing=Framing("none", None, args.image_size),
                                       batch_size=args.batch_size, seed=0))
    next(iterator)
    start = time.perf_counter()
    for _ in range(args.batches):
        next(iterator)
    _rate("array pipeline", args.batches * args.batch_size, time.perf_counter() - start)


if __name__ == "__main__":
    main()
