"""Attribute vectors by facenet's mean difference and by the conditional fit (other attributes held fixed)."""
import numpy as np
import pytest

from facenet_vae.generation.attribute_directions import (ATTRIBUTE_VECTOR_METHODS, CONDITIONAL, DIFFERENCE,
                                                         attribute_directions, check_method)
from facenet_vae.generation.attribute_vectors import attribute_vectors_from_latents


def _correlated_faces(count=4000, seed=0):
    """Latents z = 2 a0 e0 + 2 a1 e1 + noise, where attribute 1 agrees with attribute 0 on 80% of faces."""
    rng = np.random.default_rng(seed)
    smiling = rng.choice([-1, 1], count)
    earrings = np.where(rng.random(count) < 0.8, smiling, -smiling)
    attributes = np.stack([smiling, earrings], 1).astype(np.int8)
    latents = 0.3 * rng.normal(size=(count, 6))
    latents[:, 0] += 2 * smiling
    latents[:, 1] += 2 * earrings
    return latents, attributes


def test_the_difference_carries_along_a_correlated_attribute_and_the_conditional_does_not():
    latents, attributes = _correlated_faces()
    difference = attribute_directions(latents, attributes, DIFFERENCE)
    conditional = attribute_directions(latents, attributes, CONDITIONAL)
    # facenet's Smiling vector: 4 along its own axis and 0.6 * 4 = 2.4 along the earrings axis.
    np.testing.assert_allclose(difference[0, :2], [4.0, 2.4], atol=0.15)
    # The conditional one points along the Smiling axis alone, at the difference's length.
    assert abs(conditional[0, 1]) < 0.1 and np.all(np.abs(conditional[0, 2:]) < 0.1)
    np.testing.assert_allclose(np.linalg.norm(conditional, axis=1), np.linalg.norm(difference, axis=1), rtol=1e-9)
    assert conditional[0, 0] > 0.99 * np.linalg.norm(difference[0])


def test_independent_attributes_give_the_same_vector_either_way():
    # A full factorial design: every combination of 3 attributes equally often, so none predicts another.
    grid = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T
    attributes = np.repeat(grid, 50, axis=0).astype(np.int8)
    latents = np.random.default_rng(1).normal(size=(len(attributes), 5))
    np.testing.assert_allclose(attribute_directions(latents, attributes, CONDITIONAL),
                               attribute_directions(latents, attributes, DIFFERENCE), atol=1e-9)


def test_a_constant_attribute_has_no_vector_and_does_not_disturb_the_others():
    latents, attributes = _correlated_faces(count=500)
    with_constant = np.concatenate([attributes, -np.ones((500, 1), np.int8)], axis=1)
    for method in ATTRIBUTE_VECTOR_METHODS:
        vectors = attribute_vectors_from_latents(latents, with_constant, method=method)
        assert vectors.dtype == np.float32 and np.isnan(vectors[2]).all()
        np.testing.assert_allclose(vectors[:2], attribute_directions(latents, attributes, method), rtol=1e-5)


def test_the_default_is_conditional_and_unknown_methods_are_refused():
    latents, attributes = _correlated_faces(count=300)
    np.testing.assert_allclose(attribute_vectors_from_latents(latents, attributes),
                               attribute_directions(latents, attributes, CONDITIONAL), rtol=1e-5)
    with pytest.raises(ValueError, match="unknown attribute vector method 'mean'; choose one of conditional, "
                                         "difference"):
        check_method("mean")
