"""Does the default training recipe learn at least as well as a plain PyTorch model of the same graph?

    python bench/quality.py --steps=800 --batch_size=64 --output_dir=quality800   # the issue's budget (hours on 2 CPU cores)
    python bench/quality.py --steps=30 --configs=plain --max_held_out=200   # a quick check

For each objective of ``OBJECTIVES`` named by ``--configs`` (``plain``: KL + 0.5 x squared error in
facenet's normalised space, per sample; ``facenet_fixed``: KL + 0.5 x FaceNet-stem feature error, per
sample, the stem fed (pixels - 127.5) / 128 as the peer feeds it; ``dfc`` (the recipe), ``facenet``
(facenet's own, the stem fed normalised images), ``dfc_fixed``, ``vgg123``, ``dfc_embedding``, ``dfc_deep``, ``dfc_adversarial``:
objectives the peer has no mode for, which train ours only; default plain, dfc, facenet,
facenet_fixed) trains in one run, on the 3,720 partition-0 faces of the CelebA subset, with the same
steps, batch and seed:
  - this project's default recipe through ``facenet_vae.training.train`` (what train_vae.py runs);
  - the PyTorch quality peer (``$FACENET_VAE_DATA/peers/torch_dfc_vae_quality.py``: PyTorch's default
    init, Adam 5e-4, random flips).
Both are scored by this project's evaluation (``facenet_vae.evaluation``) on the 1,230 faces of
partitions 1 and 2, as trained (ours with its batch-norm statistics re-estimated at the end of
training, train_vae.py's default; --norecalibrate_batch_norm: facenet's moving averages, which the
peer keeps too, though its output layer has no batch norm), and the table
prints our figure minus the peer's. The evaluation's identity and realism section (docs/metrics.md)
gives the second table; PCA with 100 components on the pixels and real photos are its reference rows.
The pixel weight 1.67e-4 on 0..255 pixels is the peer's 0.5 on normalised pixels (0.5 / mean
channel variance of facenet's constants).

The full budget takes longer than a working session on a CPU (each FaceNet-stem training is about an
hour on 2 cores), so with ``--output_dir`` a run can be stopped and continued: the same command again
keeps each finished row (``rows/``), resumes our stopped training from its last checkpoint (every 100
steps; the resumed part reshuffles with another seed, as ``--resume`` does) and restarts a stopped
peer training (the peer has no checkpoints; its trained weights are kept for scoring). Other settings
in the same folder are refused. The table then holds every row, trained with the same settings.
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

from quality_tables import identity_figures, table  # noqa: E402  (bench/ is the script's folder)
from row_store import RowStore  # noqa: E402
from quality_objectives import FACENET_STEM, OBJECTIVES  # noqa: E402
from shared_data import require, shared_path  # noqa: E402

FACES = shared_path("data", "celeba_subset.npz")
PEER = shared_path("peers", "torch_dfc_vae_quality.py")
SAVE_EVERY_N_STEPS = 100   # a stopped run loses at most this many steps of each of our trainings
# The flags that change what a row measures: a run continued in the same --output_dir must repeat them.
ROW_SETTINGS = ("steps", "batch_size", "seed", "our_schedule", "max_held_out", "recalibrate_batch_norm")

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 800, "Training steps for each model.")
flags.DEFINE_integer("batch_size", 64, "Training batch size.")
flags.DEFINE_list("configs", ["plain", "dfc", "facenet", "facenet_fixed"], f"Objectives, from: {', '.join(OBJECTIVES)}.")
flags.DEFINE_integer("seed", 0, "Seed of both trainings.")
flags.DEFINE_bool("peers", True, "Train and score the PyTorch peer for each objective it has (--nopeers: ours only, "
                  "for comparing objectives when the peer figures are already known).")
flags.DEFINE_integer("max_held_out", None, "Evaluate on a seeded subset of at most this many held-out faces.")
flags.DEFINE_enum("our_schedule", "default", ["default", "cosine"],
                  "Our learning rate: default (constant Adam 5e-4, as facenet and the peer train) or cosine "
                  "(2% warm-up to 1e-3, then cosine decay to 0): an ablation of the schedule alone.")
flags.DEFINE_bool("recalibrate_batch_norm", True, "Ours: re-estimate batch-norm statistics at the end of training "
                  "(train_vae.py's default); --norecalibrate_batch_norm keeps facenet's moving averages.")
flags.DEFINE_string("output_dir", None, "Where run folders, reports, finished rows and summary.json/md go (default: a "
                    "temp folder). Run again with the same folder and settings to continue a stopped run: finished "
                    "rows are kept, our stopped training resumes from its last checkpoint, a stopped peer restarts.")


def our_config(name, train_npz, run_dir, resume=False):
    """Return the TrainConfig of the project's default recipe for objective ``name``, training in ``run_dir``
    (``resume``: continue the run stopped there)."""
    from facenet_vae.training import TrainConfig
    run = dict(resume=run_dir) if resume else dict(models_base_dir=os.path.dirname(run_dir),
                                                   run_name=os.path.basename(run_dir))
    common = dict(dataset="npz", data_dir=train_npz, max_nrof_steps=FLAGS.steps,
                  save_every_n_steps=min(FLAGS.steps, SAVE_EVERY_N_STEPS), batch_size=FLAGS.batch_size, verbose=0,
                  export_saved_model=False, seed=FLAGS.seed, loss_reduction="mean",
                  recalibrate_batch_norm=FLAGS.recalibrate_batch_norm, **run)
    if FLAGS.our_schedule == "cosine":
        common.update(learning_rate_schedule="cosine", initial_learning_rate=1e-3)
    return TrainConfig(**{**common, **OBJECTIVES[name].our_settings()})


def load_peer():
    """Import the PyTorch quality peer module from the shared folder (torch on every core)."""
    import torch
    torch.set_num_threads(max(1, os.cpu_count() or 1))
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
    section = result["identity_realism"]
    figures = {"report_dir": config.output_dir, "psnr": result["reconstruction"]["psnr"],
               "probe": result["attribute_prediction"]["mean_accuracy"],
               "majority": result["attribute_prediction"]["majority_baseline"],
               "pca_probe": result["attribute_prediction"]["pca_pixels_baseline"],
               "smiling": smiling["success_rate"], "others_flipped": 1.0 - smiling["others_unchanged"],
               "kl": result["latent"]["kl_total"], "active_units": result["latent"]["active_units"],
               "identity": identity_figures(section["rows"]["model"]),
               "smiling_identity_kept": section["edits"].get("model", {}).get("Smiling", {}).get("kept_ratio"),
               # The evaluation's reference rows: the same in every evaluation on these faces.
               "references": {key: identity_figures(section["rows"][key])
                              for key in ("pca_pixels", "real_photos") if section["rows"].get(key)}}
    return figures


def write_training_partition(folder):
    """Write the partition-0 rows of the shared npz to ``folder``; returns (path, images)."""
    with np.load(FACES) as data:
        rows = np.flatnonzero(data["celeba_partition"] == 0)
        arrays = {key: data[key][rows] if data[key].shape[:1] == data["images"].shape[:1] else data[key]
                  for key in data.files}
    path = os.path.join(folder, "celeba_subset_train.npz")
    np.savez(path, **arrays)
    return path, arrays["images"]


def our_row(name, store, train_npz, output_dir):
    """Return the row of our model for objective ``name``: trained (or its stopped training resumed) and scored once."""
    from facenet_vae.generation.loading import load_vae
    from facenet_vae.training import train
    from facenet_vae.training.run_folder import final_model_file
    key = f"ours_{name}"
    row = store.get(key)
    if row:
        return row
    run_dir = os.path.join(output_dir, "runs", name)
    if not (os.path.isdir(run_dir) and final_model_file(run_dir)):
        stopped_earlier = os.path.isdir(run_dir)
        started = time.perf_counter()
        train(our_config(name, train_npz, run_dir, resume=stopped_earlier))
        store.put(f"trained_{key}", {"train_seconds": None if stopped_earlier else time.perf_counter() - started})
    figures = evaluate(load_vae(os.path.join(run_dir, "model.keras")), key, output_dir)
    row = dict(objective=name, model="facenet-vae", **(store.get(f"trained_{key}") or {"train_seconds": None}),
               **figures)
    store.put(key, row)
    logging.info("ours %s: %s", name, figures)
    return row


def peer_row(name, store, peer, train_images, output_dir):
    """Return the row of the PyTorch peer for objective ``name``; its weights are kept, so only the scoring reruns."""
    import torch

    from facenet_vae.atomic_files import atomic_path
    key = f"peer_{name}"
    row = store.get(key)
    if row:
        return row
    weights = os.path.join(output_dir, f"{key}.pt")
    trained = store.get(f"trained_{key}")
    if trained and os.path.isfile(weights):
        model = peer.Vae()
        model.load_state_dict(torch.load(weights))
        model.eval()
    else:   # the peer trains in one call: a stopped peer training starts again
        started = time.perf_counter()
        model = peer.train(train_images, steps=FLAGS.steps, batch_size=FLAGS.batch_size,
                           mode=OBJECTIVES[name].peer_mode, seed=FLAGS.seed, log_every=0)
        trained = {"train_seconds": time.perf_counter() - started}
        with atomic_path(weights) as partial:
            torch.save(model.state_dict(), partial)
        store.put(f"trained_{key}", trained)
    figures = evaluate(peer_as_loaded_vae(peer, model), key, output_dir)
    row = dict(objective=name, model="PyTorch peer", **trained, **figures)
    store.put(key, row)
    logging.info("peer %s: %s", name, figures)
    return row


def main(argv):
    del argv
    import keras
    for name in FLAGS.configs:
        if name not in OBJECTIVES:
            raise app.UsageError(f"unknown config {name!r}; choose from {', '.join(OBJECTIVES)}")
    require(FACES, FACENET_STEM, *([PEER] if FLAGS.peers else []))
    output_dir = FLAGS.output_dir or tempfile.mkdtemp(prefix="quality-bench-")
    # Folders started before --recalibrate_batch_norm existed hold rows of facenet's moving averages.
    store = RowStore(output_dir, {name: getattr(FLAGS, name) for name in ROW_SETTINGS},
                     unrecorded={"recalibrate_batch_norm": False})
    peer = load_peer() if FLAGS.peers else None
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        train_npz, train_images = write_training_partition(scratch)
        for name in FLAGS.configs:
            keras.backend.clear_session()
            rows.append(our_row(name, store, train_npz, output_dir))
            if OBJECTIVES[name].peer_mode is not None and FLAGS.peers:
                rows.append(peer_row(name, store, peer, train_images, output_dir))
    references = {"pca_probe": rows[0]["pca_probe"], **rows[0]["references"]}
    text = table(rows, references)
    batch_norm = "re-estimated at the end" if FLAGS.recalibrate_batch_norm else "facenet's moving averages"
    description = (f"dfc_vae_resnet, {FLAGS.steps} steps of batch {FLAGS.batch_size} (seed {FLAGS.seed}; our batch-norm "
                   f"statistics {batch_norm}) on the 3,720 "
                   f"partition-0 faces of {FACES.name}; evaluated on partitions 1 and 2 "
                   f"({FLAGS.max_held_out or 1230} faces). Probe: mean accuracy over the 40 attributes of a linear "
                   "classifier on standardised latent means. Smiling edit: fraction of held-out non-smiling faces "
                   "classified smiling after z + 1 x vector, decode, re-encode; others flipped: fraction of the other "
                   "39 attribute predictions that change. The ± on the differences is the standard error of the "
                   "face-by-face difference over the held-out faces: sampling noise of those faces, not of the "
                   "training seed. Identity (facenet-casia, never seen by any loss here): cosine of each face to its "
                   "reconstruction, verification AUC over all (face, reconstruction) pairs, rank-1 identification "
                   "among the held-out faces; Smiling identity kept: cos(edited, face) / cos(reconstruction, face). "
                   "FFD: Fréchet distance x100 on facenet-casia embeddings; VGG16 FD: on pooled VGG16 features, "
                   "standing in for FID (no Inception weights here); both against the held-out faces, for "
                   "reconstructions and as many samples of the fitted Gaussian and of N(0, I). Reference rows: PCA "
                   "of the pixels, and real photos (each face against another photo of the same person). "
                   "Definitions: docs/metrics.md.")
    with open(os.path.join(output_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump({"description": description, "rows": rows, "references": references}, handle, indent=2)
    with open(os.path.join(output_dir, "summary.md"), "w", encoding="utf-8") as handle:
        handle.write(f"# Quality against the PyTorch peer\n\n{description}\n\n{text}\n")
    print(description)
    print(text)
    print(f"\nreports and run folders: {output_dir}")


if __name__ == "__main__":
    app.run(main)
