"""Which reconstruction objective gives the better model? Train dfc_vae_resnet three ways, evaluate each.

    python bench/quality.py                                   # default budget: < 30 min on 2 CPU cores
    python bench/quality.py --steps=20 --configs=plain        # a quick check
    python bench/quality.py --steps=3000 --batch_size=64      # on a GPU

Trains on the real CelebA faces of ../shared/data/celeba_subset.npz (official partition 0, 3720
faces), with (a) PLAIN: the pixel loss, (b) facenet: the FaceNet stem feature loss
(../shared/models/facenet_keras_stem.h5, Conv2d_1a_3x3 + Conv2d_2a_3x3 + Conv2d_2b_3x3) and (c)
vgg16: VGG16 features (../shared/models/vgg16_hed_notop.weights.h5, vgg123 layers), each for the
same number of steps from the same seed, then evaluates each on the held-out partitions 1 and 2
(1230 faces) with facenet_vae.evaluation and prints one row per objective. Run folders, the
per-objective reports (report.md, figures) and summary.json/summary.md go to --output_dir.
"""
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags, logging

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared"
FACES = SHARED / "data" / "celeba_subset.npz"
FACENET_STEM = SHARED / "models" / "facenet_keras_stem.h5"
VGG16_WEIGHTS = SHARED / "models" / "vgg16_hed_notop.weights.h5"
CONFIGS = ("plain", "facenet", "vgg16")
# Measured at batch 32 on 2 CPU cores shared with other jobs (load average 5-8): the three objectives
# with their evaluations took 29:40 wall-clock at 150 steps, using 17.7 CPU-minutes.
DEFAULT_STEPS = 150

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", DEFAULT_STEPS, "Training steps per objective.")
flags.DEFINE_list("configs", list(CONFIGS), "Objectives to train: plain, facenet, vgg16.")
flags.DEFINE_string("output_dir", None, "Where run folders, reports and the summary go (default: a new temp folder).")
flags.DEFINE_integer("batch_size", 32, "Training batch size.")
flags.DEFINE_integer("latent_var_size", 100, "Latent size.")
flags.DEFINE_string("vae_def", "dfc_vae_resnet", "VAE definition.")
flags.DEFINE_string("data", str(FACES), "The CelebA subset .npz (images, attributes, celeba_partition).")
flags.DEFINE_integer("seed", 666, "Training seed (the same for every objective).")
flags.DEFINE_bool("recalibrate_batch_norm", True, "Re-estimate batch-norm statistics on training images before "
                  "evaluating: after a few hundred steps the 0.995-decay moving averages still mostly hold their "
                  "initial values. The table also shows PSNR with the stored statistics.")
flags.DEFINE_list("edit_sweep", [], "Further editing strengths to report (costs a decode/encode pass each).")


def objective(name):
    """Return the TrainConfig fields of objective ``name`` (plain | facenet | vgg16)."""
    if name == "plain":
        return dict(reconstruction_loss_type="PLAIN")
    if name == "facenet":
        return dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet",
                    perceptual_weights=str(FACENET_STEM), loss_features="Conv2d_1a_3x3,Conv2d_2a_3x3,Conv2d_2b_3x3")
    if name == "vgg16":
        return dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="vgg16",
                    perceptual_weights=str(VGG16_WEIGHTS), loss_features="vgg123")
    raise app.UsageError(f"unknown config {name!r}; choose from {', '.join(CONFIGS)}")


def write_training_partition(source, folder):
    """Write the training partition (celeba_partition == 0) of ``source`` to ``folder``; returns the path."""
    import numpy as np
    with np.load(source) as data:
        rows = np.flatnonzero(data["celeba_partition"] == 0)
        path = os.path.join(folder, "celeba_subset_train.npz")
        np.savez(path, **{key: data[key][rows] if data[key].shape[:1] == data["images"].shape[:1] else data[key]
                          for key in data.files})
    return path


