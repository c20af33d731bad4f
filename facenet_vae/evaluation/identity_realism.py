"""Identity and realism of the held-out reconstructions and of samples, for the model and reference rows.

Each row is a ``Candidate``: what stands in for the held-out faces (the model's reconstructions,
PCA's, or another photo of the same person) and, for generative rows, samples. The ``Judges``
(``evaluation.judges``) embed them; ``evaluation.identity`` and ``evaluation.realism`` do the maths.
The metric definitions are in docs/metrics.md.
"""
import dataclasses
from typing import Optional

import numpy as np

from facenet_vae.evaluation import identity, metrics
from facenet_vae.evaluation.image_sets import IMAGE_SETS
from facenet_vae.evaluation.realism import frechet_distance, frechet_terms

# FaceNet embeddings are unit vectors, so their Fréchet distance is small; it is reported x100.
FFD_SCALE = 100.0
REAL_PHOTOS = "real_photos"


@dataclasses.dataclass
class Candidate:
    """One row of the tables: uint8 images standing in for the held-out faces, face by face.

    ``fitted_samples`` / ``prior_samples``: decoded draws of a Gaussian fitted to training latents and
    of N(0, I) (None where the row has none). ``edits``: attribute -> (indices of the edited held-out
    faces, their edited images).
    """
    label: str
    reconstructions: np.ndarray
    fitted_samples: Optional[np.ndarray] = None
    prior_samples: Optional[np.ndarray] = None
    edits: dict = dataclasses.field(default_factory=dict)


def _ffd_terms(embeddings, original_embeddings):
    """Return the FFD's mean and covariance terms, x100 like the FFD itself."""
    return {name: FFD_SCALE * value for name, value in frechet_terms(embeddings, original_embeddings).items()}


def _frechet_columns(original_embeddings, original_features, embed, features, images, embedded=None):
    """Return ({kind: FFD x100}, {kind: FFD terms x100}, {kind: VGG Fréchet}) for the image sets in ``images``
    (kind -> images or None).

    ``embedded``: kind -> embeddings computed already (not embedded again).
    """
    ffd, terms, vgg, embedded = {}, {}, {}, embedded or {}
    for kind, pictures in images.items():
        if pictures is None or len(pictures) < 2:
            ffd[kind] = terms[kind] = vgg[kind] = None
            continue
        vectors = embedded[kind] if kind in embedded else embed(pictures)
        terms[kind] = _ffd_terms(vectors, original_embeddings)
        ffd[kind] = sum(terms[kind].values())
        vgg[kind] = frechet_distance(features(pictures), original_features)
    return ffd, terms, vgg


def _identity_columns(originals, candidates, identities, excluded_pairs, gallery_exclusion, replicates, seed):
    """Return the identity cells of one row from embeddings, and the per-face arrays behind them."""
    cosines = identity.paired_cosines(originals, candidates)
    cells = {"identity_cosine": identity.mean_and_error(cosines), "verification_auc": None,
             "verification_auc_standard_error": None, "rank1": None}
    per_face = {"identity_cosine": cosines}
    if identities is not None:
        cells["verification_auc"] = identity.verification_auc(originals, candidates, identities, excluded_pairs)
        cells["verification_auc_standard_error"] = identity.bootstrap_auc_standard_error(
            originals, candidates, identities, excluded_pairs, replicates, seed)
        hits = identity.rank1_hits(candidates, gallery_exclusion[0], identities, gallery_exclusion[1],
                                   gallery_exclusion[2])
        cells["rank1"] = identity.mean_and_error(hits)
        per_face["rank1"] = hits
    return cells, per_face


