"""Identity metrics on face embeddings: cosine to the original, verification AUC, rank-1 identification.

Pure numpy: the embeddings come from a face network the training loss never sees
(``facenet-casia`` in the evaluation), so these functions are tested on hand-made vectors.
Conventions: ``originals[i]`` is the embedding of held-out face i, ``candidates[j]`` that of what
stands in for face j (its reconstruction, or another photo of the same person), ``identities[i]``
the person of face i.
"""
import numpy as np

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


class _RankedPairs:
    """Every kept (original i, candidate j) pair, sorted by cosine once, so weighted AUCs cost no further sort."""

    def __init__(self, originals, candidates, identities, excluded=None):
        identities = np.asarray(identities)
        count = len(identities)
        scores = (normalise_rows(originals) @ normalise_rows(candidates).T).ravel()
        rows, columns = np.divmod(np.arange(count * count), count)
        keep = np.ones(count * count, bool) if excluded is None else ~np.asarray(excluded, bool).ravel()
        order = np.argsort(scores[keep], kind="stable")
        self.rows, self.columns = rows[keep][order], columns[keep][order]
        self.same = (identities[self.rows] == identities[self.columns])
        # Pairs with equal cosines form one group; a tie counts one half, as in the ROC AUC.
        _, self.groups = np.unique(scores[keep][order], return_inverse=True)

    def auc(self, face_weights=None):
        """Return the Mann-Whitney AUC, each pair weighted by its two faces' weights (None: one class only)."""
        weights = np.ones(len(self.rows)) if face_weights is None else \
            face_weights[self.rows] * face_weights[self.columns]
        positive = np.bincount(self.groups, weights=np.where(self.same, weights, 0.0))
        negative = np.bincount(self.groups, weights=np.where(self.same, 0.0, weights))
        total_positive, total_negative = positive.sum(), negative.sum()
        if total_positive <= 0 or total_negative <= 0:
            return None
        below = np.cumsum(negative) - negative
        return float(np.sum(positive * (below + 0.5 * negative)) / (total_positive * total_negative))


def verification_auc(originals, candidates, identities, excluded=None):
    """Return the ROC AUC of telling same-person (original i, candidate j) pairs from other-person pairs by cosine.

    Every original is matched against every candidate; ``excluded`` (N, N) bool marks pairs to leave
    out (for the real-photo row: a candidate that is the very photo of original i). None when the
    pairs hold only one class. Equal to ``sklearn.metrics.roc_auc_score`` on the pairs.
    """
    return _RankedPairs(originals, candidates, identities, excluded).auc()


def bootstrap_auc_standard_error(originals, candidates, identities, excluded=None, replicates=BOOTSTRAP_REPLICATES,
                                 seed=0):
    """Return the bootstrap standard error of ``verification_auc`` over held-out faces (None if undefined).

    Each replicate draws N faces with replacement and recomputes the AUC on the pairs among them
    (the face indexes both the original and its candidate; a face drawn c times weighs c), so it
    measures the sampling noise of the held-out faces, as the report's other standard errors do.
    """
    pairs = _RankedPairs(originals, candidates, identities, excluded)
    count = len(np.asarray(identities))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(replicates):
        value = pairs.auc(np.bincount(rng.integers(0, count, count), minlength=count).astype(np.float64))
        if value is not None:
            values.append(value)
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
