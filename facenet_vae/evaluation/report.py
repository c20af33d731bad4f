"""``report.json`` (every number) and ``report.md`` (tables and figure links) in the output folder."""
import json
import math
import os

import numpy as np
from facenet_vae.atomic_files import atomic_write
from facenet_vae.evaluation.image_sets import IMAGE_SETS
from facenet_vae.generation.attribute_directions import DIFFERENCE, VECTOR_DESCRIPTIONS


def json_safe(value):
    """Return ``value`` with numpy scalars/arrays turned into Python types and NaN/inf into None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def write_json(report, output_dir, name="report.json"):
    """Write ``report`` as indented JSON (strict: no NaN); returns the file path."""
    text = json.dumps(json_safe(report), indent=2, allow_nan=False)
    return atomic_write(os.path.join(output_dir, name), text + "\n")


def _fmt(value, digits=4):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e6 else f"{value:.{digits}f}"
    return str(value)


def _pct(value):
    return "n/a" if value is None else f"{100.0 * value:.1f}%"


def plus_minus(text, error, scale=1.0, digits=2):
    """Return ``text`` + " ± " + ``scale * error`` (``digits`` decimals); ``text`` alone when ``error`` is None.

    Reports written before standard errors were measured have none.
    """
    return text if error is None else f"{text} ± {scale * error:.{digits}f}"


def _model_and_data_lines(report):
    """Return the title and the Model and Data sections."""
    model, data = report["model"], report["data"]
    lines = ["# DFC-VAE evaluation report", ""]
    lines += ["## Model", "",
              f"- source: {model['source']}",
              f"- definition: `{model.get('vae_def') or 'unknown'}`, latent size {model['latent_var_size']}, "
              f"{model['image_size']}x{model['image_size']} images", ""]
    lines += ["## Data", "", f"- {data['description']}",
              f"- split: {data['split']}",
              f"- images: {data['counts']['train']} training, {data['counts']['held_out']} held-out"]
    if data.get("resize_note"):
        lines.append(f"- {data['resize_note']}")
    for note in data.get("notes", []):
        lines.append(f"- {note}")
    lines.append("")
    return lines


def _reconstruction_lines(report):
    """Return the Reconstruction section (and the stored-statistics line after a recalibration)."""
    figures = report.get("figures", {})
    lines = []
    rec = report["reconstruction"]
    lines += ["## Reconstruction (held-out split)", "",
              "Each face is encoded to its posterior mean and decoded; metrics are on 0..255 uint8 pixels "
              "(tf.image.psnr / tf.image.ssim with max_val 255, averaged over images; ± is the standard error over "
              "the images).", "",
              "| MSE | PSNR (dB) | SSIM | PSNR of mean MSE (dB) | images |", "| --- | --- | --- | --- | --- |",
              f"| {_fmt(rec['mse'], 2)} | {plus_minus(_fmt(rec['psnr'], 2), rec.get('psnr_standard_error'))} | "
              f"{_fmt(rec['ssim'], 4)} | "
              f"{_fmt(rec['psnr_of_mean_mse'], 2)} | {rec['num_images']} |", ""]
    stored = report.get("reconstruction_stored_batch_norm")
    if stored:
        lines += [f"With the model's stored batch-norm statistics (before --recalibrate_batch_norm): MSE "
                  f"{_fmt(stored['mse'], 2)}, PSNR {_fmt(stored['psnr'], 2)} dB, SSIM {_fmt(stored['ssim'], 4)}.", ""]
    if "reconstructions" in figures:
        lines += [f"![reconstructions]({figures['reconstructions']})", ""]
    return lines


def _attribute_prediction_lines(report):
    """Return the Attribute prediction section: accuracy of the latent classifiers against the baselines."""
    figures = report.get("figures", {})
    lines = []
    attributes = report.get("attribute_prediction")
    lines += ["## Attribute prediction from the latent code", ""]
    if not attributes:
        lines += [report.get("attribute_note", "No attributes were given, so this section is empty."), ""]
    else:
        lines += [f"{attributes['classifier']}, trained on the latent means of {attributes['num_train']} "
                  f"training faces, accuracy on {attributes['num_held_out']} held-out faces. Baselines: the "
                  f"training split's majority class, and the same classifier on "
                  f"{attributes['pca_components']} principal components of the raw pixels (PCA fitted on "
                  f"training pixels). ± is the standard error over the held-out faces: differences between models "
                  f"within about twice it are sampling noise.", "",
                  "| | latent code | majority class | PCA of pixels |", "| --- | --- | --- | --- |",
                  f"| mean over {attributes['num_attributes']} attributes | "
                  f"{plus_minus(_pct(attributes['mean_accuracy']), attributes.get('mean_accuracy_standard_error'), 100, 1)} | "
                  f"{_pct(attributes['majority_baseline'])} | {_pct(attributes['pca_pixels_baseline'])} |", ""]
        if attributes["constant_in_training"]:
            lines += [f"Constant in the training split, so predicted as that constant: "
                      f"{', '.join(attributes['constant_in_training'])}.", ""]
        if "attribute_accuracy" in figures:
            lines += [f"![attribute accuracy]({figures['attribute_accuracy']})", ""]
        lines += ["| attribute | latent code | majority | PCA of pixels | positive (held-out) |",
                  "| --- | --- | --- | --- | --- |"]
        for name, row in attributes["per_attribute"].items():
            lines.append(f"| {name} | {_pct(row['accuracy'])} | {_pct(row['majority'])} | {_pct(row['pca_pixels'])} "
                         f"| {_pct(row['positive_rate_held_out'])} |")
        lines.append("")
    return lines


def _editing_lines(report):
    """Return the Attribute editing section: success per attribute and per strength k."""
    lines = []
    editing = report.get("editing") or {}
    lines += ["## Attribute editing", ""]
    if not editing:
        lines += [report.get("editing_note", "No attributes were given, so no editing was measured."), ""]
    else:
        methods = sorted({row.get("attribute_vector_method", DIFFERENCE) for row in editing.values()})
        lines += ["Held-out faces without the attribute are edited as `z + k * v` (v: "
                  + "; ".join(VECTOR_DESCRIPTIONS[method] for method in methods)
                  + "), decoded, re-encoded and "
                  "labelled by the latent classifiers above. *Success*: now predicted to have the attribute. "
                  "*Others unchanged*: other attributes' predicted labels equal to those of the unedited code. "
                  "The round-trip columns decode and re-encode without any edit (k = 0).", "",
                  "| attribute | k | faces | success | others unchanged | round-trip success | "
                  "round-trip others unchanged |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for name, row in editing.items():
            if row.get("success_rate") is None:
                lines.append(f"| {name} | {_fmt(row.get('strength'), 2)} | {row.get('num_faces', 0)} | n/a | n/a | "
                             f"n/a | n/a |")
                continue
            lines.append(f"| {name} | {_fmt(row['strength'], 2)} | {row['num_faces']} | {_pct(row['success_rate'])} | "
                         f"{_pct(row['others_unchanged'])} | {_pct(row['round_trip_success_rate'])} | "
                         f"{_pct(row['round_trip_others_unchanged'])} |")
        lines.append("")
        sweeps = {name: row.get("sweep") or [] for name, row in editing.items()}
        strengths = sorted({entry["strength"] for sweep in sweeps.values() for entry in sweep})
        if strengths:
            lines += ["Success (others unchanged) at each strength k:", "",
                      "| attribute | " + " | ".join(f"k = {k:g}" for k in strengths) + " |",
                      "| --- |" + " --- |" * len(strengths)]
            for name, sweep in sweeps.items():
                by_k = {entry["strength"]: entry for entry in sweep}
                cells = [f"{_pct(by_k[k]['success_rate'])} ({_pct(by_k[k]['others_unchanged'])})" if k in by_k
                         else "n/a" for k in strengths]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
        for name, row in editing.items():
            if row.get("note"):
                lines.append(f"- {name}: {row['note']}")
            if row.get("figure"):
                lines += [f"![editing {name}]({row['figure']})", ""]
        lines.append("")
    return lines


def _latent_lines(report):
    """Return the Latent space section with its figures."""
    figures = report.get("figures", {})
    lines = []
    latent = report["latent"]
    lines += ["## Latent space", "",
              f"- active units (Var over held-out faces of E[z|x] > {latent['active_units_threshold']}, "
              f"Burda et al. 2016): **{latent['active_units']}** of {latent['latent_var_size']}",
              f"- dimensions with mean KL > {latent['active_units_threshold']}: {latent['active_units_kl']}",
              f"- total KL (sum over dimensions, mean over held-out faces): {_fmt(latent['kl_total'], 2)} nats",
              f"- mean posterior variance: {_fmt(latent['posterior_variance_mean'], 4)}"]
    if latent.get("num_log_variances_capped"):
        lines.append(f"- {latent['num_log_variances_capped']} log-variances were above {latent['log_variance_cap']:g} "
                     f"and were capped there, as the training objective caps them")
    lines.append("")
    for key, title in (("kl_per_dimension", "KL per dimension"), ("latent_pca", "latent PCA"),
                       ("prior_samples", "samples from the prior")):
        if key in figures:
            lines += [f"![{title}]({figures[key]})", ""]
    return lines


def _notes_lines(report):
    """Return the Notes section, or nothing when there are no notes."""
    lines = []
    if report.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in report["notes"]] + [""]
    return lines


def _cell(entry, digits=3):
    """Return ``mean ± standard error`` of a ``{"mean", "standard_error"}`` cell ("n/a" when absent)."""
    if not entry or entry.get("mean") is None:
        return "n/a"
    return plus_minus(f"{entry['mean']:.{digits}f}", entry.get("standard_error"), digits=digits)


def identity_realism_lines(section):
    """Return the Markdown lines of the identity and realism section (none when it was not measured)."""
    if not section:
        return []
    networks, rows = section["networks"], section["rows"]
    lines = ["## Identity and realism", "",
             f"Judged by networks the training loss never sees: identity by `{networks['identity']}` embeddings, "
             f"LPIPS by `{networks['perceptual']}`, Fréchet distances (squared, between Gaussians fitted to each set "
             f"of features and to the {section['num_faces']} held-out faces') on those embeddings (FFD, x100) and on "
             f"pooled `{networks['features']}` features, which stand in for FID: no Inception weights exist here, "
             f"so they do not compare with published FIDs. Real photos: each face against another held-out photo of "
             f"the same person; in the sample columns, training photos of other people (the floor for samples). ± is the standard error over the held-out faces (AUC: bootstrap over faces, "
             f"{section['bootstrap_replicates']} replicates); the Fréchet distances have none (see docs/metrics.md).",
             "", "| row | faces | PSNR (dB) | identity cosine | verification AUC | rank-1 | LPIPS |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows.values():
        if row is None:
            continue
        auc = "n/a" if row["verification_auc"] is None else plus_minus(
            f"{row['verification_auc']:.4f}", row["verification_auc_standard_error"], digits=4)
        lines.append(f"| {row['label']} | {row['num_faces']} | {_cell(row['psnr'], 2)} | "
                     f"{_cell(row['identity_cosine'])} | {auc} | {_cell(row['rank1'])} | {_cell(row['lpips'])} |")
    lines += ["", "| row | FFD x100 reconstructions | FFD x100 fitted samples | FFD x100 N(0, I) samples | "
              "VGG16 Fréchet reconstructions | VGG16 fitted samples | VGG16 N(0, I) samples |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows.values():
        if row is None:
            continue
        cells = [_fmt(row["ffd_x100"][kind], 2) for kind in IMAGE_SETS]
        cells += [_fmt(row["vgg_frechet"][kind], 2) for kind in IMAGE_SETS]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    lines += ["", "Each FFD is a mean term (|mean gap|^2: the whole set shifted, as blur shifts every face the same "
              "way) plus a covariance term (spread and shape; between two sets of real photos this alone is "
              "the floor that comes from the number of faces):", "",
              "| row | reconstructions: mean + covariance | fitted samples: mean + covariance | "
              "N(0, I) samples: mean + covariance |", "| --- | --- | --- | --- |"]
    for row in rows.values():
        if row is None or "ffd_x100_terms" not in row:
            continue
        terms = [row["ffd_x100_terms"][kind] for kind in IMAGE_SETS]
        cells = ["n/a" if term is None else f"{term['mean_term']:.2f} + {term['covariance_term']:.2f}"
                 for term in terms]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    lines.append("")
    for key, edits in section.get("edits", {}).items():
        for name, edit in edits.items():
            kept = "n/a" if edit["kept_ratio"] is None else plus_minus(
                f"{edit['kept_ratio']:.3f}", edit["kept_ratio_standard_error"], digits=3)
            lines.append(f"- {rows[key]['label']}, {name} edit (k = {_fmt(section.get('edit_strength'), 2)}, "
                         f"{edit['num_faces']} faces): identity cosine to the original {_cell(edit['identity_cosine'])}"
                         f" against the reconstruction's {_cell(edit['reconstruction_identity_cosine'])}; the edit "
                         f"keeps **{kept}** of it")
    lines += [f"- {note}" for note in section.get("notes", [])]
    return lines + [""]


# The sections of report.md, in order; each takes the report dict and returns its lines.
MARKDOWN_SECTIONS = (_model_and_data_lines, _reconstruction_lines, _attribute_prediction_lines, _editing_lines,
                     lambda report: identity_realism_lines(report.get("identity_realism")), _latent_lines, _notes_lines)


def render_markdown(report):
    """Return the text of ``report.md`` for a report dict (the one written to report.json)."""
    return "\n".join(line for section in MARKDOWN_SECTIONS for line in section(report))


def write_markdown(report, output_dir, name="report.md"):
    """Write ``report.md`` for ``report``; returns the file path."""
    return atomic_write(os.path.join(output_dir, name), render_markdown(json_safe(report)))