def evaluate_identity_realism(judges, originals, identities, candidates, seed=0, progress=None,
                              replicates=identity.BOOTSTRAP_REPLICATES, other_people=None):
    """Return ``(section, per_face)`` judging each ``Candidate`` against the held-out ``originals``.

    ``identities`` (N,) names each face's person (None: no AUC, rank-1 or real-photo row). The
    real-photo row is added here: each face's stand-in is another held-out photo of the same person
    (seeded). ``other_people``: real photos of people outside the held-out set (the training faces);
    their Fréchet distances fill the real-photo row's fitted-sample column, the floor of any sampler,
    whose faces show other people too. ``per_face`` maps each row to its per-face arrays
    (identity_cosine, lpips, rank1, psnr).
    """
    stage = progress.stage if progress is not None else (lambda message: None)
    originals = np.asarray(originals)
    count = len(originals)
    stage(f"embedding {count} held-out faces with {judges.names['identity']} and {judges.names['features']}")
    original_embeddings, original_features = judges.embed(originals), judges.features(originals)
    all_identities = None if identities is None else np.asarray(identities)
    rows, per_face, notes, edits = {}, {}, [], {}
    for key, candidate in candidates.items():
        stage(f"judging identity and realism of {candidate.label}")
        reconstructed = judges.embed(candidate.reconstructions)
        gallery = (original_embeddings, all_identities, None)
        cells, arrays = _identity_columns(original_embeddings, reconstructed, all_identities, None, gallery,
                                          replicates, seed)
        images = {kind: getattr(candidate, kind) for kind in IMAGE_SETS}
        ffd, ffd_terms, vgg = _frechet_columns(original_embeddings, original_features, judges.embed,
                                               judges.features, images, embedded={"reconstructions": reconstructed})
        arrays["lpips"] = judges.perceptual_distance(originals, candidate.reconstructions)
        arrays["psnr"] = metrics.per_image_psnr(originals, candidate.reconstructions)
        rows[key] = dict(label=candidate.label, num_faces=count, ffd_x100=ffd, ffd_x100_terms=ffd_terms,
                         vgg_frechet=vgg, lpips=identity.mean_and_error(arrays["lpips"]),
                         psnr=identity.mean_and_error(arrays["psnr"]), **cells)
        per_face[key] = arrays
        for name, (indices, edited) in candidate.edits.items():
            edits.setdefault(key, {})[name] = _edit_identity(original_embeddings[indices], judges.embed(edited),
                                                             arrays["identity_cosine"][indices])
    if all_identities is None:
        notes.append("the data name no person per face, so verification AUC, rank-1 and the real-photo row "
                     "were not measured")
    else:
        rows[REAL_PHOTOS], per_face[REAL_PHOTOS], note = _real_photo_row(
            originals, all_identities, original_embeddings, original_features, judges, replicates, seed)
        if note:
            notes.append(note)
        if rows[REAL_PHOTOS] is not None and other_people is not None and len(other_people) >= 2:
            stage(f"embedding {len(other_people)} real photos of other people")
            ffd, ffd_terms, vgg = _frechet_columns(original_embeddings, original_features, judges.embed,
                                                   judges.features, {"fitted_samples": np.asarray(other_people)})
            rows[REAL_PHOTOS]["ffd_x100"]["fitted_samples"] = ffd["fitted_samples"]
            rows[REAL_PHOTOS]["ffd_x100_terms"]["fitted_samples"] = ffd_terms["fitted_samples"]
            rows[REAL_PHOTOS]["vgg_frechet"]["fitted_samples"] = vgg["fitted_samples"]
            notes.append(f"the real-photo row's fitted-sample column holds {len(other_people)} real photos of "
                         f"other people (training faces): the Fréchet distance no sampler can go below")
    section = {"networks": dict(judges.names), "num_faces": count, "rows": rows, "edits": edits, "notes": notes,
               "bootstrap_replicates": replicates}
    return section, per_face


def _edit_identity(original_embeddings, edited_embeddings, reconstruction_cosines):
    """Return how much of the reconstruction's identity cosine an edit keeps: cos(edited, orig) / cos(rec, orig)."""
    edited_cosines = identity.paired_cosines(original_embeddings, edited_embeddings)
    ratio, error = identity.kept_ratio(edited_cosines, reconstruction_cosines)
    return {"num_faces": int(len(edited_cosines)), "identity_cosine": identity.mean_and_error(edited_cosines),
            "reconstruction_identity_cosine": identity.mean_and_error(reconstruction_cosines),
            "kept_ratio": ratio, "kept_ratio_standard_error": error}


def _real_photo_row(originals, identities, embeddings, features, judges, replicates, seed):
    """Return (row, per-face arrays, note or None): each face against another photo of the same person."""
    stand_ins = identity.same_person_stand_ins(identities, seed)
    faces = np.flatnonzero(stand_ins >= 0)
    note = None
    if len(faces) < len(identities):
        note = (f"{len(identities) - len(faces)} held-out faces have no other photo of their person in the "
                f"held-out set and are left out of the real-photo row")
    if len(faces) < 2:
        return None, {}, note or "fewer than two faces have another photo of their person"
    photos = stand_ins[faces]
    # A pair whose candidate is the very photo of the original (cosine 1) says nothing about identity.
    excluded_pairs = faces[:, None] == photos[None, :]
    gallery_exclusion = np.arange(len(originals))[None, :] == photos[:, None]
    cells, arrays = _identity_columns(embeddings[faces], embeddings[photos], identities[faces], excluded_pairs,
                                      (embeddings, identities, gallery_exclusion), replicates, seed)
    ffd = {kind: None for kind in IMAGE_SETS}
    vgg, ffd_terms = dict(ffd), dict(ffd)
    ffd_terms["reconstructions"] = _ffd_terms(embeddings[photos], embeddings)
    ffd["reconstructions"] = sum(ffd_terms["reconstructions"].values())
    vgg["reconstructions"] = frechet_distance(features[photos], features)
    arrays["lpips"] = judges.perceptual_distance(originals[faces], originals[photos])
    arrays["psnr"] = metrics.per_image_psnr(originals[faces], originals[photos])
    row = dict(label="real photos (another photo of the same person)", num_faces=int(len(faces)), ffd_x100=ffd,
               ffd_x100_terms=ffd_terms, vgg_frechet=vgg, lpips=identity.mean_and_error(arrays["lpips"]),
               psnr=identity.mean_and_error(arrays["psnr"]), **cells)
    return row, arrays, note

