"""How good is a trained DFC-VAE? Reconstruction, attribute prediction, editing and latent health, as a report.

    python -m facenet_vae.evaluate --model=RUN_FOLDER_OR_MODEL --data_dir=../shared/data/celeba_subset.npz \
        --output_dir=eval_report
    python -m facenet_vae.evaluate --model=run/model.keras --dataset=folder \
        --data_dir=../shared/data/celeba_subset_aligned \
        --attributes_file=../shared/data/celeba_subset_list_attr_celeba.txt --output_dir=eval_aligned
    python -m facenet_vae.evaluate --model=run --dataset=celeb_a --data_dir=~/datasets/CelebA --max_train_images=20000

Photos are framed exactly as the model's training faces were (the framing recorded with the
model); there are no crop flags to repeat. Writes ``report.json`` (every number), ``report.md`` and PNG figures to ``--output_dir``.
Held-out images: CelebA partitions 1 and 2 (validation, test) when the partition is known
(``celeba_partition`` in a .npz, ``--partition_file`` or ``list_eval_partition.txt``), else a
seeded random 20%. Attribute classifiers and attribute vectors are fitted on the rest.

Editing adds ``--edit_strength`` times the attribute vector (mean latent with the attribute minus
mean without, on the training split). The default 1.0 moves a face by the distance between the two
class means, i.e. from a typical face without the attribute to a typical face with it.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

from facenet_vae.evaluation.pipeline import EvaluationConfig

FLAGS = flags.FLAGS
_D = EvaluationConfig(model="", data_dir="")

flags.DEFINE_string("model", None, "Training run folder (latest checkpoint), .keras file or SavedModel folder "
                    "(default: the trained CelebA model shipped in checkpoints/celeba64).")
flags.DEFINE_enum("dataset", None, ["npz", "folder", "celeb_a", "celeba"],
                  "npz: a .npz with images (+ attributes, attribute_names, celeba_partition); folder: an image "
                  "folder (flat or one sub-folder per identity); celeba: a CelebA download "
                  "(img_align_celeba/ + list_attr_celeba.txt [+ list_eval_partition.txt]); celeb_a: "
                  "tensorflow-datasets' prepared celeb_a in --data_dir (or a CelebA download). Default: npz "
                  "for a .npz path, else folder.")
flags.DEFINE_string("data_dir", None, "The .npz file or image folder.")
flags.DEFINE_string("output_dir", _D.output_dir, "Where report.json, report.md and the figures are written.")
flags.DEFINE_string("attributes_file", None, "list_attr_celeba.txt-format attributes for --dataset=folder "
                    "(and to override the one found by --dataset=celeb_a).")
flags.DEFINE_string("partition_file", None, "list_eval_partition.txt giving the split of a folder's images.")
flags.DEFINE_list("edit_attributes", list(_D.edit_attributes), "Attributes whose editing success is measured.")
flags.DEFINE_float("edit_strength", _D.edit_strength, "k in z + k * attribute_vector (1.0: one class-mean gap).")
flags.DEFINE_list("edit_sweep", [str(k) for k in _D.edit_sweep], "Further strengths k reported beside "
                  "--edit_strength (k = 0, a plain decode/re-encode round trip, is always reported).")
flags.DEFINE_string("color_attribute", _D.color_attribute, "Attribute colouring the latent PCA figure.")
flags.DEFINE_integer("pca_components", _D.pca_components, "Principal components of the pixel baseline.")
flags.DEFINE_integer("batch_size", _D.batch_size, "Images per encoder/decoder batch.")
flags.DEFINE_integer("max_train_images", None, "Use a seeded random subset of at most this many training images.")
flags.DEFINE_integer("max_held_out_images", None, "Use a seeded random subset of at most this many held-out images.")
flags.DEFINE_integer("num_figure_images", _D.num_figure_images, "Held-out faces shown in the reconstruction figure.")
flags.DEFINE_bool("recalibrate_batch_norm", _D.recalibrate_batch_norm,
                  "Re-estimate batch-norm moving statistics on (up to 2000) training images before evaluating, "
                  "for briefly trained models whose moving averages still hold their initial values; the "
                  "reconstruction with the stored statistics is reported too. Keras models only.")
flags.DEFINE_integer("seed", _D.seed, "Seed for splits, subsets, prior samples and classifiers.")


def config_from_flags():
    """Return the EvaluationConfig given by the command-line flags."""
    return EvaluationConfig(
        model=FLAGS.model, data_dir=FLAGS.data_dir, dataset=FLAGS.dataset, output_dir=FLAGS.output_dir,
        attributes_file=FLAGS.attributes_file, partition_file=FLAGS.partition_file,
        edit_attributes=tuple(FLAGS.edit_attributes), edit_strength=FLAGS.edit_strength,
        edit_sweep=tuple(float(k) for k in FLAGS.edit_sweep),
        color_attribute=FLAGS.color_attribute, pca_components=FLAGS.pca_components, batch_size=FLAGS.batch_size,
        max_train_images=FLAGS.max_train_images, max_held_out_images=FLAGS.max_held_out_images,
        num_figure_images=FLAGS.num_figure_images, recalibrate_batch_norm=FLAGS.recalibrate_batch_norm,
        seed=FLAGS.seed)


def summary_lines(result):
    """Return a few printable lines with the headline numbers of a report dict."""
    rec, lat = result["reconstruction"], result["latent"]
    lines = [f"reconstruction: MSE {rec['mse']:.2f}  PSNR {rec['psnr']:.2f} dB  SSIM {rec['ssim']:.4f}",
             f"latent: {lat['active_units']} active units of {lat['latent_var_size']}, KL {lat['kl_total']:.2f}"]
    attributes = result.get("attribute_prediction")
    if attributes:
        pca = attributes["pca_pixels_baseline"]
        lines.append(f"attributes: mean accuracy {attributes['mean_accuracy']:.4f} (majority "
                     f"{attributes['majority_baseline']:.4f}, PCA pixels {pca if pca is None else round(pca, 4)})")
    for name, row in (result.get("editing") or {}).items():
        if row.get("success_rate") is not None:
            lines.append(f"editing {name}: success {row['success_rate']:.3f}, others unchanged "
                         f"{row['others_unchanged']:.3f}")
    return lines


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from facenet_vae.data.errors import DataError
    from facenet_vae.run_folder import RunFolderError
    from facenet_vae.evaluation.pipeline import run_evaluation
    try:
        result = run_evaluation(config_from_flags())
    except (ValueError, FileNotFoundError, DataError, RunFolderError) as error:
        logging.error("%s", error)
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in summary_lines(result):
        print(line)
    print(f"report: {os.path.join(FLAGS.output_dir, 'report.md')}")
    return 0


def run():
    """Console entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