def train_and_evaluate(name, train_npz, output_dir):
    """Train objective ``name``, evaluate it on the held-out faces; returns a summary row (dict)."""
    import keras
    from facenet_vae.evaluation.pipeline import EvaluationConfig, run_evaluation
    from facenet_vae.training import TrainConfig, train

    keras.backend.clear_session()
    config = TrainConfig(vae_def=FLAGS.vae_def, latent_var_size=FLAGS.latent_var_size, dataset="npz",
                         data_dir=train_npz, max_nrof_steps=FLAGS.steps, save_every_n_steps=FLAGS.steps,
                         summary_every_n_steps=max(1, min(100, FLAGS.steps)), batch_size=FLAGS.batch_size,
                         models_base_dir=os.path.join(output_dir, "runs", name), verbose=0,
                         export_saved_model=False, seed=FLAGS.seed, **objective(name))
    started = time.perf_counter()
    run_dir = train(config)
    train_seconds = time.perf_counter() - started
    evaluation = EvaluationConfig(model=run_dir, data_dir=FLAGS.data, dataset="npz",
                                  output_dir=os.path.join(output_dir, name),
                                  edit_sweep=tuple(float(k) for k in FLAGS.edit_sweep),
                                  recalibrate_batch_norm=FLAGS.recalibrate_batch_norm)
    started = time.perf_counter()
    result = run_evaluation(evaluation)
    eval_seconds = time.perf_counter() - started
    attributes, smiling = result["attribute_prediction"], result["editing"]["Smiling"]
    return {
        "objective": name, "run_dir": run_dir, "report": os.path.join(output_dir, name, "report.md"),
        "steps": FLAGS.steps, "batch_size": FLAGS.batch_size,
        "mse": result["reconstruction"]["mse"], "psnr": result["reconstruction"]["psnr"],
        "ssim": result["reconstruction"]["ssim"],
        "psnr_stored_bn": (result.get("reconstruction_stored_batch_norm") or result["reconstruction"])["psnr"],
        "attribute_accuracy": attributes["mean_accuracy"], "majority_baseline": attributes["majority_baseline"],
        "pca_pixels_baseline": attributes["pca_pixels_baseline"],
        "smiling_success": smiling["success_rate"], "smiling_others_unchanged": smiling["others_unchanged"],
        "smiling_round_trip": smiling["round_trip_success_rate"],
        "active_units": result["latent"]["active_units"], "kl_total": result["latent"]["kl_total"],
        "train_seconds": train_seconds, "eval_seconds": eval_seconds,
    }


def format_table(rows):
    """Return the summary rows as a Markdown table."""
    header = ("| objective | MSE | PSNR (dB) | PSNR stored BN | SSIM | attr. acc. | majority | PCA pixels | "
              "Smiling edit | Smiling at k=0 | others kept | active units | KL | train time | eval time |")
    lines = [header, "|" + " --- |" * (header.count("|") - 1)]
    for r in rows:
        cells = [r["objective"], f"{r['mse']:.1f}", f"{r['psnr']:.2f}", f"{r['psnr_stored_bn']:.2f}",
                 f"{r['ssim']:.4f}", f"{r['attribute_accuracy']:.4f}", f"{r['majority_baseline']:.4f}",
                 f"{r['pca_pixels_baseline']:.4f}", f"{r['smiling_success']:.3f}", f"{r['smiling_round_trip']:.3f}",
                 f"{r['smiling_others_unchanged']:.3f}", str(r["active_units"]), f"{r['kl_total']:.4g}",
                 f"{r['train_seconds'] / 60:.1f} min", f"{r['eval_seconds'] / 60:.1f} min"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    del argv
    for name in FLAGS.configs:
        objective(name)
    for path in (pathlib.Path(FLAGS.data), FACENET_STEM, VGG16_WEIGHTS):
        if not path.is_file():
            raise app.UsageError(f"{path} is missing")
    output_dir = FLAGS.output_dir or tempfile.mkdtemp(prefix="quality-bench-")
    os.makedirs(output_dir, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        train_npz = write_training_partition(FLAGS.data, scratch)
        for name in FLAGS.configs:
            logging.info("training %s for %d steps", name, FLAGS.steps)
            rows.append(train_and_evaluate(name, train_npz, output_dir))
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    table = format_table(rows)
    description = (f"{FLAGS.vae_def}, latent {FLAGS.latent_var_size}, {FLAGS.steps} steps of batch {FLAGS.batch_size} "
                   f"on the 3720 training faces of {FLAGS.data}; evaluated on the 1230 held-out faces "
                   f"(partitions 1 and 2). Attribute accuracy: mean over 40 CelebA attributes of a linear "
                   f"classifier on the latent means. Smiling edit: fraction of held-out non-smiling faces "
                   f"classified smiling after z + 1.0 * vector, decode, re-encode ('Smiling at k=0': the same "
                   f"after a plain decode/re-encode, the classifier's drift on reconstructions)."
                   + (" Batch-norm statistics re-estimated on 2000 training images before evaluating; 'PSNR "
                      "stored BN' uses the trained model's own moving averages." if FLAGS.recalibrate_batch_norm
                      else ""))
    with open(os.path.join(output_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump({"description": description, "rows": rows}, handle, indent=2)
    with open(os.path.join(output_dir, "summary.md"), "w", encoding="utf-8") as handle:
        handle.write(f"# Objective comparison\n\n{description}\n\n{table}\n")
    print()
    print(description)
    print(table)
    print(f"\nreports and run folders: {output_dir}")


if __name__ == "__main__":
    app.run(main)
