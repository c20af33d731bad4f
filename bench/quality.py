"""Does the default training recipe learn at least as well as a plain PyTorch model of the same graph?

    python bench/quality.py --steps=800 --batch_size=64                # the issue's budget (~1 h on 2 CPU cores)
    python bench/quality.py --steps=30 --configs=plain --max_held_out=200   # a quick check

For each objective (``plain``: KL + 0.5 x squared error in facenet's normalised space, per sample;
``facenet``: KL + 0.5 x FaceNet-stem feature error, per sample), trains in one run, on the 3,720
partition-0 faces of the CelebA subset, with the same steps, batch and seed:
  - this project's default recipe through ``facenet_vae.training.train`` (what train_vae.py runs);
  - the PyTorch quality peer (``$FACENET_VAE_DATA/peers/torch_dfc_vae_quality.py``: PyTorch's default
    init, Adam 5e-4, random flips).
Both are scored by this project's evaluation (``facenet_vae.evaluation``) on the 1,230 faces of
partitions 1 and 2, as trained (no batch-norm re-estimation at evaluation time), and the table
prints our figure minus the peer's. PCA with 100 components on the pixels is the reference row.
The pixel weight 1.67e-4 on 0..255 pixels is the peer's 0.5 on normalised pixels (0.5 / mean
channel variance of facenet's constants).
"""
import importlib.util
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from shared_data import require, shared_path  # noqa: E402  (bench/ is the script's folder)

FACES = shared_path("data", "celeba_subset.npz")
FACENET_STEM = shared_path("models", "facenet_keras_stem.h5")
PEER = shared_path("peers", "torch_dfc_vae_quality.py")
CONFIGS = ("plain", "facenet")
PIXEL_WEIGHT_OF_PEER = 1.67e-4

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 800, "Training steps for each model.")
flags.DEFINE_integer("batch_size", 64, "Training batch size.")
flags.DEFINE_list("configs", list(CONFIGS), "Objectives: plain, facenet.")
flags.DEFINE_integer("seed", 0, "Seed of both trainings.")
flags.DEFINE_integer("max_held_out", None, "Evaluate on a seeded subset of at most this many held-out faces.")
flags.DEFINE_enum("our_schedule", "default", ["default", "cosine"],
                  "Our learning rate: default (constant Adam 5e-4, as facenet and the peer train) or cosine "
                  "(2% warm-up to 1e-3, then cosine decay to 0): an ablation of the schedule alone.")
flags.DEFINE_string("output_dir", None, "Where run folders, reports and summary.json/md go (default: a temp folder).")


def our_config(name, train_npz, output_dir):
    """Return the TrainConfig of the project's default recipe for objective ``name``."""
    from facenet_vae.training import TrainConfig
    common = dict(dataset="npz", data_dir=train_npz, max_nrof_steps=FLAGS.steps, save_every_n_steps=FLAGS.steps,
                  batch_size=FLAGS.batch_size, models_base_dir=os.path.join(output_dir, "runs", name), verbose=0,
                  export_saved_model=False, seed=FLAGS.seed, loss_reduction="mean")
    if FLAGS.our_schedule == "cosine":
        common.update(learning_rate_schedule="cosine", initial_learning_rate=1e-3)
    if name == "plain":
        return TrainConfig(reconstruction_loss_type="PLAIN", pixel_weight=PIXEL_WEIGHT_OF_PEER, **common)
    return TrainConfig(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet",
                       perceptual_weights=str(FACENET_STEM), beta=0.5, **common)


def load_peer():
    """Import the PyTorch quality peer module from the shared folder."""
    spec = importlib.util.spec_from_file_location("torch_dfc_vae_quality", PEER)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(PEER.parent))
    spec.loader.exec_module(module)
    return module


