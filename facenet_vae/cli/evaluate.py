r"""facenet-vae-evaluate: how good is a trained DFC-VAE? Reconstruction, attribute prediction, editing, latent health.

    facenet-vae-evaluate --data_dir=../shared/data/celeba_subset.npz --output_dir=eval_report   (the shipped model)
    facenet-vae-evaluate --model=RUN_FOLDER --dataset=folder --data_dir=../shared/data/celeba_subset_aligned \
        --attributes_file=../shared/data/celeba_subset_list_attr_celeba.txt --output_dir=eval_aligned
    facenet-vae-evaluate --model=run/model.keras --dataset=celeb_a --data_dir=~/datasets/CelebA --max_train_images=20000
    (or: python -m facenet_vae.evaluate ...)

Photos are framed exactly as the model's training faces were (the framing recorded with the model).
Writes report.json (every number), report.md and PNG figures to --output_dir. Held-out images: CelebA
partitions 1 and 2 (validation, test) when the partition is known (celeba_partition in a .npz,
--partition_file or list_eval_partition.txt), else a seeded random 20%. Attribute classifiers and
attribute vectors are fitted on the rest. Editing adds --edit_strength times the attribute vector
(mean latent with the attribute minus mean without, on the training split).
"""
import os
import sys

from facenet_vae.cli.console import (EXIT_FAILED, EXIT_OK, fail, import_tensorflow, log_to_stderr, parse_settings,
                                     quiet_tensorflow)
from facenet_vae.evaluation.config import EvaluationConfig
from facenet_vae.evaluation.report import plus_minus

TOOL = "facenet-vae-evaluate"


def summary_lines(result):
    """Return a few printable lines with the headline numbers of a report dict."""
    rec, lat = result["reconstruction"], result["latent"]
    psnr_text = plus_minus(f"{rec['psnr']:.2f}", rec.get("psnr_standard_error"))
    lines = [f"reconstruction: MSE {rec['mse']:.2f}  PSNR {psnr_text} dB  SSIM {rec['ssim']:.4f}",
             f"latent: {lat['active_units']} active units of {lat['latent_var_size']}, KL {lat['kl_total']:.2f}"]
    attributes = result.get("attribute_prediction")
    if attributes:
        pca = attributes["pca_pixels_baseline"]
        accuracy_text = plus_minus(f"{attributes['mean_accuracy']:.4f}",
                                   attributes.get("mean_accuracy_standard_error"), digits=4)
        lines.append(f"attributes: mean accuracy {accuracy_text} (majority "
                     f"{attributes['majority_baseline']:.4f}, PCA pixels {pca if pca is None else round(pca, 4)})")
    for name, row in (result.get("editing") or {}).items():
        if row.get("success_rate") is not None:
            lines.append(f"editing {name}: success {row['success_rate']:.3f}, others unchanged "
                         f"{row['others_unchanged']:.3f}")
    return lines


def parse_config(argv):
    """Return the checked EvaluationConfig of ``argv``; raises SystemExit after one line for a bad command line."""
    return parse_settings(TOOL, argv, EvaluationConfig, __doc__, __name__, EvaluationConfig.validate)


def main(argv=None):
    """Console entry point: evaluate, print the headline numbers and the report path; returns the exit status."""
    argv = sys.argv if argv is None else argv
    try:
        config = parse_config(argv)
    except SystemExit as stop:
        return stop.code
    for flag, path in (("--model", config.model), ("--data_dir", config.data_dir)):
        local = path and "://" not in path  # remote paths (gs://...) are checked by TensorFlow later
        if local and not os.path.exists(os.path.expanduser(path)):  # said before TensorFlow loads
            return fail(TOOL, f"{flag}: {path!r} does not exist")
    quiet_tensorflow(config.verbose)
    log_to_stderr(TOOL, config.verbose)
    import_tensorflow(config.verbose)
    # Imported only now, on purpose: the pipeline loads TensorFlow and scikit-learn, which the flag
    # check above must not wait for.
    from facenet_vae.evaluation.pipeline import run_evaluation  # noqa: PLC0415
    from facenet_vae.evaluation.progress import Progress  # noqa: PLC0415
    try:
        result = run_evaluation(config, progress=Progress(tool=TOOL))
    except (OSError, ValueError) as error:
        return fail(TOOL, error, EXIT_FAILED)
    for line in summary_lines(result):
        print(line)
    print(f"report: {os.path.join(config.output_dir, 'report.md')}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
