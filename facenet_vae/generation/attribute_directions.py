"""How an attribute's latent direction is estimated from latent codes and {-1, 1} labels (numpy only).

- ``difference`` (facenet's ``calculate_attribute_vectors.py``): mean latent of the faces with the
  attribute minus the mean of those without. Every attribute that goes with it in the data comes
  along: in CelebA, smiling faces are more often women wearing earrings and make-up, so facenet's
  Smiling vector adds those too.
- ``conditional``: the same gap among faces alike in every other labelled attribute. One least-squares
  fit of the latents on all K labels at once (``z ≈ c + Σ_k b_k a_k``); ``2 b_k`` is the change from
  -1 to +1 of attribute k with the others held fixed. It is scaled to the length of the
  ``difference`` vector, so ``k`` in ``z + k * vector`` moves a face as far as facenet's does, in the
  direction that leaves the other labelled attributes alone.

With a single attribute, or with attributes the data holds independent, the two coincide.
An attribute without faces on both sides has no vector: NaN either way.
"""
import numpy as np

DIFFERENCE = "difference"
CONDITIONAL = "conditional"
ATTRIBUTE_VECTOR_METHODS = (CONDITIONAL, DIFFERENCE)
DEFAULT_ATTRIBUTE_VECTOR_METHOD = CONDITIONAL
VECTOR_DESCRIPTIONS = {
    DIFFERENCE: "mean latent of training faces with the attribute minus mean without, facenet's attribute vector",
    CONDITIONAL: "the gap between training faces with and without the attribute with every other labelled "
                 "attribute held fixed, by one least-squares fit, at the length of facenet's mean difference",
}
ATTRIBUTE_VECTOR_METHOD_HELP = (
    "How each attribute vector is estimated: conditional (the gap between faces with and without the attribute "
    "among faces alike in every other labelled attribute, by one least-squares fit on all of them, scaled to "
    "facenet's length) or difference (facenet's: mean latent with it minus mean without, carrying along every "
    "attribute that goes with it in the data).")


def check_method(method):
    """Return ``method`` when it is one of ATTRIBUTE_VECTOR_METHODS; ValueError naming the choices otherwise."""
    if method not in ATTRIBUTE_VECTOR_METHODS:
        raise ValueError(f"unknown attribute vector method {method!r}; choose one of "
                         f"{', '.join(ATTRIBUTE_VECTOR_METHODS)}")
    return method


def defined_columns(attributes):
    """Return a bool (K,) mask: the attributes with at least one +1 and one -1 row (the others have no vector)."""
    attributes = np.asarray(attributes)
    return (attributes == 1).any(0) & (attributes == -1).any(0)


def difference_directions(latent_vars, attributes):
    """Return float64 (K, L): ``mean(z | a_k = +1) - mean(z | a_k = -1)``, NaN rows where undefined."""
    latent_vars = np.asarray(latent_vars, np.float64)
    attributes = np.asarray(attributes)
    vectors = np.full((attributes.shape[1], latent_vars.shape[1]), np.nan)
    for k in np.flatnonzero(defined_columns(attributes)):
        vectors[k] = latent_vars[attributes[:, k] == 1].mean(0) - latent_vars[attributes[:, k] == -1].mean(0)
    return vectors


def conditional_directions(latent_vars, attributes):
    """Return float64 (K, L): each attribute's effect with the others held fixed, at facenet's vector's length.

    The fit uses the defined attributes only (a constant column says nothing); where labels are
    collinear, least squares takes the minimum-norm solution. NaN rows where undefined.
    """
    latent_vars = np.asarray(latent_vars, np.float64)
    attributes = np.asarray(attributes)
    difference = difference_directions(latent_vars, attributes)
    defined = np.flatnonzero(defined_columns(attributes))
    vectors = np.full_like(difference, np.nan)
    if not len(defined):
        return vectors
    design = np.concatenate([attributes[:, defined].astype(np.float64), np.ones((len(attributes), 1))], axis=1)
    coefficients = np.linalg.lstsq(design, latent_vars, rcond=None)[0][:-1]
    effects = 2.0 * coefficients
    lengths = np.linalg.norm(effects, axis=1, keepdims=True)
    target = np.linalg.norm(difference[defined], axis=1, keepdims=True)
    vectors[defined] = effects * np.divide(target, lengths, out=np.zeros_like(lengths), where=lengths > 0)
    return vectors


def attribute_directions(latent_vars, attributes, method=DEFAULT_ATTRIBUTE_VECTOR_METHOD):
    """Return float64 (K, L) attribute vectors of ``latent_vars`` (N, L) and ``attributes`` (N, K) by ``method``."""
    check_method(method)
    if method == DIFFERENCE:
        return difference_directions(latent_vars, attributes)
    return conditional_directions(latent_vars, attributes)
