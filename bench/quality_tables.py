"""The tables ``bench/quality.py`` prints: figures of each trained model, ours minus the peer's, and reference rows."""
import os

import numpy as np

from facenet_vae.evaluation.image_sets import IMAGE_SETS


def identity_figures(row):
    """Return the flat identity and realism figures of one row of the evaluation's identity_realism section."""
    mean = lambda cell: None if cell is None else cell["mean"]  # noqa: E731
    return {"label": row["label"], "psnr": mean(row["psnr"]), "cosine": mean(row["identity_cosine"]),
            "auc": row["verification_auc"], "auc_se": row["verification_auc_standard_error"],
            "rank1": mean(row["rank1"]), "lpips": mean(row["lpips"]),
            **{f"ffd_{kind}": row["ffd_x100"][kind] for kind in IMAGE_SETS},
            **{f"vgg_{kind}": row["vgg_frechet"][kind] for kind in IMAGE_SETS}}


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


def _number(value, digits):
    return "n/a" if value is None else f"{value:.{digits}f}"


def _minutes(seconds):
    # A training resumed across processes has no single wall time to compare.
    return "n/a (resumed)" if seconds is None else f"{seconds / 60:.1f}"


def table(rows, references):
    """Return the Markdown comparison tables: training figures, then identity and realism with reference rows."""
    lines = ["| objective | model | PSNR (dB) | probe | Smiling edit k=1 | others flipped | KL | train min |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['objective']} | {row['model']} | {row['psnr']:.2f} | {row['probe']:.3f} | "
                     f"{row['smiling']:.3f} | {row['others_flipped']:.3f} | {row['kl']:.0f} | "
                     f"{_minutes(row['train_seconds'])} |")
    by = {(r["objective"], r["model"]): r for r in rows}
    pairs = [(objective, by.get((objective, "facenet-vae")), by.get((objective, "PyTorch peer")))
             for objective in dict.fromkeys(r["objective"] for r in rows)]
    for objective, ours, peer in pairs:
        if ours and peer:
            psnr = paired_difference(ours["report_dir"], peer["report_dir"], "psnr")
            probe = paired_difference(ours["report_dir"], peer["report_dir"], "attribute_accuracy")
            lines.append(f"| {objective} | **ours - peer** (± paired standard error) | {psnr[0]:+.2f} ± {psnr[1]:.2f} | "
                         f"{probe[0]:+.3f} ± {probe[1]:.3f} | {ours['smiling'] - peer['smiling']:+.3f} | "
                         f"{ours['others_flipped'] - peer['others_flipped']:+.3f} | | |")
    pca = references.get("pca_pixels")
    if pca:
        lines.append(f"| reference | {pca['label']} | {pca['psnr']:.2f} | {references['pca_probe']:.3f} | | | | |")
    lines += ["", "| objective | model | identity cosine | AUC | rank-1 | Smiling identity kept | LPIPS | "
              "FFD x100 rec. | FFD x100 fitted | FFD x100 N(0, I) | VGG16 FD rec. | VGG16 FD fitted | "
              "VGG16 FD N(0, I) |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def identity_row(objective, model, figures, kept=None):
        cells = [_number(figures["cosine"], 3), _number(figures["auc"], 4), _number(figures["rank1"], 3),
                 _number(kept, 3), _number(figures["lpips"], 3)]
        cells += [_number(figures[f"ffd_{kind}"], 2) for kind in IMAGE_SETS]
        cells += [_number(figures[f"vgg_{kind}"], 2) for kind in IMAGE_SETS]
        return f"| {objective} | {model} | " + " | ".join(cells) + " |"

    for row in rows:
        lines.append(identity_row(row["objective"], row["model"], row["identity"], row["smiling_identity_kept"]))
    for objective, ours, peer in pairs:
        if ours and peer:
            cosine = paired_difference(ours["report_dir"], peer["report_dir"], "identity_cosine")
            lpips = paired_difference(ours["report_dir"], peer["report_dir"], "lpips")
            lines.append(f"| {objective} | **ours - peer** (± paired standard error) | {cosine[0]:+.3f} ± "
                         f"{cosine[1]:.3f} | | | | {lpips[0]:+.3f} ± {lpips[1]:.3f} | | | | | | |")
    for key in ("pca_pixels", "real_photos"):
        if references.get(key):
            lines.append(identity_row("reference", references[key]["label"], references[key]))
    return "\n".join(lines)
