"""Attribute editing success: add an attribute vector, decode, re-encode and ask the latent classifier.

``decode`` and ``encode`` are injected callables (latent -> images, images -> latent means), so
the measurement can be tested on hand-made linear toys as well as run on a model.
"""
import numpy as np

DEFAULT_EDIT_STRENGTH = 1.0


def _batched_map(function, array, batch_size):
    outputs = [np.asarray(function(array[start:start + batch_size])) for start in range(0, len(array), batch_size)]
    return np.concatenate(outputs) if outputs else np.asarray(function(array[:0]))


def round_trip(latent, decode, encode, batch_size=128):
    """Return ``encode(decode(latent))`` computed in batches (float64 latent means)."""
    latent = np.asarray(latent, np.float32)
    return _batched_map(lambda z: encode(decode(z)), latent, batch_size).astype(np.float64)


def editing_success(latent, attribute_index, attribute_vector, classifiers, decode, encode,
                    strength=DEFAULT_EDIT_STRENGTH, batch_size=128, names=None, sweep=()):
    """Return a dict measuring how well ``z + strength * attribute_vector`` switches one attribute on.

    ``latent`` holds the latent means of faces WITHOUT the attribute. Each is edited, decoded and
    re-encoded; ``classifiers.predict`` (latent -> (N, A) labels in {-1, 1}) then labels it.
    Keys: ``success_rate`` (fraction now predicted to have the attribute), ``others_unchanged``
    (fraction of (face, other attribute) pairs whose predicted label equals the one predicted from
    the unedited latent), and the same two for a plain decode/re-encode round trip without edit
    (``round_trip_*``), which separates the edit's effect from reconstruction drift;
    ``others_unchanged_vs_round_trip`` compares the edit against that round trip. ``sweep`` lists
    further strengths, reported as ``sweep: [{strength, success_rate, others_unchanged}]``.
    """
    latent = np.asarray(latent, np.float64)
    vector = np.asarray(attribute_vector, np.float64)
    if latent.ndim != 2 or vector.shape != (latent.shape[1],):
        raise ValueError(f"latent {latent.shape} and attribute vector {vector.shape} do not match")
    section = {"strength": float(strength), "num_faces": int(len(latent))}
    if len(latent) == 0:
        section.update(success_rate=None, others_unchanged=None, round_trip_success_rate=None,
                       round_trip_others_unchanged=None, others_unchanged_vs_round_trip=None, sweep=[],
                       note="no held-out faces without the attribute")
        return section
    original = classifiers.predict(latent)
    others = [i for i in range(original.shape[1]) if i != attribute_index]

    def unchanged(a, b):
        return float(np.mean(a[:, others] == b[:, others])) if others else None

    predictions = {}
    for k in sorted({0.0, float(strength), *(float(s) for s in sweep)}):
        predictions[k] = classifiers.predict(round_trip(latent + k * vector[None, :], decode, encode, batch_size))
    edited, round_tripped = predictions[float(strength)], predictions[0.0]
    section.update(
        success_rate=float(np.mean(edited[:, attribute_index] == 1)),
        others_unchanged=unchanged(edited, original),
        round_trip_success_rate=float(np.mean(round_tripped[:, attribute_index] == 1)),
        round_trip_others_unchanged=unchanged(round_tripped, original),
        others_unchanged_vs_round_trip=unchanged(edited, round_tripped),
        predicted_with_attribute_before_edit=float(np.mean(original[:, attribute_index] == 1)),
        sweep=[{"strength": k, "success_rate": float(np.mean(p[:, attribute_index] == 1)),
                "others_unchanged": unchanged(p, original)} for k, p in predictions.items()],
    )
    if names is not None:
        section["others_unchanged_per_attribute"] = {
            str(names[i]): float(np.mean(edited[:, i] == original[:, i])) for i in others}
    return section
