"""Train the recipe with PyTorch on a folder of faces: ``python -m facenet_vae.torch_replica.train --help``.

For a GPU machine without TensorFlow. It starts from ``--initial_weights`` (a Keras model's, written
by ``keras_bridge``), trains batch-normed, sampled-latent steps on ``RecipeObjective`` with Adam
(``eps=1e-8``) on ``train_vae.py``'s cosine schedule, and writes the weights as slim-named ``.npz``
shards (each under ``--shard_megabytes``) and ``progress.json`` every ``--save_every_seconds`` and at
the end, so a run stopped by a time limit still leaves its latest weights.
"""
import argparse
import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

from facenet_vae.model.celeba_statistics import IMG_MEAN, IMG_STDDEV
from facenet_vae.model.definitions import DEFAULT_CROP_SIZE
from facenet_vae.torch_replica.graph import TorchDfcVae
from facenet_vae.torch_replica.objective import FacenetStem, RecipeObjective
from facenet_vae.training.choices import COSINE_WARMUP_FRACTION, RECIPE_BETA

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def read_face_folders(folders, workers=16):
    """Return uint8 (N, H, W, 3) faces of every image under ``folders`` (sorted paths), and the paths."""
    paths = sorted(os.path.join(root, name) for folder in folders for root, _, names in os.walk(folder)
                   for name in names if name.lower().endswith(IMAGE_SUFFIXES))
    if not paths:
        raise SystemExit(f"No images under {', '.join(folders)}")

    def read(path):
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    with ThreadPoolExecutor(workers) as pool:
        faces = list(pool.map(read, paths, chunksize=256))
    return np.stack(faces), paths


def cosine_learning_rate(step, initial_learning_rate, max_steps):
    """Return ``train_vae.py --learning_rate_schedule=cosine``'s rate at ``step`` (Keras' CosineDecay with warm-up)."""
    warmup = max(1, round(COSINE_WARMUP_FRACTION * max_steps))
    if step < warmup:
        return initial_learning_rate * step / warmup
    decay_steps = max(1, max_steps - warmup)
    progress = min(step - warmup, decay_steps) / decay_steps
    return initial_learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))


def write_shards(arrays, output_dir, shard_megabytes):
    """Write ``{slim name: array}`` as ``weights-NN.npz`` files of at most ``shard_megabytes`` each (atomically)."""
    shards, current, size = [], {}, 0
    for name in sorted(arrays):
        nbytes = arrays[name].nbytes
        if current and size + nbytes > shard_megabytes * 1e6:
            shards.append(current)
            current, size = {}, 0
        current[name], size = arrays[name], size + nbytes
    shards.append(current)
    for index, shard in enumerate(shards):
        path = os.path.join(output_dir, f"weights-{index:02d}.npz")
        with open(path + ".partial", "wb") as handle:
            np.savez(handle, **shard)
        os.replace(path + ".partial", path)
    return len(shards)


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", action="append", required=True, help="A folder of 64x64 faces (repeatable).")
    parser.add_argument("--initial_weights", default="fan_in",
                        help="Slim-named .npz of the starting weights, or fan_in: drawn as --weights_init=fan_in.")
    parser.add_argument("--stem_weights", required=True, help="The FaceNet stem's .npz (keras_bridge stem).")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--vae_def", default="dfc_vae_resnet")
    parser.add_argument("--latent_var_size", type=int, default=100)
    parser.add_argument("--alfa", type=float, default=1.0)
    parser.add_argument("--beta", type=float, default=RECIPE_BETA)
    parser.add_argument("--pixel_weight", type=float, default=0.000167)
    parser.add_argument("--crop_size", type=int, default=DEFAULT_CROP_SIZE)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--initial_learning_rate", type=float, default=5e-4)
    parser.add_argument("--max_nrof_steps", type=int, required=True)
    parser.add_argument("--max_seconds", type=float, default=float("inf"), help="Stop (and save) after this long.")
    parser.add_argument("--save_every_seconds", type=float, default=60.0)
    parser.add_argument("--shard_megabytes", type=float, default=15.0)
    parser.add_argument("--random_flip", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=True,
                        help="TensorFloat-32 convolutions and matmuls on GPUs that have them.")
    parser.add_argument("--seed", type=int, default=666)
    return parser.parse_args(argv)