def peer_as_loaded_vae(peer, model):
    """Wrap a trained peer model as a ``LoadedVae`` so the project's evaluation scores it unchanged."""
    import torch
    from facenet_vae.data.framing import Framing
    from facenet_vae.generation.loaded_vae import LoadedVae

    class PeerVae(LoadedVae):
        def _encode_batch(self, pixels):
            with torch.no_grad():
                hidden = model.enc(peer._normalise(np.asarray(pixels, np.float32))).flatten(1)
                return model.fc1(hidden).numpy(), model.fc2(hidden).numpy()

        def _decode_batch(self, latent):
            return np.clip(np.round(peer.decode(model, latent)), 0, 255).astype(np.uint8)

    return PeerVae(100, 64, "dfc_vae_resnet", "PyTorch quality peer", framing=Framing("none", None, 64))


def evaluate(vae, name, output_dir):
    """Return the headline figures of the project's evaluation of ``vae`` on partitions 1 and 2."""
    from facenet_vae.evaluation.config import EvaluationConfig
    from facenet_vae.evaluation.pipeline import run_evaluation
    config = EvaluationConfig(model="(in memory)", data_dir=str(FACES), dataset="npz",
                              output_dir=os.path.join(output_dir, name), max_held_out_images=FLAGS.max_held_out,
                              edit_sweep=(), seed=0)
    result = run_evaluation(config, vae=vae)
    smiling = result["editing"]["Smiling"]
    return {"report_dir": config.output_dir, "psnr": result["reconstruction"]["psnr"],
            "probe": result["attribute_prediction"]["mean_accuracy"],
            "pca_probe": result["attribute_prediction"]["pca_pixels_baseline"],
            "smiling": smiling["success_rate"], "others_flipped": 1.0 - smiling["others_unchanged"],
            "kl": result["latent"]["kl_total"], "active_units": result["latent"]["active_units"]}


def paired_difference(ours_dir, peer_dir, key):
    """Return (mean, standard error) of ours minus the peer's per-face ``key`` ("psnr", "attribute_accuracy").

    Both evaluations score the same held-out faces in the same order, so the difference is taken face
    by face; its standard error is the sampling noise of the held-out faces (not of the training seed).
    """
    from facenet_vae.evaluation.metrics import standard_error
    with np.load(os.path.join(ours_dir, "per_face.npz")) as ours, \
            np.load(os.path.join(peer_dir, "per_face.npz")) as peer:
        difference = ours[key].astype(np.float64) - peer[key].astype(np.float64)
    return float(difference.mean()), standard_error(difference)


def write_training_partition(folder):
    """Write the partition-0 rows of the shared npz to ``folder``; returns (path, images)."""
    with np.load(FACES) as data:
        rows = np.flatnonzero(data["celeba_partition"] == 0)
        arrays = {key: data[key][rows] if data[key].shape[:1] == data["images"].shape[:1] else data[key]
                  for key in data.files}
    path = os.path.join(folder, "celeba_subset_train.npz")
    np.savez(path, **arrays)
    return path, arrays["images"]


def pca_psnr(train_images, components=100, max_held_out=None):
    """Return the held-out PSNR of a PCA with ``components`` components fitted on the training pixels."""
    from sklearn.decomposition import PCA

    from facenet_vae.evaluation.metrics import psnr
    with np.load(FACES) as data:
        held_out = data["images"][data["celeba_partition"] != 0]
    if max_held_out:
        held_out = held_out[np.sort(np.random.default_rng(2).choice(len(held_out), max_held_out, replace=False))]
    pca = PCA(components, random_state=0).fit(train_images.reshape(len(train_images), -1).astype(np.float32))
    restored = pca.inverse_transform(pca.transform(held_out.reshape(len(held_out), -1).astype(np.float32)))
    return psnr(held_out, np.clip(np.round(restored), 0, 255).astype(np.uint8).reshape(held_out.shape))


