"""Identity metrics on face embeddings: cosine to the original, verification AUC, rank-1 identification.

Pure numpy and scikit-learn: the embeddings come from a face network the training loss never sees
(``facenet-casia`` in the evaluation), so these functions are tested on hand-made vectors.
Conventions: ``originals[i]`` is the embedding of held-out face i, ``candidates[j]`` that of what
stands in for face j (its reconstruction, or another photo of the same person), ``identities[i]``
the person of face i.
"""
import numpy as np
from sklearn.metrics import roc_auc_score

from facenet_vae.evaluation.metrics import standard_error

BOOTSTRAP_REPLICATES = 100


def normalise_rows(vectors):
    """Return ``vectors`` (N, D) scaled to unit L2 norm (float64); zero rows stay zero."""
    vectors = np.asarray(vectors, np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"expected embeddings of shape (N, D), got {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def paired_cosines(a, b):
    """Return the cosine of each row of ``a`` with the same row of ``b`` (float64, shape (N,))."""
    a, b = normalise_rows(a), normalise_rows(b)
    if a.shape != b.shape:
        raise ValueError(f"embedding shapes differ: {a.shape} vs {b.shape}")
    return np.sum(a * b, axis=1)


def _pair_scores(originals, candidates, identities, excluded=None):
    """Return (scores, same-person labels) of every (original i, candidate j) pair not excluded."""
    identities = np.asarray(identities)
    scores = normalise_rows(originals) @ normalise_rows(candidates).T
    same = identities[:, None] == identities[None, :]
    keep = np.ones_like(same) if excluded is None else ~excluded
    return scores[keep], same[keep]


def verification_auc(originals, candidates, identities, excluded=None):
    """Return the ROC AUC of telling same-person (original i, candidate j) pairs from other-person pairs by cosine.

    Every original is matched against every candidate; ``excluded`` (N, N) bool marks pairs to leave
    out (for the real-photo row: a candidate that is the very photo of original i). None when the
    pairs hold only one class.
    """
    scores, same = _pair_scores(originals, candidates, identities, excluded)
    if same.all() or not same.any():
        return None
    return float(roc_auc_score(same, scores))


def bootstrap_auc_standard_error(originals, candidates, identities, excluded=None, replicates=BOOTSTRAP_REPLICATES,
                                 seed=0):
    """Return the bootstrap standard error of ``verification_auc`` over held-out faces (None if undefined).

    Each replicate draws N faces with replacement and recomputes the AUC on the pairs among them
    (the face indexes both the original and its candidate), so it measures the sampling noise of the
    held-out faces, as the report's other standard errors do.
    """
    originals, candidates = normalise_rows(originals), normalise_rows(candidates)
    identities = np.asarray(identities)
    scores = originals @ candidates.T
    same = identities[:, None] == identities[None, :]
    keep = np.ones_like(same) if excluded is None else ~np.asarray(excluded)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        draw = rng.integers(0, len(identities), len(identities))
        grid = np.ix_(draw, draw)
        labels, chosen = same[grid][keep[grid]], scores[grid][keep[grid]]
        if labels.any() and not labels.all():
            values.append(roc_auc_score(labels, chosen))
    return float(np.std(values, ddof=1)) if len(values) > 1 else None


def rank1_hits(candidates, gallery, candidate_identities, gallery_identities, excluded=None):
    """Return, per candidate, 1.0 when its nearest gallery embedding (cosine) is of its own person, else 0.0.

    ``excluded`` (num_candidates, num_gallery) bool removes gallery entries for a candidate (the
    stand-in photo itself, so the real-photo row is not trivial).
    """
    scores = normalise_rows(candidates) @ normalise_rows(gallery).T
    if excluded is not None:
        scores = np.where(excluded, -np.inf, scores)
    nearest = np.argmax(scores, axis=1)
    return (np.asarray(gallery_identities)[nearest] == np.asarray(candidate_identities)).astype(np.float64)


def same_person_stand_ins(identities, seed=0):
    """Return, for each face, the index of another face of the same person (seeded choice), or -1 if none."""
    identities = np.asarray(identities)
    rng = np.random.default_rng(seed)
    chosen = np.full(len(identities), -1, np.int64)
    for person in np.unique(identities):
        members = np.flatnonzero(identities == person)
        if len(members) < 2:
            continue
        for index in members:
            others = members[members != index]
            chosen[index] = others[rng.integers(len(others))]
    return chosen


def kept_ratio(edited_cosines, reconstruction_cosines):
    """Return ``(ratio, standard error)``: mean cos(edited, original) over mean cos(reconstruction, original).

    The standard error is the delta method's over the faces: the standard error of
    ``(edited_i - ratio * reconstruction_i) / mean(reconstruction)``. None for an empty set.
    """
    edited = np.asarray(edited_cosines, np.float64)
    reconstructed = np.asarray(reconstruction_cosines, np.float64)
    if edited.shape != reconstructed.shape:
        raise ValueError(f"{edited.shape} edited but {reconstructed.shape} reconstruction cosines")
    if len(edited) == 0 or reconstructed.mean() <= 0:
        return None, None
    ratio = edited.mean() / reconstructed.mean()
    return float(ratio), standard_error((edited - ratio * reconstructed) / reconstructed.mean())


def mean_and_error(values):
    """Return ``{"mean", "standard_error"}`` of per-face ``values`` (None mean for an empty set)."""
    values = np.asarray(values, np.float64)
    return {"mean": float(values.mean()) if len(values) else None, "standard_error": standard_error(values)}