def main(argv=None):
    """Train, saving shards and progress.json in ``--output_dir``; returns the steps done."""
    args = _parse_args(argv)
    started = time.time()
    torch.manual_seed(args.seed)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(args.output_dir, exist_ok=True)

    faces, paths = read_face_folders(args.data_dir)
    faces = torch.from_numpy(faces).to(device)
    mean = torch.from_numpy(IMG_MEAN).to(device)
    stddev = torch.from_numpy(IMG_STDDEV).to(device)
    read_seconds = time.time() - started

    model = TorchDfcVae(args.vae_def, args.latent_var_size)
    if args.initial_weights == "fan_in":
        model.initialise_fan_in(torch.Generator().manual_seed(args.seed))
    else:
        model.load_slim_arrays(dict(np.load(args.initial_weights)))
    stem = FacenetStem(dict(np.load(args.stem_weights)), faces.shape[1], args.crop_size)
    objective = RecipeObjective(stem, args.alfa, args.beta, args.pixel_weight).to(device)
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0, betas=(0.9, 0.999), eps=1e-8,
                                 fused=device.type == "cuda")

    generator = torch.Generator(device=device).manual_seed(args.seed)
    order, position = torch.randperm(len(faces), device=device, generator=generator), 0
    history, sums, count = [], {}, 0
    last_save, step, train_started = time.time(), 0, time.time()

    def save(final):
        shards = write_shards(model.slim_arrays(), args.output_dir, args.shard_megabytes)
        elapsed = time.time() - train_started
        progress = {"step": step, "max_nrof_steps": args.max_nrof_steps, "final": final, "shards": shards,
                    "faces": len(paths), "read_seconds": read_seconds, "train_seconds": elapsed,
                    "images_per_second": step * args.batch_size / max(elapsed, 1e-9),
                    "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                    "torch": torch.__version__, "settings": vars(args), "history": history}
        with open(os.path.join(args.output_dir, "progress.json.partial"), "w") as handle:
            json.dump(progress, handle, indent=1)
        os.replace(os.path.join(args.output_dir, "progress.json.partial"),
                   os.path.join(args.output_dir, "progress.json"))

    while step < args.max_nrof_steps and time.time() - started < args.max_seconds:
        if position + args.batch_size > len(order):
            order, position = torch.randperm(len(faces), device=device, generator=generator), 0
        batch = faces[order[position:position + args.batch_size]]
        position += args.batch_size
        images = ((batch.float() - mean) / stddev).permute(0, 3, 1, 2)
        if args.random_flip:
            flip = torch.rand(images.shape[0], device=device, generator=generator) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
        for group in optimizer.param_groups:
            group["lr"] = cosine_learning_rate(step, args.initial_learning_rate, args.max_nrof_steps)
        mean_code, log_variance = model.encode(images)
        noise = torch.randn(mean_code.shape, device=device, generator=generator)
        reconstruction = model.decode(model.sample_latent(mean_code, log_variance, noise))
        terms = objective.terms(images, reconstruction, mean_code, log_variance)
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        optimizer.step()
        step += 1
        for name, value in terms.items():
            sums[name] = sums.get(name, 0.0) + value.detach()
        count += 1
        if step % 500 == 0 or step == args.max_nrof_steps:
            history.append({"step": step, "seconds": round(time.time() - train_started, 1),
                            **{name: float(total) / count for name, total in sums.items()}})
            print(json.dumps(history[-1]), flush=True)
            sums, count = {}, 0
        if time.time() - last_save > args.save_every_seconds:
            save(final=False)
            last_save = time.time()
    save(final=step >= args.max_nrof_steps)
    return step


if __name__ == "__main__":
    main()
