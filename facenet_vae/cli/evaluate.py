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
(mean latent with the attribute minus mean without, on the training split). Identity and realism
(--identity_metrics, on by default) are judged by networks the loss never sees, fetched on first use
(facenet-vae-fetch all): facenet-casia identity, Fréchet distances and LPIPS, with PCA of the pixels
and real photos as reference rows (docs/metrics.md).
"""
import os
import sys

from facenet_vae.cli.console import EXIT_OK, parse_settings, run_tool
from facenet_vae.evaluation.config import EvaluationConfig
from facenet_vae.evaluation.report import plus_minus
from facenet_vae.generation.attribute_directions import DIFFERENCE

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
        gain = attributes["mean_accuracy"] - attributes["majority_baseline"]
        lines.append(f"attributes: probe minus majority {gain:+.4f}")
    for name, row in (result.get("editing") or {}).items():
        if row.get("success_rate") is not None:
            lines.append(f"editing {name} ({row.get('attribute_vector_method', DIFFERENCE)} vector, "
                         f"k={row['strength']:g}): success {row['success_rate']:.3f}, others unchanged "
                         f"{row['others_unchanged']:.3f} (flipped {1 - row['others_unchanged']:.3f})")
    return lines + identity_realism_lines(result.get("identity_realism"))


def _value(entry, digits=3):
    if entry is None or entry.get("mean") is None:
        return "n/a"
    return plus_minus(f"{entry['mean']:.{digits}f}", entry.get("standard_error"), digits=digits)


def _number(value, digits=2):
    return "n/a" if value is None else f"{value:.{digits}f}"


def identity_realism_lines(section):
    """Return one identity line and one realism line per row (model, PCA, real photos), then the edits' identity."""
    if not section:
        return []
    lines = []
    for row in section["rows"].values():
        if row is None:
            continue
        auc = "n/a" if row["verification_auc"] is None else plus_minus(
            f"{row['verification_auc']:.4f}", row["verification_auc_standard_error"], digits=4)
        lines.append(f"identity ({section['networks']['identity']}), {row['label']}: cosine "
                     f"{_value(row['identity_cosine'])}, AUC {auc}, rank-1 {_value(row['rank1'])}")
        ffd, vgg = row["ffd_x100"], row["vgg_frechet"]
        terms = (row.get("ffd_x100_terms") or {}).get("reconstructions")
        split = "" if terms is None else (f" (mean term {terms['mean_term']:.2f} + covariance term "
                                          f"{terms['covariance_term']:.2f})")
        lines.append(f"realism, {row['label']}: LPIPS {_value(row['lpips'])}; FFD x100 reconstructions "
                     f"{_number(ffd['reconstructions'])}{split}, fitted samples {_number(ffd['fitted_samples'])}, N(0, I) "
                     f"{_number(ffd['prior_samples'])}; VGG16 Fréchet {_number(vgg['reconstructions'])}, "
                     f"{_number(vgg['fitted_samples'])}, {_number(vgg['prior_samples'])}")
    for key, edits in section.get("edits", {}).items():
        for name, edit in edits.items():
            kept = "n/a" if edit["kept_ratio"] is None else plus_minus(
                f"{edit['kept_ratio']:.3f}", edit["kept_ratio_standard_error"], digits=3)
            lines.append(f"identity kept by the {name} edit ({section['rows'][key]['label']}): {kept} "
                         f"(cosine {_value(edit['identity_cosine'])} vs reconstruction "
                         f"{_value(edit['reconstruction_identity_cosine'])})")
    return lines


def parse_config(argv):
    """Return the checked EvaluationConfig of ``argv``; raises SystemExit after one line for a bad command line."""
    return parse_settings(TOOL, argv, EvaluationConfig, __doc__, __name__, EvaluationConfig.validate)


def missing_path(config):
    """Return a one-line problem when ``--model`` or ``--data_dir`` names a local path that does not exist."""
    for flag, path in (("--model", config.model), ("--data_dir", config.data_dir)):
        local = path and "://" not in path  # remote paths (gs://...) are checked by TensorFlow later
        if local and not os.path.exists(os.path.expanduser(path)):
            return f"{flag}: {path!r} does not exist"
    return None


def evaluate(config):
    """Evaluate, print the headline numbers and the report path; returns EXIT_OK."""
    # Imported only now, on purpose: the pipeline loads TensorFlow and scikit-learn, which the flag
    # check must not wait for.
    from facenet_vae.evaluation.pipeline import run_evaluation  # noqa: PLC0415
    from facenet_vae.evaluation.progress import Progress  # noqa: PLC0415
    result = run_evaluation(config, progress=Progress(tool=TOOL))
    for line in summary_lines(result):
        print(line)
    print(f"report: {os.path.join(config.output_dir, 'report.md')}")
    return EXIT_OK


def main(argv=None):
    """Console entry point: evaluate, print the headline numbers and the report path; returns the exit status."""
    return run_tool(TOOL, argv, parse_config, evaluate, check=missing_path)


if __name__ == "__main__":
    sys.exit(main())