def table(rows, pca):
    """Return the Markdown comparison table."""
    lines = ["| objective | model | PSNR (dB) | probe | Smiling edit k=1 | others flipped | KL | train min |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['objective']} | {row['model']} | {row['psnr']:.2f} | {row['probe']:.3f} | "
                     f"{row['smiling']:.3f} | {row['others_flipped']:.3f} | {row['kl']:.0f} | "
                     f"{row['train_seconds'] / 60:.1f} |")
    by = {(r["objective"], r["model"]): r for r in rows}
    for objective in dict.fromkeys(r["objective"] for r in rows):
        ours, peer = by.get((objective, "facenet-vae")), by.get((objective, "PyTorch peer"))
        if ours and peer:
            psnr = paired_difference(ours["report_dir"], peer["report_dir"], "psnr")
            probe = paired_difference(ours["report_dir"], peer["report_dir"], "attribute_accuracy")
            lines.append(f"| {objective} | **ours - peer** (± paired standard error) | {psnr[0]:+.2f} ± {psnr[1]:.2f} | "
                         f"{probe[0]:+.3f} ± {probe[1]:.3f} | {ours['smiling'] - peer['smiling']:+.3f} | "
                         f"{ours['others_flipped'] - peer['others_flipped']:+.3f} | | |")
    lines.append(f"| reference | PCA-100 on pixels | {pca['psnr']:.2f} | {pca['probe']:.3f} | | | | |")
    return "\n".join(lines)


def main(argv):
    del argv
    import keras
    import torch

    from facenet_vae.generation.loading import load_vae
    from facenet_vae.training import train
    for name in FLAGS.configs:
        if name not in CONFIGS:
            raise app.UsageError(f"unknown config {name!r}; choose from {', '.join(CONFIGS)}")
    require(FACES, FACENET_STEM, PEER)
    output_dir = FLAGS.output_dir or tempfile.mkdtemp(prefix="quality-bench-")
    os.makedirs(output_dir, exist_ok=True)
    peer = load_peer()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rows, pca = [], None
    with tempfile.TemporaryDirectory() as scratch:
        train_npz, train_images = write_training_partition(scratch)
        for name in FLAGS.configs:
            keras.backend.clear_session()
            started = time.perf_counter()
            run_dir = train(our_config(name, train_npz, output_dir))
            seconds = time.perf_counter() - started
            figures = evaluate(load_vae(os.path.join(run_dir, "model.keras")), f"ours_{name}", output_dir)
            rows.append(dict(objective=name, model="facenet-vae", train_seconds=seconds, **figures))
            pca = pca or {"probe": figures["pca_probe"]}
            logging.info("ours %s: %s", name, figures)

            started = time.perf_counter()
            peer_model = peer.train(train_images, steps=FLAGS.steps, batch_size=FLAGS.batch_size, mode=name,
                                    seed=FLAGS.seed, log_every=0)
            seconds = time.perf_counter() - started
            figures = evaluate(peer_as_loaded_vae(peer, peer_model), f"peer_{name}", output_dir)
            rows.append(dict(objective=name, model="PyTorch peer", train_seconds=seconds, **figures))
            logging.info("peer %s: %s", name, figures)
        pca["psnr"] = pca_psnr(train_images, max_held_out=FLAGS.max_held_out)
    text = table(rows, pca)
    description = (f"dfc_vae_resnet, {FLAGS.steps} steps of batch {FLAGS.batch_size} (seed {FLAGS.seed}) on the 3,720 "
                   f"partition-0 faces of {FACES.name}; evaluated on partitions 1 and 2 "
                   f"({FLAGS.max_held_out or 1230} faces). Probe: mean accuracy over the 40 attributes of a linear "
                   "classifier on standardised latent means. Smiling edit: fraction of held-out non-smiling faces "
                   "classified smiling after z + 1 x vector, decode, re-encode; others flipped: fraction of the other "
                   "39 attribute predictions that change. The ± on the differences is the standard error of the "
                   "face-by-face difference over the held-out faces: sampling noise of those faces, not of the "
                   "training seed.")
    with open(os.path.join(output_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump({"description": description, "rows": rows, "pca": pca}, handle, indent=2)
    with open(os.path.join(output_dir, "summary.md"), "w", encoding="utf-8") as handle:
        handle.write(f"# Quality against the PyTorch peer\n\n{description}\n\n{text}\n")
    print(description)
    print(text)
    print(f"\nreports and run folders: {output_dir}")


if __name__ == "__main__":
    app.run(main)
